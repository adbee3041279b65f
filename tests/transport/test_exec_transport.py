"""ExecTransport fault handling, with fake codex scripts where a fault must be forced and with the
real binary where it can be (kill -9 mid-turn)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import trio

from codex_trio import Codex
from codex_trio._errors import ProtocolError, TransportError, TurnDeadlineError
from codex_trio._protocol import (
    ItemCompletedEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
)
from codex_trio._protocol.options import CodexOptions, ThreadOptions, TurnOptions
from codex_trio._transport.exec import ExecTransport
from codex_trio._transport.process import StopPolicy
from codex_trio.observe import telemetry
from codex_trio.testing import MockModel, hang, hold, message
from tests.fakes import children_of_self, fake_codex, pid_alive

FAST = StopPolicy(exit_grace=2.0, signal_grace=0.5)
THREAD = ThreadOptions(skip_git_repo_check=True)
START = '{"type":"thread.started","thread_id":"t-1"}'
TURN = '{"type":"turn.started"}'
DONE = (
    '{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1}}'
)


def msg(i: int) -> str:
    item = {"id": f"item_{i}", "type": "agent_message", "text": f"m{i}"}
    return json.dumps({"type": "item.completed", "item": item})


def transport(path: str, **kw: object) -> ExecTransport:
    return ExecTransport(codex_path=path, stop_policy=FAST, **kw)  # type: ignore[arg-type]


def printing(*lines: str, then: str = "") -> str:
    out = "".join(f"print({line!r}, flush=True)\n" for line in lines)
    return "sys.stdin.read()\n" + out + then


async def collect(t: ExecTransport, prompt: str = "hi") -> list[object]:
    async with t.turn(prompt, THREAD) as stream:
        return [event async for event in stream]


async def test_prompt_reaches_stdin_and_events_are_typed(tmp_path: Path) -> None:
    codex = fake_codex(
        tmp_path,
        """
        prompt = sys.stdin.read()
        print(json.dumps({"type": "thread.started", "thread_id": "t-1"}), flush=True)
        item = {"id": "item_0", "type": "agent_message", "text": "echo: " + prompt}
        print(json.dumps({"type": "item.completed", "item": item}), flush=True)
        """
        + f"print({DONE!r})\n",
    )
    events = await collect(transport(codex), "the prompt")
    assert isinstance(events[0], ThreadStartedEvent)
    assert isinstance(events[1], ItemCompletedEvent)
    assert events[1].item.text == "echo: the prompt"  # type: ignore[union-attr]
    assert isinstance(events[2], TurnCompletedEvent)


async def test_garbage_line_is_skipped_and_reported(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, printing(START, "this is not json", TURN, msg(0), DONE))
    bus_events: list[tuple[str, ...]] = []
    telemetry.attach(
        "t-garbage",
        [("codex", "protocol", "error")],
        lambda e, m, md, c: bus_events.append(md["kind"]),
    )
    try:
        events = await collect(transport(codex))
    finally:
        telemetry.detach("t-garbage")
    assert [type(e).__name__ for e in events] == [
        "ThreadStartedEvent",
        "TurnStartedEvent",
        "ItemCompletedEvent",
        "TurnCompletedEvent",
    ]
    assert bus_events == ["invalid_json"]


async def test_garbage_line_fails_the_turn_under_the_fail_policy(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, printing(START, "{broken", DONE))
    with pytest.raises(ProtocolError) as info:
        await collect(transport(codex, on_malformed="fail"))
    assert "{broken" in info.value.line
    assert info.value.thread_id == "t-1"


async def test_oversized_line_fails_the_turn_cleanly(tmp_path: Path) -> None:
    codex = fake_codex(
        tmp_path,
        printing(START)
        + "print('{\"type\": \"' + 'x' * 5000 + '\"}', flush=True)\n"
        + "time.sleep(30)\n",
    )
    seen: list[object] = []
    with pytest.raises(ProtocolError, match="over 1024 bytes"):
        async with transport(codex, max_line_bytes=1024).turn("hi", THREAD) as stream:
            async for event in stream:
                seen.append(event)
    assert len(seen) == 1 and isinstance(seen[0], ThreadStartedEvent)
    assert not [p for p in children_of_self() if pid_alive(p)]


async def test_exit_without_turn_end_raises_transport_error_with_context(tmp_path: Path) -> None:
    codex = fake_codex(
        tmp_path,
        printing(START, TURN, then="sys.stderr.write('fatal: engine fell over\\n'); sys.exit(3)\n"),
    )
    with pytest.raises(TransportError) as info:
        await collect(transport(codex))
    error = info.value
    assert error.exit_code == 3 and error.signal is None
    assert "engine fell over" in error.stderr_tail
    assert error.thread_id == "t-1"


async def test_crash_by_signal_is_reported_with_the_signal(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, printing(START, then="os.kill(os.getpid(), signal.SIGKILL)\n"))
    with pytest.raises(TransportError) as info:
        await collect(transport(codex))
    assert info.value.signal == signal.SIGKILL and info.value.exit_code is None


async def test_slow_consumer_bounds_the_channel_and_the_reader_waits(tmp_path: Path) -> None:
    lines = [START, TURN, *(msg(i) for i in range(200)), DONE]
    codex = fake_codex(tmp_path, printing(*lines))
    waits: list[float] = []
    telemetry.attach(
        "t-bp", [("codex", "channel", "backpressure")], lambda e, m, md, c: waits.append(m["wait"])
    )
    max_used = 0
    count = 0
    try:
        async with transport(codex, event_buffer=4).turn("hi", THREAD) as stream:
            async for _event in stream:
                count += 1
                await trio.sleep(0.002)
                stats = stream.statistics()
                max_used = max(max_used, stats.current_buffer_used)
                if count == 50:
                    # Stop consuming: the reader fills the channel, then parks on it; nothing
                    # beyond the channel's capacity is held.
                    with trio.fail_after(30):
                        while stream.statistics().tasks_waiting_send == 0:
                            await trio.sleep(0.01)
                    assert stream.statistics().current_buffer_used == 4
    finally:
        telemetry.detach("t-bp")
    assert count == len(lines)
    assert max_used <= 4
    assert waits and stream.backpressure_seconds > 0


async def test_empty_lines_are_ignored(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, printing(START, "", "   ", DONE))
    assert len(await collect(transport(codex))) == 2


async def test_kill_9_of_real_codex_mid_turn_is_a_transport_error(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("never sent"))]
    t = ExecTransport(
        codex_path=mock_model.codex, options=CodexOptions(env=mock_model.env), stop_policy=FAST
    )
    thread = ThreadOptions(skip_git_repo_check=True, working_directory=str(mock_model.workdir))
    seen: list[object] = []
    with pytest.raises(TransportError) as info:
        async with t.turn("hold on", thread, TurnOptions(timeout=60)) as stream:
            async for event in stream:
                seen.append(event)
                if isinstance(event, ThreadStartedEvent):
                    await mock_model.server.wait_for_held(1)
                    assert stream.pid is not None
                    os.kill(stream.pid, signal.SIGKILL)
    assert info.value.signal == signal.SIGKILL
    assert info.value.thread_id == seen[0].thread_id  # type: ignore[attr-defined]
    assert not pid_alive(stream.pid)


# A codex that ends its turn, then lingers: it ignores stdin's EOF and would sleep 30 s more.
# The real binary exits 10-30 ms after turn.completed; this one forces the case of issue 8.6.
LINGER = 30
LINGERING = printing(START, TURN, msg(0), DONE, then=f"time.sleep({LINGER})\n")


async def test_a_turn_that_ended_is_not_failed_by_its_deadline_while_codex_lingers(
    tmp_path: Path,
) -> None:
    # Default stop policy: before the fix, the deadline scope also covered the 5 s exit grace,
    # so a turn that completed at once raised TurnDeadlineError at the 3 s deadline.
    codex = fake_codex(tmp_path, LINGERING)
    thread = Codex(codex_path=codex).start_thread(skip_git_repo_check=True)
    with trio.fail_after(LINGER - 5):  # hang guard, far beyond the expected wait
        result = await thread.run("hi", timeout=3)
    assert result.final_response == "m0"
    assert thread.id == "t-1"
    assert not [p for p in children_of_self() if pid_alive(p)]


async def test_the_stream_ends_at_turn_completed_and_a_lingering_codex_is_reaped_after(
    tmp_path: Path,
) -> None:
    codex = fake_codex(tmp_path, LINGERING)
    exits: list[dict[str, object]] = []
    telemetry.attach(
        "t-linger", [("codex", "process", "exit")], lambda e, m, md, c: exits.append(md)
    )
    try:
        with trio.fail_after(LINGER - 5):  # hang guard only
            async with transport(codex).turn("hi", THREAD) as stream:
                events = [event async for event in stream]
                # The iteration ended at turn.completed, with codex still running: the turn
                # is done at that event, not at exit.
                assert stream.pid is not None and pid_alive(stream.pid)
                assert not exits
    finally:
        telemetry.detach("t-linger")
    assert isinstance(events[-1], TurnCompletedEvent)
    # Leaving the block reaped it, signalled (it would not exit by itself), not waited out.
    assert not pid_alive(stream.pid)
    assert stream.pid not in children_of_self()
    assert [e["reason"] for e in exits] == ["killed"]


async def test_deadline_error_carries_the_stopped_codex_exit_status_and_stderr(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hang()]
    t = ExecTransport(
        codex_path=mock_model.codex, options=CodexOptions(env=mock_model.env), stop_policy=FAST
    )
    thread = ThreadOptions(skip_git_repo_check=True, working_directory=str(mock_model.workdir))
    with trio.fail_after(60), pytest.raises(TurnDeadlineError) as info:
        async with t.turn("wait for it", thread, TurnOptions(timeout=3)) as stream:
            async for _event in stream:
                pass
    error = info.value
    assert error.pid is not None and error.pid == stream.pid
    assert not pid_alive(error.pid)
    # codex 0.163.0 answers SIGINT mid-turn with exit 1; what it wrote to stderr is kept.
    assert error.exit_code == 1 and error.signal is None
    assert "Reading prompt from stdin" in error.stderr_tail
    assert "exit code 1" in str(error)
    assert error.thread_id is not None
