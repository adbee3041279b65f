"""Subscription: the per-consumer buffer between the shared reader and one thread's consumer."""

from __future__ import annotations

import time

import trio
import trio.testing

from codex_trio._protocol.app_server.messages import Notification
from codex_trio._protocol.app_server.turn_events import EXEC_STREAM_METHODS
from codex_trio._transport.app_server._subscription import Subscription


def note(method: str, n: int = 0) -> Notification:
    return Notification(method=method, params={"threadId": "t", "n": n})


async def test_a_method_filter_drops_the_rest_without_buffering_or_waking() -> None:
    sub = Subscription("t", capacity=2)
    sub.methods = frozenset({"turn/completed"})
    got: list[str] = []

    async def consume() -> None:
        got.append((await sub.receive()).method)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.testing.wait_all_tasks_blocked()
        # Far more than the capacity: none of them buffered, so no overflow, and no wake-up.
        for n in range(10):
            assert sub.offer(note("thread/status/changed", n))
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        assert sub.statistics().current_buffer_used == 0
        assert not sub.overflowed and sub.dropped == 10
        assert sub.offer(note("turn/completed"))
    assert got == ["turn/completed"]


def test_the_exec_stream_methods_include_everything_exec_events_come_from() -> None:
    # What ends a turn, its items and its usage (turn.completed carries the last token usage).
    for method in (
        "turn/started",
        "turn/completed",
        "item/started",
        "item/completed",
        "thread/tokenUsage/updated",
        "turn/plan/updated",
        "error",
    ):
        assert method in EXEC_STREAM_METHODS
    assert "item/agentMessage/delta" not in EXEC_STREAM_METHODS


async def test_a_deferred_consumer_is_woken_for_the_turns_end_and_keeps_arrival_times() -> None:
    # A buffered run() only wants the turn's end: the consumer is woken by turn/completed (or a
    # half-full buffer), takes everything in one go, and each notification keeps the time it
    # was offered (what item durations are measured with).
    sub = Subscription("t", capacity=8)
    sub.wake_on = frozenset({"turn/completed"})
    got: list[tuple[str, float | None]] = []

    async def consume() -> None:
        while True:
            note = await sub.receive()
            got.append((note.method, sub.last_received))
            if note.method == "turn/completed":
                return

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.testing.wait_all_tasks_blocked()
        offered: list[float] = []
        for method in ("item/started", "item/completed", "turn/completed"):
            sub.offer(note(method))
            offered.append(time.monotonic())
            await trio.testing.wait_all_tasks_blocked()
            if method != "turn/completed":
                assert got == []  # not woken yet
            time.sleep(0.01)  # distinct arrival times
    assert [method for method, _ in got] == ["item/started", "item/completed", "turn/completed"]
    times = [at for _, at in got]
    assert all(at is not None for at in times)
    assert times == sorted(times) and len(set(times)) == 3
    for at, after in zip(times, offered, strict=True):
        assert at is not None and at <= after


async def test_a_deferred_consumer_is_woken_when_the_buffer_is_half_full() -> None:
    sub = Subscription("t", capacity=4)
    sub.wake_on = frozenset({"turn/completed"})
    got: list[str] = []

    async def consume() -> None:
        got.append((await sub.receive()).method)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.testing.wait_all_tasks_blocked()
        sub.offer(note("item/started", 1))
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        sub.offer(note("item/started", 2))  # 2 of 4: half full
    assert got == ["item/started"]
