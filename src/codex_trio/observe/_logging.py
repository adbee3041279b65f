"""Structured logs: structlog on top of the standard ``logging`` module, with secrets masked.

codex-trio is a library, so its loggers (:func:`get_logger`) follow structlog's guidance for
libraries: they never print on their own and never impose a format on an application. Which
processor chain a record goes through is decided each time it is logged, from what the
application did:

* nothing (structlog not configured): the chain ends in
  :func:`structlog.stdlib.render_to_log_kwargs`, so the record reaches the standard ``logging``
  logger of that name with the event name as its message and the facts as record attributes
  (``record.items == 3``), for whatever handlers and formatters the application set up;
* :func:`configure_logging` (codex-trio's own format, for the CLI, the demo, a service): the
  chain below, rendered as JSON lines or console text by the handler it installs;
* its own ``structlog.configure(...)``: the application's logger factory, wrapper class and
  processors, as ``structlog.get_logger(name)`` would give, behind codex-trio's redaction step.

In every case the record is redacted before any processor of the application or any handler
sees it: an exception is rendered to text first (``exception``; no live traceback is attached to
a record), then :func:`redact_secrets` masks every string value, nested ones included, through
:func:`codex_trio._redact.redact`, and replaces string values under keys that look secret
(``api_key``, ``OPENAI_API_KEY``, ``authorization``...) by ``[REDACTED]``. Ids bound with
:func:`bound_contextvars` (``thread_id``, ``turn_id``: every turn binds them) are merged into the
record before that when codex-trio's chain runs, so they are on every line logged in that task
and the tasks it starts; under the application's own chain, its ``merge_contextvars`` adds them.

:func:`configure_logging` installs one handler on the root logger that renders *every* record,
codex-trio's and other libraries', through the same small processors: contextvars; log level,
logger name, an ISO-8601 UTC timestamp; exception info rendered to text; :func:`redact_secrets`;
a JSON renderer (one object per line) or a plain console renderer.

What can go wrong: a record whose message is built with ``%`` formatting by another library is
redacted as a whole string, which is fine; a secret split across two keys cannot be recognised.
Redaction runs before rendering, so an object whose ``str()`` holds a secret is masked too (any
value that is not a number, string or container is logged as its redacted ``str()``). A fact
named like a ``LogRecord`` attribute (``name``, ``module``, ``process``...) cannot be an
attribute of the record: it is renamed with a trailing underscore (``name_``).

:func:`attach_log_handler` bridges telemetry to logs: each lifecycle event becomes one record
named like ``"turn.stop"`` with its measurements and metadata as keys.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Final, TextIO

import structlog
from structlog.contextvars import (
    bind_contextvars,
    bound_contextvars,
    clear_contextvars,
    unbind_contextvars,
)
from structlog.typing import EventDict, Processor, WrappedLogger

from codex_trio._redact import REDACTED, looks_secret_name, redact
from codex_trio.observe import events as ev
from codex_trio.observe.telemetry import EventName, TelemetryBus, default_bus

__all__ = [
    "LOG_EVENTS",
    "LibraryLogger",
    "RedactedBoundLogger",
    "attach_log_handler",
    "bind_contextvars",
    "bound_contextvars",
    "clear_contextvars",
    "configure_logging",
    "get_logger",
    "log_event_name",
    "redact_secrets",
    "unbind_contextvars",
]

HANDLER_NAME: Final = "codex_trio"
"""``logging.Handler.name`` of the handler :func:`configure_logging` installs (and replaces)."""

LOG_EVENTS: Final[tuple[EventName, ...]] = tuple(
    name
    for name in ev.ALL_EVENTS
    # Channel and app-server samples are too frequent for a log; handler failures are logged by
    # the bus itself.
    if name not in (ev.CHANNEL_STATS, ev.APP_SERVER_SAMPLE, ev.TELEMETRY_HANDLER_FAILED)
)
"""The events :func:`attach_log_handler` logs by default."""

_WARNING_EVENTS: Final = frozenset(
    {
        ev.TURN_EXCEPTION,
        ev.TOOL_CALL_EXCEPTION,
        ev.PROTOCOL_ERROR,
        ev.SUPERVISOR_CHILD_RESTART,
        ev.SUPERVISOR_INTENSITY_EXCEEDED,
    }
)

# Keys that structlog or the renderers own; telemetry facts with these names get a prefix.
_RESERVED_KEYS: Final = frozenset(
    {"event", "level", "logger", "timestamp", "exception", "exc_info", "stack_info"}
)
# A span's start carries clock readings; the record's timestamp already says when it happened.
_CLOCK_MEASUREMENTS: Final = frozenset({"monotonic_time", "system_time"})
# Keys ProcessorFormatter adds for its own use; they must reach it untouched.
_META_KEYS: Final = frozenset({"_record", "_from_structlog"})
_MAX_DEPTH: Final = 8


# --- redaction -----------------------------------------------------------------------------------


def _redact_value(value: object, depth: int) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if depth >= _MAX_DEPTH:
        return "[...]"  # deeper than any log fact should be; also stops reference cycles
    if isinstance(value, bytes | bytearray):
        return redact(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {key: _redact_item(key, item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_redact_value(item, depth + 1) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    return redact(str(value))


def _redact_item(key: object, value: object, depth: int) -> object:
    # Only string-like values are masked under a secret-looking key: "input_tokens" looks secret
    # to the name check but holds a count, and a nested mapping is searched key by key instead.
    if (
        isinstance(key, str)
        and looks_secret_name(key)
        and not (value is None or isinstance(value, bool | int | float | Mapping | list | tuple))
    ):
        return REDACTED
    return _redact_value(value, depth)


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets in every value of ``event_dict``, recursively."""
    return {
        key: value if key in _META_KEYS else _redact_item(key, value, 0)
        for key, value in event_dict.items()
    }


