"""Mailbox (bounded, overflow policies, close) and ReplySlot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import trio
import trio.testing

from codex_trio.observe import events
from codex_trio.observe.telemetry import EventName, TelemetryBus
from codex_trio.runtime import (
    Mailbox,
    MailboxClosed,
    MailboxFull,
    MailboxStats,
    Overflow,
    ReplySlot,
)


def recording_bus() -> tuple[
    TelemetryBus, list[tuple[EventName, dict[str, float], dict[str, Any]]]
]:
    bus = TelemetryBus()
    seen: list[tuple[EventName, dict[str, float], dict[str, Any]]] = []

    def handler(
        name: EventName, m: Mapping[str, float], meta: Mapping[str, Any], config: Any
    ) -> None:
        seen.append((name, dict(m), dict(meta)))

    bus.attach("test", [events.CHANNEL_STATS, events.CHANNEL_BACKPRESSURE], handler)
    return bus, seen


async def test_messages_come_out_in_the_order_they_went_in() -> None:
    box: Mailbox[int] = Mailbox(3)
    for n in (1, 2, 3):
        await box.put(n)
    assert [await box.get() for _ in range(3)] == [1, 2, 3]


async def test_a_full_mailbox_blocks_a_waiting_sender_until_room_frees() -> None:
    box: Mailbox[str] = Mailbox(1, overflow=Overflow.WAIT)
    await box.put("first")
    sent = trio.Event()

    async def sender() -> None:
        await box.put("second")
        sent.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(sender)
        await trio.testing.wait_all_tasks_blocked()
        assert not sent.is_set()
        assert box.stats() == MailboxStats(
            queue_length=1, capacity=1, waiting_senders=1, closed=False
        )
        assert await box.get() == "first"
        await sent.wait()
    assert await box.get() == "second"


async def test_a_full_mailbox_with_the_fail_policy_raises_at_once() -> None:
    box: Mailbox[str] = Mailbox(1, overflow=Overflow.FAIL, owner="worker")
    await box.put("first")
    with pytest.raises(MailboxFull) as info:
        await box.put("second")
    assert (info.value.owner, info.value.capacity) == ("worker", 1)
    assert box.stats().queue_length == 1


async def test_put_nowait_raises_when_full_whatever_the_policy() -> None:
    box: Mailbox[int] = Mailbox(1, overflow=Overflow.WAIT)
    box.put_nowait(1)
    with pytest.raises(MailboxFull):
        box.put_nowait(2)


async def test_a_cancelled_put_queues_nothing() -> None:
    box: Mailbox[str] = Mailbox(1)
    await box.put("first")
    with trio.move_on_after(0):
        await box.put("never")
    assert box.close() == ["first"]


async def test_close_returns_every_message_left_including_blocked_senders_ones() -> None:
    box: Mailbox[str] = Mailbox(1)
    await box.put("queued")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(box.put, "blocked")
        await trio.testing.wait_all_tasks_blocked()
        assert box.close() == ["queued", "blocked"]
    assert box.close() == []
    assert box.stats().closed


async def test_put_and_get_after_close_raise_mailbox_closed() -> None:
    box: Mailbox[int] = Mailbox(2)
    box.close()
    with pytest.raises(MailboxClosed):
        await box.put(1)
    with pytest.raises(MailboxClosed):
        box.put_nowait(1)
    with pytest.raises(MailboxClosed):
        await box.get()


async def test_a_getter_waiting_when_the_mailbox_closes_gets_mailbox_closed() -> None:
    box: Mailbox[int] = Mailbox(2)
    failed = trio.Event()

    async def getter() -> None:
        with pytest.raises(MailboxClosed):
            await box.get()
        failed.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(getter)
        await trio.testing.wait_all_tasks_blocked()
        box.close()
    assert failed.is_set()


def test_a_capacity_below_one_is_rejected() -> None:
    with pytest.raises(ValueError):
        Mailbox[int](0)


async def test_fill_is_reported_after_each_put_and_get() -> None:
    bus, seen = recording_bus()
    box: Mailbox[int] = Mailbox(4, owner="w", bus=bus)
    await box.put(1)
    await box.put(2)
    await box.get()
    assert [(name, m["queue_depth"], m["capacity"]) for name, m, _ in seen] == [
        (events.CHANNEL_STATS, 1, 4),
        (events.CHANNEL_STATS, 2, 4),
        (events.CHANNEL_STATS, 1, 4),
    ]
    assert all(meta == {"channel": "mailbox", "owner": "w"} for _, _, meta in seen)


async def test_a_sender_that_waited_for_room_is_reported_with_how_long(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bus, seen = recording_bus()
    box: Mailbox[int] = Mailbox(1, bus=bus)
    await box.put(1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(box.put, 2)
        await trio.sleep(2.5)
        await box.get()
    waits = [m["wait"] for name, m, _ in seen if name == events.CHANNEL_BACKPRESSURE]
    assert waits == [pytest.approx(2.5)]


async def test_a_reply_slot_keeps_the_first_answer() -> None:
    slot: ReplySlot[int] = ReplySlot()
    assert not slot.resolved
    assert slot.set_value(1)
    assert not slot.set_value(2)
    assert not slot.set_error(RuntimeError("late"))
    assert slot.resolved
    assert await slot.wait() == 1


async def test_a_reply_slot_with_an_error_raises_it_to_the_waiter() -> None:
    slot: ReplySlot[int] = ReplySlot()
    error = KeyError("nope")

    async def answer() -> None:
        slot.set_error(error)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer)
        with pytest.raises(KeyError) as info:
            await slot.wait()
    assert info.value is error
