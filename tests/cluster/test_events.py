"""A turn's events go to Redis in batches through a bounded buffer: when Redis falls behind,
the events beyond the buffer become an EventsGap (numbers kept, the worker's memory bounded),
and the result is complete all the same."""

from pathlib import Path

import pytest
import trio
from coredis.tokens import PureToken

from codex_trio import (
    ItemCompletedEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnStartedEvent,
)
from codex_trio._protocol import encode_event
from codex_trio.cluster import ClusterClient, EventsGap, TurnRestarted
from codex_trio.cluster._publish import EventPublisher
from codex_trio.testing import MockModel, RedisServer, hold, message

from .helpers import in_process_worker, thread_options, wait_until

pytestmark = pytest.mark.timeout(180)


async def test_events_beyond_the_buffer_while_redis_is_slow_become_a_gap_result_complete(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    parts = [f"part {i}" for i in range(30)]
    mock_model.script = [hold(*(message(p) for p in parts))]
    async with (
        in_process_worker(
            redis_server.url,
            mock_model,
            tmp_path / "w",
            event_buffer=2,
            lease_ms=30_000,
            claim_idle_ms=60_000,
        ) as worker,
        ClusterClient(redis_server.url) as client,
    ):
        handle = await client.submit("k", "tell me thirty things", **thread_options(mock_model))
        with trio.fail_after(60):
            await mock_model.server.wait_for_held()
        redis = client._conn.redis
        events_key = client.keys.events(handle.turn_id)
        await wait_until(lambda: redis.xlen(events_key))  # what came before is in Redis

        def dropped() -> int:
            return sum(h.publisher.dropped for h in worker._held.values() if h.publisher)

        # Redis stops taking writes (scripts included): the worker's flusher is stuck on its
        # batch, its buffer fills, and the rest of the turn's events are dropped, not held.
        await redis.client_pause(120_000, PureToken.WRITE)
        try:
            mock_model.server.release()
            await wait_until(lambda: dropped() >= 25)
        finally:
            await redis.client_unpause()
        with trio.fail_after(60):
            result = await handle.result()
        events = [e async for e in handle.events()]
    # The result is whole: every message the model sent.
    assert result.final_response == "part 29"
    texts = [getattr(item, "text", None) for item in result.items]
    assert [t for t in texts if t in parts] == parts
    # The events: what came before the pause, a few after, then the gaps where the buffer was
    # full (one, or two when a batch left while Redis was already paused, freeing the buffer
    # once), then what came after Redis was back (the turn's end, or nothing: a gap at the very
    # end is passed over before the end event, see the next test).
    assert isinstance(events[0], ThreadStartedEvent)
    gaps = [i for i, e in enumerate(events) if isinstance(e, EventsGap)]
    assert 1 <= len(gaps) <= 2
    missed = sum(e.missed for e in events if isinstance(e, EventsGap))
    assert missed == worker.status.counters["events_dropped"] >= 25
    assert all(isinstance(e, TurnCompletedEvent) for e in events[gaps[-1] + 1 :])
    delivered = [e for e in events if isinstance(e, ItemCompletedEvent)]
    ended = any(isinstance(e, TurnCompletedEvent) for e in events)
    # Every number accounted for: each of the 30 items (and the turn's end) delivered or missed.
    assert len(delivered) + missed == len(parts) + (0 if ended else 1)
    assert 1 <= len(delivered) < 10  # what the buffer held while Redis was paused
    assert not [e for e in events if isinstance(e, TurnRestarted)]
    assert worker.status.counters["completed"] == 1


async def test_the_publisher_keeps_order_and_numbers_and_passes_over_a_dropped_tail(
    redis_server: RedisServer,
) -> None:
    async with ClusterClient(redis_server.url) as client:
        handle = await client.submit("k", "hi")
        conn, keys = client._conn, client.keys
        lease = "1:w:nonce"
        await conn.call(lambda r: r.set(keys.lease("k"), lease))
        publisher = EventPublisher(
            conn,
            keys,
            turn_id=handle.turn_id,
            thread_key="k",
            lease=lease,
            seq=0,
            maxlen=1000,
            capacity=3,
            max_bytes=1 << 20,
            on_failed=lambda: None,
        )
        line = encode_event(TurnStartedEvent())
        offered = [publisher.offer("event", line) for _ in range(10)]  # no flusher yet: full
        assert offered == [True] * 3 + [False] * 7 and publisher.seq == 10
        async with trio.open_nursery() as nursery:
            nursery.start_soon(publisher.run)
            await publisher.drain()
        # Three events in one batch, which also moves the turn's numbers past the seven dropped.
        assert (publisher.batches, publisher.dropped, publisher.published) == (1, 7, 10)
        entries = await conn.call(lambda r: r.xrange(keys.events(handle.turn_id)))
        assert [int(e.field_values[b"seq"]) for e in entries] == [1, 2, 3]
        assert await conn.call(lambda r: r.hget(keys.turn(handle.turn_id), "seq")) == b"10"
        # Sent again (a lost reply): nothing is published twice.
        again = EventPublisher(
            conn,
            keys,
            turn_id=handle.turn_id,
            thread_key="k",
            lease=lease,
            seq=0,
            maxlen=1000,
            capacity=3,
            max_bytes=1 << 20,
            on_failed=lambda: None,
        )
        again.offer("event", line)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(again.run)
            await again.drain()
        assert await conn.call(lambda r: r.xlen(keys.events(handle.turn_id))) == 3
        # A lost lease: the batch is refused, nothing written, the publisher fenced.
        await conn.call(lambda r: r.set(keys.lease("k"), "2:other:n"))
        fenced = EventPublisher(
            conn,
            keys,
            turn_id=handle.turn_id,
            thread_key="k",
            lease=lease,
            seq=10,
            maxlen=1000,
            capacity=3,
            max_bytes=1 << 20,
            on_failed=lambda: None,
        )
        fenced.offer("event", line)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fenced.run)
            await fenced.drain()
        assert fenced.fenced
        assert await conn.call(lambda r: r.xlen(keys.events(handle.turn_id))) == 3


