"""Supervisor: ordered start, restart strategies and types, intensity, ordered shutdown."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from codex_trio._errors import CodexError
from codex_trio.observe import events
from codex_trio.observe.telemetry import EventName, TelemetryBus
from codex_trio.runtime import (
    ChildContext,
    ChildCounts,
    ChildRunning,
    ChildSpec,
    ChildStartError,
    ChildState,
    ChildType,
    DuplicateChild,
    Restart,
    RestartIntensityExceeded,
    Shutdown,
    Strategy,
    Supervisor,
    SupervisorError,
    SupervisorNotRunning,
    UnknownChild,
    supervisor_spec,
)
from codex_trio.runtime._supervisor import BaseSupervisor

# --- a harness of scriptable children ------------------------------------------------------------
from tests.runtime.helpers import Outcome, start_capturing


class Boom(Exception):
    """What a scripted child raises."""


async def _first(trigger: trio.Event, stop: trio.Event | None) -> str:
    """Wait for ``trigger`` or ``stop``; say which came first."""
    result = ""
    async with trio.open_nursery() as nursery:

        async def watch(event: trio.Event, label: str) -> None:
            nonlocal result
            await event.wait()
            result = result or label
            nursery.cancel_scope.cancel()

        nursery.start_soon(watch, trigger, "trigger")
        if stop is not None:
            nursery.start_soon(watch, stop, "stop")
    return result


@attrs.define
class Harness:
    """Children that log what happens to them and crash or exit when the test says so.

    Log entries: ``start X`` (start function entered), ``stop X`` (returned after
    ``stop_requested``), ``killed X`` (cancelled), ``crash X`` / ``exit X`` (as told).
    """

    log: list[str] = attrs.Factory(list)
    times: dict[str, float] = attrs.Factory(dict)  # log entry -> trio time it last happened
    contexts: dict[str, ChildContext] = attrs.Factory(dict)
    _triggers: dict[str, trio.Event] = attrs.Factory(dict)
    _actions: dict[str, str] = attrs.Factory(dict)

    def spec(
        self,
        id: str,
        *,
        restart: Restart = Restart.PERMANENT,
        shutdown: Shutdown = 5.0,
        ignore_stop: bool = False,
        stop_delay: float = 0.0,
        gate: trio.Event | None = None,
        fail_start: Callable[[ChildContext], bool] | None = None,
    ) -> ChildSpec:
        async def start(ctx: ChildContext, *, task_status: trio.TaskStatus[Any]) -> None:
            self._note(f"start {ctx.id}")
            if fail_start is not None and fail_start(ctx):
                raise Boom(f"{ctx.id} cannot start")
            try:
                if gate is not None:
                    await gate.wait()
                trigger = self._triggers[ctx.id] = trio.Event()
                self.contexts[ctx.id] = ctx
                task_status.started(f"value {ctx.id}")
                what = await _first(trigger, None if ignore_stop else ctx.stop_requested)
                if what == "stop":
                    await trio.sleep(stop_delay)
                    self._note(f"stop {ctx.id}")
                    return
            except BaseException:  # Cancelled, maybe in a group from _first's nursery
                self._note(f"killed {ctx.id}")
                raise
            action = self._actions.pop(ctx.id)
            self._note(f"{action} {ctx.id}")
            if action == "crash":
                raise Boom(ctx.id)

        return ChildSpec(id=id, start=start, restart=restart, shutdown=shutdown)

    def _note(self, entry: str) -> None:
        self.log.append(entry)
        self.times[entry] = trio.current_time()

    def crash(self, id: str) -> None:
        self._actions[id] = "crash"
        self._triggers[id].set()

    def exit(self, id: str) -> None:
        self._actions[id] = "exit"
        self._triggers[id].set()


async def start_supervised(nursery: trio.Nursery, sup: BaseSupervisor) -> Outcome:
    """Start ``sup.run`` in ``nursery``, capturing the CodexError it ends with."""
    return await start_capturing(nursery, sup, catch=(CodexError,))


@attrs.define
class Recorder:
    """A telemetry handler keeping (event name, metadata) pairs."""

    events: list[tuple[EventName, dict[str, Any]]] = attrs.Factory(list)

    def __call__(
        self,
        name: EventName,
        measurements: Mapping[str, float],
        metadata: Mapping[str, Any],
        config: Any,
    ) -> None:
        self.events.append((name, dict(metadata)))

    def named(self, name: EventName) -> list[dict[str, Any]]:
        return [meta for event, meta in self.events if event == name]


def recording_bus() -> tuple[TelemetryBus, Recorder]:
    bus = TelemetryBus()
    recorder = Recorder()
    bus.attach(
        "test",
        [
            events.SUPERVISOR_CHILD_START,
            events.SUPERVISOR_CHILD_RESTART,
            events.SUPERVISOR_CHILD_TERMINATE,
            events.SUPERVISOR_INTENSITY_EXCEEDED,
            events.CHANNEL_STATS,
            events.CHANNEL_BACKPRESSURE,
        ],
        recorder,
    )
    return bus, recorder


settle = trio.testing.wait_all_tasks_blocked


# --- starting ------------------------------------------------------------------------------------


async def test_each_child_starts_only_after_the_previous_one_reported_started() -> None:
    h = Harness()
    gate = trio.Event()
    sup = Supervisor([h.spec("a", gate=gate), h.spec("b")])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sup.run)
        await settle()
        assert h.log == ["start a"]
        assert [c.state for c in sup.which_children()] == [
            ChildState.STARTING,
            ChildState.STOPPED,
        ]
        gate.set()
        await settle()
        assert h.log == ["start a", "start b"]
        await sup.stop()


async def test_run_reports_started_with_itself_once_every_child_runs() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a"), h.spec("b")], name="top")
    async with trio.open_nursery() as nursery:
        started = await nursery.start(sup.run)
        assert started is sup
        infos = sup.which_children()
        assert [(i.id, i.state, i.value) for i in infos] == [
            ("a", ChildState.RUNNING, "value a"),
            ("b", ChildState.RUNNING, "value b"),
        ]
        await sup.stop()


async def test_an_initial_child_failing_to_start_fails_run_and_stops_the_started_ones() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a"), h.spec("bad", fail_start=lambda ctx: True), h.spec("c")])
    async with trio.open_nursery() as nursery:
        with pytest.raises(ChildStartError) as info:
            await nursery.start(sup.run)
    assert info.value.child_id == "bad"
    assert isinstance(info.value.reason, Boom)
    assert h.log == ["start a", "start bad", "stop a"]
    assert not sup.running


async def test_a_child_returning_without_reporting_started_is_a_start_failure() -> None:
    async def lazy(ctx: ChildContext, *, task_status: trio.TaskStatus[Any]) -> None:
        return None

    sup = Supervisor([ChildSpec(id="lazy", start=lazy)])
    async with trio.open_nursery() as nursery:
        with pytest.raises(ChildStartError, match="started"):
            await nursery.start(sup.run)


def test_duplicate_child_ids_are_rejected_at_construction() -> None:
    h = Harness()
    with pytest.raises(DuplicateChild):
        Supervisor([h.spec("a"), h.spec("a")])


def test_child_spec_rejects_a_negative_or_unknown_shutdown() -> None:
    h = Harness()
    with pytest.raises(ValueError):
        h.spec("a", shutdown=-1.0)
    with pytest.raises(ValueError):
        h.spec("a", shutdown="later")  # type: ignore[arg-type]


# --- restart strategies --------------------------------------------------------------------------


async def test_one_for_one_restarts_only_the_failed_child() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a"), h.spec("b"), h.spec("c")], strategy=Strategy.ONE_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        mark = len(h.log)
        h.crash("b")
        await settle()
        assert h.log[mark:] == ["crash b", "start b"]
        assert [i.restart_count for i in sup.which_children()] == [0, 1, 0]
        assert h.contexts["b"].restart_count == 1
        await sup.stop()


async def test_one_for_all_stops_the_others_latest_first_then_restarts_all_in_order() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a"), h.spec("b"), h.spec("c")], strategy=Strategy.ONE_FOR_ALL)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        mark = len(h.log)
        h.crash("b")
        await settle()
        assert h.log[mark:] == ["crash b", "stop c", "stop a", "start a", "start b", "start c"]
        assert all(i.state is ChildState.RUNNING for i in sup.which_children())
        await sup.stop()


async def test_rest_for_one_restarts_the_failed_child_and_those_started_after_it() -> None:
    h = Harness()
    specs = [h.spec("a"), h.spec("b"), h.spec("c"), h.spec("d")]
    sup = Supervisor(specs, strategy=Strategy.REST_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        mark = len(h.log)
        h.crash("b")
        await settle()
        assert h.log[mark:] == ["crash b", "stop d", "stop c", "start b", "start c", "start d"]
        assert [i.restart_count for i in sup.which_children()] == [0, 1, 1, 1]
        await sup.stop()


async def test_a_temporary_sibling_is_not_restarted_by_one_for_all_and_is_forgotten() -> None:
    h = Harness()
    specs = [h.spec("a"), h.spec("tmp", restart=Restart.TEMPORARY), h.spec("c")]
    sup = Supervisor(specs, strategy=Strategy.ONE_FOR_ALL)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        mark = len(h.log)
        h.crash("c")
        await settle()
        assert h.log[mark:] == ["crash c", "stop tmp", "stop a", "start a", "start c"]
        assert [i.id for i in sup.which_children()] == ["a", "c"]
        await sup.stop()


# --- restart types -------------------------------------------------------------------------------


async def test_a_permanent_child_is_restarted_even_after_returning_normally() -> None:
    h = Harness()
    sup = Supervisor([h.spec("p", restart=Restart.PERMANENT)])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        h.exit("p")
        await settle()
        assert h.log == ["start p", "exit p", "start p"]
        await sup.stop()


async def test_a_transient_child_is_restarted_after_raising_but_not_after_returning() -> None:
    h = Harness()
    sup = Supervisor([h.spec("t", restart=Restart.TRANSIENT)])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        h.crash("t")
        await settle()
        assert h.log == ["start t", "crash t", "start t"]
        h.exit("t")
        await settle()
        assert h.log == ["start t", "crash t", "start t", "exit t"]
        [info] = sup.which_children()
        assert info.state is ChildState.STOPPED
        assert info.value is None
        await sup.stop()


async def test_a_temporary_child_is_never_restarted_and_is_forgotten() -> None:
    h = Harness()
    sup = Supervisor([h.spec("tmp", restart=Restart.TEMPORARY), h.spec("other")])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        h.crash("tmp")
        await settle()
        assert h.log == ["start tmp", "start other", "crash tmp"]
        assert [i.id for i in sup.which_children()] == ["other"]
        await sup.stop()


# --- restart intensity ---------------------------------------------------------------------------


async def test_exceeding_the_restart_intensity_stops_all_children_and_raises() -> None:
    h = Harness()
    bus, recorder = recording_bus()
    sup = Supervisor(
        [h.spec("a"), h.spec("b"), h.spec("c")], max_restarts=2, max_seconds=5.0, bus=bus
    )
    async with trio.open_nursery() as nursery:
        outcome = await start_supervised(nursery, sup)
        for _ in range(2):
            h.crash("b")
            await settle()
        assert not outcome.done.is_set()
        mark = len(h.log)
        h.crash("b")
        await outcome.done.wait()
    error = outcome.error
    assert isinstance(error, RestartIntensityExceeded)
    assert isinstance(error, SupervisorError)
    assert (error.max_restarts, error.max_seconds) == (2, 5.0)
    assert [f.child_id for f in error.failures] == ["b", "b", "b"]
    assert all(isinstance(f.exception, Boom) for f in error.failures)
    assert h.log[mark:] == ["crash b", "stop c", "stop a"]
    assert sup.count_children().active == 0
    assert recorder.named(events.SUPERVISOR_INTENSITY_EXCEEDED) == [
        {"supervisor": sup.name, "restarts": 2, "window": 5.0}
    ]


async def test_restarts_spread_wider_than_the_window_never_exceed_the_intensity(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness()
    sup = Supervisor([h.spec("a")], max_restarts=1, max_seconds=5.0)
    async with trio.open_nursery() as nursery:
        outcome = await start_supervised(nursery, sup)
        for _ in range(4):
            h.crash("a")
            await trio.sleep(5.5)
        assert not outcome.done.is_set()
        assert sup.which_children()[0].restart_count == 4
        # Two crashes within the window, though, are one restart too many.
        h.crash("a")
        await trio.sleep(1.0)
        h.crash("a")
        await outcome.done.wait()
    assert isinstance(outcome.error, RestartIntensityExceeded)


async def test_a_restart_that_fails_to_start_counts_towards_the_intensity() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a", fail_start=lambda ctx: ctx.restart_count > 0)], max_restarts=3)
    async with trio.open_nursery() as nursery:
        outcome = await start_supervised(nursery, sup)
        h.crash("a")
        await outcome.done.wait()
    assert isinstance(outcome.error, RestartIntensityExceeded)
    # the initial start, then three restart attempts; the fourth is refused.
    assert h.log == ["start a", "crash a", "start a", "start a", "start a"]
    assert [type(f.exception) for f in outcome.error.failures] == [Boom] * 4


async def test_zero_max_restarts_gives_up_at_the_first_failure() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a")], max_restarts=0)
    async with trio.open_nursery() as nursery:
        outcome = await start_supervised(nursery, sup)
        h.crash("a")
        await outcome.done.wait()
    assert isinstance(outcome.error, RestartIntensityExceeded)
    assert h.log == ["start a", "crash a"]


# --- nesting -------------------------------------------------------------------------------------


async def test_a_nested_supervisor_giving_up_is_restarted_then_escalates_to_the_parent() -> None:
    h = Harness()
    inner = Supervisor([h.spec("w")], max_restarts=0, name="inner")
    parent = Supervisor(
        [supervisor_spec(inner, id="inner"), h.spec("x")], max_restarts=1, name="parent"
    )
    async with trio.open_nursery() as nursery:
        outcome = await start_supervised(nursery, parent)
        h.crash("w")
        await settle()
        assert h.log == ["start w", "start x", "crash w", "start w"]  # inner ran again
        assert not outcome.done.is_set()
        h.crash("w")
        await outcome.done.wait()
    error = outcome.error
    assert isinstance(error, RestartIntensityExceeded)
    assert error.supervisor == "parent"
    assert [f.child_id for f in error.failures] == ["inner", "inner"]
    assert all(isinstance(f.exception, RestartIntensityExceeded) for f in error.failures)
    assert h.log[-2:] == ["crash w", "stop x"]


async def test_stopping_the_parent_stops_a_subtree_in_reverse_order() -> None:
    h = Harness()
    inner = Supervisor([h.spec("w1"), h.spec("w2")])
    parent = Supervisor([supervisor_spec(inner, id="inner"), h.spec("x")])
    async with trio.open_nursery() as nursery:
        await nursery.start(parent.run)
        assert inner.running
        mark = len(h.log)
        await parent.stop()
    assert h.log[mark:] == ["stop x", "stop w2", "stop w1"]
    assert not inner.running


# --- shutdown ------------------------------------------------------------------------------------


async def test_stop_terminates_the_children_in_reverse_start_order() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a"), h.spec("b"), h.spec("c")])
    async with trio.open_nursery() as nursery:
        outcome = await start_supervised(nursery, sup)
        await sup.stop()
        assert outcome.done.is_set()
    assert outcome.error is None
    assert h.log[3:] == ["stop c", "stop b", "stop a"]
    assert all(i.state is ChildState.STOPPED for i in sup.which_children())
    assert not sup.running


async def test_a_child_ignoring_stop_requested_is_cancelled_when_its_timeout_expires(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness()
    sup = Supervisor([h.spec("a"), h.spec("deaf", ignore_stop=True, shutdown=3.0)])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        began = trio.current_time()
        await sup.stop()
        elapsed = trio.current_time() - began
    assert h.log[2:] == ["killed deaf", "stop a"]
    assert elapsed == pytest.approx(3.0)


async def test_a_child_stopping_within_its_timeout_is_not_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness()
    sup = Supervisor([h.spec("slow", stop_delay=2.0, shutdown=3.0)])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        began = trio.current_time()
        await sup.stop()
        elapsed = trio.current_time() - began
    assert h.log == ["start slow", "stop slow"]
    assert elapsed == pytest.approx(2.0)


async def test_brutal_kill_cancels_at_once_without_asking(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness()
    sup = Supervisor([h.spec("k", shutdown="brutal_kill")])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        began = trio.current_time()
        await sup.stop()
        elapsed = trio.current_time() - began
    assert h.log == ["start k", "killed k"]
    assert not h.contexts["k"].stop_requested.is_set()
    assert elapsed == 0.0


async def test_infinity_shutdown_waits_as_long_as_the_child_needs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness()
    sup = Supervisor([h.spec("s", shutdown="infinity", stop_delay=1000.0)])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        began = trio.current_time()
        await sup.stop()
        elapsed = trio.current_time() - began
    assert h.log == ["start s", "stop s"]
    assert elapsed == pytest.approx(1000.0)


async def test_a_sibling_terminated_for_a_restart_also_gets_its_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness()
    specs = [h.spec("a"), h.spec("deaf", ignore_stop=True, shutdown=2.0)]
    sup = Supervisor(specs, strategy=Strategy.ONE_FOR_ALL)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        began = trio.current_time()
        h.crash("a")
        await trio.sleep(10)
        assert h.log[2:] == ["crash a", "killed deaf", "start a", "start deaf"]
        assert h.times["start a"] - began == pytest.approx(2.0)
        await sup.stop()


async def test_cancelling_run_cancels_every_child_at_once() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a"), h.spec("b")])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        nursery.cancel_scope.cancel()
    assert sorted(h.log[2:]) == ["killed a", "killed b"]
    assert not sup.running


async def test_a_child_can_stop_its_own_supervisor_with_request_stop() -> None:
    h = Harness()

    async def quitter(ctx: ChildContext, *, task_status: trio.TaskStatus[Any]) -> None:
        task_status.started()
        sup.request_stop()
        await ctx.stop_requested.wait()
        h.log.append("stop quitter")

    sup = Supervisor([h.spec("a"), ChildSpec(id="quitter", start=quitter, shutdown="infinity")])
    async with trio.open_nursery() as nursery:
        outcome = await start_supervised(nursery, sup)
        await outcome.done.wait()
    assert outcome.error is None
    assert h.log == ["start a", "stop quitter", "stop a"]


async def test_stop_when_not_running_returns_at_once() -> None:
    sup = Supervisor([])
    await sup.stop()
    assert not sup.running


async def test_a_supervisor_can_run_again_from_its_initial_children() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a")])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await sup.start_child(h.spec("extra"))
        h.crash("a")
        await settle()
        await sup.stop()
        await nursery.start(sup.run)
        assert [(i.id, i.restart_count) for i in sup.which_children()] == [("a", 0)]
        await sup.stop()


# --- operations ----------------------------------------------------------------------------------


async def test_start_child_appends_a_started_child_and_rejects_a_taken_id() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a")])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        assert await sup.start_child(h.spec("b")) == "value b"
        with pytest.raises(DuplicateChild):
            await sup.start_child(h.spec("b"))
        with pytest.raises(ChildStartError):
            await sup.start_child(h.spec("bad", fail_start=lambda ctx: True))
        assert [i.id for i in sup.which_children()] == ["a", "b"]
        await sup.stop()
    assert h.log[-2:] == ["stop b", "stop a"]


async def test_terminate_restart_and_delete_child() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a"), h.spec("b")])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await sup.terminate_child("b")
        await settle()
        assert h.log == ["start a", "start b", "stop b"]  # permanent, yet not restarted
        assert sup.which_children()[1].state is ChildState.STOPPED
        assert await sup.restart_child("b") == "value b"
        with pytest.raises(ChildRunning):
            await sup.restart_child("b")
        with pytest.raises(ChildRunning):
            await sup.delete_child("b")
        await sup.terminate_child("b")
        await sup.delete_child("b")
        assert [i.id for i in sup.which_children()] == ["a"]
        with pytest.raises(UnknownChild):
            await sup.terminate_child("b")
        await sup.stop()


async def test_operations_on_a_supervisor_that_is_not_running_raise() -> None:
    h = Harness()
    sup = Supervisor([h.spec("a")])
    with pytest.raises(SupervisorNotRunning):
        await sup.start_child(h.spec("b"))
    with pytest.raises(SupervisorNotRunning):
        await sup.terminate_child("a")


async def test_which_children_and_count_children_describe_the_children() -> None:
    h = Harness()
    inner = Supervisor([h.spec("w")])
    sup = Supervisor(
        [h.spec("a"), supervisor_spec(inner, id="sub"), h.spec("t", restart=Restart.TRANSIENT)]
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        h.exit("t")
        await settle()
        infos = {i.id: i for i in sup.which_children()}
        assert infos["sub"].type is ChildType.SUPERVISOR
        assert infos["sub"].value is inner
        assert infos["t"].restart is Restart.TRANSIENT
        assert infos["t"].state is ChildState.STOPPED
        assert sup.count_children() == ChildCounts(specs=3, active=2, supervisors=1, workers=2)
        await sup.stop()


# --- telemetry -----------------------------------------------------------------------------------


async def test_start_restart_and_terminate_are_reported_on_the_bus() -> None:
    h = Harness()
    bus, recorder = recording_bus()
    sup = Supervisor([h.spec("a"), h.spec("b")], strategy=Strategy.ONE_FOR_ALL, name="s", bus=bus)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        h.crash("a")
        await settle()
        await sup.stop()
    starts = recorder.named(events.SUPERVISOR_CHILD_START)
    assert [(m["child_id"], m["reason"]) for m in starts] == [
        ("a", "start"),
        ("b", "start"),
        ("a", "restart"),
        ("b", "restart"),
    ]
    restarts = recorder.named(events.SUPERVISOR_CHILD_RESTART)
    assert [(m["supervisor"], m["child_id"], m["reason"]) for m in restarts] == [
        ("s", "a", "Boom: a"),
        ("s", "b", "sibling_restart"),
    ]
    terminates = recorder.named(events.SUPERVISOR_CHILD_TERMINATE)
    assert [(m["child_id"], m["reason"]) for m in terminates] == [
        ("b", "sibling_restart"),
        ("b", "shutdown"),
        ("a", "shutdown"),
    ]