# --- configuration -------------------------------------------------------------------------------

# What a LogRecord already has (plus the two attributes Formatter adds): a fact by one of these
# names would make ``Logger.makeRecord`` raise, so it is renamed ``name_``.
_RECORD_ATTRIBUTES: Final = frozenset(
    {*vars(logging.LogRecord("", 0, "", 0, "", (), None)), "message", "asctime"}
) - set(structlog.stdlib.LOG_KWARG_NAMES)


def _rename_record_attributes(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """structlog processor: rename facts that clash with ``LogRecord`` attributes (``name_``)."""
    if _RECORD_ATTRIBUTES.isdisjoint(event_dict):
        return event_dict
    return {
        f"{key}_" if key in _RECORD_ATTRIBUTES else key: value for key, value in event_dict.items()
    }


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]


_LOGGER_PROCESSORS: Final[list[Processor]] = [
    structlog.stdlib.filter_by_level,
    *_shared_processors(),
    structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
]
"""The chain :func:`configure_logging` configures structlog with (recognised by identity)."""

_LIBRARY_PROCESSORS: Final[list[Processor]] = [
    structlog.stdlib.filter_by_level,
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.PositionalArgumentsFormatter(),
    structlog.processors.StackInfoRenderer(),
    structlog.processors.format_exc_info,
    redact_secrets,
    _rename_record_attributes,
    structlog.stdlib.render_to_log_kwargs,
]
"""The chain while structlog is not configured: formatting is left to ``logging``."""

_REDACTION: Final[tuple[Processor, ...]] = (
    structlog.stdlib.PositionalArgumentsFormatter(),
    structlog.processors.format_exc_info,
    redact_secrets,
)
"""What runs before an application's own processors: no secret, no live traceback, reaches them."""

_LEVEL_METHODS: Final = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}


