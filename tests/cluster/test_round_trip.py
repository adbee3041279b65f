"""The basic path on the real codex, the mock model and a real redis-server: submit, result,
events; a thread continuing on another worker; options and errors at the edge."""

from pathlib import Path

import pytest

from codex_trio import ItemCompletedEvent, ThreadStartedEvent, TurnCompletedEvent, TurnResult
from codex_trio.cluster import ClusterClient, ThreadOptionsConflict
from codex_trio.testing import MockModel, RedisServer, message

from .helpers import in_process_worker, thread_options

pytestmark = pytest.mark.timeout(180)


async def test_submit_result_and_events_round_trip(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("pong")]
    async with (
        in_process_worker(redis_server.url, mock_model, tmp_path / "w1") as worker,
        ClusterClient(redis_server.url) as client,
    ):
        handle = await client.submit("t1", "ping", **thread_options(mock_model))
        result = await handle.result()
        events = [event async for event in handle.events()]
        record = await client.thread("t1")
    assert isinstance(result, TurnResult)
    assert result.final_response == "pong"
    assert result.status == "completed" and not result.failed
    assert result.usage is not None and result.thread_id is not None
    assert isinstance(events[0], ThreadStartedEvent)
    assert isinstance(events[-1], TurnCompletedEvent)
    assert any(isinstance(e, ItemCompletedEvent) for e in events)
    assert record is not None
    assert record.thread_id == result.thread_id
    assert record.version == 1 and record.worker == worker.name and record.queued == ()
    assert record.rollout_name is not None and record.rollout_name.endswith(
        f"-{result.thread_id}.jsonl"
    )
    assert worker.status.counters["completed"] == 1
    # The worker keeps no thread state: the rollout went to Redis.
    assert not list((tmp_path / "w1" / "sessions").rglob("rollout-*.jsonl"))


async def test_a_thread_continues_on_another_worker_with_its_history(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("first answer"), message("second answer")]
    async with ClusterClient(redis_server.url) as client:
        async with in_process_worker(redis_server.url, mock_model, tmp_path / "a") as first:
            one = await (
                await client.submit("t", "remember the word BLUEBIRD", **thread_options(mock_model))
            ).result()
        async with in_process_worker(redis_server.url, mock_model, tmp_path / "b") as second:
            two = await (await client.submit("t", "which word?")).result()
        record = await client.thread("t")
    assert one.thread_id == two.thread_id
    assert two.final_response == "second answer"
    assert first.status.counters["completed"] == 1
    assert second.status.counters["completed"] == 1
    assert second.status.counters["rollout_bytes_in"] > 0
    assert record is not None and record.version == 2 and record.worker == second.name
    # The second worker's codex sent the first turn's history: prompt and answer, once each.
    texts = mock_model.requests[1].input_texts()
    assert texts.count("remember the word BLUEBIRD") == 1
    assert mock_model.requests[1].input_texts("assistant").count("first answer") == 1


async def test_thread_options_stay_with_the_thread(
    redis_server: RedisServer, mock_model: MockModel
) -> None:
    async with ClusterClient(redis_server.url) as client:
        await client.submit("t", "hi", **thread_options(mock_model))
        await client.submit("t", "again")  # no thread options: the thread's apply
        await client.submit("t", "same again", **thread_options(mock_model))
        with pytest.raises(ThreadOptionsConflict):
            await client.submit(
                "t", "elsewhere", working_directory="/tmp", skip_git_repo_check=True
            )
        record = await client.thread("t")
    assert record is not None and len(record.queued) == 3
    assert record.options["working_directory"] == str(mock_model.workdir)
