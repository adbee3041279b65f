"""Isolation on one shared ``codex app-server`` (real binary, mock model): one thread's slow
consumer, a cancelled write or a stopped process never stalls or corrupts another thread."""

from __future__ import annotations

import os
import signal

import pytest
import trio

import codex_trio
from codex_trio._errors import SlowConsumerError, TransportError
from codex_trio._protocol.app_server import JsonRpcError
from codex_trio._protocol.exec_events import ThreadEvent, ThreadStartedEvent, TurnCompletedEvent
from codex_trio._protocol.options import CodexOptions
from codex_trio._transport.app_server import AppServerTransport
from codex_trio.observe import Metrics, telemetry
from codex_trio.testing import MockModel, Script, hold, message, response
from tests.transport.helpers import app_server, thread_options

pytestmark = pytest.mark.integration


async def test_a_consumer_that_never_reads_stalls_no_other_thread(mock_model: MockModel) -> None:
    mock_model.script = Script.replying(message("ok"))
    with trio.fail_after(60):
        async with app_server(mock_model, event_buffer=4, request_timeout=20) as client:
            stuck_thread = (await client.thread_start(thread_options(mock_model))).thread.id
            other_thread = (await client.thread_start(thread_options(mock_model))).thread.id
            async with client.turn(stuck_thread, "never read") as stuck:
                # The stuck turn's notifications pile up unread while the other thread runs.
                statuses = [
                    (await client.run_turn(other_thread, f"turn {n}")).status for n in range(3)
                ]
                while not stuck._sub.statistics().overflowed:
                    await trio.sleep(0.01)
                with pytest.raises(SlowConsumerError) as info:
                    async for _ in stuck:
                        pass
            assert client.slow_consumers == 1
            # The thread itself stays usable.
            again = await client.run_turn(stuck_thread, "now I read")
    assert statuses == ["completed"] * 3
    assert info.value.thread_id == stuck_thread and info.value.turn_id == stuck.turn_id
    assert info.value.capacity == 4
    assert again.status == "completed"


async def test_codex_thread_whose_stream_is_not_read_does_not_hold_the_others(
    mock_model: MockModel,
) -> None:
    # Twelve messages a turn: more item notifications than the 16 a stream buffers.
    mock_model.script = Script.replying(response(*(message(f"m{n}") for n in range(12))))
    metrics = Metrics()
    metrics.attach()
    overflows: list[dict[str, object]] = []
    telemetry.attach(
        "test-overflow",
        [("codex", "subscription", "overflow")],
        lambda event, m, meta, config: overflows.append(dict(meta)),
    )
    try:
        with trio.fail_after(60):
            async with codex_trio.Codex(
                transport="app-server", env=mock_model.env, event_buffer=16
            ) as codex:
                slow = codex.start_thread(
                    working_directory=str(mock_model.workdir), skip_git_repo_check=True
                )
                fast = codex.start_thread(
                    working_directory=str(mock_model.workdir), skip_git_repo_check=True
                )
                async with slow.run_streamed("I will not read") as events:
                    first = await events.__anext__()  # the turn has started; then stop reading
                    answers = [(await fast.run(f"go {n}")).final_response for n in range(3)]
                    with pytest.raises(SlowConsumerError):
                        async for _ in events:
                            pass
    finally:
        telemetry.detach("test-overflow")
        metrics.detach()
    assert first is not None
    assert answers == ["m11"] * 3
    assert len(overflows) == 1 and overflows[0]["transport"] == "app-server"
    assert metrics.snapshot()['codex_slow_consumer_total{transport="app-server"}'] == 1