class RedactedBoundLogger(structlog.stdlib.BoundLogger):
    """structlog's stdlib logger, except that ``exception()`` leaves no raw traceback behind.

    structlog forwards ``exception()`` to ``logging.Logger.exception``, which attaches the live
    exception to the record; any handler not using our formatter (pytest's, an application's)
    would then print the traceback unredacted. Here the traceback is rendered to text and
    redacted by the processors, and the record is sent as a plain ``error``.
    """

    def exception(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        kw.setdefault("exc_info", True)
        return self._proxy_to_logger("error", event, *args, **kw)


def _config_now() -> tuple[object, ...]:
    if not structlog.is_configured():
        return ()
    config = structlog.get_config()
    return (
        config["processors"],
        config["wrapper_class"],
        config["context_class"],
        config["logger_factory"],
    )


def _assemble(name: str, context: Mapping[str, Any], config: tuple[Any, ...]) -> Any:
    if not config:
        return RedactedBoundLogger(logging.getLogger(name), _LIBRARY_PROCESSORS, dict(context))
    processors, wrapper_class, context_class, logger_factory = config
    if processors is not _LOGGER_PROCESSORS:
        processors = [*_REDACTION, *processors]
    return wrapper_class(logger_factory(name), processors, context_class(context))


class LibraryLogger:
    """What :func:`get_logger` returns: a structlog logger that picks its chain when it logs.

    Each call goes through the chain that fits the configuration *now* (see the module
    docstring), so a logger created at import time, before the application configured anything,
    follows whatever it configures later. The assembled structlog logger is kept until the
    structlog configuration changes. ``exception()`` logs at ERROR with the traceback rendered
    to redacted text, whichever wrapper class the application chose.
    """

    __slots__ = ("_cache", "_context", "_name")

    def __init__(self, name: str, context: Mapping[str, Any] | None = None) -> None:
        self._name = name
        self._context: dict[str, Any] = dict(context or {})
        self._cache: tuple[tuple[object, ...], Any] | None = None

    def __repr__(self) -> str:
        return f"<LibraryLogger name={self._name!r} context={self._context!r}>"

    @property
    def name(self) -> str:
        """The name of the standard ``logging`` logger (or the application's) it writes to."""
        return self._name

    def _bound(self) -> Any:
        config = _config_now()
        cached = self._cache
        if (
            cached is not None
            and len(cached[0]) == len(config)
            and all(a is b for a, b in zip(cached[0], config, strict=True))
        ):
            return cached[1]
        bound = _assemble(self._name, self._context, config)
        self._cache = (config, bound)
        return bound

    def _for_call(self, kw: dict[str, Any]) -> Any:
        bound = self._bound()
        if self._cache is not None and not self._cache[0]:
            # Our own chain hands ``stacklevel`` to logging, so that the record's file and line
            # are the caller's: past structlog's three frames and this logger's method, or only
            # the latter under structlog's own findCaller (which skips structlog's frames; its
            # LoggerFactory makes it the class of every logger created afterwards).
            plain = type(bound._logger).findCaller is logging.Logger.findCaller
            kw["stacklevel"] = kw.get("stacklevel", 1) + (4 if plain else 1)
        return bound

    def bind(self, **new_values: Any) -> LibraryLogger:
        """A logger with ``new_values`` added to the facts of every record."""
        return LibraryLogger(self._name, {**self._context, **new_values})

    def unbind(self, *keys: str) -> LibraryLogger:
        """A logger without ``keys``; ``KeyError`` if one is not bound."""
        for key in keys:
            if key not in self._context:
                raise KeyError(key)
        return self.try_unbind(*keys)

    def try_unbind(self, *keys: str) -> LibraryLogger:
        """A logger without ``keys``, bound or not."""
        return LibraryLogger(self._name, {k: v for k, v in self._context.items() if k not in keys})

    def is_enabled_for(self, level: int) -> bool:
        """Whether a record at ``level`` would be logged at all (to skip building its facts)."""
        bound = self._bound()
        wrapped = getattr(bound, "_logger", None)
        if isinstance(wrapped, logging.Logger):
            return wrapped.isEnabledFor(level)
        check = getattr(bound, "is_enabled_for", None)
        return True if check is None else bool(check(level))

    def debug(self, event: str, *args: Any, **kw: Any) -> Any:
        return self._for_call(kw).debug(event, *args, **kw)

    def info(self, event: str, *args: Any, **kw: Any) -> Any:
        return self._for_call(kw).info(event, *args, **kw)

    def warning(self, event: str, *args: Any, **kw: Any) -> Any:
        return self._for_call(kw).warning(event, *args, **kw)

    def error(self, event: str, *args: Any, **kw: Any) -> Any:
        return self._for_call(kw).error(event, *args, **kw)

    def critical(self, event: str, *args: Any, **kw: Any) -> Any:
        return self._for_call(kw).critical(event, *args, **kw)

    def exception(self, event: str, *args: Any, **kw: Any) -> Any:
        kw.setdefault("exc_info", True)
        return self._for_call(kw).error(event, *args, **kw)

    def log(self, level: int, event: str, *args: Any, **kw: Any) -> Any:
        method = _LEVEL_METHODS.get(level)
        bound = self._for_call(kw)
        if method is None:
            return bound.log(level, event, *args, **kw)
        return getattr(bound, method)(event, *args, **kw)


def get_logger(name: str = "codex_trio") -> LibraryLogger:
    """A structlog logger for codex-trio's own records, named ``name``.

    Bind facts as keys (``log.info("turn.completed", items=3)``), never format them into the
    message. Works before and without :func:`configure_logging`: records then reach the
    standard ``logging`` logger ``name`` with the event as message and the facts as record
    attributes, already redacted. Once the application configured structlog, its chain is used
    (behind redaction); after :func:`configure_logging`, codex-trio's.
    """
    return LibraryLogger(name)


def configure_logging(
    *, json: bool = True, level: str | int = "INFO", stream: TextIO | None = None
) -> None:
    """Render all logging (codex-trio's and other libraries') as JSON lines or console text.

    Installs a handler on the root logger writing to ``stream`` (default ``sys.stderr``) and sets
    the root level (``ValueError`` for an unknown level name). Calling it again replaces the
    handler installed by the previous call, so it never duplicates lines; handlers installed by
    anyone else are left alone. Also configures structlog globally, so that
    ``structlog.get_logger()`` in application code goes the same way.
    """
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_shared_processors()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)

    structlog.configure(
        processors=_LOGGER_PROCESSORS,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=RedactedBoundLogger,
        cache_logger_on_first_use=False,
    )