async def test_the_publisher_hands_its_unsent_tail_to_the_commit(
    redis_server: RedisServer,
) -> None:
    async with ClusterClient(redis_server.url) as client:
        handle = await client.submit("k", "hi")
        conn, keys = client._conn, client.keys
        lease = "1:w:nonce"
        await conn.call(lambda r: r.set(keys.lease("k"), lease))
        publisher = EventPublisher(
            conn,
            keys,
            turn_id=handle.turn_id,
            thread_key="k",
            lease=lease,
            seq=1,  # the attempt, appended by TAKE
            maxlen=1000,
            capacity=2,
            max_bytes=1 << 20,
            linger=60.0,  # the flusher waits for more: nothing is sent before finish()
            on_failed=lambda: None,
        )
        line = encode_event(TurnStartedEvent())
        offered = [publisher.offer("event", line) for _ in range(4)]
        assert offered == [True, True, False, False]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(publisher.run)
            upto, rest = await publisher.finish()
        # Nothing went to Redis; the commit gets the buffered events in order, and the last
        # number given out, so the reader sees the two dropped ones as a gap before the end.
        assert publisher.batches == 0 and (upto, [seq for seq, _, _ in rest]) == (5, [2, 3])
        assert await conn.call(lambda r: r.xlen(keys.events(handle.turn_id))) == 0


async def test_a_turns_last_events_and_outcome_arrive_with_the_commit(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("pong")]
    async with (
        in_process_worker(redis_server.url, mock_model, tmp_path / "w") as worker,
        ClusterClient(redis_server.url) as client,
    ):
        handle = await client.submit("k", "ping", **thread_options(mock_model))
        result = await handle.result()
        assert result.final_response == "pong"
        await wait_until(lambda: worker.status.counters["completed"] == 1)
        entries = await client._conn.call(lambda r: r.xrange(client.keys.events(handle.turn_id)))
        values = [e.field_values for e in entries]
        # Numbered without a hole, the attempt first and the end last, carrying the outcome.
        assert [int(v[b"seq"]) for v in values] == list(range(1, len(values) + 1))
        assert values[0][b"kind"] == b"attempt" and values[-1][b"kind"] == b"end"
        assert values[-1][b"data"] == b"done" and b"outcome" in values[-1]
        kinds = [v[b"kind"] for v in values[1:-1]]
        assert kinds and set(kinds) == {b"event"}
        seen = [e async for e in handle.events()]
        assert isinstance(seen[-1], TurnCompletedEvent)
        # The result read from the turn's hash (another process's handle) is the same.
        again = await client.handle(handle.turn_id).result()
        assert again.final_response == "pong"
