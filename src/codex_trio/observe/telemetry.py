"""A telemetry bus in the manner of Erlang's ``:telemetry``.

Code that does something worth counting *emits* an event (:meth:`TelemetryBus.execute`): a name
(a tuple of strings such as ``("codex", "turn", "stop")``), numeric *measurements* and descriptive
*metadata*. Code that wants to know *attaches* a handler to one or more names. The emitter knows
nothing about who listens: metrics, logs and tests all plug in the same way.

The rules, and why:

* Handlers are plain synchronous functions, called in the emitter's task (and thread), in attach
  order. No task is spawned and nothing is queued, so an event costs exactly what its handlers
  cost, context variables bound by the emitter (``thread_id``...) are visible to the handler, and
  nothing can pile up. The flip side: a handler must be quick and must never block or await.
* A handler that raises is detached and reported once: a ``telemetry.handler_failed`` error record
  on the ``codex_trio.telemetry`` logger (extras ``handler_id``, ``failed_event`` and
  ``exception``, the traceback with secrets redacted) and a :data:`HANDLER_FAILED` event. The
  emitter never sees the exception: observing the system must not break it. ``BaseException``
  (``KeyboardInterrupt``, ``SystemExit``) is not caught.
* Emitting an event nobody listens to costs one dict lookup: the bus keeps a precomputed table
  ``event name -> tuple of handlers``. Attaching and detaching build a new table under a lock and
  swap it in with one assignment (copy-on-write), so :meth:`~TelemetryBus.execute` takes no lock
  and an emitter running while another thread attaches sees either the old or the new table,
  never a half-built one.
* Handlers receive the emitter's mappings as they are and must not mutate them.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Final

import attrs

from codex_trio._redact import redact

__all__ = [
    "HANDLER_FAILED",
    "EventName",
    "Handler",
    "HandlerInfo",
    "Span",
    "TelemetryBus",
    "attach",
    "default_bus",
    "detach",
    "execute",
    "handlers",
    "span",
]

EventName = tuple[str, ...]
"""An event name: a non-empty tuple of strings, outermost namespace first."""

Handler = Callable[[EventName, Mapping[str, float], Mapping[str, Any], Any], None]
"""``handler(event_name, measurements, metadata, config)``; config is the one given to attach."""

HANDLER_FAILED: Final[EventName] = ("codex", "telemetry", "handler_failed")
"""Emitted once when a handler raised and was detached; metadata ``handler_id``, ``event``."""

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})

_log = logging.getLogger("codex_trio.telemetry")


@attrs.frozen
class HandlerInfo:
    """One attached handler, as :meth:`TelemetryBus.handlers` reports it."""

    handler_id: str
    event_names: tuple[EventName, ...]
    function: Handler
    config: Any = None


@attrs.define(eq=False)
class TelemetryBus:
    """An isolated set of handlers; :data:`default_bus` is the one the whole process shares.

    Tests create their own bus so that they neither see nor disturb other code's handlers.
    """

    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    # Both dicts are replaced, never mutated, once published (copy-on-write; see module docs).
    _by_id: dict[str, HandlerInfo] = attrs.field(factory=dict, init=False, repr=False)
    _table: dict[EventName, tuple[HandlerInfo, ...]] = attrs.field(
        factory=dict, init=False, repr=False
    )

    def attach(
        self,
        handler_id: str,
        event_names: Iterable[EventName],
        handler: Handler,
        config: Any = None,
    ) -> None:
        """Call ``handler`` for every event whose name is in ``event_names``.

        ``handler_id`` names the attachment so that it can be detached; it must be unique on this
        bus (``ValueError`` otherwise: a second attach under the same id is almost always a module
        initialised twice, which would double every count). ``config`` is passed to each call,
        so one function can serve several attachments.
        """
        names = tuple(dict.fromkeys(tuple(name) for name in event_names))
        if not names:
            raise ValueError(f"telemetry handler {handler_id!r} attached to no event")
        for name in names:
            if not name or not all(isinstance(part, str) for part in name):
                raise ValueError(f"invalid telemetry event name {name!r}")
        info = HandlerInfo(
            handler_id=handler_id, event_names=names, function=handler, config=config
        )
        with self._lock:
            if handler_id in self._by_id:
                raise ValueError(f"telemetry handler {handler_id!r} is already attached")
            by_id = {**self._by_id, handler_id: info}
            self._publish(by_id)

    def detach(self, handler_id: str) -> bool:
        """Stop calling the handler attached as ``handler_id``; False if there was none."""
        with self._lock:
            if handler_id not in self._by_id:
                return False
            by_id = {k: v for k, v in self._by_id.items() if k != handler_id}
            self._publish(by_id)
            return True

    def handlers(self, event_name: EventName | None = None) -> list[HandlerInfo]:
        """The attached handlers in attach order, all of them or those of ``event_name``."""
        if event_name is None:
            return list(self._by_id.values())
        return list(self._table.get(tuple(event_name), ()))

    def execute(
        self,
        event_name: EventName,
        measurements: Mapping[str, float],
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Emit one event to the handlers attached to ``event_name``, synchronously, in order.

        Never raises because of a handler (see the module docs); costs one dict lookup when no
        handler listens, so emitters need no "is anyone listening" check of their own.
        """
        handlers = self._table.get(event_name)
        if handlers is None:
            return
        meta = _EMPTY if metadata is None else metadata
        for info in handlers:
            try:
                info.function(event_name, measurements, meta, info.config)
            except Exception as exc:
                self._handler_failed(info, event_name, exc)

    def span(self, prefix: EventName, metadata: Mapping[str, Any]) -> Span:
        """A context manager (``with`` or ``async with``) timing the block it wraps.

        See :class:`Span` for the events it emits.
        """
        return Span(self, tuple(prefix), metadata)

    def _publish(self, by_id: dict[str, HandlerInfo]) -> None:
        # Called with the lock held. The table is built completely before it is published.
        table: dict[EventName, list[HandlerInfo]] = {}
        for info in by_id.values():
            for name in info.event_names:
                table.setdefault(name, []).append(info)
        self._by_id = by_id
        self._table = {name: tuple(infos) for name, infos in table.items()}

    def _handler_failed(self, info: HandlerInfo, event_name: EventName, exc: Exception) -> None:
        with self._lock:
            # Compare identity, not id: two threads may see the same failure at once, or the id
            # may already belong to a new attachment. Only the one that detaches it reports it.
            if self._by_id.get(info.handler_id) is not info:
                return
            self._publish({k: v for k, v in self._by_id.items() if k != info.handler_id})
        # The traceback goes in as redacted text rather than exc_info: a handler's exception may
        # quote a secret, and the application's log formatter may not redact anything.
        _log.error(
            "telemetry.handler_failed",
            extra={
                "handler_id": info.handler_id,
                "failed_event": ".".join(event_name),
                "exception": redact("".join(traceback.format_exception(exc))).rstrip(),
            },
        )
        self.execute(HANDLER_FAILED, {}, {"handler_id": info.handler_id, "event": event_name})