# --- telemetry -> logs ---------------------------------------------------------------------------


def log_event_name(event_name: EventName) -> str:
    """``("codex", "turn", "stop")`` -> ``"turn.stop"``: the log event name of a telemetry event."""
    parts = event_name[1:] if len(event_name) > 1 and event_name[0] == "codex" else event_name
    return ".".join(parts)


def _fact_key(key: str) -> str:
    return f"telemetry_{key}" if key in _RESERVED_KEYS else key


def _fact_value(value: Any) -> Any:
    if isinstance(value, tuple) and value and all(isinstance(part, str) for part in value):
        return ".".join(value)  # an event name (handler_failed's "event")
    return value


def _log_event(
    event_name: EventName,
    measurements: Mapping[str, float],
    metadata: Mapping[str, Any],
    config: tuple[LibraryLogger, int],
) -> None:
    log, level = config
    if event_name in _WARNING_EVENTS:
        level = max(level, logging.WARNING)
    if not log.is_enabled_for(level):
        return  # the common case when logs are at WARNING: skip building the dict
    facts = {_fact_key(k): _fact_value(v) for k, v in metadata.items()}
    facts.update((_fact_key(k), v) for k, v in measurements.items() if k not in _CLOCK_MEASUREMENTS)
    log.log(level, log_event_name(event_name), **facts)


def attach_log_handler(
    bus: TelemetryBus = default_bus,
    *,
    level: str | int = logging.INFO,
    events: Iterable[EventName] = LOG_EVENTS,
    handler_id: str = "codex_trio.log",
    logger_name: str = "codex_trio.telemetry",
) -> str:
    """Log each of ``events`` emitted on ``bus`` as one record; returns the handler id.

    The record's event is :func:`log_event_name` of the telemetry name (``"turn.stop"``), its keys
    the metadata and measurements (a key structlog owns, such as ``event``, gets a ``telemetry_``
    prefix). Failures (span exceptions, protocol errors, restarts) are logged at least at WARNING.
    Runs in the emitter's task, so ids bound there with :func:`bound_contextvars` are on the
    record. Undo with ``bus.detach(handler_id)``; ``ValueError`` if that id is already attached.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    config = (get_logger(logger_name), numeric)
    bus.attach(handler_id, events, _log_event, config)
    return handler_id
