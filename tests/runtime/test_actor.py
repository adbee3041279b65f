"""Actor: call/cast, timeouts, crashes, backpressure, graceful stop, registry, supervision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from codex_trio.observe import events
from codex_trio.observe.telemetry import EventName, TelemetryBus
from codex_trio.runtime import (
    Actor,
    ActorCrashed,
    ActorStopped,
    CallTimeout,
    ErrorReply,
    MailboxFull,
    MailboxStats,
    NameTaken,
    Overflow,
    Registry,
    Supervisor,
    actor_spec,
)
from tests.runtime.helpers import Outcome, start_capturing

settle = trio.testing.wait_all_tasks_blocked


class Boom(Exception):
    pass


class Counter(Actor[str, int, int]):
    """Casts add to a count; calls read it, or block, crash, reject as the request says."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = -1
        self.inits = 0
        self.handled: list[str] = []
        self.terminated: list[Exception | None] = []
        self.gate = trio.Event()
        self.fail_init = False

    async def init(self) -> None:
        self.inits += 1
        if self.fail_init:
            raise Boom("init")
        self.count = 0

    async def handle_call(self, request: str) -> int | ErrorReply:
        self.handled.append(request)
        if request == "incr":
            self.count += 1
        elif request == "block":
            await self.gate.wait()
        elif request == "block-then-boom":
            await self.gate.wait()
            raise Boom("after the gate")
        elif request == "boom":
            raise Boom("boom")
        elif request == "quit":
            self.request_stop()
        elif request == "reject":
            return ErrorReply(KeyError("rejected"))
        return self.count

    async def handle_cast(self, message: int) -> None:
        self.count += message

    async def terminate(self, reason: Exception | None) -> None:
        self.terminated.append(reason)


async def start_actor(nursery: trio.Nursery, actor: Counter) -> Outcome:
    """Start ``actor.run`` in ``nursery``, capturing the exception it ends with."""
    return await start_capturing(nursery, actor)


@attrs.define
class CallResult:
    """What a call made in a background task ended with."""

    value: int | None = None
    error: BaseException | None = None
    done: trio.Event = attrs.Factory(trio.Event)


def call_soon(
    nursery: trio.Nursery, actor: Counter, request: str, timeout: float | None = 5.0
) -> CallResult:
    result = CallResult()

    async def caller() -> None:
        try:
            result.value = await actor.call(request, timeout=timeout)
        except Exception as exc:
            result.error = exc
        finally:
            result.done.set()

    nursery.start_soon(caller)
    return result


# --- call and cast -------------------------------------------------------------------------------


async def test_a_call_gets_the_reply_after_the_casts_sent_before_it() -> None:
    actor = Counter()
    async with trio.open_nursery() as nursery:
        assert await nursery.start(actor.run) is actor
        await actor.cast(1)
        await actor.cast(2)
        assert await actor.call("get") == 3
        await actor.stop()


async def test_an_error_reply_raises_in_the_caller_and_the_actor_carries_on() -> None:
    actor = Counter()
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        with pytest.raises(KeyError, match="rejected"):
            await actor.call("reject")
        assert await actor.call("incr") == 1
        assert actor.running
        await actor.stop()


async def test_a_call_that_times_out_raises_and_is_skipped_if_still_queued(
    autojump_clock: trio.testing.MockClock,
) -> None:
    actor = Counter()
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        blocker = call_soon(nursery, actor, "block")
        await trio.sleep(0.1)
        began = trio.current_time()
        with pytest.raises(CallTimeout) as info:
            await actor.call("incr", timeout=1.5)
        assert trio.current_time() - began == pytest.approx(1.5)
        assert info.value.timeout == 1.5
        actor.gate.set()
        await blocker.done.wait()
        assert await actor.call("get") == 0
        assert actor.handled == ["block", "get"]
        await actor.stop()


async def test_calls_and_casts_to_an_actor_that_is_not_running_raise_actor_stopped() -> None:
    actor = Counter()
    with pytest.raises(ActorStopped) as info:
        await actor.call("get")
    assert not isinstance(info.value, ActorCrashed)
    with pytest.raises(ActorStopped):
        await actor.cast(1)
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        await actor.stop()
    with pytest.raises(ActorStopped):
        await actor.call("get")


