"""The issue's five faults, each on the real codex, the mock model and a real redis-server:
a worker killed mid-turn, two workers and back-to-back turns of one thread, a worker paused past
its lease, Redis restarted mid-run, and a poison turn."""

import os
import signal
from pathlib import Path
from typing import Any

import pytest
import trio

from codex_trio.cluster import ClusterClient, TurnDeadLettered, TurnRestarted
from codex_trio.cluster import _events as ev
from codex_trio.observe import telemetry
from codex_trio.testing import MockModel, RedisServer, delay, hold, message
from tests.fakes import children_of

from .helpers import in_process_worker, thread_options, wait_until, worker_process

pytestmark = pytest.mark.timeout(240)


async def _worker_record(client: ClusterClient, name: str) -> dict[str, str] | None:
    return next((w for w in await client.workers() if w.get("name") == name), None)


async def test_kill_9_a_worker_mid_turn_another_reclaims_and_completes_it_once(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [hold(message("never sent")), message("finished by B"), message("next")]
    async with ClusterClient(redis_server.url) as client:
        async with worker_process(redis_server.url, mock_model, tmp_path / "a", "A") as a:
            handle = await client.submit("k", "do the KILLME task", **thread_options(mock_model))
            with trio.fail_after(60):
                await mock_model.server.wait_for_held()
            assert (await client.queue_stats()).pending == 1
            async with worker_process(redis_server.url, mock_model, tmp_path / "b", "B"):
                a.signal_group(signal.SIGKILL)  # the machine dies: worker and its codex
                with trio.fail_after(90):
                    result = await handle.result()
                events = [e async for e in handle.events()]
                second = await (await client.submit("k", "and then?")).result()
                record = await client.thread("k")
                b_record = await wait_until(lambda: _worker_record(client, "B"))
        assert a.process.returncode == -signal.SIGKILL
    assert result.final_response == "finished by B"
    assert TurnRestarted(attempt=2) in events
    assert second.final_response == "next" and second.thread_id == result.thread_id
    assert record is not None and record.version == 2 and record.worker == "B"
    assert int(b_record["reclaimed"]) >= 1
    # The thread's history holds the killed turn once: its prompt once, B's answer once.
    last = mock_model.requests[-1]
    assert last.input_texts().count("do the KILLME task") == 1
    assert last.input_texts("assistant").count("finished by B") == 1
    assert "never sent" not in last.input_texts("assistant")


async def test_two_workers_run_back_to_back_turns_of_a_thread_one_at_a_time_in_order(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [delay(1.0, message("one")), message("two")]
    seen: list[tuple[str, str, str]] = []

    def record(name: Any, m: Any, meta: Any, _: Any) -> None:
        seen.append((name[-1], meta["turn_id"], meta["worker"]))

    telemetry.attach("order-test", [ev.TURN_START, ev.TURN_STOP], record)
    try:
        options = {"concurrency": 1, "prefetch": 0}
        async with (
            in_process_worker(redis_server.url, mock_model, tmp_path / "a", **options),
            in_process_worker(redis_server.url, mock_model, tmp_path / "b", **options),
            ClusterClient(redis_server.url) as client,
        ):
            first = await client.submit("k", "first", **thread_options(mock_model))
            second = await client.submit("k", "second")
            with trio.fail_after(90):
                two = await second.result()
                one = await first.result()
    finally:
        telemetry.detach("order-test")
    assert (one.final_response, two.final_response) == ("one", "two")
    runs = [(kind, turn) for kind, turn, _ in seen]
    assert runs == [
        ("start", first.turn_id),
        ("stop", first.turn_id),
        ("start", second.turn_id),
        ("stop", second.turn_id),
    ]
    workers = {turn: worker for kind, turn, worker in seen if kind == "start"}
    assert workers[first.turn_id] != workers[second.turn_id]  # taken by different workers
    # The second turn ran on the first one's committed history.
    assert mock_model.requests[1].input_texts("assistant") == ["one"]


async def test_a_worker_paused_past_its_lease_is_fenced_off(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [hold(message("late answer of A")), message("answer of B"), message("on")]
    async with ClusterClient(redis_server.url) as client:
        async with worker_process(redis_server.url, mock_model, tmp_path / "a", "A") as a:
            handle = await client.submit("k", "the PAUSE task", **thread_options(mock_model))
            with trio.fail_after(60):
                await mock_model.server.wait_for_held()
            async with worker_process(redis_server.url, mock_model, tmp_path / "b", "B"):
                os.kill(a.pid, signal.SIGSTOP)  # the worker freezes; its codex goes on
                try:
                    with trio.fail_after(90):
                        result = await handle.result()
                    mock_model.server.release()  # A's codex now gets its (late) answer
                    await wait_until(lambda: not children_of(a.pid))  # and has finished
                finally:
                    os.kill(a.pid, signal.SIGCONT)
                a_record = await wait_until(lambda: _fenced(client, "A"), deadline=90)
                record = await client.thread("k")
                after = await (await client.submit("k", "carry on")).result()
    assert result.final_response == "answer of B"
    assert int(a_record["fenced"]) >= 1 and int(a_record["completed"]) == 0
    assert record is not None and record.worker == "B" and record.version == 1
    assert after.final_response == "on"
    history = mock_model.requests[-1].input_texts("assistant")
    assert history.count("answer of B") == 1 and "late answer of A" not in history


async def _fenced(client: ClusterClient, name: str) -> dict[str, str] | None:
    record = await _worker_record(client, name)
    return record if record is not None and int(record.get("fenced", 0)) >= 1 else None


async def test_redis_restarted_mid_run_workers_and_clients_reconnect_and_lose_nothing(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [hold(message("survived")), message("after the restart")]
    async with (
        in_process_worker(
            redis_server.url, mock_model, tmp_path / "w", lease_ms=10_000, claim_idle_ms=15_000
        ) as worker,
        ClusterClient(redis_server.url) as client,
    ):
        handle = await client.submit("k", "during", **thread_options(mock_model))
        with trio.fail_after(60):
            await mock_model.server.wait_for_held()
        await redis_server.restart(sig=signal.SIGKILL)  # a crash; the AOF keeps what was acked
        mock_model.server.release()
        with trio.fail_after(90):
            first = await handle.result()
            second = await (await client.submit("k", "after")).result()
        stats = await client.queue_stats()
        record = await client.thread("k")
    assert first.final_response == "survived"
    assert second.final_response == "after the restart"
    assert record is not None and record.version == 2 and record.queued == ()
    assert stats.depth == 0 and stats.pending == 0 and stats.dead_letters == 0
    assert worker.status.counters["completed"] == 2
    assert mock_model.requests[-1].input_texts("assistant") == ["survived"]


async def test_a_poison_turn_is_dead_lettered_after_max_deliveries_with_its_error(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("fine"), message("after the poison")]
    async with (
        in_process_worker(redis_server.url, mock_model, tmp_path / "w", max_deliveries=3) as worker,
        ClusterClient(redis_server.url) as client,
    ):
        await (await client.submit("k", "ok", **thread_options(mock_model))).result()
        # The thread's stored rollout is corrupted: no worker can resume it, every run fails.
        key = client.keys.thread("k")
        await client._conn.call(lambda r: r.hset(key, {"rollout": b"not a rollout\n"}))
        poison = await client.submit("k", "this cannot run")
        with trio.fail_after(120), pytest.raises(TurnDeadLettered) as raised:
            await poison.result()
        dead = await client.dead_letters()
        record = await client.thread("k")
    error = raised.value
    assert error.deliveries == 3 and error.turn_id == poison.turn_id
    assert error.error_type is not None and error.error
    assert [d["turn"] for d in dead] == [poison.turn_id] and dead[0]["deliveries"] == "3"
    assert worker.status.counters["failed_deliveries"] == 3
    assert worker.status.counters["dead_lettered"] == 1
    assert record is not None and record.queued == () and record.version == 1


async def test_a_turn_given_back_by_shutting_down_workers_is_not_dead_lettered(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    # Three workers in a row take the turn and are shut down mid-turn (drained at once): more
    # runs than max_deliveries, none the turn's fault. A fourth worker completes it.
    mock_model.script = [hold(message("cut short")) for _ in range(3)] + [message("finished")]
    async with ClusterClient(redis_server.url) as client:
        handle = await client.submit("k", "the long task", **thread_options(mock_model))
        turn_key = client.keys.turn(handle.turn_id)
        for n in range(1, 4):
            async with in_process_worker(
                redis_server.url, mock_model, tmp_path / f"w{n}", max_deliveries=2, drain_timeout=0
            ) as worker:
                with trio.fail_after(60):
                    await mock_model.server.wait_for_held(n)
                assert [h.deliveries for h in worker.which_children()] == [1]
            assert worker.status.counters["turns"] == 1  # given back, as "released"
            counts = await client._conn.call(
                lambda r: r.hmget(turn_key, ["deliveries", "attempts"])
            )
            assert tuple(counts) == (b"0", str(n).encode())
        async with in_process_worker(
            redis_server.url, mock_model, tmp_path / "w4", max_deliveries=2
        ) as worker:
            with trio.fail_after(90):
                result = await handle.result()
        events = [e async for e in handle.events()]
        stats = await client.queue_stats()
        deliveries = await client._conn.call(lambda r: r.hget(turn_key, "deliveries"))
    assert result.final_response == "finished"
    assert stats.dead_letters == 0 and worker.status.counters["completed"] == 1
    assert deliveries == b"1"
    assert [e for e in events if isinstance(e, TurnRestarted)] == [
        TurnRestarted(attempt=n) for n in (2, 3, 4)
    ]