async def test_steer_from_inside_a_full_loop_does_not_deadlock(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("first")), message("steered")]
    outcome: list[str] = []
    with trio.fail_after(60):
        async with app_server(mock_model, event_buffer=4, request_timeout=15) as client:
            thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
            async with client.turn(thread_id, "hi") as turn:
                try:
                    async for event in turn:
                        if outcome:
                            outcome.append(type(event).__name__)
                            continue
                        await mock_model.server.wait_for_held(1)
                        stats = turn._sub.statistics()
                        while stats.current_buffer_used < 4 and not stats.overflowed:
                            await trio.sleep(0.01)  # the turn's notifications fill our buffer
                            stats = turn._sub.statistics()
                        # The answer to turn/steer comes behind notifications that do not fit:
                        # the reader must not wait for us to make room (before, this waited for
                        # itself until the request timed out).
                        try:
                            await turn.steer("and also this")
                            outcome.append("steered")
                        except JsonRpcError:  # the turn was already cut short: the engine says so
                            outcome.append("refused")
                        mock_model.server.release()
                except SlowConsumerError:
                    outcome.append("SlowConsumerError")
    assert outcome[0] in ("steered", "refused")
    # The turn then ends one of the two typed ways: completed, or cut short for falling behind.
    assert outcome[-1] in ("TurnCompletedEvent", "TurnFailedEvent", "SlowConsumerError")


async def test_a_write_cancelled_midway_is_finished_whole_and_the_next_message_is_intact(
    mock_model: MockModel,
) -> None:
    mock_model.script = Script.replying(message("ok"))
    big = "x" * 600_000  # far more than a pipe holds (64 KiB)
    with trio.fail_after(60):
        async with app_server(mock_model, request_timeout=10) as client:
            first = (await client.thread_start(thread_options(mock_model))).thread.id
            second = (await client.thread_start(thread_options(mock_model))).thread.id
            os.kill(client.pid, signal.SIGSTOP)  # codex stops reading its stdin
            try:
                with trio.move_on_after(0.5) as scope:
                    await client.request(
                        "turn/start", {"threadId": first, "input": [{"type": "text", "text": big}]}
                    )
                assert scope.cancelled_caught  # cancelled with the message half written
            finally:
                os.kill(client.pid, signal.SIGCONT)
            # Had the half message stayed half, this turn/start would be glued onto it, and
            # codex would drop the line: no answer, a RequestTimeoutError after 10 s.
            result = await client.run_turn(second, "hello")
            assert client.error is None
    assert result.status == "completed" and result.final_response == "ok"


async def test_a_write_that_cannot_finish_fails_the_connection_for_everyone(
    mock_model: MockModel,
) -> None:
    mock_model.script = Script.replying(message("ok"))
    errors: list[BaseException] = []
    with trio.fail_after(60):
        async with app_server(mock_model, write_timeout=1.0) as client:
            thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
            os.kill(client.pid, signal.SIGSTOP)
            try:

                async def call(params: dict[str, object]) -> None:
                    try:
                        await client.request("turn/start", params)
                    except TransportError as exc:
                        errors.append(exc)

                async with trio.open_nursery() as nursery:
                    text = {"type": "text", "text": "y" * 600_000}
                    nursery.start_soon(call, {"threadId": thread_id, "input": [text]})
                    nursery.start_soon(call, {"threadId": thread_id, "input": [text]})
                await client.wait_closed()
            finally:
                os.kill(client.pid, signal.SIGCONT)
    assert len(errors) == 2 and errors[0] is errors[1]
    assert "could not be written to codex within 1 s" in str(errors[0])


async def test_a_stalled_write_restarts_the_shared_process_and_threads_go_on(
    mock_model: MockModel,
) -> None:
    mock_model.script = Script.replying(message("ok"))
    transport = AppServerTransport(
        options=CodexOptions(codex_path=mock_model.codex, env=mock_model.env), write_timeout=1.0
    )
    with trio.fail_after(60):
        async with transport.open():
            async with transport.turn("first", thread_options(mock_model)) as events:
                seen = [e async for e in events]
            thread_id = seen[0].thread_id  # type: ignore[attr-defined]
            assert transport.client is not None
            old_pid = transport.client.pid
            os.kill(old_pid, signal.SIGSTOP)
            try:
                with pytest.raises(TransportError):
                    async with transport.turn(
                        "z" * 600_000, thread_options(mock_model), resume_thread_id=thread_id
                    ) as events:
                        async for _ in events:
                            pass
            finally:
                os.kill(old_pid, signal.SIGCONT)
            async with transport.turn(
                "after the restart", thread_options(mock_model), resume_thread_id=thread_id
            ) as events:
                final = [e async for e in events][-1]
            status = transport.status
    assert isinstance(final, TurnCompletedEvent)
    assert status.state == "running" and status.restarts == 1 and status.pid != old_pid


