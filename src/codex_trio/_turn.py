"""One turn of a Codex thread, shared by the plain :class:`~codex_trio.Thread` and the supervised
:class:`~codex_trio.runtime.ThreadActor`.

:func:`open_turn` runs a turn on a transport (anything with the :class:`TurnRunner` shape) and
yields a :class:`StreamedTurn`: the events as they come, collected on the way into a
:class:`TurnResult`. Around it: the ``("codex", "turn")`` telemetry span and the
``thread_id``/``turn_id`` log context. :func:`finish` turns a finished stream into the result a
buffered ``run`` returns, raising for ``turn.failed`` and for structured output that is not JSON.

Usage: codex reports tokens cumulatively per thread. :class:`UsageLedger` remembers the last
report of each thread so that a turn's own figures are the difference, also across
``resume_thread`` within the process.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar

import attrs

from codex_trio._errors import (
    CodexError,
    ConfigurationError,
    turn_failed_error,
)
from codex_trio._protocol import (
    AgentMessageItem,
    ErrorItem,
    ItemCompletedEvent,
    ThreadEvent,
    ThreadItem,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    Usage,
)
from codex_trio._protocol.options import (
    Input,
    ThreadOptions,
    TurnOptions,
    normalize_input,
    preflight_turn,
    split_input,
)
from codex_trio.observe import bound_contextvars, telemetry

__all__ = [
    "StreamedTurn",
    "TurnStream",
    "TurnStreamStatistics",
    "ThreadState",
    "TurnResult",
    "TurnRunner",
    "UsageLedger",
    "check_result",
    "default_ledger",
    "finish",
    "open_turn",
]

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class TurnResult:
    """A finished turn.

    ``usage`` holds this turn's own token figures; ``cumulative_usage`` the thread's totals as
    codex reports them (codex counts per thread, not per turn). ``structured`` is what a
    buffered ``run`` with an output schema made of the final message: the decoded JSON (checked
    against ``output_schema``), or an instance of ``output_type``; else None.
    :meth:`structured_as` gives it typed, also for a streamed turn's result.

    ``status`` says how the turn ended: ``"completed"``, ``"failed"`` (codex reported
    ``turn.failed``; ``failed`` is True and ``error_message`` says why) or ``"interrupted"``
    (stopped by :meth:`TurnStream.interrupt` or another client's ``turn/interrupt``, app-server
    only: not a failure, ``failed`` is False; a buffered ``run`` returns it rather than raise).
    """

    thread_id: str | None
    turn_id: str
    items: Sequence[ThreadItem]
    final_response: str | None
    usage: Usage | None
    cumulative_usage: Usage | None
    structured: Any = None
    failed: bool = False
    error_message: str | None = None
    approvals: Sequence[Any] = ()
    """Approval decisions taken during the turn, in order (app-server transport only: exec
    cannot ask). Each records the request and the decision."""
    output_type: Any = None
    """The ``output_type`` ``structured`` was made into (None if none was given)."""
    status: str = "completed"
    """``"completed"``, ``"failed"`` or ``"interrupted"`` (see the class docstring)."""

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"

    def structured_as(self, output_type: type[T]) -> T:
        """The final message as an instance of ``output_type`` (an attrs class, dataclass or
        TypedDict): :attr:`structured` when the turn ran with that ``output_type``, else the
        final message parsed, validated against the type's schema and structured now. Raises
        :class:`~codex_trio._errors.StructuredOutputError` (with ``raw`` and ``path``) when it
        does not fit."""
        from codex_trio._structured import schema_for, structured_output

        if self.output_type is output_type and self.structured is not None:
            return self.structured  # type: ignore[no-any-return]
        value: T = structured_output(
            self.final_response, schema_for(output_type), output_type, thread_id=self.thread_id
        )
        return value


class UsageLedger:
    """The last cumulative usage seen per thread id, so that the next turn's per-turn figures are
    the difference, also when the thread is resumed by another object.

    Bounded: the oldest of more than ``max_threads`` threads is forgotten (its next turn then
    reports the cumulative figures as its own, the best that can be known).
    """

    def __init__(self, max_threads: int = 10_000) -> None:
        self._max = max_threads
        self._last: collections.OrderedDict[str, Usage] = collections.OrderedDict()
        self._lock = threading.Lock()

    def per_turn(self, thread_id: str | None, cumulative: Usage) -> Usage:
        """Record ``cumulative`` for ``thread_id`` and return the figures of this turn alone."""
        if thread_id is None:
            return cumulative
        with self._lock:
            previous = self._last.pop(thread_id, None)
            self._last[thread_id] = cumulative
            while len(self._last) > self._max:
                self._last.popitem(last=False)
        return cumulative.minus(previous) if previous is not None else cumulative

    def last(self, thread_id: str) -> Usage | None:
        with self._lock:
            return self._last.get(thread_id)


default_ledger = UsageLedger()


class TurnRunner(Protocol):
    """What a transport offers: run one turn as a stream of typed events."""

    @property
    def name(self) -> str:
        """The transport's name for telemetry: ``"exec"`` or ``"app-server"``."""
        ...

    def turn(
        self,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions = ...,
        *,
        images: Sequence[str] = ...,
        resume_thread_id: str | None = ...,
    ) -> AbstractAsyncContextManager[AsyncIterator[ThreadEvent]]: ...


