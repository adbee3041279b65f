"""Subscription: the per-consumer buffer between the shared reader and one thread's consumer."""

from __future__ import annotations

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
