"""One ``codex`` OS process, owned for exactly the extent of an ``async with`` block.

:func:`open_codex_process` spawns codex with three pipes, drains its stderr into a bounded ring in
a background task, and gives the body a :class:`CodexProcess` to write stdin and read stdout lines.
Leaving the block, for whatever reason (normal end, exception, cancellation), stops the process
and reaps it:

1. close stdin (codex treats EOF as "no more input");
2. if its work is done (``expect_exit``), wait ``exit_grace`` seconds for it to exit on its own;
3. SIGINT, then SIGTERM, each followed by ``signal_grace`` seconds of waiting;
4. SIGKILL to codex's whole process group, so the shell commands it started go too.

The stop runs shielded from cancellation, bounded by those grace periods, so a cancelled caller
still never leaves a zombie or an open pipe behind.
"""

from __future__ import annotations

import collections
import os
import signal as signal_module
import subprocess
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import attrs
import trio

from codex_trio._groups import collapse
from codex_trio.errors import TransportError
from codex_trio.observe import telemetry
from codex_trio.redact import redact
from codex_trio.transport.lines import DEFAULT_MAX_LINE_BYTES, LineReader

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
    """How long to wait at each step of stopping codex (seconds)."""

    exit_grace: float = 5.0
    signal_grace: float = 2.0


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
        proc: trio.Process,
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
        # Set by the protocol layer above once codex is expected to exit on its own (its turn
        # ended); until then, stopping it does not wait for a voluntary exit.
        self.expect_exit = False

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

    def error(self, message: str, **context: str | None) -> TransportError:
        """A TransportError describing this process's state (exit status, stderr tail)."""
        info = self.exit_info if self.exit_info is not None else self._poll_exit()
        return TransportError(
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
            grace = policy.exit_grace if self.expect_exit else 0.05
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
    failure raises :class:`~codex_trio.errors.TransportError`.
    """
    try:
        proc = await trio.lowlevel.open_process(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
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
                if stream is not None:
                    await stream.aclose()