@attrs.define(kw_only=True, eq=False)
class ThreadState:
    """What outlives a single turn of a thread: its id (None until codex names it), options,
    transport and usage ledger. A ThreadActor keeps one across restarts, which is how a restarted
    actor resumes the same session."""

    runner: TurnRunner
    options: ThreadOptions
    ledger: UsageLedger = default_ledger
    thread_id: str | None = None
    _announced: bool = False
    engine_settings: Mapping[str, Any] | None = None
    """The thread's settings as the app-server reported them when it first loaded the thread
    (``thread/start`` / ``thread/resume``), under :class:`TurnOptions` field names."""
    overridden: frozenset[str] = frozenset()
    """The settings earlier turns overrode that the engine may still apply (app-server)."""

    def restore(self, options: TurnOptions) -> TurnOptions:
        """``options`` with the thread's own settings for what earlier turns overrode and this
        one does not (on app-server, where codex 0.163 keeps ``turn/start``'s model, effort,
        cwd, sandbox and approval overrides for later turns; exec runs each turn in a fresh
        process). The thread's value is its option when set, else what the engine reported
        when it loaded the thread. ``overridden`` then holds what this turn overrides."""
        if self.runner.name != "app-server":
            return options
        changes: dict[str, Any] = {}
        for name in self.overridden:
            if getattr(options, name) is None:
                value = self._thread_setting(name)
                if value is not None:
                    changes[name] = value
        self.overridden = frozenset(
            name for name in _RESTORED if getattr(options, name) is not None
        ) | frozenset(name for name in self.overridden if name not in changes)
        return attrs.evolve(options, **changes) if changes else options

    def _thread_setting(self, name: str) -> Any:
        value = getattr(self.options, _THREAD_FIELD.get(name, name))
        if value is None and self.engine_settings is not None:
            value = self.engine_settings.get(name)
        return value

    @property
    def announced(self) -> bool:
        """True once ``("codex", "thread", "start")`` was emitted for this thread."""
        return self._announced

    def set_id(self, thread_id: str) -> None:
        self.thread_id = thread_id
        if not self._announced:
            self._announced = True
            telemetry.execute(
                ("codex", "thread", "start"),
                {"count": 1},
                {"thread_id": thread_id, "transport": self.runner.name},
            )


# The per-turn overrides sent back after a turn changed them (summary is not: codex reports
# no value for it; the app-server transport unloads the thread after a summary override).
_RESTORED = ("model", "effort", "working_directory", "sandbox_mode", "approval_policy")
_THREAD_FIELD = {"effort": "model_reasoning_effort"}


