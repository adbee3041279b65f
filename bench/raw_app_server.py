"""A minimal ``codex app-server`` driver: the baseline for the app-server figures.

JSON-RPC 2.0 over the process's stdio with trio and ``json``, nothing else: one reader task that
routes replies by id and ``turn/completed`` by thread, a lock so concurrent callers write whole
lines, no typing, no subscriptions, no supervision. Nothing of codex-trio is imported except
``find_codex`` to find the same binary. The process is started as codex-trio starts its own: the
same argv (``app-server -c thread_unload_delay_secs=0 -c features.shell_snapshot=false``), in a
session of its own
(``start_new_session``: with ``sched_autogroup_enabled`` = 1 each session is its own scheduling
group, so a baseline started otherwise would get a different share of the CPU).

Run alone it times ``--turns`` sequential turns on the mock model:
``.venv/bin/python bench/raw_app_server.py [--turns 20]``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

# codex-trio's app_server_argv for default options, flag for flag (bench_process_models.py checks
# it against codex-trio's): its threads unload as soon as they are left, and shell snapshots are
# off (each thread would otherwise run the user's login shell once to snapshot it).
ARGS = ("app-server", "-c", "thread_unload_delay_secs=0", "-c", "features.shell_snapshot=false")


class RawAppServer:
    def __init__(self, proc: trio.Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc, self.pid = proc, proc.pid
        self._stdin, self._stdout = proc.stdin, proc.stdout
        self._lock = trio.Lock()
        self._next_id = 0
        self._calls: dict[int, tuple[trio.Event, list[dict[str, Any]]]] = {}
        self._turns: dict[str, tuple[trio.Event, list[str]]] = {}
        self._nursery: trio.Nursery | None = None

    async def send(self, msg: dict[str, Any]) -> None:
        async with self._lock:
            await self._stdin.send_all(json.dumps(msg).encode() + b"\n")

    async def read(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as self._nursery:
            task_status.started()
            buffer = b""
            async for chunk in self._stdout:
                *lines, buffer = (buffer + chunk).split(b"\n")
                for line in lines:
                    if line.strip():
                        self._dispatch(json.loads(line))
            for event, _ in [*self._calls.values(), *self._turns.values()]:
                event.set()  # the process is gone: wake every waiter (they find no answer)
            self._nursery.cancel_scope.cancel()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        if method is None:  # a reply
            event, reply = self._calls.pop(msg["id"])
            reply.append(msg)
            event.set()
        elif "id" in msg:  # a server request (approvals): none expected, refused
            error = {"code": -32601, "message": "not supported"}
            assert self._nursery is not None
            self._nursery.start_soon(self.send, {"id": msg["id"], "error": error})
        elif method == "turn/completed":
            params = msg["params"]
            event, status = self._turns.pop(params["threadId"])
            status.append(params["turn"]["status"])
            event.set()

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        self._next_id += 1
        event, reply = trio.Event(), []
        self._calls[self._next_id] = (event, reply)
        await self.send({"id": self._next_id, "method": method, "params": params})
        await event.wait()
        if not reply or "error" in reply[0]:
            raise RuntimeError(f"{method}: {reply[0]['error'] if reply else 'app-server exited'}")
        return reply[0]["result"]

    async def thread_start(self, cwd: str) -> str:
        return str((await self.call("thread/start", {"cwd": cwd}))["thread"]["id"])

    async def turn(self, thread_id: str, text: str) -> str:
        """Run one turn; its final status (``completed``, ``failed``...)."""
        event, status = trio.Event(), []
        self._turns[thread_id] = (event, status)
        text_input = [{"type": "text", "text": text}]
        await self.call("turn/start", {"threadId": thread_id, "input": text_input})
        await event.wait()
        if not status:
            raise RuntimeError("app-server exited mid-turn")
        return status[0]


@asynccontextmanager
async def open_raw_app_server(codex: str, env: dict[str, str]) -> AsyncIterator[RawAppServer]:
    """Start ``codex app-server``, initialize it; close its stdin and reap it at the end."""
    proc = await trio.lowlevel.open_process(
        [codex, *ARGS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        async with trio.open_nursery() as nursery:
            server = RawAppServer(proc)
            await nursery.start(server.read)
            client_info = {"name": "raw-bench", "title": "raw-bench", "version": "0"}
            capabilities = {"experimentalApi": True}
            await server.call(
                "initialize", {"clientInfo": client_info, "capabilities": capabilities}
            )
            await server.send({"method": "initialized"})
            yield server
            await server._stdin.aclose()
    finally:
        with trio.CancelScope(shield=True):
            with trio.move_on_after(5):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def _main(turns: int) -> None:
    import statistics
    import tempfile
    import time
    from pathlib import Path

    from mock_process import open_mock_process

    from codex_trio._transport.discovery import find_codex

    with tempfile.TemporaryDirectory(prefix="raw-app-server-") as tmp:
        async with open_mock_process(Path(tmp)) as mock:
            async with open_raw_app_server(find_codex(), mock.env) as server:
                thread_id = await server.thread_start(tmp)
                times = []
                for n in range(turns):
                    began = time.perf_counter()
                    assert await server.turn(thread_id, f"q{n}") == "completed"
                    times.append(time.perf_counter() - began)
    print(f"raw driver, {turns} turns: median {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20)
    trio.run(_main, parser.parse_args().turns)
