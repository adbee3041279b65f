"""DynamicSupervisor: children added at run time, max_children, one-for-one, shutdown."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from codex_trio.runtime import (
    ChildStartError,
    ChildState,
    DuplicateChild,
    DynamicSupervisor,
    Restart,
    RestartIntensityExceeded,
    Supervisor,
    SupervisorNotRunning,
    TooManyChildren,
    UnknownChild,
    supervisor_spec,
)
from tests.runtime.test_supervisor import Boom, Harness, start_supervised

settle = trio.testing.wait_all_tasks_blocked


async def test_start_child_starts_it_and_returns_what_it_reported() -> None:
    h = Harness()
    dsup = DynamicSupervisor()
    async with trio.open_nursery() as nursery:
        await nursery.start(dsup.run)
        assert dsup.which_children() == []
        assert await dsup.start_child(h.spec("a")) == "value a"
        assert await dsup.start_child(h.spec("b")) == "value b"
        assert [(i.id, i.state) for i in dsup.which_children()] == [
            ("a", ChildState.RUNNING),
            ("b", ChildState.RUNNING),
        ]
        await dsup.stop()


async def test_start_child_beyond_max_children_raises_and_starts_nothing() -> None:
    h = Harness()
    dsup = DynamicSupervisor(max_children=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(dsup.run)
        await dsup.start_child(h.spec("a"))
        await dsup.start_child(h.spec("b"))
        with pytest.raises(TooManyChildren) as info:
            await dsup.start_child(h.spec("c"))
        assert info.value.max_children == 2
        assert "start c" not in h.log
        # Terminating a child makes room again.
        await dsup.terminate_child("a")
        await dsup.start_child(h.spec("c"))
        assert [i.id for i in dsup.which_children()] == ["b", "c"]
        await dsup.stop()


async def test_a_duplicate_child_id_is_rejected() -> None:
    h = Harness()
    dsup = DynamicSupervisor()
    async with trio.open_nursery() as nursery:
        await nursery.start(dsup.run)
        await dsup.start_child(h.spec("a"))
        with pytest.raises(DuplicateChild):
            await dsup.start_child(h.spec("a"))
        assert h.log == ["start a"]
        await dsup.stop()


async def test_a_child_failing_to_start_raises_and_is_not_kept() -> None:
    h = Harness()
    dsup = DynamicSupervisor()
    async with trio.open_nursery() as nursery:
        await nursery.start(dsup.run)
        with pytest.raises(ChildStartError) as info:
            await dsup.start_child(h.spec("bad", fail_start=lambda ctx: True))
        assert isinstance(info.value.reason, Boom)
        assert dsup.which_children() == []
        await dsup.stop()


async def test_a_failed_child_is_restarted_alone() -> None:
    h = Harness()
    dsup = DynamicSupervisor()
    async with trio.open_nursery() as nursery:
        await nursery.start(dsup.run)
        for child_id in ("a", "b", "c"):
            await dsup.start_child(h.spec(child_id))
        mark = len(h.log)
        h.crash("b")
        await settle()
        assert h.log[mark:] == ["crash b", "start b"]
        assert [i.restart_count for i in dsup.which_children()] == [0, 1, 0]
        await dsup.stop()


async def test_children_that_end_for_good_are_forgotten() -> None:
    h = Harness()
    dsup = DynamicSupervisor()
    async with trio.open_nursery() as nursery:
        await nursery.start(dsup.run)
        await dsup.start_child(h.spec("transient", restart=Restart.TRANSIENT))
        await dsup.start_child(h.spec("temporary", restart=Restart.TEMPORARY))
        await dsup.start_child(h.spec("permanent"))
        h.exit("transient")
        h.crash("temporary")
        await settle()
        assert [i.id for i in dsup.which_children()] == ["permanent"]
        await dsup.terminate_child("permanent")
        assert dsup.which_children() == []
        with pytest.raises(UnknownChild):
            await dsup.terminate_child("permanent")
        await dsup.stop()


async def test_shutdown_stops_all_children_together_each_within_its_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    h = Harness()
    dsup = DynamicSupervisor()
    async with trio.open_nursery() as nursery:
        await nursery.start(dsup.run)
        await dsup.start_child(h.spec("deaf1", ignore_stop=True, shutdown=3.0))
        await dsup.start_child(h.spec("deaf2", ignore_stop=True, shutdown=3.0))
        await dsup.start_child(h.spec("polite", stop_delay=1.0))
        began = trio.current_time()
        await dsup.stop()
        elapsed = trio.current_time() - began
    assert elapsed == pytest.approx(3.0)  # not 7: nobody waited for a sibling
    assert h.times["stop polite"] - began == pytest.approx(1.0)
    assert sorted(h.log[3:]) == ["killed deaf1", "killed deaf2", "stop polite"]


async def test_exceeding_the_restart_intensity_stops_all_children_and_raises() -> None:
    h = Harness()
    dsup = DynamicSupervisor(max_restarts=1)
    async with trio.open_nursery() as nursery:
        outcome = await start_supervised(nursery, dsup)
        await dsup.start_child(h.spec("a"))
        await dsup.start_child(h.spec("b"))
        h.crash("a")
        await settle()
        h.crash("a")
        await outcome.done.wait()
    assert isinstance(outcome.error, RestartIntensityExceeded)
    assert [f.child_id for f in outcome.error.failures] == ["a", "a"]
    assert h.log[-1] == "stop b"
    assert dsup.count_children().active == 0


async def test_restarted_by_its_parent_it_starts_again_empty() -> None:
    h = Harness()
    dsup = DynamicSupervisor(max_restarts=0, name="dyn")
    parent = Supervisor([supervisor_spec(dsup)])
    async with trio.open_nursery() as nursery:
        await nursery.start(parent.run)
        await dsup.start_child(h.spec("a"))
        h.crash("a")  # dsup gives up; the parent restarts it
        await settle()
        assert dsup.running
        assert dsup.which_children() == []
        assert parent.which_children()[0].restart_count == 1
        await parent.stop()


async def test_start_child_on_a_stopped_dynamic_supervisor_raises() -> None:
    h = Harness()
    with pytest.raises(SupervisorNotRunning):
        await DynamicSupervisor().start_child(h.spec("a"))
