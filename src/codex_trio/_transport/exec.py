"""``codex exec --experimental-json``: one process per turn, typed events through a bounded channel.

A turn is an ``async with`` block::

    async with transport.turn(prompt, thread_options, turn_options) as stream:
        async for event in stream:
            ...

Inside, a reader task spawns codex, writes the prompt to its stdin and closes it (codex waits for
EOF otherwise), then decodes stdout line by line and sends each event into a trio memory channel of
``event_buffer`` slots. When the consumer is slower than codex the channel fills, the reader waits
on it, codex's stdout pipe fills and codex itself blocks on write: memory stays bounded whatever
the speeds.

The turn ends on ``turn.completed`` or ``turn.failed``, not when codex exits: the stream ends
right after that event, and the turn's deadline no longer applies. codex is then reaped when the
block exits, outside the deadline: it normally exits by itself within milliseconds, and one that
lingers is signalled after ``stop_policy.linger_grace`` (SIGINT, which codex 0.163.0 answers
after a turn with a clean exit; then SIGTERM, SIGKILL), so the caller never waits a full exit
grace for a turn that is already done.

If codex exits without either event, the stream raises :class:`~codex_trio._errors.TransportError`
(exit code, signal, stderr tail) once the events before it are consumed. Reaching the turn's
deadline first stops codex and raises :class:`~codex_trio._errors.TurnDeadlineError`, with the
stopped process's exit status, stderr tail and pid. Leaving the block early (break, exception,
cancellation) stops codex too (SIGINT, SIGTERM, SIGKILL with grace periods) and reaps it; the
output schema's temp file is removed in every case.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, ClassVar, Literal

import attrs
import trio

from codex_trio._errors import (
    NO_ROLLOUT,
    CodexError,
    ConfigurationError,
    ProtocolError,
    ThreadNotFoundError,
    TransportError,
    TurnDeadlineError,
)
from codex_trio._groups import collapse
from codex_trio._protocol import (
    ThreadEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    decode_event,
)
from codex_trio._protocol.options import (
    CodexOptions,
    ThreadOptions,
    TurnOptions,
    exec_argv,
    exec_env,
)
from codex_trio._transport.discovery import check_version
from codex_trio._transport.lines import DEFAULT_MAX_LINE_BYTES, LineTooLongError
from codex_trio._transport.process import CodexProcess, StopPolicy, open_codex_process
from codex_trio.observe import telemetry

__all__ = ["ExecTransport", "ExecTurnEvents"]

MalformedPolicy = Literal["skip", "fail"]


class ExecTurnEvents:
    """The events of one turn, in order. Iterate with ``async for``.

    Raises, after the events that preceded it, the error that ended the turn abnormally
    (:class:`TransportError`, :class:`ProtocolError`, :class:`TurnDeadlineError`).
    ``thread_id`` is known once ``thread.started`` has been read (or from the start, on resume).
    """

    def __init__(self, receive: trio.MemoryReceiveChannel[ThreadEvent], capacity: int) -> None:
        self._receive = receive
        self.capacity = capacity
        self.error: CodexError | None = None
        self.thread_id: str | None = None
        self.pid: int | None = None
        self.ended = False
        self.backpressure_seconds = 0.0

    def __aiter__(self) -> ExecTurnEvents:
        return self

    async def __anext__(self) -> ThreadEvent:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            if self.error is not None:
                error, self.error = self.error, None
                raise error from error.__cause__
            raise StopAsyncIteration from None

    def statistics(self) -> trio.MemoryChannelStatistics:
        """The channel's state: ``current_buffer_used`` never exceeds ``capacity``."""
        return self._receive.statistics()