async def test_running_an_actor_twice_at_once_is_an_error() -> None:
    actor = Counter()
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        with pytest.raises(RuntimeError, match="already running"):
            await actor.run()
        await actor.stop()


# --- crashes -------------------------------------------------------------------------------------


async def test_an_exception_in_handle_call_crashes_the_actor_and_fails_that_caller() -> None:
    actor = Counter()
    async with trio.open_nursery() as nursery:
        outcome = await start_actor(nursery, actor)
        with pytest.raises(ActorCrashed) as info:
            await actor.call("boom")
        await outcome.done.wait()
    assert isinstance(info.value.reason, Boom)
    assert info.value.__cause__ is info.value.reason
    assert outcome.error is info.value.reason  # run re-raises it: the supervisor sees a failure
    assert actor.terminated == [info.value.reason]
    assert not actor.running


async def test_every_pending_caller_is_failed_when_the_actor_crashes_none_hangs() -> None:
    actor = Counter(capacity=1)
    async with trio.open_nursery() as nursery:
        outcome = await start_actor(nursery, actor)
        crasher = call_soon(nursery, actor, "block-then-boom")
        await settle()
        queued = call_soon(nursery, actor, "get")
        await settle()
        blocked = call_soon(nursery, actor, "incr")  # the mailbox is full: waits for room
        await settle()
        assert actor.mailbox_stats().waiting_senders == 1
        actor.gate.set()
        await outcome.done.wait()
    for result in (crasher, queued, blocked):
        assert isinstance(result.error, ActorCrashed)
        assert isinstance(result.error.reason, Boom)
    assert actor.handled == ["block-then-boom"]


async def test_casts_queued_when_the_actor_crashes_are_counted_as_dropped() -> None:
    actor = Counter()
    async with trio.open_nursery() as nursery:
        outcome = await start_actor(nursery, actor)
        call_soon(nursery, actor, "block-then-boom")
        await settle()
        await actor.cast(1)
        await actor.cast(2)
        actor.gate.set()
        await outcome.done.wait()
    assert actor.dropped_casts == 2


async def test_an_init_failure_is_a_start_failure_and_terminate_is_not_called() -> None:
    actor = Counter()
    actor.fail_init = True
    async with trio.open_nursery() as nursery:
        with pytest.raises(Boom, match="init"):
            await nursery.start(actor.run)
    assert actor.terminated == []
    assert not actor.running


# --- backpressure --------------------------------------------------------------------------------