@attrs.frozen(kw_only=True)
class TurnStreamStatistics:
    """A turn stream's buffer, in the manner of ``trio.MemoryChannelStatistics``.

    ``current_buffer_used`` events (or notifications) wait for the consumer, at most
    ``max_buffer_size``. ``tasks_waiting_send`` is 1 while the producer waits for room: that is
    backpressure (exec, and the supervised runtime), and codex waits behind it. On a shared
    app-server the reader never waits: ``coalesced`` counts deltas merged because the buffer was
    full, and ``overflowed`` says the consumer fell behind (the stream then ends with
    ``SlowConsumerError``).
    """

    current_buffer_used: int
    max_buffer_size: int
    tasks_waiting_send: int = 0
    coalesced: int = 0
    overflowed: bool = False

    @classmethod
    def of(cls, stats: Any) -> TurnStreamStatistics:
        """From a ``trio.MemoryChannelStatistics`` or a subscription's statistics."""
        size = stats.max_buffer_size
        return cls(
            current_buffer_used=stats.current_buffer_used,
            max_buffer_size=int(size) if size != float("inf") else -1,
            tasks_waiting_send=getattr(stats, "tasks_waiting_send", 0),
            coalesced=getattr(stats, "coalesced", 0),
            overflowed=getattr(stats, "overflowed", False),
        )


class TurnStream(Protocol):
    """The one public type of a running turn's events, whatever runs it.

    ``Thread.run_streamed`` and ``ThreadHandle.run_streamed`` (the supervised runtime) both
    yield one, on either transport. Iterate it with ``async for`` (typed events, through a
    bounded buffer); once the iteration has ended, :attr:`result` is the :class:`TurnResult`.
    ``pid`` is the codex process of the turn while it runs (None on app-server, where the
    process is shared, or before it starts). :meth:`steer` adds input to the running turn and
    :meth:`interrupt` stops it, where the transport can (app-server); on exec both raise
    :class:`~codex_trio._errors.ConfigurationError`. Leaving the ``async with`` block early
    stops the turn. (A static protocol: type checkers check it; the classes behind it are
    private.)
    """

    def __aiter__(self) -> TurnStream: ...

    async def __anext__(self) -> ThreadEvent: ...

    @property
    def result(self) -> TurnResult: ...

    @property
    def pid(self) -> int | None: ...

    def statistics(self) -> TurnStreamStatistics: ...

    async def steer(self, input: Input) -> None: ...

    async def interrupt(self) -> None: ...


