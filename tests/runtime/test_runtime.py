"""The supervised Runtime with the real codex binary on the mock model: threads run turns, run
concurrently, queue on one thread, share a concurrency cap, stop, drain on shutdown.

Faults (kill -9, crash loops, slow consumers, cancellation) are in ``test_runtime_faults.py``.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import trio
import trio.testing

from codex_trio._errors import CodexError
from codex_trio.observe import telemetry
from codex_trio.runtime import (
    ActorStopped,
    ChildState,
    NameTaken,
    Runtime,
    RuntimeClosedError,
    ThreadHandle,
    TurnCancelledError,
    TurnResult,
)
from codex_trio.testing import MockModel, RecordedRequest, Script, hold, message
from tests.fakes import children_of_self, pid_alive

HANG_GUARD = 60.0

Options = dict[str, Any]


def thread_options(mock_model: MockModel) -> Options:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}


def runtime(mock_model: MockModel, **kw: Any) -> Runtime:
    """A Runtime on the real binary pointed at the mock model."""
    return Runtime(env=mock_model.env, **kw)


def echo(request: RecordedRequest) -> Any:
    return message(f"echo: {request.last_user_text()}")


def conversation(request: RecordedRequest) -> str | None:
    return request.marker(r"\[conv:(\w+)\]")


def live_children() -> list[int]:
    return [pid for pid in children_of_self() if pid_alive(pid)]


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Poll until ``predicate()`` holds; the caller's hang guard bounds the wait."""
    while not predicate():
        await trio.sleep(0.01)


class ProcessCounter:
    """Counts live codex processes from the telemetry spawn/exit events; remembers the peak."""

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0
        self.spawned = 0

    def __call__(self, event: Any, measurements: Any, metadata: Any, config: Any) -> None:
        if event[-1] == "spawn":
            self.live += 1
            self.spawned += 1
            self.peak = max(self.peak, self.live)
        else:
            self.live -= 1


@contextmanager
def counting_processes() -> Iterator[ProcessCounter]:
    counter = ProcessCounter()
    handler_id = f"test-runtime-processes-{id(counter)}"
    telemetry.attach(
        handler_id, [("codex", "process", "spawn"), ("codex", "process", "exit")], counter
    )
    try:
        yield counter
    finally:
        telemetry.detach(handler_id)


async def test_supervised_thread_runs_turns_on_one_codex_thread(mock_model: MockModel) -> None:
    mock_model.script = Script.replying(echo)
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(name="triage", **thread_options(mock_model))
            first = await thread.run("first question")
            second = await thread.run("second question")
            [info] = rt.which_children()
    assert first.final_response == "echo: first question"
    assert second.final_response == "echo: second question"
    assert thread.id is not None and first.thread_id == second.thread_id == thread.id
    assert "first question" in mock_model.requests[1].input_texts()  # resumed with history
    assert (info.name, info.thread_id, info.state) == ("triage", thread.id, ChildState.RUNNING)
    assert (info.restart_count, info.turns_completed, info.pid) == (0, 2, None)


async def test_two_threads_run_their_turns_at_the_same_time(mock_model: MockModel) -> None:
    mock_model.script = Script.by_key(
        conversation, {"a": [hold(message("a done"))], "b": [hold(message("b done"))]}
    )
    results: dict[str, TurnResult] = {}
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            a = await rt.start_thread(**thread_options(mock_model))
            b = await rt.start_thread(**thread_options(mock_model))

            async def run(handle: ThreadHandle, key: str) -> None:
                results[key] = await handle.run(f"[conv:{key}] go")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(run, a, "a")
                nursery.start_soon(run, b, "b")
                # Both models calls are pending at once: neither turn waits for the other.
                await mock_model.server.wait_for_held(2)
                assert {a.actor.pid, b.actor.pid} <= set(live_children())
                assert not results
                mock_model.server.release()
    assert results["a"].final_response == "a done"
    assert results["b"].final_response == "b done"
    assert a.id != b.id


