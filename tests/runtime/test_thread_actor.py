"""ThreadActor and ThreadHandle: the retry policy, the actor under a plain supervisor (a fake codex
forces the crash), errors that must not crash it (real codex), and callers leaving queued turns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio

from codex_trio._errors import TransportError, TurnDeadlineError, TurnFailedError
from codex_trio._protocol.options import ThreadOptions, TurnOptions
from codex_trio._transport.exec import ExecTransport
from codex_trio._transport.process import StopPolicy
from codex_trio._turn import ThreadState, UsageLedger
from codex_trio.runtime import (
    ActorCrashed,
    RetryPolicy,
    Supervisor,
    ThreadActor,
    TurnCancelledError,
    actor_spec,
)
from codex_trio.runtime._thread_actor import TurnRequest
from codex_trio.testing import MockModel, Script, hang, hold, message, response_failed
from tests.fakes import fake_codex
from tests.runtime.test_runtime import HANG_GUARD, runtime, thread_options, wait_until

# --- RetryPolicy -------------------------------------------------------------------------------


def test_backoff_grows_exponentially_up_to_the_maximum() -> None:
    policy = RetryPolicy(initial_backoff=0.5, multiplier=2.0, max_backoff=3.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_scales_the_backoff_down_by_at_most_its_fraction() -> None:
    policy = RetryPolicy(initial_backoff=1.0, jitter=0.25)
    assert policy.backoff(1, rand=lambda: 0.0) == 1.0
    assert policy.backoff(1, rand=lambda: 1.0) == 0.75
    assert all(0.75 <= policy.backoff(1) <= 1.0 for _ in range(100))


@pytest.mark.parametrize(
    "fields",
    [{"max_attempts": 0}, {"initial_backoff": -1.0}, {"jitter": 1.5}, {"jitter": -0.1}],
)
def test_invalid_retry_policy_is_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**fields)  # type: ignore[arg-type]


# --- the actor under a supervisor, with a fake codex -------------------------------------------

FAST = StopPolicy(exit_grace=2.0, signal_grace=0.5)

# Records its argv; dies mid-turn on its first run, answers normally afterwards.
DIES_ONCE = """
log = os.path.join(os.path.dirname(sys.argv[0]), "argv.jsonl")
first = not os.path.exists(log)
with open(log, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
sys.stdin.read()
print(json.dumps({"type": "thread.started", "thread_id": "t-42"}), flush=True)
print(json.dumps({"type": "turn.started"}), flush=True)
if first:
    os._exit(1)
item = {"id": "item_0", "type": "agent_message", "text": "after restart"}
print(json.dumps({"type": "item.completed", "item": item}), flush=True)
usage = {"input_tokens": 1, "cached_input_tokens": 0, "output_tokens": 1}
print(json.dumps({"type": "turn.completed", "usage": usage}), flush=True)
"""


async def test_actor_restart_keeps_the_thread_id_and_resumes_the_thread(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, DIES_ONCE)
    state = ThreadState(
        runner=ExecTransport(codex_path=codex, stop_policy=FAST),
        options=ThreadOptions(skip_git_repo_check=True),
        ledger=UsageLedger(),
    )
    actor = ThreadActor(state, limiter=trio.CapacityLimiter(1), name="t")
    supervisor = Supervisor([actor_spec(actor, id="actor")], name="thread:t")
    with trio.fail_after(HANG_GUARD):
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            with pytest.raises(ActorCrashed) as crashed:
                await actor.call(TurnRequest(input="first", options=TurnOptions()), timeout=None)
            await actor.wait_running()
            result = await actor.call(
                TurnRequest(input="second", options=TurnOptions()), timeout=None
            )
            [child] = supervisor.which_children()
            await supervisor.stop()
    assert isinstance(crashed.value.reason, TransportError)
    assert actor.state is state and state.thread_id == "t-42"
    assert result.thread_id == "t-42" and result.final_response == "after restart"
    assert child.restart_count == 1
    argvs = [json.loads(line) for line in (tmp_path / "argv.jsonl").read_text().splitlines()]
    assert "resume" not in argvs[0]
    assert argvs[1][-2:] == ["resume", "t-42"]


async def test_wait_running_raises_once_the_actor_is_gone(tmp_path: Path) -> None:
    state = ThreadState(
        runner=ExecTransport(codex_path=fake_codex(tmp_path, "")),
        options=ThreadOptions(),
        ledger=UsageLedger(),
    )
    actor = ThreadActor(state, limiter=trio.CapacityLimiter(1), name="t")
    errors: list[Exception] = []

    async def waiter() -> None:
        try:
            await actor.wait_running()
        except Exception as exc:
            errors.append(exc)

    with trio.fail_after(HANG_GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            assert errors == []  # not running, not gone: it waits for a restart
            actor.mark_gone()
    assert [type(e).__name__ for e in errors] == ["ActorStopped"]


# --- errors that leave the engine sound: no crash (real codex) ---------------------------------


async def test_turn_failed_is_raised_without_restarting_the_actor(mock_model: MockModel) -> None:
    mock_model.script = [response_failed("model overloaded"), message("fine again")]
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))
            with pytest.raises(TurnFailedError, match="model overloaded"):
                await thread.run("try")
            result = await thread.run("try again")
            [info] = rt.which_children()
    assert result.final_response == "fine again"
    assert info.restart_count == 0


async def test_turn_deadline_is_raised_without_restarting_the_actor(mock_model: MockModel) -> None:
    # By prompt, not by order: on a busy machine codex can be stopped at the deadline before it
    # has asked the model anything, and a script in order would then hang the next turn.
    mock_model.script = Script.replying(
        lambda request: hang() if request.last_user_text() == "slow" else message("on time")
    )
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))
            with pytest.raises(TurnDeadlineError):
                await thread.run("slow", timeout=0.5)
            result = await thread.run("quick")
            [info] = rt.which_children()
    assert result.final_response == "on time"
    assert info.restart_count == 0


# --- callers leaving queued turns ----------------------------------------------------------------


async def test_leaving_a_queued_streamed_turn_withdraws_it_without_waiting(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("first")), message("third")]
    results: list[str | None] = []
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))
            async with trio.open_nursery() as nursery:

                async def run(prompt: str) -> None:
                    results.append((await thread.run(prompt)).final_response)

                nursery.start_soon(run, "first")
                await mock_model.server.wait_for_held(1)
                # The first turn is held until release(): leaving returns at once only if the
                # queued turn is withdrawn rather than waited for.
                async with thread.run_streamed("second") as stream:
                    await wait_until(lambda: thread.actor.mailbox_stats().queue_length == 1)
                assert stream.pid is None
                nursery.start_soon(run, "third")
                mock_model.server.release()
    assert results == ["first", "third"]
    assert [r.last_user_text() for r in mock_model.requests] == ["first", "third"]


async def test_cancelling_a_queued_run_withdraws_it(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("first"))]
    cancelled: list[bool] = []
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(thread.run, "first")
                await mock_model.server.wait_for_held(1)
                with trio.move_on_after(0.2) as scope:
                    await thread.run("never runs")
                cancelled.append(scope.cancelled_caught)
                mock_model.server.release()
    assert cancelled == [True]
    assert [r.last_user_text() for r in mock_model.requests] == ["first"]


async def test_abandoned_turn_reports_turn_cancelled_to_the_stream(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("never sent"))]
    with trio.fail_after(HANG_GUARD):
        async with runtime(mock_model, drain_timeout=0.1) as rt:
            thread = await rt.start_thread(**thread_options(mock_model))
            with pytest.raises(TurnCancelledError):
                async with thread.run_streamed("held") as stream:
                    async for _event in stream:
                        await mock_model.server.wait_for_held(1)
                        thread.actor.abandon_current()