class StreamedTurn:
    """A :class:`TurnStream` over a transport's events (what :func:`open_turn` yields),
    collecting them on the way.

    Once iteration ends, :attr:`result` holds the :class:`TurnResult`; a ``turn.failed`` event is
    delivered like any other event and leaves ``result.failed`` true. ``pid`` is the codex
    process of the turn while it runs (exec transport).
    """

    def __init__(
        self, state: ThreadState, events: AsyncIterator[ThreadEvent], turn_id: str
    ) -> None:
        self._state = state
        self._events = events
        self.turn_id = turn_id
        self.items: list[ThreadItem] = []
        self.final_response: str | None = None
        self.cumulative_usage: Usage | None = None
        self.usage: Usage | None = None
        self.failed_message: str | None = None
        self.interrupted = False
        self._done = False
        self._item_started: dict[str, float] = {}

    @property
    def pid(self) -> int | None:
        pid = getattr(self._events, "pid", None)
        return pid if isinstance(pid, int) else None

    def statistics(self) -> TurnStreamStatistics:
        stats = getattr(self._events, "statistics", None)
        if stats is None:  # pragma: no cover - every transport's stream has statistics
            return TurnStreamStatistics(current_buffer_used=0, max_buffer_size=0)
        return TurnStreamStatistics.of(stats())

    async def steer(self, input: Input) -> None:
        """Add input to the running turn (app-server ``turn/steer``)."""
        steer = getattr(self._events, "steer", None)
        if steer is None:
            raise ConfigurationError(
                f"steering a running turn needs transport='app-server' "
                f"(this turn runs on {self._state.runner.name!r})",
                thread_id=self._state.thread_id,
            )
        prompt, images = normalize_input(input)
        await steer(prompt, images)

    async def interrupt(self) -> None:
        """Stop the running turn (app-server ``turn/interrupt``); the stream then ends with a
        ``TurnFailedEvent`` whose ``extra["status"]`` is ``"interrupted"``, and :attr:`result`
        has ``status == "interrupted"`` (not ``failed``)."""
        interrupt = getattr(self._events, "interrupt", None)
        if interrupt is None:
            raise ConfigurationError(
                f"interrupting a running turn needs transport='app-server' (this turn runs "
                f"on {self._state.runner.name!r}; leaving the block stops an exec turn)",
                thread_id=self._state.thread_id,
            )
        await interrupt()

    def __aiter__(self) -> StreamedTurn:
        return self

    async def __anext__(self) -> ThreadEvent:
        event = await self._events.__anext__()
        self._observe(event)
        return event

    def defer_wakeups(self) -> None:
        """The caller reads the events only to reach the result (a buffered ``run()``): where
        the transport can, it wakes this turn's consumer for the turn's end only, not for each
        event (item durations still use each event's own arrival time)."""
        defer = getattr(self._events, "defer_wakeups", None)
        if defer is not None:
            defer()

    def _observe(self, event: ThreadEvent) -> None:
        item_telemetry(
            event,
            self._state.thread_id,
            self._item_started,
            getattr(self._events, "received_at", None),
        )
        if isinstance(event, ThreadStartedEvent):
            self._state.set_id(event.thread_id)
        elif isinstance(event, ItemCompletedEvent):
            self.items.append(event.item)
            if isinstance(event.item, AgentMessageItem):
                self.final_response = event.item.text
        elif isinstance(event, TurnCompletedEvent):
            self.cumulative_usage = event.usage
            self.usage = self._state.ledger.per_turn(self._state.thread_id, event.usage)
            self._done = True
        elif isinstance(event, TurnFailedEvent):
            if event.extra.get("status") == "interrupted":
                self.interrupted = True  # stopped on purpose: not a failure
            else:
                self.failed_message = event.error.message
            self._done = True

    @property
    def done(self) -> bool:
        """True once ``turn.completed`` or ``turn.failed`` has been read."""
        return self._done

    @property
    def status(self) -> str:
        if not self._done:
            return "cancelled"
        if self.interrupted:
            return "interrupted"
        return "failed" if self.failed_message is not None else "completed"

    @property
    def result(self) -> TurnResult:
        if not self._done:
            raise CodexError("the turn has not ended yet", thread_id=self._state.thread_id)
        return TurnResult(
            thread_id=self._state.thread_id,
            turn_id=self.turn_id,
            items=tuple(self.items),
            final_response=self.final_response,
            usage=self.usage,
            cumulative_usage=self.cumulative_usage,
            failed=self.failed_message is not None,
            error_message=self.failed_message,
            status=self.status,
            approvals=tuple(getattr(self._events, "approvals", ())),
        )


@asynccontextmanager
async def open_turn(
    state: ThreadState, input: Input, options: TurnOptions
) -> AsyncIterator[StreamedTurn]:
    """Run one turn of ``state``'s thread; see the module docstring. Not serialised: callers
    make sure a thread runs one turn at a time.

    Raises :class:`~codex_trio._errors.ConfigurationError` before anything starts when the turn
    cannot run on this transport (:func:`~codex_trio._protocol.options.preflight_turn`)."""
    prompt, images, attachments = split_input(input)
    if attachments:
        options = attrs.evolve(options, attachments=(*options.attachments, *attachments))
    preflight_turn(state.options, state.runner.name, prompt, (*options.images, *images), options)
    options = state.restore(options)
    turn_id = f"turn_{uuid.uuid4().hex[:12]}"
    metadata: dict[str, Any] = {
        "thread_id": state.thread_id,
        "turn_id": turn_id,
        "transport": state.runner.name,
        "model": options.model or state.options.model,
        "status": "cancelled",
    }
    # bound_contextvars, not bind/unbind: a caller's own thread_id/turn_id come back afterwards.
    with bound_contextvars(thread_id=state.thread_id, turn_id=turn_id):
        with telemetry.span(("codex", "turn"), metadata) as span:
            async with state.runner.turn(
                prompt, state.options, options, images=images, resume_thread_id=state.thread_id
            ) as events:
                settings = getattr(events, "thread_settings", None)
                if settings:  # what was known first stays: later loads see earlier overrides
                    state.engine_settings = {**settings, **(state.engine_settings or {})}
                streamed = StreamedTurn(state, events, turn_id)
                try:
                    yield streamed
                finally:
                    span.metadata["thread_id"] = state.thread_id
                    span.metadata["status"] = streamed.status
                    if streamed.usage is not None:
                        span.measurements.update(_usage_measurements(streamed.usage))