async def run_to_end(
    transport: AppServerTransport,
    mock_model: MockModel,
    prompt: str,
    resume_thread_id: str | None = None,
) -> list[ThreadEvent]:
    """One whole turn on ``transport``; its events."""
    async with transport.turn(
        prompt, thread_options(mock_model), resume_thread_id=resume_thread_id
    ) as events:
        return [e async for e in events]


async def start_threads(
    transport: AppServerTransport, mock_model: MockModel, count: int
) -> list[str]:
    """``count`` new threads, one turn each, in order; their ids."""
    ids = []
    for n in range(count):
        first = (await run_to_end(transport, mock_model, f"thread {n}"))[0]
        assert isinstance(first, ThreadStartedEvent)
        ids.append(first.thread_id)
    return ids


async def test_per_thread_records_are_bounded_and_a_forgotten_thread_resumes(
    mock_model: MockModel,
) -> None:
    mock_model.script = Script.replying(message("ok"))
    transport = AppServerTransport(
        options=CodexOptions(codex_path=mock_model.codex, env=mock_model.env), max_threads=2
    )
    with trio.fail_after(60):
        async with transport.open():
            ids = await start_threads(transport, mock_model, 3)
            client = transport.client
            assert client is not None
            tracked = client.tracked_threads
            loaded = [client.is_loaded(i) for i in ids]
            # The oldest was forgotten: its next turn resumes it (thread/resume) and runs.
            final = (await run_to_end(transport, mock_model, "back again", ids[0]))[-1]
            reloaded = client.is_loaded(ids[0])
    assert tracked == 2 and loaded == [False, True, True]
    assert isinstance(final, TurnCompletedEvent) and reloaded


async def test_threads_the_client_forgets_are_unloaded_by_the_engine(
    mock_model: MockModel,
) -> None:
    # codex keeps ~1.2 MB per loaded thread; unsubscribed threads unload at once on a process
    # started with thread_unload_delay_secs=0 (bench/bench_engine_memory.py has the figures).
    mock_model.script = Script.replying(message("ok"))
    transport = AppServerTransport(
        options=CodexOptions(codex_path=mock_model.codex, env=mock_model.env), max_threads=2
    )
    with trio.fail_after(60):
        async with transport.open():
            # The third pushes the first out of the client's records.
            ids = await start_threads(transport, mock_model, 3)
            client = transport.client
            assert client is not None
            transport.forget_thread(ids[1])  # as Thread.close() and a stopped handle do
            loaded = set(await client.loaded_threads())
            while loaded != {ids[2]}:
                await trio.sleep(0.05)
                loaded = set(await client.loaded_threads())
            final = (await run_to_end(transport, mock_model, "back again", ids[0]))[-1]
            loaded_after = set(await client.loaded_threads())
    assert isinstance(final, TurnCompletedEvent)
    assert loaded_after == {ids[0], ids[2]}


async def test_a_thread_resumed_right_after_it_was_forgotten_runs(mock_model: MockModel) -> None:
    # The engine answers "thread ... is closing; retry thread/resume after the thread is closed"
    # while it unloads a thread the client just unsubscribed from: the client retries.
    mock_model.script = Script.replying(message("ok"))
    statuses = []
    with trio.fail_after(60):
        async with app_server(mock_model) as client:
            thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
            await client.run_turn(thread_id, "first")  # a rollout to resume from
            for n in range(5):
                client.forget_thread(thread_id)
                await trio.lowlevel.checkpoint()  # let the unsubscribe go out first
                await client.thread_resume(thread_id, thread_options(mock_model))
                statuses.append((await client.run_turn(thread_id, f"turn {n}")).status)
    assert statuses == ["completed"] * 5
