"""One app-server process per thread (``Runtime(app_servers="per-thread")``): the actor owns its
process, a slow consumer stops only its own codex (pipe backpressure), a crash touches one
thread. Real binary, mock model."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import termios
from pathlib import Path
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio._errors import TransportError
from codex_trio._protocol import AgentMessageItem, ItemCompletedEvent, ThreadEvent
from codex_trio.testing import MockModel, Script, hold, message, response
from tests.fakes import children_of_self, open_fds, pid_alive

pytestmark = pytest.mark.integration

HANG_GUARD = 120
F_GETPIPE_SZ = 1032  # fcntl.F_GETPIPE_SZ (Linux), absent from older Pythons' fcntl


def marker_key(request: Any) -> str | None:
    key: str | None = request.marker(r"\[t:(\w+)\]")
    return key


def thread_options(mock_model: MockModel) -> dict[str, Any]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}


def per_thread(mock_model: MockModel, **options: Any) -> codex_trio.Runtime:
    return codex_trio.Runtime(
        transport="app-server", app_servers="per-thread", env=mock_model.env, **options
    )


def unread_stdout(pid: int) -> tuple[int, int]:
    """(bytes waiting, capacity) of the pipe behind ``pid``'s stdout, read from our end."""
    inode = os.readlink(f"/proc/{pid}/fd/1")
    assert inode.startswith("pipe:"), inode
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target == inode:
            pending = bytearray(4)
            fcntl.ioctl(int(fd), termios.FIONREAD, pending)
            return int.from_bytes(pending, "little"), fcntl.fcntl(int(fd), F_GETPIPE_SZ)
    raise AssertionError(f"no fd of ours reads {inode}")


async def test_a_consumer_that_never_reads_blocks_only_its_own_codex(
    mock_model: MockModel,
) -> None:
    # Far more than the two buffers (16 events each) and the pipe (64 KiB) hold.
    texts = [f"message {n:04d} " + "x" * 100 for n in range(600)]
    mock_model.script = Script.by_key(
        marker_key,
        {"slow": [response(*(message(t) for t in texts))]},
        default=message("ok"),
    )
    with trio.fail_after(HANG_GUARD):
        async with per_thread(mock_model, event_buffer=16) as rt:
            slow = await rt.start_thread(name="slow", **thread_options(mock_model))
            fast = [await rt.start_thread(**thread_options(mock_model)) for _ in range(2)]
            received: list[ThreadEvent] = []
            async with slow.run_streamed("[t:slow] talk a lot") as stream:
                received.append(await stream.__anext__())  # the turn runs; now stop reading
                pid = slow.actor.pid
                assert pid is not None
                pending, capacity = unread_stdout(pid)
                # codex fills its stdout pipe, then blocks on it: less room is left than a
                # line it writes atomically (PIPE_BUF) takes.
                while capacity - pending >= select.PIPE_BUF:
                    await trio.sleep(0.05)
                    pending, capacity = unread_stdout(pid)
                answers = [(await h.run(f"turn {n}")).final_response for h in fast for n in (1, 2)]
                still_full = unread_stdout(pid)[0] >= pending  # nobody drained it meanwhile
                held = stream.statistics()
                async for event in stream:  # now read everything: nothing was lost
                    received.append(event)
            result = stream.result
            servers = rt.which_app_servers()
    assert answers == ["ok"] * 4
    assert still_full and held.current_buffer_used == held.max_buffer_size == 16
    assert held.tasks_waiting_send == 1  # the actor waits for the consumer, codex for the actor
    assert not held.overflowed
    said = [
        e.item.text
        for e in received
        if isinstance(e, ItemCompletedEvent) and isinstance(e.item, AgentMessageItem)
    ]
    assert said == texts and result.final_response == texts[-1]
    assert sorted(s.thread for s in servers if s.thread) == sorted(
        ["slow", *(h.name for h in fast)]
    )
    assert {s.slot for s in servers} == {None}


async def test_a_killed_process_touches_only_its_own_thread(mock_model: MockModel) -> None:
    mock_model.script = Script.by_key(
        marker_key,
        {
            "a": [message("a1"), hold(message("a2")), message("a3")],
            "b": [message("b1"), hold(message("b2")), message("b3")],
        },
    )
    outcomes: dict[str, object] = {}
    with trio.fail_after(HANG_GUARD):
        async with per_thread(mock_model) as rt:
            a = await rt.start_thread(name="a", **thread_options(mock_model))
            b = await rt.start_thread(name="b", **thread_options(mock_model))
            await a.run("[t:a] one")
            await b.run("[t:b] one")
            pid_a, pid_b = a.actor.pid, b.actor.pid
            assert pid_a is not None and pid_b is not None and pid_a != pid_b

            async def second(name: str, handle: codex_trio.ThreadHandle) -> None:
                try:
                    outcomes[name] = (await handle.run("two")).final_response
                except TransportError as exc:
                    outcomes[name] = exc

            async with trio.open_nursery() as nursery:
                nursery.start_soon(second, "a", a)
                nursery.start_soon(second, "b", b)
                await mock_model.server.wait_for_held(2)
                os.kill(pid_a, signal.SIGKILL)
                while "a" not in outcomes:
                    await trio.sleep(0.02)
                mock_model.server.release()
            third = [(await a.run("three")).final_response, (await b.run("three")).final_response]
            children = rt.which_children()
            same_b = b.actor.pid == pid_b
    error = outcomes["a"]
    assert isinstance(error, TransportError) and error.signal == signal.SIGKILL
    assert outcomes["b"] == "b2"
    assert third == ["a3", "b3"]
    assert same_b  # the other thread's process was not touched
    assert [(c.name, c.restart_count) for c in children] == [("a", 0), ("b", 0)]
    resumed = [r for r in mock_model.requests if marker_key(r) == "a"][-1]
    assert "[t:a] one" in resumed.input_texts()