def finish(streamed: StreamedTurn, options: TurnOptions) -> TurnResult:
    """The :class:`TurnResult` of a turn read to its end, checked by :func:`check_result`."""
    if not streamed.done:
        raise CodexError(
            "codex ended the turn without a result", thread_id=streamed._state.thread_id
        )
    return check_result(streamed.result, options)


def check_result(result: TurnResult, options: TurnOptions) -> TurnResult:
    """``result`` as a buffered ``run`` returns it.

    Raises :class:`TurnFailedError` for ``turn.failed`` and :class:`StructuredOutputError` when
    the turn had an output schema (or type) and its final message is not JSON, does not match
    the schema, or does not fit the type (else ``structured`` is set; see
    :func:`codex_trio._structured.structured_output`).
    """
    if result.failed:
        raise turn_failed_error(  # UsageLimitError when the usage limit is reached
            result.error_message or "turn failed",
            thread_id=result.thread_id,
            turn_id=result.turn_id,
            items=result.items,
        )
    schema = options.json_schema
    if schema is None:
        return result
    from codex_trio._structured import structured_output

    structured = structured_output(
        result.final_response, schema, options.output_type, thread_id=result.thread_id
    )
    return attrs.evolve(result, structured=structured, output_type=options.output_type)


def item_telemetry(
    event: ThreadEvent,
    thread_id: str | None,
    started: dict[str, float],
    at: float | None = None,
) -> None:
    """Emit ``item.completed`` (and ``command.executed``) for a completed item, with its duration
    when its ``item.started`` was seen (``started`` maps item ids to start times). ``at`` is
    when the event arrived (``time.monotonic()``; default: now)."""
    item = getattr(event, "item", None)
    if item is None:
        return
    now = time.monotonic() if at is None else at
    item_id = getattr(item, "id", None)
    if not isinstance(event, ItemCompletedEvent):
        if item_id is not None:
            started.setdefault(item_id, now)
        return
    began = started.pop(item_id, None) if item_id is not None else None
    measurements: dict[str, float] = {}
    if began is not None:
        measurements["duration"] = max(0.0, now - began)
    status = getattr(item, "status", None)
    status_text = (
        str(status)
        if status is not None
        else ("failed" if isinstance(item, ErrorItem) else "completed")
    )
    item_type = getattr(item, "type", "unknown")
    telemetry.execute(
        ("codex", "item", "completed"),
        measurements,
        {"thread_id": thread_id, "item_type": item_type, "status": status_text},
    )
    if item_type == "command_execution":
        telemetry.execute(
            ("codex", "command", "executed"),
            measurements,
            {
                "thread_id": thread_id,
                "exit_code": getattr(item, "exit_code", None),
                "status": status_text,
            },
        )


def turn_options(options: TurnOptions | None, extra: dict[str, Any]) -> TurnOptions:
    """``options`` with keyword overrides, or a TurnOptions made of them."""
    if options is None:
        return TurnOptions(**extra)
    return attrs.evolve(options, **extra) if extra else options


def _usage_measurements(usage: Usage) -> dict[str, float]:
    return {
        "input_tokens": usage.input_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_output_tokens": usage.reasoning_output_tokens or 0,
    }
