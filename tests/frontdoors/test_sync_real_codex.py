"""codex_trio.sync on the real binary and the mock model: a blocking script's whole day."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import attrs
import pytest

import codex_trio
from codex_trio import sync
from codex_trio.testing import (
    Script,
    exec_command,
    function_call,
    hold,
    message,
    reasoning,
    response,
    response_failed,
)
from tests.fakes import pid_alive

from .conftest import Mock, bridge_threads

pytestmark = pytest.mark.integration


@attrs.frozen
class Summary:
    summary: str
    count: int


def test_a_blocking_script_runs_buffered_streamed_resumed_and_structured_turns(mock: Mock) -> None:
    mock.server.set_script(
        [
            message("first"),
            message("second"),
            message("third"),
            message('{"summary": "all good", "count": 3}'),
        ]
    )
    with sync.Codex(env=mock.env) as codex:
        thread = codex.start_thread(**mock.thread_options())
        result = thread.run("one")
        assert isinstance(result, codex_trio.TurnResult)
        assert result.final_response == "first"
        assert thread.id is not None and result.thread_id == thread.id
        assert [t.name for t in bridge_threads()] == ["codex-trio-sync"]

        with thread.run_streamed("two") as events:
            kinds = [type(event) for event in events]
        assert kinds[0] is codex_trio.ThreadStartedEvent
        assert kinds[-1] is codex_trio.TurnCompletedEvent
        assert codex_trio.ItemCompletedEvent in kinds
        assert events.result.final_response == "second"

        again = codex.resume_thread(thread.id)
        assert again.run("three").final_response == "third"
        assert "two" in mock.server.requests[2].input_texts()

        typed = again.run("four", output_type=Summary)
        assert typed.structured == Summary(summary="all good", count=3)
    assert bridge_threads() == []


def test_errors_are_the_trio_apis_typed_errors(mock: Mock) -> None:
    codex = sync.Codex(env=mock.env)
    try:
        with pytest.raises(codex_trio.ThreadNotFoundError):
            codex.read_thread("01a23190-0000-7000-8000-000000000000")
        with pytest.raises(codex_trio.ConfigurationError):
            codex.start_thread(**mock.thread_options()).run("x", output_schema={"type": 3})
    finally:
        codex.close()
    codex.close()  # idempotent


def test_a_blocking_approval_handler_runs_on_a_worker_thread_not_the_loop(mock: Mock) -> None:
    mock.server.set_script(
        [exec_command("touch made.txt", escalated=True, justification="make it"), message("done")]
    )
    seen: list[str] = []

    def approve(request: codex_trio.ApprovalRequest) -> codex_trio.ApprovalDecision:
        seen.append(threading.current_thread().name)
        time.sleep(0)  # a blocking handler may block
        return codex_trio.ApprovalDecision.ACCEPT

    with sync.Codex(transport="app-server", env=mock.env, approval_handler=approve) as codex:
        thread = codex.start_thread(**mock.thread_options(approval_policy="on-request"))
        result = thread.run("make a file")
    assert [a.decision for a in result.approvals] == [codex_trio.ApprovalDecision.ACCEPT]
    assert len(seen) == 1
    assert not seen[0].startswith("codex-trio-sync") and seen[0] != "MainThread"
    assert (mock.workdir / "made.txt").exists()


def test_a_plain_function_tool_answers_the_model_from_a_worker_thread(mock: Mock) -> None:
    ran_on: list[str] = []

    @sync.tool
    def lookup_ticket(ticket_id: str) -> str:
        """Fetch a ticket."""
        ran_on.append(threading.current_thread().name)
        return f"ticket {ticket_id}: the build is red"

    assert lookup_ticket.input_schema["properties"] == {"ticket_id": {"type": "string"}}
    mock.server.set_script([function_call("lookup_ticket", {"ticket_id": "42"}), message("fixed")])
    with sync.Codex(transport="app-server", env=mock.env, tools=[lookup_ticket]) as codex:
        result = codex.start_thread(**mock.thread_options()).run("fix ticket 42")
        assert result.final_response == "fixed"
        models = codex.models()  # an engine service, reached generically
    assert [m.id for m in models] and isinstance(models[0], codex_trio.ModelInfo)
    assert mock.server.requests[1].function_call_outputs() == {
        "call_1": "ticket 42: the build is red"
    }
    assert len(ran_on) == 1 and not ran_on[0].startswith("codex-trio-sync")


def test_thread_management_is_blocking_and_listing_is_a_plain_iterator(mock: Mock) -> None:
    with sync.Codex(env=mock.env) as codex:
        thread = codex.start_thread(**mock.thread_options())
        thread.run("hello")
        thread.rename("front door")
        listed = codex.list_threads(search_term="front door")
        assert not hasattr(listed, "__aiter__")
        assert [stored.id for stored in listed] == [thread.id]
        fork = thread.fork()
        assert isinstance(fork, sync.Thread) and fork.id not in (None, thread.id)
        fork.archive()
        assert fork.id not in [s.id for s in codex.list_threads()]
        assert codex.read_thread(thread.id).name == "front door"


def test_leaving_a_streamed_turn_early_stops_its_codex(mock: Mock) -> None:
    mock.server.set_script([hold(message("never"))])
    with sync.Codex(env=mock.env) as codex:
        thread = codex.start_thread(**mock.thread_options())
        with thread.run_streamed("wait") as events:
            first = next(events)
            assert isinstance(first, codex_trio.ThreadStartedEvent)
            pid = events.pid
            assert pid is not None and pid_alive(pid)
        assert not pid_alive(pid)


def test_the_streamed_hand_off_is_bounded_so_a_slow_reader_stops_the_trio_side(
    mock: Mock,
) -> None:
    mock.server.set_script([response(*[reasoning(f"step {i}") for i in range(40)], message("end"))])
    with sync.Codex(transport="app-server", env=mock.env, handoff=2) as codex:
        thread = codex.start_thread(**mock.thread_options())
        count = 0
        with thread.run_streamed("talk") as events:
            for _ in events:
                count += 1
                if count == 1:
                    # We stop reading: the trio side fills the hand-off, then waits.
                    while events.handoff_held() < 2:
                        time.sleep(0.01)
                assert events.handoff_held() <= 2
        assert count > 40
        assert events.handoff_capacity == 2
        assert events.handoff_max_held == 2
        assert events.result.final_response == "end"


SIGINT_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from codex_trio import sync
    codex = sync.Codex(env=dict(os.environ), transport=sys.argv[2])
    thread = codex.start_thread(working_directory=sys.argv[1], skip_git_repo_check=True)
    print("running", flush=True)
    try:
        thread.run("wait for ever")
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
    codex.close()
    def parent_of(pid):
        try:  # a process may exit between listdir and open (the test's own short-lived ones)
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[1]
        except OSError:
            return None
    kids = [p for p in os.listdir("/proc") if p.isdigit() and parent_of(p) == str(os.getpid())]
    print("children", len(kids), flush=True)
    """
)


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return out


