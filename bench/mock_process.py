"""The mock model in a process of its own, for the benchmarks.

A benchmark that serves the mock from its own trio loop makes the mock compete with the code it
measures for one interpreter (and one GIL): every SSE byte the mock writes is time the runtime
under test does not get. Here the mock (:class:`codex_trio.testing.MockResponsesServer`) runs
in a child process, started in a session of its own like every codex process of both sides
(with ``sched_autogroup_enabled`` = 1 a session is a scheduling group), so it weighs the same
on either side of a comparison.

The model answers every request ``pong``; a request whose last user message contains
``HOLD`` is held after ``response.created`` until :meth:`MockProcess.release` (codex is then
inside the turn, waiting on the model: a turn in flight).

Protocol with the child: it prints ``port N`` once listening and ``held N`` each time the N-th
stream reaches its hold point; it reads ``release`` and ``requests`` (answered ``requests N``)
on stdin and exits at EOF.

    async with open_mock_process(directory) as mock:
        env = mock.env  # CODEX_HOME etc. for codex
        ...
        await mock.wait_held(3)
        await mock.release()

Run directly it is the child (``python bench/mock_process.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from codex_trio.testing import (
    MockResponsesServer,
    RecordedRequest,
    Script,
    Step,
    hold,
    message,
    write_codex_home,
)

HOLD_MARK = "HOLD"


def reply(request: RecordedRequest) -> Step:
    if HOLD_MARK in (request.last_user_text() or ""):
        return hold(message("pong"))
    return message("pong")


async def _child() -> None:
    async with MockResponsesServer(Script.replying(reply)) as server:
        out = sys.stdout

        async def report_held() -> None:
            n = 0
            while True:
                n += 1
                await server.wait_for_held(n)
                out.write(f"held {n}\n")
                out.flush()

        out.write(f"port {server.port}\n")
        out.flush()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(report_held)
            stdin = trio.lowlevel.FdStream(os.dup(0))
            buffer = b""
            while chunk := await stdin.receive_some(4096):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line == b"release":
                        server.release()
                    elif line == b"requests":
                        out.write(f"requests {len(server.requests)}\n")
                        out.flush()
            nursery.cancel_scope.cancel()


class MockProcess:
    """The bench's end of the mock's process (see the module docstring)."""

    def __init__(self, proc: trio.Process, port: int, home: Path) -> None:
        self.proc = proc
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.env = write_codex_home(home, base_url=self.base_url).environ()
        self.held = 0
        self._requests: list[int] = []
        self._changed = trio.Event()

    async def _read(self, buffer: bytes) -> None:
        assert self.proc.stdout is not None
        while True:
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                word, _, value = line.decode().partition(" ")
                if word == "held":
                    self.held = int(value)
                elif word == "requests":
                    self._requests.append(int(value))
                self._changed.set()
                self._changed = trio.Event()
            chunk = await self.proc.stdout.receive_some(4096)
            if not chunk:
                return
            buffer += chunk

    async def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        await self.proc.stdin.send_all(line.encode() + b"\n")

    async def release(self) -> None:
        """Let every held stream go on (holds reached later wait for the next call)."""
        await self._send("release")

    async def wait_held(self, total: int) -> None:
        """Wait until ``total`` streams in all have reached their hold point."""
        while self.held < total:
            await self._changed.wait()

    async def requests(self) -> int:
        """How many Responses API requests the mock has had."""
        count = len(self._requests)
        await self._send("requests")
        while len(self._requests) == count:
            await self._changed.wait()
        return self._requests[-1]


@asynccontextmanager
async def open_mock_process(directory: Path) -> AsyncIterator[MockProcess]:
    """Start the mock's process and a CODEX_HOME under ``directory`` pointing at it."""
    proc = await trio.lowlevel.open_process(
        [sys.executable, str(Path(__file__).resolve())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        buffer = b""
        with trio.fail_after(30):
            while b"\n" not in buffer:
                chunk = await proc.stdout.receive_some(4096)
                if not chunk:
                    raise RuntimeError("the mock's process exited before listening")
                buffer += chunk
        first, buffer = buffer.split(b"\n", 1)
        word, _, port = first.decode().partition(" ")
        assert word == "port", first
        mock = MockProcess(proc, int(port), directory / "home")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(mock._read, buffer)
            yield mock
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            if proc.stdin is not None:
                await proc.stdin.aclose()
            with trio.move_on_after(5):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


if __name__ == "__main__":
    trio.run(_child)
