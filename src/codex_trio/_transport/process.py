"""One ``codex`` OS process, owned for exactly the extent of an ``async with`` block.

:func:`open_codex_process` spawns codex with three pipes, drains its stderr into a bounded ring in
a background task, and gives the body a :class:`CodexProcess` to write stdin and read stdout lines.
Leaving the block, for whatever reason (normal end, exception, cancellation), stops the process
and reaps it:

1. close stdin (codex treats EOF as "no more input");
2. if it has delivered all it was asked for (``finished``: an exec turn ended), wait only
   ``linger_grace`` seconds for it to exit on its own; if it is expected to exit on its own
   (``expect_exit``: an app-server whose stdin closed, an exec that closed stdout), wait
   ``exit_grace`` seconds; otherwise (cancelled mid-work) hardly at all;
3. SIGINT, then SIGTERM, each followed by ``signal_grace`` seconds of waiting;
4. SIGKILL to codex's whole process group, so the shell commands it started go too.

The stop runs shielded from cancellation, bounded by those grace periods, so a cancelled caller
still never leaves a zombie or an open pipe behind.

Parent death. codex runs in a session of its own (so a terminal's Ctrl-C reaches only the
parent, and the stop can signal its whole group). On Linux it is also spawned with
``PR_SET_PDEATHSIG`` = SIGKILL, so when the Python parent dies without stopping it (SIGKILL, a
crash) codex dies at once instead of running on until it next writes to its dead pipe. The
kernel sends that signal when the *thread* that forked the child exits, not the process, and
trio forks from its worker threads, which exit when idle; so processes are forked from one
dedicated daemon thread, which lives as long as the interpreter.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import errno
import os
import queue
import shutil
import signal as signal_module
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

import attrs
import trio

from codex_trio._errors import TransportError
from codex_trio._groups import collapse
from codex_trio._redact import redact
from codex_trio._transport.lines import DEFAULT_MAX_LINE_BYTES, LineReader
from codex_trio.observe import telemetry

__all__ = ["CodexProcess", "ExitInfo", "StderrRing", "StopPolicy", "open_codex_process"]


class StderrRing:
    """The last ``max_lines`` lines codex wrote to stderr, each cut to ``max_line_chars``.

    Memory is bounded whatever codex writes; lines are redacted when read, not when stored, so
    a secret registered later is still masked.
    """

    def __init__(self, *, max_lines: int = 200, max_line_chars: int = 2000) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=max_lines)
        self._max_chars = max_line_chars
        self._partial = ""
        self.total_bytes = 0

    def feed(self, chunk: bytes) -> None:
        self.total_bytes += len(chunk)
        text = self._partial + chunk.decode("utf-8", "replace")
        *complete, self._partial = text.split("\n")
        for line in complete:
            self._lines.append(line[: self._max_chars])
        if len(self._partial) > self._max_chars:
            self._lines.append(self._partial[: self._max_chars])
            self._partial = ""

    def tail(self, n: int = 20) -> str:
        lines = list(self._lines)
        if self._partial:
            lines.append(self._partial)
        return redact("\n".join(lines[-n:]))


@attrs.frozen
class StopPolicy:
    """How long to wait at each step of stopping codex (seconds).

    ``exit_grace``: for a process expected to exit by itself (stdin closed, stdout at EOF).
    ``signal_grace``: after each of SIGINT and SIGTERM. ``linger_grace``: for a process whose
    work is done (an exec turn ended); codex 0.163.0 exits 10-30 ms after ``turn.completed``,
    and a SIGINT after it is a clean shutdown (exit 0, rollout complete), so one that lingers
    is signalled soon rather than waited for.
    """

    exit_grace: float = 5.0
    signal_grace: float = 2.0
    linger_grace: float = 0.5


@attrs.frozen(kw_only=True)
class ExitInfo:
    """How a codex process ended: ``exit_code`` or ``signal`` (one of them is None)."""

    pid: int
    exit_code: int | None
    signal: int | None
    # The last signal we sent while stopping it, if we had to.
    sent_signal: int | None
    lifetime: float

    @property
    def reason(self) -> str:
        if self.sent_signal is not None:
            return "killed"
        if self.signal is not None:
            return "signal"
        return "normal" if self.exit_code == 0 else "error"


class CodexProcess:
    """A running codex process. Obtain one from :func:`open_codex_process`."""

    def __init__(
        self,
        proc: _Child,
        *,
        max_line_bytes: int,
        stderr: StderrRing,
        transport: str,
    ) -> None:
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        self._stdin = proc.stdin
        self.stdout = LineReader(proc.stdout, max_line_bytes=max_line_bytes)
        self.stderr = stderr
        self.transport = transport
        self.started_at = time.monotonic()
        self._send_lock = trio.Lock()
        self._stdin_closed = False
        self.exit_info: ExitInfo | None = None
        self._sent_signal: int | None = None
        # Set by the protocol layer above once codex is expected to exit on its own; until then,
        # stopping it does not wait for a voluntary exit.
        self.expect_exit = False
        # Set once codex delivered all it was asked for (an exec turn ended): stopping it then
        # waits only the policy's linger_grace before signalling it.
        self.finished = False

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    async def send(self, data: bytes) -> None:
        """Write ``data`` to codex's stdin. Raises TransportError if codex stopped reading."""
        async with self._send_lock:
            try:
                await self._stdin.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise self.error("codex closed its stdin") from exc

    async def close_stdin(self) -> None:
        if not self._stdin_closed:
            self._stdin_closed = True
            with trio.CancelScope(shield=True):
                await self._stdin.aclose()

    async def receive_line(self) -> bytes | None:
        """The next stdout line without its newline, or None once codex closed stdout."""
        return await self.stdout.receive_line()

    async def wait(self) -> ExitInfo:
        """Wait until codex exits and return how it ended."""
        await self._proc.wait()
        return self._record_exit()

    def error(
        self,
        message: str,
        *,
        error_class: type[TransportError] = TransportError,
        **context: str | None,
    ) -> TransportError:
        """A TransportError (or ``error_class``) describing this process's state (exit status,
        stderr tail, pid)."""
        info = self.exit_info if self.exit_info is not None else self._poll_exit()
        return error_class(
            message,
            exit_code=info.exit_code if info else None,
            signal=info.signal if info else None,
            stderr_tail=self.stderr.tail(),
            pid=self.pid,
            thread_id=context.get("thread_id"),
            turn_id=context.get("turn_id"),
        )

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to codex (not its children); ignored if it already exited."""
        if self._proc.returncode is None:
            self._sent_signal = sig
            try:
                self._proc.send_signal(sig)
            except ProcessLookupError:  # pragma: no cover - exited in between
                pass

    def _poll_exit(self) -> ExitInfo | None:
        if self._proc.poll() is None:
            return None
        return self._record_exit()

    def _record_exit(self) -> ExitInfo:
        if self.exit_info is None:
            rc = self._proc.returncode
            assert rc is not None
            self.exit_info = ExitInfo(
                pid=self.pid,
                exit_code=rc if rc >= 0 else None,
                signal=-rc if rc < 0 else None,
                sent_signal=self._sent_signal,
                lifetime=time.monotonic() - self.started_at,
            )
            telemetry.execute(
                ("codex", "process", "exit"),
                {"lifetime": self.exit_info.lifetime},
                {
                    "pid": self.pid,
                    "transport": self.transport,
                    "exit_code": self.exit_info.exit_code,
                    "signal": self.exit_info.signal,
                    "reason": self.exit_info.reason,
                },
            )
        return self.exit_info

    async def _wait_for(self, seconds: float) -> bool:
        with trio.move_on_after(seconds):
            await self._proc.wait()
        return self._proc.returncode is not None

    async def stop(self, policy: StopPolicy) -> ExitInfo:
        """Stop codex as the module docstring describes; shielded from cancellation."""
        with trio.CancelScope(shield=True):
            await self.close_stdin()
            if self.finished:
                grace = policy.linger_grace
            elif self.expect_exit:
                grace = policy.exit_grace
            else:
                grace = 0.05
            if not await self._wait_for(grace):
                for sig in (signal_module.SIGINT, signal_module.SIGTERM):
                    self.send_signal(sig)
                    if await self._wait_for(policy.signal_grace):
                        break
                else:
                    self.send_signal(signal_module.SIGKILL)
                    await self._proc.wait()
            self._kill_group()
        return self._record_exit()

    def _kill_group(self) -> None:
        # codex runs in its own session (start_new_session), so its pid is the group id; shell
        # commands it started and left behind are in that group.
        try:
            os.killpg(self.pid, signal_module.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# --------------------------------------------------------------------------------------------
# Spawning: a child that dies with its parent
# --------------------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None
    return prctl


_prctl = _load_prctl()

_SETPRIV: list[list[str] | None] = []


def _setpriv_prefix() -> list[str] | None:
    """``[setpriv, "--pdeathsig", "KILL", "--"]`` when util-linux's ``setpriv`` is here and
    takes ``--pdeathsig`` (util-linux >= 2.33), else None (then a ``preexec_fn`` arms the
    signal, which forces a fork). Looked up once, on the spawner thread, by running it.

    setpriv arms the signal and then executes the command in the same process, so codex keeps
    its pid and its argv. The difference from the ``preexec_fn``: that one also exits if the
    parent died before the signal was armed; setpriv cannot check, so a parent killed within the
    ~1 ms between the fork and setpriv's prctl leaves that one child running."""
    if not _SETPRIV:
        found = shutil.which("setpriv")
        works = False
        if found is not None:
            try:
                works = (
                    subprocess.run(
                        [found, "--pdeathsig", "KILL", "--", found, "--version"],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        timeout=10,
                        check=False,
                    ).returncode
                    == 0
                )
            except (OSError, subprocess.SubprocessError):
                works = False
        _SETPRIV.append([found, "--pdeathsig", "KILL", "--"] if found and works else None)
    return _SETPRIV[0]