@attrs.frozen(kw_only=True)
class ExecTransport:
    """Runs turns with ``codex exec --experimental-json``.

    ``event_buffer`` is the capacity of each turn's event channel (the bound on events held in
    memory). ``on_malformed`` says what a stdout line that is not valid JSON does: ``"skip"`` (it
    is reported through telemetry and the turn goes on) or ``"fail"`` (the turn fails with
    :class:`ProtocolError`). A line over ``max_line_bytes`` always fails the turn.
    """

    name: ClassVar[str] = "exec"

    codex_path: str
    options: CodexOptions = attrs.field(factory=CodexOptions)
    event_buffer: int = 64
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    on_malformed: MalformedPolicy = "skip"
    stop_policy: StopPolicy = StopPolicy()
    check_version: bool = True

    @asynccontextmanager
    async def turn(
        self,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions = TurnOptions(),
        *,
        images: Sequence[str] = (),
        resume_thread_id: str | None = None,
    ) -> AsyncIterator[ExecTurnEvents]:
        """Run one turn; see the module docstring."""
        if turn.attachments:
            raise ConfigurationError(
                f"{type(turn.attachments[0]).__name__} needs transport='app-server': codex exec "
                "takes text and local image files (-i) only"
            )
        if self.check_version:
            await check_version(self.codex_path)
        deadline = turn.deadline_from(trio.current_time())
        send, receive = trio.open_memory_channel[ThreadEvent](self.event_buffer)
        stream = ExecTurnEvents(receive, self.event_buffer)
        stream.thread_id = resume_thread_id
        with _schema_file(turn.json_schema) as schema_path:
            # The turn's overrides (model, effort, sandbox...) are this one process's flags:
            # the next turn's process runs with the thread's own settings again.
            argv = exec_argv(
                self.codex_path,
                self.options,
                thread,
                images=[*turn.images, *images],
                output_schema_file=schema_path,
                resume_thread_id=resume_thread_id,
                turn=turn,
            )
            env = exec_env(self.options)
            with collapse():
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._read_turn, argv, env, prompt, send, stream, deadline)
                    try:
                        yield stream
                    finally:
                        # The consumer is done with the stream, early or not: stop the reader (and
                        # with it codex) unless it already finished.
                        receive.close()
                        if not stream.ended:
                            nursery.cancel_scope.cancel()

    async def _read_turn(
        self,
        argv: list[str],
        env: dict[str, str],
        prompt: str,
        send: trio.MemorySendChannel[ThreadEvent],
        stream: ExecTurnEvents,
        deadline: float,
    ) -> None:
        """The reader task: runs codex, pumps its events into ``send``, and hands the error that
        ended the turn abnormally (if any) to ``stream``, which raises it after the events."""
        async with send:
            try:
                async with open_codex_process(
                    argv,
                    env=env,
                    max_line_bytes=self.max_line_bytes,
                    stop_policy=self.stop_policy,
                    transport="exec",
                ) as process:
                    stream.pid = process.pid
                    # The deadline bounds the turn up to its last event, not the reaping after.
                    with trio.CancelScope(deadline=deadline) as scope:
                        try:
                            await process.send(prompt.encode("utf-8"))
                        except TransportError:
                            pass  # codex died before reading its prompt: its exit tells why
                        await process.close_stdin()
                        await self._pump(process, send, stream)
                    if stream.ended:
                        # The turn is complete: the consumer's iteration ends now, while codex
                        # is reaped as this block exits (quickly: it is marked finished).
                        send.close()
                        return
                if scope.cancelled_caught:
                    # Built after the stop: it carries the exit status and the stderr tail.
                    raise process.error(
                        "turn deadline passed; codex was stopped",
                        error_class=TurnDeadlineError,
                        thread_id=stream.thread_id,
                    )
            except CodexError as exc:
                stream.error = exc
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the consumer closed its end: nothing to deliver

    async def _pump(
        self,
        process: CodexProcess,
        send: trio.MemorySendChannel[ThreadEvent],
        stream: ExecTurnEvents,
    ) -> None:
        while True:
            try:
                line = await process.receive_line()
            except LineTooLongError as exc:
                _protocol_error("oversized_line")
                raise ProtocolError(
                    f"codex wrote a stdout line over {exc.limit} bytes; turn abandoned",
                    line=exc.line,
                    thread_id=stream.thread_id,
                ) from None
            if line is None:
                break
            if not line.strip():
                continue
            try:
                event = decode_event(line)
            except ProtocolError as exc:
                _protocol_error("invalid_json")
                if self.on_malformed == "fail":
                    raise ProtocolError(
                        f"codex wrote a line that is not a protocol event: {exc.message}",
                        line=line,
                        thread_id=stream.thread_id,
                    ) from None
                continue
            if isinstance(event, ThreadStartedEvent):
                stream.thread_id = event.thread_id
            await _send(send, event, stream)
            if isinstance(event, (TurnCompletedEvent, TurnFailedEvent)):
                stream.ended = True
                process.finished = True
                return
        # stdout closed without turn.completed / turn.failed: codex died or gave up.
        process.expect_exit = True
        with trio.move_on_after(self.stop_policy.exit_grace):
            await process.wait()
        error = process.error("codex exited before the turn ended", thread_id=stream.thread_id)
        if stream.thread_id is not None and NO_ROLLOUT in error.stderr_tail:
            raise ThreadNotFoundError(
                f"thread {stream.thread_id} not found: codex has no rollout for it in this "
                "CODEX_HOME",
                thread_id=stream.thread_id,
            ) from error
        raise error


async def _send(
    send: trio.MemorySendChannel[ThreadEvent], event: ThreadEvent, stream: ExecTurnEvents
) -> None:
    try:
        send.send_nowait(event)
        return
    except trio.WouldBlock:
        pass
    # The consumer is behind: wait for it (this is the backpressure), and say so.
    begun = time.monotonic()
    await send.send(event)
    waited = time.monotonic() - begun
    stream.backpressure_seconds += waited
    telemetry.execute(("codex", "channel", "backpressure"), {"wait": waited}, {"channel": "events"})
    telemetry.execute(
        ("codex", "channel", "stats"),
        {"queue_depth": send.statistics().current_buffer_used, "capacity": stream.capacity},
        {"channel": "events"},
    )


def _protocol_error(kind: str) -> None:
    telemetry.execute(
        ("codex", "protocol", "error"), {"count": 1}, {"kind": kind, "transport": "exec"}
    )


@contextmanager
def _schema_file(schema: Mapping[str, Any] | None) -> Iterator[str | None]:
    """A private temp file (mode 0600) holding the output schema, removed on exit whatever
    happens; None when there is no schema."""
    if schema is None:
        yield None
        return
    try:
        text = json.dumps(schema)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"output_schema is not JSON-serialisable: {exc}") from None
    fd, path = tempfile.mkstemp(prefix="codex-trio-schema-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        yield path
    finally:
        os.unlink(path)
