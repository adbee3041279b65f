"""Faults injected into supervised threads: kill -9 of the real codex mid-turn, a codex that keeps
crashing (a wrapper around the real binary that dies on demand), a slow consumer, callers that
cancel or leave early. Each checks what the caller sees, what the supervisor did, and that no
process, fd or temp file is left."""

from __future__ import annotations

import functools
import os
import signal
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import trio

from codex_trio._errors import CodexError, TransportError
from codex_trio._protocol import ItemCompletedEvent, ThreadEvent, TurnCompletedEvent
from codex_trio.observe import telemetry
from codex_trio.runtime import ActorStopped, ChildState, RetryPolicy, TurnResult
from codex_trio.testing import MockModel, Script, hold, message, response
from tests.fakes import fake_codex, open_fds, pid_alive
from tests.runtime.test_runtime import (
    HANG_GUARD,
    echo,
    live_children,
    runtime,
    thread_options,
    wait_until,
)

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}


def exited(pid: int) -> bool:
    return not pid_alive(pid)


def crashing_wrapper(directory: Path, real_codex: str) -> str:
    """A codex that dies (exit 3, no output) when the prompt says CRASH and otherwise runs the
    real binary with the same argv, prompt and stdout."""
    return fake_codex(
        directory,
        f"""
        import subprocess
        prompt = sys.stdin.read()
        if "CRASH" in prompt:
            sys.exit(3)
        sys.exit(subprocess.run([{real_codex!r}, *sys.argv[1:]], input=prompt.encode()).returncode)
        """,
    )


async def test_kill_9_mid_turn_restarts_the_actor_and_the_next_turn_resumes_the_thread(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("never sent")), message("second answer")]
    errors: list[BaseException] = []
    restarts: list[Mapping[str, Any]] = []
    telemetry.attach(
        "test-kill-9-restarts",
        [("codex", "supervisor", "child", "restart")],
        lambda event, measurements, metadata, config: restarts.append(metadata),
    )
    try:
        with trio.fail_after(HANG_GUARD):
            async with runtime(mock_model) as rt:
                thread = await rt.start_thread(name="victim", **thread_options(mock_model))

                async def first() -> None:
                    try:
                        await thread.run("first prompt")
                    except CodexError as exc:
                        errors.append(exc)

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(first)
                    await mock_model.server.wait_for_held(1)
                    first_id, pid = thread.id, thread.actor.pid
                    assert pid is not None and first_id is not None
                    os.kill(pid, signal.SIGKILL)
                second = await thread.run("second prompt")
                [info] = rt.which_children()
    finally:
        telemetry.detach("test-kill-9-restarts")
    [error] = errors
    assert isinstance(error, TransportError)  # codex's own error, not the actor's wrapper
    assert error.signal == signal.SIGKILL and error.thread_id == first_id
    assert (info.restart_count, info.state, info.thread_id) == (1, ChildState.RUNNING, first_id)
    assert [(m["supervisor"], m["child_id"]) for m in restarts] == [("thread:victim", "actor")]
    assert second.final_response == "second answer"
    assert second.thread_id == first_id
    resumed = mock_model.requests[1]
    assert resumed.last_user_text() == "second prompt"
    assert "first prompt" in resumed.input_texts()  # the killed turn's history was resumed
    assert not pid_alive(pid)


async def test_retry_policy_retries_a_killed_turn_on_the_resumed_thread(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("never sent")), message("retried answer")]
    results: list[TurnResult] = []
    retry = RetryPolicy(max_attempts=2, initial_backoff=0.01, jitter=0.0)
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(retry=retry, **thread_options(mock_model))

            async def run() -> None:
                results.append(await thread.run("the task"))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(run)
                await mock_model.server.wait_for_held(1)
                first_id, pid = thread.id, thread.actor.pid
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
            [info] = rt.which_children()
    [result] = results
    assert result.final_response == "retried answer"
    assert result.thread_id == first_id
    assert info.restart_count == 1
    assert [r.last_user_text() for r in mock_model.requests] == ["the task", "the task"]


async def test_retry_gives_up_after_max_attempts_with_codex_error(
    mock_model: MockModel, tmp_path: Path
) -> None:
    codex = crashing_wrapper(tmp_path, mock_model.codex)
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.01, jitter=0.0)
    spawned: list[int] = []
    telemetry.attach(
        "test-retry-spawns",
        [("codex", "process", "spawn")],
        lambda event, measurements, metadata, config: spawned.append(metadata["pid"]),
    )
    try:
        with trio.fail_after(HANG_GUARD):
            async with runtime(mock_model, codex_path=codex, thread_max_restarts=5) as rt:
                thread = await rt.start_thread(retry=retry, **thread_options(mock_model))
                with pytest.raises(TransportError) as info:
                    await thread.run("CRASH please")
                # The last crash is restarted too (3 restarts are within the limit of 5), after
                # its caller got the error.
                await wait_until(
                    lambda: (
                        (rt.which_children()[0].restart_count, rt.which_children()[0].state)
                        == (3, ChildState.RUNNING)
                    )
                )
                [child] = rt.which_children()
    finally:
        telemetry.detach("test-retry-spawns")
    assert info.value.exit_code == 3
    assert len(spawned) == 3  # one codex per attempt, then the error
    assert child.restart_count == 3