def _executable(
    program: str, env: Mapping[str, str] | None, cwd: str | os.PathLike[str] | None
) -> bool:
    """Whether ``program`` resolves to an executable file as ``Popen`` would find it. A missing
    program must fail in ``Popen`` (``FileNotFoundError``), not as setpriv's exit status; a
    relative path with a ``cwd`` is left to ``Popen`` too."""
    if os.sep in program:
        if cwd is not None and not os.path.isabs(program):
            return False
        return os.access(program, os.X_OK) and not os.path.isdir(program)
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    return shutil.which(program, path=path) is not None


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` that has the kernel SIGKILL the child when its parent thread exits."""
    prctl = _prctl
    assert prctl is not None
    option = ctypes.c_ulong(_PR_SET_PDEATHSIG)
    death_signal = ctypes.c_ulong(signal_module.SIGKILL)
    zero = ctypes.c_ulong(0)

    def preexec() -> None:  # runs in the child, between fork and exec: keep it minimal
        prctl(option, death_signal, zero, zero, zero)
        if os.getppid() != parent_pid:
            os._exit(1)  # the parent died before the death signal was armed

    return preexec


class _Spawner:
    """One daemon thread that forks every codex process.

    ``PR_SET_PDEATHSIG`` fires when the forking *thread* exits. trio's ``open_process`` forks
    from a worker thread of its cache, which exits after some idle seconds and would take the
    child with it; this thread lives as long as the interpreter, so the signal fires only
    when the parent process dies. Forking off the trio thread also keeps a fork of a large
    process (``preexec_fn`` rules out vfork) from blocking the event loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Callable[[], None]] | None = None
        self._owner_pid = 0

    def _queue(self) -> queue.SimpleQueue[Callable[[], None]]:
        with self._lock:
            # After os.fork() the child has no spawner thread: start a new one there.
            if self._jobs is None or self._owner_pid != os.getpid():
                jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
                threading.Thread(
                    target=self._serve, args=(jobs,), name="codex-trio-spawner", daemon=True
                ).start()
                self._jobs, self._owner_pid = jobs, os.getpid()
            return self._jobs

    @staticmethod
    def _serve(jobs: queue.SimpleQueue[Callable[[], None]]) -> None:
        while True:
            jobs.get()()

    async def run(self, spawn: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        """``spawn()`` called on the spawner thread. Not cancellable (like trio's own
        ``open_process``): a process that was started is always handed back, never leaked."""
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()
        outcome: list[subprocess.Popen[bytes] | BaseException] = []

        def job() -> None:
            try:
                outcome.append(spawn())
            except BaseException as exc:  # handed to the caller, whatever it is
                outcome.append(exc)
            token.run_sync_soon(done.set)

        self._queue().put(job)
        with trio.CancelScope(shield=True):
            await done.wait()
        [result] = outcome
        if isinstance(result, BaseException):
            raise result
        return result


_spawner = _Spawner()


class _PipeReader(trio.abc.ReceiveStream):
    """The read end of a pipe (non-blocking), like trio's ``FdStream`` but with a
    ``receive_some`` that yields to the scheduler once per call, not twice: ``FdStream`` always
    yields before reading, then waits for the pipe when it is empty, which is the common case
    for codex's pipes (one line at a time). Here an empty pipe's wait is the call's checkpoint;
    data already there is returned after one yield, as before. One reader at a time (the line
    reader, the stderr drain)."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        # The last read took less than it asked for, so the pipe is most likely empty now: wait
        # for it first rather than spend a read on EAGAIN.
        self._drained = False

    def fileno(self) -> int:
        return self._fd

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        size = max_bytes if max_bytes is not None else _PIPE_READ_SIZE
        if not isinstance(size, int) or size < 1:
            raise ValueError("max_bytes must be an integer >= 1")
        await trio.lowlevel.checkpoint_if_cancelled()
        waited = False
        while True:
            if self._drained:  # wait first: a read now would almost always be EAGAIN
                if self._fd < 0:
                    raise trio.ClosedResourceError("file was already closed")
                await trio.lowlevel.wait_readable(self._fd)
                waited = True
            try:
                data = os.read(self._fd, size)
            except BlockingIOError:
                self._drained = True
                continue
            except OSError as exc:
                raise _pipe_error(exc) from None
            self._drained = len(data) < size
            if not waited:  # the wait was this call's checkpoint; without one, yield once
                await trio.lowlevel.cancel_shielded_checkpoint()
            return data

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            trio.lowlevel.notify_closing(fd)
            os.close(fd)

    async def aclose(self) -> None:
        self.close()
        await trio.lowlevel.checkpoint()

    def __del__(self) -> None:
        if self._fd >= 0:  # never closed (an error path): do not leak the descriptor
            with contextlib.suppress(OSError):
                os.close(self._fd)


_PIPE_READ_SIZE = 64 * 1024


def _pipe_error(exc: OSError) -> Exception:
    if exc.errno == errno.EBADF:
        return trio.ClosedResourceError("file was already closed")
    error = trio.BrokenResourceError()
    error.__cause__ = exc
    return error


class _Child:
    """A spawned process with trio streams on its pipes and an async :meth:`wait` (a pidfd on
    Linux, a waitid thread elsewhere): the part of ``trio.Process`` this module uses."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdin: trio.lowlevel.FdStream,
        stdout: _PipeReader,
        stderr: _PipeReader,
    ) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._wait_lock = trio.Lock()
        self._pidfd: int | None = None
        pidfd_open = getattr(os, "pidfd_open", None)
        if pidfd_open is not None:
            try:
                self._pidfd = pidfd_open(popen.pid)
            except OSError:  # pragma: no cover - an old kernel: fall back on waitid
                self._pidfd = None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def poll(self) -> int | None:
        return self._popen.poll()

    def send_signal(self, sig: int) -> None:
        self._popen.send_signal(sig)  # a no-op once the child was reaped

    async def wait(self) -> int:
        async with self._wait_lock:
            if self._popen.poll() is None:
                if self._pidfd is not None:
                    await trio.lowlevel.wait_readable(self._pidfd)
                else:  # pragma: no cover - kernels before 5.3
                    await trio.to_thread.run_sync(_wait_reapable, self.pid, abandon_on_cancel=True)
                self._popen.wait()  # reapable now: returns at once
            self.close()
        rc = self._popen.returncode
        assert rc is not None
        return rc

    def close(self) -> None:
        """Release the pidfd (the pipes are the caller's to close)."""
        if self._pidfd is not None:
            fd, self._pidfd = self._pidfd, None
            trio.lowlevel.notify_closing(fd)
            os.close(fd)


def _wait_reapable(pid: int) -> None:  # pragma: no cover - kernels before 5.3
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:
        pass


async def _spawn(
    argv: Sequence[str], *, env: dict[str, str] | None, cwd: str | os.PathLike[str] | None
) -> _Child:
    """Start ``argv`` in a session of its own with three pipes; on Linux, armed to die with us."""
    fds: list[int] = []
    try:
        stdin_r, stdin_w = os.pipe()
        fds += [stdin_r, stdin_w]
        stdout_r, stdout_w = os.pipe()
        fds += [stdout_r, stdout_w]
        stderr_r, stderr_w = os.pipe()
        fds += [stderr_r, stderr_w]
        preexec = _die_with_parent(os.getpid()) if _prctl is not None else None

        def popen() -> subprocess.Popen[bytes]:
            # On the spawner thread. With setpriv the death signal is armed by setpriv itself,
            # so Popen needs no preexec_fn and can vfork: a fork of this process instead costs
            # it ~7 ms of CPU per child (copying its page tables, then copy-on-write faults).
            wrapper = _setpriv_prefix() if preexec is not None else None
            command, arm = list(argv), preexec
            if wrapper is not None and _executable(argv[0], env, cwd):
                command, arm = [*wrapper, *argv], None
            return subprocess.Popen(
                command,
                stdin=stdin_r,
                stdout=stdout_w,
                stderr=stderr_w,
                env=env,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=arm,
            )

        if preexec is not None:
            process = await _spawner.run(popen)
        else:  # pragma: no cover - not Linux: no death signal to arm, fork from a worker
            process = await trio.to_thread.run_sync(popen)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    for fd in (stdin_r, stdout_w, stderr_w):
        os.close(fd)  # the child's ends
    return _Child(
        process,
        trio.lowlevel.FdStream(stdin_w),
        _PipeReader(stdout_r),
        _PipeReader(stderr_r),
    )


async def _drain_stderr(stream: trio.abc.ReceiveStream, ring: StderrRing, done: trio.Event) -> None:
    try:
        while chunk := await stream.receive_some(64 * 1024):
            ring.feed(bytes(chunk))
    except (trio.ClosedResourceError, trio.BrokenResourceError):
        pass
    finally:
        done.set()


@asynccontextmanager
async def open_codex_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    stop_policy: StopPolicy = StopPolicy(),
    transport: str = "exec",
    stderr_lines: int = 200,
) -> AsyncIterator[CodexProcess]:
    """Spawn codex (``argv``), yield it, and stop and reap it when the block ends.

    ``env`` replaces the inherited environment when given. A missing executable or a spawn
    failure raises :class:`~codex_trio._errors.TransportError`.
    """
    try:
        proc = await _spawn(argv, env=dict(env) if env is not None else None, cwd=cwd)
    except OSError as exc:
        raise TransportError(f"could not start codex at {argv[0]}: {exc.strerror or exc}") from exc
    ring = StderrRing(max_lines=stderr_lines)
    process = CodexProcess(proc, max_line_bytes=max_line_bytes, stderr=ring, transport=transport)
    telemetry.execute(
        ("codex", "process", "spawn"), {"count": 1}, {"pid": proc.pid, "transport": transport}
    )
    try:
        with collapse():
            async with trio.open_nursery() as nursery:
                assert proc.stderr is not None
                stderr_done = trio.Event()
                nursery.start_soon(_drain_stderr, proc.stderr, ring, stderr_done)
                try:
                    yield process
                finally:
                    await process.stop(stop_policy)
                    # stderr reaches EOF once codex and its group are gone; the wait is bounded in
                    # case something else inherited the pipe. Reading it to the end keeps the tail
                    # complete for error reports.
                    with trio.move_on_after(stop_policy.signal_grace) as scope:
                        scope.shield = True
                        await stderr_done.wait()
                    nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                await stream.aclose()
        proc.close()