async def test_the_actor_owns_its_process(mock_model: MockModel, tmp_path: Path) -> None:
    mock_model.script = Script.replying(message("ok"))
    children, fds = children_of_self(), open_fds()
    with trio.fail_after(HANG_GUARD):
        async with per_thread(mock_model) as rt:
            handle = await rt.start_thread(name="mine", **thread_options(mock_model))
            before = handle.actor.pid  # started at the first turn, not with the thread
            await handle.run("hi")
            pid = handle.actor.pid
            assert pid is not None
            [info] = rt.which_app_servers()
            await rt.stop_thread("mine")
            after = rt.which_app_servers()
            alive = pid_alive(pid)
    assert before is None
    assert (info.thread, info.state, info.pid, info.threads_loaded) == ("mine", "running", pid, 1)
    assert info.rss is not None and info.rss > 10_000_000
    assert after == [] and not alive
    assert children_of_self() == children and open_fds() == fds


async def test_a_per_thread_process_hibernates_and_resumes_the_thread(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("noted"), message("BLUE")]
    with trio.fail_after(HANG_GUARD):
        async with per_thread(mock_model, idle_timeout=0.3) as rt:
            handle = await rt.start_thread(**thread_options(mock_model))
            await handle.run("my colour is BLUE")
            pid = handle.actor.pid
            assert pid is not None
            while rt.which_app_servers()[0].state != "hibernating":
                await trio.sleep(0.05)
            asleep = (handle.actor.pid, pid_alive(pid))
            result = await handle.run("what is my colour?")
            woken = handle.actor.pid
    assert asleep == (None, False)
    assert result.final_response == "BLUE" and woken not in (None, pid)
    assert "my colour is BLUE" in mock_model.requests[-1].input_texts()


async def test_a_held_reader_is_let_go_at_the_turns_deadline(mock_model: MockModel) -> None:
    texts = [f"message {n:04d} " + "x" * 100 for n in range(600)]
    mock_model.script = [response(*(message(t) for t in texts)), message("next")]
    with trio.fail_after(HANG_GUARD):
        async with per_thread(mock_model, event_buffer=16) as rt:
            handle = await rt.start_thread(**thread_options(mock_model))
            async with handle.run_streamed("talk", timeout=3) as stream:
                await stream.__anext__()
                pid = handle.actor.pid
                assert pid is not None
                # Held (codex blocks on its pipe) until the deadline ends the turn; on a very
                # slow machine the deadline may come first, which must end it just the same.
                pending, capacity = unread_stdout(pid)
                while capacity - pending >= select.PIPE_BUF and handle.actor.current is not None:
                    await trio.sleep(0.05)
                    pending, capacity = unread_stdout(pid)
                while handle.actor.current is not None:  # never read on: the deadline ends it
                    await trio.sleep(0.05)
                with pytest.raises(codex_trio.TurnDeadlineError):
                    async for _ in stream:  # what was buffered, then the error
                        pass
            after = await handle.run("and now?")
    assert after.final_response == "next"


async def test_many_first_turns_at_once_on_a_fresh_home_all_succeed(mock_model: MockModel) -> None:
    # codex 0.163: app-server processes starting at once on a CODEX_HOME it has never used fail
    # with "failed to initialize sqlite state runtime" (seen with 10 per-thread processes). The
    # runtime warms such a home (one app-server start) before any thread runs.
    assert not any(mock_model.home.path.glob("state_*.sqlite"))  # never used
    mock_model.script = Script.replying(lambda request: message("ok"))
    with trio.fail_after(HANG_GUARD):
        async with per_thread(mock_model) as runtime:
            assert any(mock_model.home.path.glob("state_*.sqlite"))  # warmed on entry
            assert mock_model.requests == []  # the warm-up asks the model nothing
            handles = [await runtime.start_thread(**thread_options(mock_model)) for _ in range(8)]
            results: list[str | None] = []

            async def run(handle: codex_trio.ThreadHandle) -> None:
                results.append((await handle.run("hi")).final_response)

            async with trio.open_nursery() as nursery:
                for handle in handles:
                    nursery.start_soon(run, handle)
    assert results == ["ok"] * 8
    assert children_of_self() == []