async def test_a_sender_blocks_while_the_mailbox_is_full_and_proceeds_when_room_frees(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bus = TelemetryBus()
    waits: list[float] = []

    def on_backpressure(
        name: EventName, m: Mapping[str, float], meta: Mapping[str, Any], config: Any
    ) -> None:
        assert meta["channel"] == "mailbox"
        waits.append(m["wait"])

    bus.attach("test", [events.CHANNEL_BACKPRESSURE], on_backpressure)
    actor = Counter(capacity=1, overflow=Overflow.WAIT, bus=bus)
    sent = trio.Event()

    async def third_cast() -> None:
        await actor.cast(100)
        sent.set()

    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        call_soon(nursery, actor, "block")
        await trio.sleep(0.1)
        await actor.cast(1)  # fills the mailbox
        nursery.start_soon(third_cast)
        await trio.sleep(4.0)
        assert not sent.is_set()
        assert actor.mailbox_stats() == MailboxStats(
            queue_length=1, capacity=1, waiting_senders=1, closed=False
        )
        actor.gate.set()
        await sent.wait()
        assert await actor.call("get") == 101
        await actor.stop()
    assert waits == [pytest.approx(4.0)]


async def test_with_the_fail_policy_a_full_mailbox_raises_mailbox_full_at_once() -> None:
    actor = Counter(capacity=1, overflow=Overflow.FAIL)
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        blocker = call_soon(nursery, actor, "block")
        await settle()
        await actor.cast(1)
        with pytest.raises(MailboxFull):
            await actor.cast(2)
        with pytest.raises(MailboxFull):
            await actor.call("get")
        assert actor.mailbox_stats().queue_length == 1
        actor.gate.set()
        await blocker.done.wait()
        assert await actor.call("get") == 1
        await actor.stop()


async def test_mailbox_stats_of_an_actor_that_is_not_running_show_it_closed() -> None:
    assert Counter(capacity=7).mailbox_stats() == MailboxStats(
        queue_length=0, capacity=7, waiting_senders=0, closed=True
    )


# --- stopping ------------------------------------------------------------------------------------


async def test_a_graceful_stop_finishes_the_current_message_and_fails_the_queued_ones() -> None:
    actor = Counter()
    async with trio.open_nursery() as nursery:
        outcome = await start_actor(nursery, actor)
        current = call_soon(nursery, actor, "block")
        await settle()
        queued = call_soon(nursery, actor, "incr")
        await settle()
        nursery.start_soon(actor.stop)
        await settle()
        assert not outcome.done.is_set()  # still in the handler
        with pytest.raises(ActorStopped):
            await actor.call("get")  # no new messages once stopping
        actor.gate.set()
        await outcome.done.wait()
    assert outcome.error is None
    assert current.value == 0
    assert isinstance(queued.error, ActorStopped)
    assert not isinstance(queued.error, ActorCrashed)
    assert actor.handled == ["block"]
    assert actor.terminated == [None]


async def test_a_handler_can_stop_its_actor_with_request_stop() -> None:
    actor = Counter()
    async with trio.open_nursery() as nursery:
        outcome = await start_actor(nursery, actor)
        assert await actor.call("quit") == 0
        await outcome.done.wait()
    assert outcome.error is None
    assert actor.terminated == [None]


async def test_request_stop_before_run_does_not_stop_the_next_run() -> None:
    actor = Counter()
    actor.request_stop()
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        assert await actor.call("incr") == 1
        await actor.stop()


async def test_a_crashed_actor_is_restarted_by_its_supervisor_with_fresh_state() -> None:
    actor = Counter(name="counter")
    sup = Supervisor([actor_spec(actor)])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await actor.cast(5)
        with pytest.raises(ActorCrashed):
            await actor.call("boom")
        await settle()
        assert actor.running
        assert await actor.call("get") == 0
        assert actor.inits == 2
        assert sup.which_children()[0].restart_count == 1
        await sup.stop()
    assert actor.terminated[-1] is None


async def test_a_stuck_handler_is_cancelled_after_the_shutdown_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    actor = Counter()
    sup = Supervisor([actor_spec(actor, id="stuck", shutdown=2.0)])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        caller = call_soon(nursery, actor, "block", timeout=None)
        await trio.sleep(0.1)
        began = trio.current_time()
        await sup.stop()
        elapsed = trio.current_time() - began
        await caller.done.wait()
    assert elapsed == pytest.approx(2.0)
    assert isinstance(caller.error, ActorStopped)
    assert actor.terminated == []  # a kill runs no terminate


# --- registry ------------------------------------------------------------------------------------


async def test_an_actor_holds_its_name_while_it_runs_and_releases_it_on_stop() -> None:
    registry: Registry[Any] = Registry()
    actor = Counter(name="counter", registry=registry)
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        assert registry.whereis("counter") is actor
        await actor.stop()
    assert registry.whereis("counter") is None


async def test_an_actor_releases_its_name_when_it_crashes() -> None:
    registry: Registry[Any] = Registry()
    actor = Counter(name="counter", registry=registry)
    async with trio.open_nursery() as nursery:
        outcome = await start_actor(nursery, actor)
        with pytest.raises(ActorCrashed):
            await actor.call("boom")
        await outcome.done.wait()
    assert "counter" not in registry


async def test_an_actor_releases_its_name_when_cancelled() -> None:
    registry: Registry[Any] = Registry()
    actor = Counter(name="counter", registry=registry)
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        assert "counter" in registry
        nursery.cancel_scope.cancel()
    assert "counter" not in registry


async def test_an_actor_whose_name_is_taken_fails_to_start() -> None:
    registry: Registry[Any] = Registry()
    registry.register("counter", "someone else")
    actor = Counter(name="counter", registry=registry)
    async with trio.open_nursery() as nursery:
        with pytest.raises(NameTaken):
            await nursery.start(actor.run)
    assert registry.whereis("counter") == "someone else"
    assert actor.inits == 0
