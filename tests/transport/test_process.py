import os
import signal
import sys
import threading
from pathlib import Path

import pytest
import trio
import trio.testing

from codex_trio._errors import TransportError
from codex_trio._transport.process import StderrRing, StopPolicy, open_codex_process
from tests.fakes import children_of_self, fake_codex, open_fds, pid_alive

FAST = StopPolicy(exit_grace=2.0, signal_grace=0.5)


async def test_lines_are_read_and_a_normal_exit_is_recorded(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, "data = sys.stdin.read(); print('got', data); print('bye')")
    async with open_codex_process([codex], stop_policy=FAST) as proc:
        await proc.send(b"hello")
        await proc.close_stdin()
        lines = [await proc.receive_line(), await proc.receive_line(), await proc.receive_line()]
        proc.expect_exit = True
    assert lines == [b"got hello", b"bye", None]
    assert proc.exit_info is not None
    assert proc.exit_info.exit_code == 0 and proc.exit_info.reason == "normal"


async def test_exit_code_and_stderr_tail_reach_the_error(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, "sys.stderr.write('boom: it broke\\n'); sys.exit(7)")
    async with open_codex_process([codex], stop_policy=FAST) as proc:
        assert await proc.receive_line() is None
        await proc.wait()
        error = proc.error("codex died")
    assert error.exit_code == 7 and error.signal is None
    assert "boom: it broke" in error.stderr_tail
    assert "exit code 7" in str(error)


async def test_stderr_ring_stays_bounded_and_keeps_the_last_lines(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, "for i in range(20000): sys.stderr.write(f'line {i}\\n')")
    async with open_codex_process([codex], stop_policy=FAST, stderr_lines=50) as proc:
        await proc.wait()
        proc.expect_exit = True
    assert len(proc.stderr._lines) == 50
    assert proc.stderr.tail(1) == "line 19999"


def test_stderr_ring_cuts_a_runaway_partial_line() -> None:
    ring = StderrRing(max_lines=3, max_line_chars=10)
    ring.feed(b"x" * 100)
    assert all(len(line) <= 10 for line in ring._lines) and len(ring._partial) <= 10


async def test_cancel_stops_a_process_that_ignores_sigint_and_sigterm(tmp_path: Path) -> None:
    codex = fake_codex(
        tmp_path,
        """
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('ready', flush=True)
        while True: time.sleep(1)
        """,
    )
    fds_before = open_fds()
    with trio.move_on_after(10) as scope:
        async with open_codex_process([codex], stop_policy=FAST) as proc:
            assert await proc.receive_line() == b"ready"
            scope.cancel()
            await trio.sleep_forever()
    assert proc.exit_info is not None
    assert proc.exit_info.signal == signal.SIGKILL and proc.exit_info.reason == "killed"
    assert not pid_alive(proc.pid)
    assert proc.pid not in children_of_self()
    assert open_fds() == fds_before


async def test_sigint_is_enough_for_a_well_behaved_process(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, "print('ready', flush=True); time.sleep(60)")
    with trio.move_on_after(10) as scope:
        async with open_codex_process([codex], stop_policy=FAST) as proc:
            assert await proc.receive_line() == b"ready"
            scope.cancel()
    assert proc.exit_info is not None and proc.exit_info.reason == "killed"
    assert proc.exit_info.sent_signal == signal.SIGINT


async def test_grandchildren_left_running_are_killed_with_the_group(tmp_path: Path) -> None:
    codex = fake_codex(
        tmp_path,
        """
        import subprocess
        child = subprocess.Popen(['sleep', '300'], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(child.pid, flush=True)
        """,
    )
    async with open_codex_process([codex], stop_policy=FAST) as proc:
        line = await proc.receive_line()
        assert line is not None
        grandchild = int(line)
        assert pid_alive(grandchild)
        proc.expect_exit = True
    with trio.fail_after(5):
        while pid_alive(grandchild):
            await trio.sleep(0.05)


async def test_missing_binary_is_a_transport_error(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="could not start codex"):
        async with open_codex_process([str(tmp_path / "missing")]):
            pass  # pragma: no cover


async def test_send_after_codex_closed_stdin_is_a_transport_error(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, "os.close(0); print('closed', flush=True); time.sleep(30)")
    async with open_codex_process([codex], stop_policy=FAST) as proc:
        assert await proc.receive_line() == b"closed"
        with pytest.raises(TransportError, match="closed its stdin"):
            for _ in range(100):
                await proc.send(b"x" * 65536)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")