async def test_turns_on_one_thread_run_one_at_a_time_in_mailbox_order(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("one")), message("two"), message("three")]
    results: list[str | None] = []
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))

            async def run(prompt: str) -> None:
                results.append((await thread.run(prompt)).final_response)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(run, "p1")
                await mock_model.server.wait_for_held(1)
                nursery.start_soon(run, "p2")
                await wait_until(lambda: thread.actor.mailbox_stats().queue_length == 1)
                nursery.start_soon(run, "p3")
                await wait_until(lambda: thread.actor.mailbox_stats().queue_length == 2)
                # The first turn holds the thread: the queued ones have not reached the model.
                assert len(mock_model.requests) == 1
                mock_model.server.release()
    assert results == ["one", "two", "three"]
    prompts = [r.last_user_text() for r in mock_model.requests]
    assert prompts == ["p1", "p2", "p3"]
    assert {"p1", "p2"} <= set(mock_model.requests[2].input_texts())


async def test_concurrency_cap_keeps_codex_processes_at_the_limit(mock_model: MockModel) -> None:
    mock_model.script = Script.replying(hold(message("ok")))
    done: list[str] = []
    with counting_processes() as processes, trio.fail_after(HANG_GUARD):
        async with runtime(mock_model, max_concurrent_turns=2) as rt:
            threads = [await rt.start_thread(**thread_options(mock_model)) for _ in range(6)]

            async def run(handle: ThreadHandle) -> None:
                done.append((await handle.run("go")).final_response or "")

            async def release_each_hold() -> None:
                for count in range(1, 7):
                    await mock_model.server.wait_for_held(count)
                    mock_model.server.release()

            async with trio.open_nursery() as nursery:
                for handle in threads:
                    nursery.start_soon(run, handle)
                await wait_until(lambda: rt.limiter.statistics().tasks_waiting == 4)
                await mock_model.server.wait_for_held(2)
                assert rt.limiter.borrowed_tokens == 2
                assert processes.live == 2
                nursery.start_soon(release_each_hold)
    assert done == ["ok"] * 6
    assert processes.spawned == 6
    assert processes.peak == 2


async def test_shutdown_lets_an_in_flight_turn_finish_and_refuses_new_work(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("finished during the drain"))]
    results: list[TurnResult] = []
    with trio.fail_after(HANG_GUARD):
        rt = runtime(mock_model, drain_timeout=HANG_GUARD)
        async with rt:
            thread = await rt.start_thread(**thread_options(mock_model))
            async with trio.open_nursery() as nursery:

                async def run() -> None:
                    results.append(await thread.run("long task"))

                nursery.start_soon(run)
                await mock_model.server.wait_for_held(1)
                nursery.start_soon(rt.aclose)
                await wait_until(lambda: not rt.accepting)
                with pytest.raises(RuntimeClosedError):
                    await thread.run("too late")
                with pytest.raises(RuntimeClosedError):
                    await rt.start_thread(**thread_options(mock_model))
                assert not results
                mock_model.server.release()
    assert results[0].final_response == "finished during the drain"
    assert rt.which_children() == []
    assert live_children() == []


async def test_shutdown_cancels_turns_still_running_after_the_drain_timeout(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("never sent"))]
    errors: list[BaseException] = []
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model, drain_timeout=0.2) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))

            async def run(prompt: str) -> None:
                try:
                    await thread.run(prompt)
                except CodexError as exc:
                    errors.append(exc)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(run, "running")
                await mock_model.server.wait_for_held(1)
                pid = thread.actor.pid
                nursery.start_soon(run, "queued")
                await wait_until(lambda: thread.actor.mailbox_stats().queue_length == 1)
                await rt.aclose()
    assert isinstance(errors[0], TurnCancelledError)
    assert isinstance(errors[1], RuntimeClosedError | ActorStopped)
    assert len(mock_model.requests) == 1  # the queued turn never started
    assert pid is not None and not pid_alive(pid)
    assert live_children() == []