@attrs.define(eq=False)
class Span:
    """Times a block and emits ``prefix + ("start",)`` then ``("stop",)`` or ``("exception",)``.

    * start: measurements ``monotonic_time`` and ``system_time`` (seconds), the given metadata.
    * stop: measurements ``duration`` (seconds, from a monotonic clock, never negative) plus
      whatever the block put into :attr:`measurements`; metadata is the given metadata updated
      with whatever the block put into :attr:`metadata`.
    * exception: the same, plus metadata ``kind`` (the exception's type name) and ``reason``
      (its message, secrets redacted). The exception is never swallowed. Any ``BaseException``
      counts, so a cancelled block (``trio.Cancelled``) reports ``kind="Cancelled"``.

    A span is entered once; entering it again raises ``RuntimeError``.
    """

    _bus: TelemetryBus
    prefix: EventName
    _initial: Mapping[str, Any] = attrs.field(alias="metadata")
    metadata: dict[str, Any] = attrs.field(init=False)
    """Metadata for the stop/exception event; the block may add or change keys."""
    measurements: dict[str, float] = attrs.field(init=False, factory=dict)
    """Extra measurements for the stop/exception event (token counts...); the block adds them."""
    _started: float | None = attrs.field(init=False, default=None)
    _done: bool = attrs.field(init=False, default=False)

    def __attrs_post_init__(self) -> None:
        self.metadata = dict(self._initial)

    def __enter__(self) -> Span:
        if self._started is not None:
            raise RuntimeError(f"span {self.prefix!r} entered twice")
        self._started = time.perf_counter()
        self._bus.execute(
            (*self.prefix, "start"),
            {"monotonic_time": self._started, "system_time": time.time()},
            dict(self.metadata),
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._done or self._started is None:
            return
        self._done = True
        duration = max(0.0, time.perf_counter() - self._started)
        measurements = {**self.measurements, "duration": duration}
        if exc is None:
            self._bus.execute((*self.prefix, "stop"), measurements, dict(self.metadata))
            return
        metadata = {**self.metadata, "kind": type(exc).__name__, "reason": redact(str(exc))}
        self._bus.execute((*self.prefix, "exception"), measurements, metadata)

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


default_bus: Final[TelemetryBus] = TelemetryBus()
"""The process-wide bus: the library emits here, and the module-level functions act on it."""

attach = default_bus.attach
detach = default_bus.detach
execute = default_bus.execute
span = default_bus.span
handlers = default_bus.handlers
