"""ThreadState.restore without a process: after a turn that overrode the thread's settings, the
next app-server turn sends the thread's own settings back (codex 0.163 keeps turn/start
overrides for later turns); exec turns are left alone (each runs in a fresh process)."""

from __future__ import annotations

from typing import Any

from codex_trio import ApprovalPolicy, ReasoningEffort, SandboxMode, ThreadOptions, TurnOptions
from codex_trio._turn import ThreadState


class Runner:
    def __init__(self, name: str) -> None:
        self.name = name

    def turn(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - never run here
        raise NotImplementedError


def state(transport: str = "app-server", **options: Any) -> ThreadState:
    return ThreadState(runner=Runner(transport), options=ThreadOptions(**options))  # type: ignore[arg-type]


def test_the_thread_option_comes_back_after_an_override() -> None:
    thread = state(model="base", sandbox_mode="workspace-write", approval_policy="on-request")
    first = thread.restore(
        TurnOptions(model="other", sandbox_mode="read-only", approval_policy="never")
    )
    assert (first.model, first.sandbox_mode) == ("other", SandboxMode.READ_ONLY)
    second = thread.restore(TurnOptions())
    assert second.model == "base"
    assert second.sandbox_mode is SandboxMode.WORKSPACE_WRITE
    assert second.approval_policy is ApprovalPolicy.ON_REQUEST
    # Restored once: the turn after that sends nothing.
    assert thread.restore(TurnOptions()) == TurnOptions()


def test_what_the_engine_reported_stands_in_for_an_unset_option() -> None:
    thread = state()
    thread.engine_settings = {"model": "engine-default", "effort": ReasoningEffort.MEDIUM}
    thread.restore(TurnOptions(model="other", effort="high"))
    back = thread.restore(TurnOptions(timeout=5))
    assert (back.model, back.effort, back.timeout) == ("engine-default", ReasoningEffort.MEDIUM, 5)


def test_a_setting_with_no_known_value_stays_pending_until_one_is_known() -> None:
    thread = state()
    thread.restore(TurnOptions(effort="high"))
    assert thread.restore(TurnOptions()).effort is None  # nothing known to send back
    thread.engine_settings = {"effort": ReasoningEffort.LOW}
    assert thread.restore(TurnOptions()).effort is ReasoningEffort.LOW


def test_an_override_on_the_next_turn_wins_over_the_restore() -> None:
    thread = state(model="base")
    thread.restore(TurnOptions(model="a"))
    assert thread.restore(TurnOptions(model="b")).model == "b"
    assert thread.restore(TurnOptions()).model == "base"


def test_exec_turns_are_left_alone() -> None:
    thread = state("exec", model="base")
    thread.restore(TurnOptions(model="other"))
    assert thread.restore(TurnOptions()) == TurnOptions()
    assert thread.overridden == frozenset()