async def test_a_thread_whose_codex_keeps_crashing_is_given_up_and_the_others_go_on(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = Script.replying(echo)
    codex = crashing_wrapper(tmp_path, mock_model.codex)
    gave_up: list[str] = []
    telemetry.attach(
        "test-crash-loop",
        [("codex", "supervisor", "intensity_exceeded")],
        lambda event, measurements, metadata, config: gave_up.append(metadata["supervisor"]),
    )
    errors: list[BaseException] = []
    try:
        with trio.fail_after(HANG_GUARD):
            async with runtime(mock_model, codex_path=codex, thread_max_restarts=2) as rt:
                bad = await rt.start_thread(name="bad", **thread_options(mock_model))
                good = await rt.start_thread(name="good", **thread_options(mock_model))
                before = await good.run("hello")
                for _ in range(6):
                    try:
                        await bad.run("CRASH now")
                    except (TransportError, ActorStopped) as exc:
                        errors.append(exc)
                        if isinstance(exc, ActorStopped):
                            break
                after = await good.run("still fine?")
                children = rt.which_children()
                bad_name = rt.whereis("bad")
    finally:
        telemetry.detach("test-crash-loop")
    assert [type(e) for e in errors] == [TransportError] * 3 + [ActorStopped]
    assert gave_up == ["thread:bad"]
    assert bad_name is None
    assert [(c.name, c.restart_count, c.state) for c in children] == [
        ("good", 0, ChildState.RUNNING)
    ]
    assert before.final_response == "echo: hello"
    assert after.final_response == "echo: still fine?"
    assert after.thread_id == before.thread_id


async def test_turn_queued_behind_a_crashed_turn_runs_after_the_restart(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("never sent")), message("queued one ran")]
    outcomes: dict[str, Any] = {}
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))

            async def run(prompt: str) -> None:
                try:
                    outcomes[prompt] = await thread.run(prompt)
                except CodexError as exc:
                    outcomes[prompt] = exc

            async with trio.open_nursery() as nursery:
                nursery.start_soon(run, "crashes")
                await mock_model.server.wait_for_held(1)
                nursery.start_soon(run, "queued")
                await wait_until(lambda: thread.actor.mailbox_stats().queue_length == 1)
                pid = thread.actor.pid
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
    assert isinstance(outcomes["crashes"], TransportError)
    assert isinstance(outcomes["queued"], TurnResult)
    assert outcomes["queued"].final_response == "queued one ran"


async def test_slow_consumer_bounds_the_event_channel_and_the_actor_waits(
    mock_model: MockModel,
) -> None:
    mock_model.script = [response(*[message(f"m{i}") for i in range(30)])]
    waits: list[str] = []
    telemetry.attach(
        "test-slow-consumer",
        [("codex", "channel", "backpressure")],
        lambda event, measurements, metadata, config: waits.append(metadata["channel"]),
    )
    received: list[ThreadEvent] = []
    peak = 0
    try:
        with trio.fail_after(HANG_GUARD):
            async with runtime(mock_model, event_buffer=2) as rt:
                thread = await rt.start_thread(**thread_options(mock_model))
                async with thread.run_streamed("talk a lot") as stream:
                    async for event in stream:
                        if not received:
                            # Reader stalled on the first event until codex has written its
                            # whole turn and exited: the actor fills the channel, then waits
                            # for room, and so does the transport's reader behind it.
                            pid = stream.pid
                            assert pid is not None
                            await wait_until(functools.partial(exited, pid))
                            full = stream.statistics()
                            assert full.tasks_waiting_send == 1
                            assert full.current_buffer_used == full.max_buffer_size == 2
                        peak = max(peak, stream.statistics().current_buffer_used)
                        received.append(event)
                result = stream.result
    finally:
        telemetry.detach("test-slow-consumer")
    assert peak <= 2
    texts = [e.item.text for e in received if isinstance(e, ItemCompletedEvent)]  # type: ignore[union-attr]
    assert texts == [f"m{i}" for i in range(30)]
    assert isinstance(received[-1], TurnCompletedEvent)
    assert result.final_response == "m29"
    assert "events" in waits  # the transport's reader waited for the actor in turn


async def test_cancelled_turn_leaves_no_process_fd_or_temp_file(
    mock_model: MockModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(schemas))
    mock_model.script = [hold(message('{"answer": 1}')), message("next turn")]
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))
            await mock_model.server.wait_for_idle()
            fds_before = open_fds()
            async with trio.open_nursery() as nursery:

                async def run() -> None:
                    await thread.run("answer", output_schema=SCHEMA)

                nursery.start_soon(run)
                await mock_model.server.wait_for_held(1)
                pid = thread.actor.pid
                assert pid is not None and pid_alive(pid)
                assert len(os.listdir(schemas)) == 1  # the schema file exists during the turn
                nursery.cancel_scope.cancel()
            # Cancellation returned only after codex was reaped.
            assert not pid_alive(pid)
            assert live_children() == []
            assert os.listdir(schemas) == []
            await mock_model.server.wait_for_idle()
            assert open_fds() == fds_before
            after = await thread.run("go on")
            [info] = rt.which_children()
    assert after.final_response == "next turn"
    assert info.restart_count == 0  # a cancelled turn is not a crash


async def test_leaving_run_streamed_early_stops_codex_before_the_block_exits(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("never read")), message("resumed")]
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))
            async with thread.run_streamed("start then leave") as stream:
                async for _event in stream:
                    await mock_model.server.wait_for_held(1)
                    pid = stream.pid
                    break
            assert pid is not None and not pid_alive(pid)
            assert live_children() == []
            result = await thread.run("again")
            [info] = rt.which_children()
    assert result.final_response == "resumed"
    assert result.thread_id == thread.id
    assert info.restart_count == 0