async def test_cancelling_the_runtime_block_skips_the_drain_and_reaps_codex(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("never sent"))]
    # The hang guard is far below the drain timeout: waiting for the drain would trip it.
    with trio.fail_after(HANG_GUARD), trio.CancelScope() as outer:
        async with runtime(mock_model, drain_timeout=10 * HANG_GUARD) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(thread.run, "held")
                await mock_model.server.wait_for_held(1)
                pid = thread.actor.pid
                outer.cancel()
    assert outer.cancelled_caught
    assert pid is not None and not pid_alive(pid)
    assert live_children() == []


async def test_whereis_finds_a_named_thread_until_it_stops(mock_model: MockModel) -> None:
    mock_model.script = Script.replying(echo)
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(name="worker", **thread_options(mock_model))
            assert rt.whereis("worker") is thread
            with pytest.raises(NameTaken):
                await rt.start_thread(name="worker", **thread_options(mock_model))
            await rt.stop_thread("worker")
            assert rt.whereis("worker") is None
            assert rt.which_children() == []
            again = await rt.start_thread(name="worker", **thread_options(mock_model))
            assert rt.whereis("worker") is again
            assert (await again.run("hello")).final_response == "echo: hello"
        assert rt.whereis("worker") is None  # released by the shutdown too


async def test_stop_thread_ends_its_turns_and_keeps_the_others(mock_model: MockModel) -> None:
    mock_model.script = Script.replying(echo)
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            doomed = await rt.start_thread(name="doomed", **thread_options(mock_model))
            other = await rt.start_thread(name="other", **thread_options(mock_model))
            await doomed.run("before")
            await rt.stop_thread("doomed")
            with pytest.raises(ActorStopped):
                await doomed.run("after")
            assert [info.name for info in rt.which_children()] == ["other"]
            assert rt.count_children().active == 1
            assert (await other.run("still here")).final_response == "echo: still here"


async def test_resume_thread_continues_a_codex_thread_by_id(mock_model: MockModel) -> None:
    mock_model.script = Script.replying(echo)
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            first = await rt.start_thread(**thread_options(mock_model))
            await first.run("remember the word pelican")
            assert first.id is not None
            resumed = await rt.resume_thread(first.id, **thread_options(mock_model))
            result = await resumed.run("which word?")
    assert result.thread_id == first.id
    assert "remember the word pelican" in mock_model.requests[-1].input_texts()


async def test_serve_metrics_is_scraped_while_the_runtime_runs(mock_model: MockModel) -> None:
    mock_model.script = Script.replying(echo)
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            host, port = await rt.serve_metrics()
            await (await rt.start_thread(**thread_options(mock_model))).run("count me")
            stream = await trio.open_tcp_stream(host, port)
            async with stream:
                await stream.send_all(
                    b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                body = b""
                while chunk := await stream.receive_some(65536):
                    body += chunk
    text = body.decode()
    assert text.startswith("HTTP/1.1 200")
    assert 'codex_turns_total{status="completed",transport="exec"} 1.0' in text


async def test_serve_metrics_closes_a_silent_connection_after_its_request_timeout(
    mock_model: MockModel,
) -> None:
    from codex_trio.observe import HttpLimits

    limits = HttpLimits(request_timeout=0.2, idle_timeout=0.2, max_connections=4)
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            host, port = await rt.serve_metrics(limits=limits)
            stream = await trio.open_tcp_stream(host, port)
            async with stream:
                # Nothing sent: the server gives up on us (EOF) instead of holding an fd forever.
                leftover = await stream.receive_some(65536)
                while leftover:
                    leftover = await stream.receive_some(65536)
    assert leftover == b""


async def test_wait_for_shutdown_signal_returns_on_sigterm(mock_model: MockModel) -> None:
    received: list[int] = []
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:

            async def wait() -> None:
                received.append(await rt.wait_for_shutdown_signal())

            async with trio.open_nursery() as nursery:
                nursery.start_soon(wait)
                await trio.testing.wait_all_tasks_blocked()
                os.kill(os.getpid(), signal.SIGTERM)
    assert received == [signal.SIGTERM]
