"""A Codex thread: a conversation whose turns run one at a time."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import trio

from codex_trio.api.result import TurnResult, UsageLedger
from codex_trio.errors import CodexError, StructuredOutputError, TurnFailedError
from codex_trio.observe import bind_contextvars, telemetry, unbind_contextvars
from codex_trio.protocol import (
    AgentMessageItem,
    ItemCompletedEvent,
    ThreadEvent,
    ThreadItem,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    Usage,
)
from codex_trio.protocol.options import Input, ThreadOptions, TurnOptions, normalize_input

__all__ = ["StreamedTurn", "Thread", "TurnRunner"]


class TurnRunner(Protocol):
    """What a transport offers the Thread API: run one turn as a stream of typed events."""

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


class StreamedTurn:
    """The events of a turn as they come (``async for``), collected on the way.

    Once iteration ends, :attr:`result` holds the :class:`TurnResult`; a ``turn.failed`` event is
    delivered like any other event and leaves ``result.failed`` true.
    """

    def __init__(self, thread: Thread, events: AsyncIterator[ThreadEvent], turn_id: str) -> None:
        self._thread = thread
        self._events = events
        self.turn_id = turn_id
        self.items: list[ThreadItem] = []
        self.final_response: str | None = None
        self.cumulative_usage: Usage | None = None
        self.usage: Usage | None = None
        self.failed_message: str | None = None
        self._done = False

    def __aiter__(self) -> StreamedTurn:
        return self

    async def __anext__(self) -> ThreadEvent:
        event = await self._events.__anext__()
        self._observe(event)
        return event

    def _observe(self, event: ThreadEvent) -> None:
        if isinstance(event, ThreadStartedEvent):
            self._thread._set_id(event.thread_id)
        elif isinstance(event, ItemCompletedEvent):
            self.items.append(event.item)
            if isinstance(event.item, AgentMessageItem):
                self.final_response = event.item.text
        elif isinstance(event, TurnCompletedEvent):
            self.cumulative_usage = event.usage
            self.usage = self._thread._ledger.per_turn(self._thread.id, event.usage)
            self._done = True
        elif isinstance(event, TurnFailedEvent):
            self.failed_message = event.error.message
            self._done = True

    @property
    def done(self) -> bool:
        """True once ``turn.completed`` or ``turn.failed`` has been read."""
        return self._done

    @property
    def result(self) -> TurnResult:
        if not self._done:
            raise CodexError("the turn has not ended yet", thread_id=self._thread.id)
        return TurnResult(
            thread_id=self._thread.id,
            turn_id=self.turn_id,
            items=tuple(self.items),
            final_response=self.final_response,
            usage=self.usage,
            cumulative_usage=self.cumulative_usage,
            failed=self.failed_message is not None,
            error_message=self.failed_message,
        )


class Thread:
    """A Codex thread. Get one from :meth:`Codex.start_thread` or :meth:`Codex.resume_thread`.

    ``id`` is None until the first turn's ``thread.started`` event names the thread (or set from
    the start when resuming). Turns on one Thread run one after another: a second ``run`` waits
    for the first to finish, since two codex processes resuming one session would interleave
    its history.
    """

    def __init__(
        self,
        runner: TurnRunner,
        options: ThreadOptions,
        *,
        thread_id: str | None = None,
        ledger: UsageLedger,
    ) -> None:
        self._runner = runner
        self.options = options
        self._id = thread_id
        self._ledger = ledger
        self._lock = trio.Lock()
        self._announced = thread_id is not None

    @property
    def id(self) -> str | None:
        return self._id

    def _set_id(self, thread_id: str) -> None:
        self._id = thread_id
        if not self._announced:
            self._announced = True
            telemetry.execute(
                ("codex", "thread", "start"),
                {"count": 1},
                {"thread_id": thread_id, "transport": self._runner.name},
            )

    @asynccontextmanager
    async def run_streamed(
        self, input: Input, options: TurnOptions | None = None, **turn_options: Any
    ) -> AsyncIterator[StreamedTurn]:
        """Run a turn and yield its events through a bounded channel as they arrive.

        ``turn.failed`` is an event here, not an exception; a dead or misbehaving codex raises
        :class:`~codex_trio.errors.TransportError` / :class:`~codex_trio.errors.ProtocolError`
        from the iteration. Leaving the block early stops codex.
        """
        opts = _turn_options(options, turn_options)
        prompt, images = normalize_input(input)
        turn_id = f"turn_{uuid.uuid4().hex[:12]}"
        async with self._lock:
            metadata: dict[str, Any] = {
                "thread_id": self._id,
                "turn_id": turn_id,
                "transport": self._runner.name,
                "model": self.options.model,
                "status": "cancelled",
            }
            bind_contextvars(thread_id=self._id, turn_id=turn_id)
            try:
                with telemetry.span(("codex", "turn"), metadata) as span:
                    async with self._runner.turn(
                        prompt, self.options, opts, images=images, resume_thread_id=self._id
                    ) as events:
                        streamed = StreamedTurn(self, events, turn_id)
                        try:
                            yield streamed
                        finally:
                            span.metadata["thread_id"] = self._id
                            span.metadata["status"] = _status(streamed)
                            if streamed.usage is not None:
                                span.measurements.update(_usage_measurements(streamed.usage))
            finally:
                unbind_contextvars("thread_id", "turn_id")

    async def run(
        self, input: Input, options: TurnOptions | None = None, **turn_options: Any
    ) -> TurnResult:
        """Run a turn to its end and return its :class:`TurnResult`.

        Raises :class:`~codex_trio.errors.TurnFailedError` when codex reports ``turn.failed``,
        :class:`~codex_trio.errors.StructuredOutputError` when an output schema was given and the
        final message is not JSON, and transport errors as :meth:`run_streamed` does.
        """
        opts = _turn_options(options, turn_options)
        async with self.run_streamed(input, opts) as streamed:
            async for _ in streamed:
                pass
        if not streamed.done:
            raise CodexError("codex ended the turn without a result", thread_id=self._id)
        result = streamed.result
        if result.failed:
            raise TurnFailedError(
                result.error_message or "turn failed",
                thread_id=self._id,
                turn_id=result.turn_id,
                items=result.items,
            )
        if opts.output_schema is not None:
            result = _with_structured(result)
        return result


def _with_structured(result: TurnResult) -> TurnResult:
    import attrs

    raw = result.final_response
    if raw is None:
        raise StructuredOutputError(
            "the turn had an output schema but no final message", raw="", thread_id=result.thread_id
        )
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise StructuredOutputError(
            f"final message is not valid JSON: {exc}", raw=raw, thread_id=result.thread_id
        ) from None
    return attrs.evolve(result, structured=parsed)


def _turn_options(options: TurnOptions | None, extra: dict[str, Any]) -> TurnOptions:
    if options is None:
        return TurnOptions(**extra)
    if extra:
        import attrs

        return attrs.evolve(options, **extra)
    return options


def _status(streamed: StreamedTurn) -> str:
    if not streamed.done:
        return "cancelled"
    return "failed" if streamed.failed_message is not None else "completed"


def _usage_measurements(usage: Usage) -> dict[str, float]:
    return {
        "input_tokens": usage.input_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_output_tokens": usage.reasoning_output_tokens or 0,
    }