async def test_death_signal_is_armed_and_survives_trio_worker_threads_exiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PR_SET_PDEATHSIG fires when the *thread* that forked the child exits. trio's open_process
    # forks from a worker of its thread cache, which exits after IDLE_TIMEOUT idle seconds:
    # armed from there, the signal would kill codex mid-turn. Make idle workers exit at once,
    # run some, let them all exit, and codex must still be running.
    codex = fake_codex(
        tmp_path,
        """
        import ctypes
        armed = ctypes.c_int(0)
        ctypes.CDLL(None).prctl(2, ctypes.byref(armed), 0, 0, 0)  # PR_GET_PDEATHSIG
        print(armed.value, os.getsid(0) == os.getpid(), flush=True)
        time.sleep(30)
        """,
    )
    monkeypatch.setattr(trio._core._thread_cache, "IDLE_TIMEOUT", 0.01)
    async with open_codex_process([codex], stop_policy=FAST) as proc:
        assert await proc.receive_line() == f"{int(signal.SIGKILL)} True".encode()
        for _ in range(3):
            await trio.to_thread.run_sync(lambda: None)
        with trio.fail_after(10):  # hang guard
            while any(t.name.startswith("Trio thread") for t in threading.enumerate()):
                await trio.sleep(0.01)
        with trio.move_on_after(0.5):  # a death signal would have arrived by now
            await proc.wait()
        assert proc.returncode is None, "codex died with a thread instead of its process"
    assert proc.exit_info is not None and proc.exit_info.sent_signal == signal.SIGINT


ARMED = """
import ctypes
armed = ctypes.c_int(0)
ctypes.CDLL(None).prctl(2, ctypes.byref(armed), 0, 0, 0)  # PR_GET_PDEATHSIG
cmdline = open(f"/proc/{os.getpid()}/cmdline", "rb").read().split(b"\\0")[:-1]
print(armed.value, os.getppid(), len(cmdline), os.path.basename(cmdline[1]).decode(), flush=True)
time.sleep(30)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")
@pytest.mark.parametrize("setpriv", [True, False], ids=["setpriv", "preexec_fn"])
async def test_both_ways_of_arming_the_death_signal_start_codex_as_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setpriv: bool
) -> None:
    # With util-linux's setpriv the signal is armed by setpriv, which then executes codex in
    # the same process (so Popen needs no preexec_fn and vforks, not forks, this process);
    # without it, by a preexec_fn. Either way codex is our child, armed, with its own argv.
    from codex_trio._transport import process

    if setpriv and process._setpriv_prefix() is None:
        pytest.skip("no setpriv with --pdeathsig on this machine")
    if not setpriv:
        monkeypatch.setattr(process, "_SETPRIV", [None])
    codex = fake_codex(tmp_path, ARMED)
    async with open_codex_process([codex, "--flag"], stop_policy=FAST) as proc:
        line = await proc.receive_line()
        assert line is not None
        armed, parent, argc, script = line.decode().split()
        # The fake is `python SCRIPT --flag`: the interpreter, the script, the flag.
        assert (int(armed), int(parent), int(argc), script) == (
            int(signal.SIGKILL),
            os.getpid(),
            3,
            Path(codex).name,
        )
    assert children_of_self() == []


async def test_a_missing_binary_fails_the_same_way_with_setpriv_available(tmp_path: Path) -> None:
    # The program is looked up before setpriv is used: a missing one is Popen's error (a
    # TransportError naming the start), not a setpriv exit status read as codex exiting.
    with pytest.raises(TransportError, match="could not start codex"):
        async with open_codex_process(["codex-trio-no-such-binary"]):
            pass  # pragma: no cover


async def test_the_pipe_reader_returns_data_wait_eof_and_closed(tmp_path: Path) -> None:
    # codex's stdout and stderr are read through process._PipeReader: data already in the pipe
    # comes back at once, an empty pipe is waited for, EOF is b"", and a closed reader raises
    # trio.ClosedResourceError (also in a task that was waiting when it was closed).
    from codex_trio._transport.process import _PipeReader

    read_fd, write_fd = os.pipe()
    reader = _PipeReader(read_fd)
    try:
        os.write(write_fd, b"ready\n")
        assert await reader.receive_some(100) == b"ready\n"
        got: list[bytes] = []

        async def receive() -> None:
            got.append(await reader.receive_some())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            await trio.testing.wait_all_tasks_blocked()
            assert got == []  # waiting on the empty pipe
            os.write(write_fd, b"later")
        assert got == [b"later"]
        with pytest.raises(ValueError):
            await reader.receive_some(0)

        async def receive_closed() -> None:
            with pytest.raises(trio.ClosedResourceError):
                await reader.receive_some()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive_closed)
            await trio.testing.wait_all_tasks_blocked()
            await reader.aclose()
        with pytest.raises(trio.ClosedResourceError):
            await reader.receive_some()
    finally:
        reader.close()
        os.close(write_fd)
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    eof = _PipeReader(read_fd)
    assert await eof.receive_some() == b""
    await eof.aclose()