@pytest.mark.parametrize("transport", ["exec", "app-server"])
def test_ctrl_c_during_a_blocking_turn_reaps_codex_and_raises_keyboard_interrupt(
    mock: Mock, transport: str
) -> None:
    mock.server.set_script(Script([hold(message("never"))]))
    child = subprocess.Popen(
        [sys.executable, "-c", SIGINT_SCRIPT, str(mock.workdir), transport],
        env=mock.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "running"
        while mock.held() < 1:  # codex is inside the turn, waiting on the model
            time.sleep(0.05)
        codex_pids = _children(child.pid)
        assert codex_pids and all(pid_alive(p) for p in codex_pids)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert out.split("\n")[:2] == ["KeyboardInterrupt", "children 0"]
    assert child.returncode == 0
    assert not any(pid_alive(p) for p in codex_pids)


def test_a_failed_turn_raises_turn_failed_error_through_the_blocking_call(mock: Mock) -> None:
    mock.server.set_script([response_failed("the model fell over")])
    with sync.Codex(env=mock.env) as codex:
        with pytest.raises(codex_trio.TurnFailedError, match="the model fell over"):
            codex.start_thread(**mock.thread_options()).run("go")


def test_interrupt_from_the_blocking_side_ends_the_stream_as_interrupted(mock: Mock) -> None:
    mock.server.set_script([hold(message("never")), message("after")])
    with sync.Codex(transport="app-server", env=mock.env) as codex:
        thread = codex.start_thread(**mock.thread_options())
        with thread.run_streamed("wait") as events:
            while mock.held() < 1:  # codex is inside the turn, waiting on the model
                time.sleep(0.02)
            events.interrupt()
            last = list(events)[-1]
        assert isinstance(last, codex_trio.TurnFailedEvent)
        assert last.extra["status"] == "interrupted"
        assert thread.run("again").final_response == "after"


def test_the_runtime_in_blocking_form(mock: Mock) -> None:
    mock.server.set_script([message("one"), message("two")])
    with sync.Runtime(env=mock.env) as runtime:
        handle = runtime.start_thread(name="a", **mock.thread_options())
        assert isinstance(handle, sync.ThreadHandle) and handle.name == "a"
        assert handle.run("first").final_response == "one"
        assert runtime.whereis("a") is not None
        with handle.run_streamed("second") as events:
            assert [type(e) for e in events][-1] is codex_trio.TurnCompletedEvent
        assert events.result.final_response == "two"
    assert bridge_threads() == []


NEVER_CLOSED = textwrap.dedent(
    """
    import os, sys, threading
    from codex_trio import sync
    codex = sync.Codex(env=dict(os.environ))
    thread = codex.start_thread(working_directory=sys.argv[1], skip_git_repo_check=True)
    print(thread.run("hi").final_response, flush=True)
    print(sorted(t.name for t in threading.enumerate() if t.name.startswith("codex-trio-sync")))
    # never closed: the interpreter's exit stops the loop
    """
)


def test_a_front_door_never_closed_is_stopped_at_interpreter_exit(mock: Mock) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NEVER_CLOSED, str(mock.workdir)],
        env=mock.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["ok", "['codex-trio-sync']"]


def test_close_removes_an_isolated_home_even_if_nothing_ran_and_is_idempotent(mock: Mock) -> None:
    codex = sync.Codex(env=mock.env, codex_home="isolated")
    home = codex.inner.codex_home
    assert home is not None and home.path.exists()
    codex.close()
    assert not home.path.exists()
    codex.close()
    assert bridge_threads() == []


def test_threads_of_a_blocking_program_run_turns_at_once_on_one_codex(mock: Mock) -> None:
    from concurrent.futures import ThreadPoolExecutor

    mock.server.set_script([hold(message("first")), message("ok"), message("ok")])
    with sync.Codex(env=mock.env) as codex:

        def turn(prompt: str) -> str | None:
            return codex.start_thread(**mock.thread_options()).run(prompt).final_response

        with ThreadPoolExecutor(3) as pool:
            held = pool.submit(turn, "held")
            while mock.held() < 1:  # the first turn is inside the model's call
                time.sleep(0.02)
            # Two more turns run to their end while the first is still waiting.
            assert list(pool.map(turn, ["a", "b"])) == ["ok", "ok"]
            assert not held.done()
            mock.server.release()
            assert held.result() == "first"
