"""Workers on the app-server transport (a shared app-server, and one per thread): a thread's
turns alternate between two workers' runtimes, each turn resuming the rollout the previous one
committed; the history each turn sends holds every earlier turn once."""

from pathlib import Path
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio.cluster import ClusterClient, ClusterWorker
from codex_trio.testing import MockModel, RedisServer, message

from .helpers import FAST, thread_options, worker_home

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize("app_servers", [1, "per-thread"], ids=["shared", "per-thread"])
async def test_a_thread_alternates_between_two_app_server_workers_with_its_history(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path, app_servers: Any
) -> None:
    mock_model.script = [message("answer one"), message("answer two"), message("answer three")]

    def runtime(name: str) -> codex_trio.Runtime:
        env = worker_home(mock_model, tmp_path / name)
        return codex_trio.Runtime(transport="app-server", app_servers=app_servers, env=env)

    async def turn(rt: codex_trio.Runtime, name: str, prompt: str, **options: Any) -> Any:
        # One worker at a time on the deployment, so each turn runs where the test says. The
        # runtimes outlive their workers: the third turn runs on the app-server process that
        # ran the first, and must resume the thread from the rollout the second committed.
        async with ClusterWorker(redis_server.url, runtime=rt, name=name, **FAST) as worker:
            with trio.fail_after(120):
                result = await (await client.submit("t", prompt, **options)).result()
        assert worker.status.counters["completed"] == 1
        return result

    async with (
        runtime("a") as a,
        runtime("b") as b,
        ClusterClient(redis_server.url) as client,
    ):
        one = await turn(a, "A1", "say the word HERON", **thread_options(mock_model))
        two = await turn(b, "B", "say it again")
        three = await turn(a, "A2", "and once more")
        record = await client.thread("t")
    assert (one.final_response, two.final_response, three.final_response) == (
        "answer one",
        "answer two",
        "answer three",
    )
    assert one.thread_id == two.thread_id == three.thread_id
    assert record is not None and record.version == 3 and record.worker == "A2"
    second, third = mock_model.requests[1], mock_model.requests[2]
    assert second.input_texts().count("say the word HERON") == 1
    assert second.input_texts("assistant") == ["answer one"]
    assert third.input_texts().count("say the word HERON") == 1
    assert third.input_texts().count("say it again") == 1
    assert third.input_texts("assistant") == ["answer one", "answer two"]
    # No worker keeps thread state: every rollout went to Redis.
    for name in "ab":
        assert not list((tmp_path / name / "sessions").rglob("rollout-*.jsonl"))


def test_a_rollout_is_complete_once_every_started_task_has_ended(tmp_path: Path) -> None:
    from codex_trio.cluster._worker import _rollout_state

    thread_id = "01a2-thread"
    path = tmp_path / "2026/12/01" / f"rollout-2026-12-01T00-00-00-{thread_id}.jsonl"
    path.parent.mkdir(parents=True)

    def record(kind: str) -> str:
        return f'{{"timestamp":"t","type":"event_msg","payload":{{"type":"{kind}"}}}}\n'

    meta = '{"timestamp":"t","type":"session_meta","payload":{"id":"x"}}\n'
    assert _rollout_state(tmp_path, thread_id) == (None, False)
    path.write_text(meta + record("task_started"))
    assert _rollout_state(tmp_path, thread_id)[1] is False  # the turn is still being written
    path.write_text(meta + record("task_started") + record("task_complete")[:20])
    assert _rollout_state(tmp_path, thread_id)[1] is False  # a line half written
    path.write_text(meta + record("task_started") + record("task_complete"))
    assert _rollout_state(tmp_path, thread_id)[1] is True
    path.write_text(path.read_text() + record("task_started") + record("turn_aborted"))
    assert _rollout_state(tmp_path, thread_id) == (path.stat().st_size, True)
