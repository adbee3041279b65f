"""Shared app-server isolation and client overhead, measured on the real binary and the mock model.

Two comparisons, each interleaved (A B A B, the side going first alternating by round), several
rounds, medians and ratios printed:

1. **Client overhead.** Turn latency on one long-lived ``codex app-server`` through our client
   (``open_app_server`` + ``client.turn``: writer task, subscriptions, typed decode, mapping)
   against a raw driver speaking JSON-RPC over the pipes by hand (``json`` + bytes, no typing).
   Both processes are started the same way: codex-trio's argv (``raw_app_server.ARGS``) in a
   new session (``start_new_session``, as ``transport/process.py`` does), since this kernel
   schedules each session as its own group.
2. **Isolation.** Turn latency of thread B alone, against thread B while thread A's consumer on
   the same process has stopped reading (A's turn overflows its subscription and is interrupted;
   its stream stays open and unread while B runs). Before issue 8, B stalled outright here (the
   reader waited on A's full channel), so no figure could be printed for that side.

Run: ``.venv/bin/python bench/bench_isolation.py [--rounds 5 --turns 10]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from raw_app_server import ARGS as RAW_ARGS

from codex_trio._errors import SlowConsumerError
from codex_trio._protocol.options import CodexOptions, ThreadOptions
from codex_trio._transport.app_server import AppServerClient, open_app_server
from codex_trio.testing import Script, message, open_mock_model


class RawDriver:
    """JSON-RPC by hand over a ``codex app-server``'s pipes: the floor any client pays."""

    def __init__(self, proc: trio.Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self.stdin = proc.stdin
        self.stdout = proc.stdout
        self.buffer = b""
        self.next_id = 0

    async def send(self, obj: dict[str, Any]) -> None:
        await self.stdin.send_all(json.dumps(obj).encode() + b"\n")

    async def read_until(self, predicate: Any) -> dict[str, Any]:
        while True:
            while b"\n" not in self.buffer:
                chunk = await self.stdout.receive_some(1 << 16)
                assert chunk, "app-server exited"
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\n", 1)
            msg: dict[str, Any] = json.loads(line)
            if predicate(msg):
                return msg

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        request_id = self.next_id
        await self.send({"id": request_id, "method": method, "params": params})
        reply = await self.read_until(lambda m: m.get("id") == request_id and "method" not in m)
        return reply["result"]

    async def turn(self, thread_id: str, text: str) -> None:
        await self.call(
            "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]}
        )
        await self.read_until(
            lambda m: (
                m.get("method") == "turn/completed"
                and m.get("params", {}).get("threadId") == thread_id
            )
        )


async def open_raw(model: Any) -> tuple[RawDriver, str]:
    proc = await trio.lowlevel.open_process(
        [model.codex, *RAW_ARGS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=model.env,
        start_new_session=True,
    )
    driver = RawDriver(proc)
    await driver.call(
        "initialize",
        {
            "clientInfo": {"name": "bench", "version": "0"},
            "capabilities": {"experimentalApi": True},
        },
    )
    await driver.send({"method": "initialized"})
    started = await driver.call("thread/start", {"cwd": str(model.workdir)})
    return driver, started["thread"]["id"]


async def ours_turns(client: AppServerClient, thread_id: str, turns: int) -> list[float]:
    times = []
    for n in range(turns):
        began = time.perf_counter()
        async with client.turn(thread_id, f"q{n}") as turn:
            async for _ in turn:
                pass
        times.append(time.perf_counter() - began)
    return times


async def raw_turns(driver: RawDriver, thread_id: str, turns: int) -> list[float]:
    times = []
    for n in range(turns):
        began = time.perf_counter()
        await driver.turn(thread_id, f"q{n}")
        times.append(time.perf_counter() - began)
    return times


async def overhead(model: Any, rounds: int, turns: int) -> None:
    options = CodexOptions(codex_path=model.codex, env=model.env)
    thread = ThreadOptions(working_directory=str(model.workdir), skip_git_repo_check=True)
    ours: list[float] = []
    raw: list[float] = []
    driver, raw_thread = await open_raw(model)
    try:
        async with open_app_server(options) as client:
            thread_id = (await client.thread_start(thread)).thread.id
            await ours_turns(client, thread_id, 2)  # warm both
            await raw_turns(driver, raw_thread, 2)
            for r in range(rounds):
                sides = [("ours", client, thread_id), ("raw", driver, raw_thread)]
                for name, side, tid in sides if r % 2 == 0 else reversed(sides):
                    if name == "ours":
                        ours += await ours_turns(side, tid, turns)  # type: ignore[arg-type]
                    else:
                        raw += await raw_turns(side, tid, turns)  # type: ignore[arg-type]
    finally:
        driver.proc.kill()
        await driver.proc.wait()
        await driver.stdin.aclose()
        await driver.stdout.aclose()
    o, w = statistics.median(ours), statistics.median(raw)
    print(
        f"turn latency, one app-server, {rounds} rounds x {turns} turns each side:\n"
        f"  raw JSON-RPC driver  median {w * 1000:6.1f} ms\n"
        f"  codex-trio client    median {o * 1000:6.1f} ms   ({o / w:.2f}x raw, "
        f"+{(o - w) * 1000:.1f} ms a turn)"
    )


async def isolation(model: Any, rounds: int, turns: int) -> None:
    options = CodexOptions(codex_path=model.codex, env=model.env)
    thread = ThreadOptions(working_directory=str(model.workdir), skip_git_repo_check=True)
    alone: list[float] = []
    beside: list[float] = []
    overflowed = 0
    async with open_app_server(options, event_buffer=4) as client:
        stuck = (await client.thread_start(thread)).thread.id
        busy = (await client.thread_start(thread)).thread.id
        await ours_turns(client, busy, 2)
        for r in range(rounds):
            for side in ("alone", "beside") if r % 2 == 0 else ("beside", "alone"):
                if side == "alone":
                    alone += await ours_turns(client, busy, turns)
                    continue
                async with client.turn(stuck, "never read") as unread:
                    beside += await ours_turns(client, busy, turns)
                    overflowed += unread._sub.statistics().overflowed
                    try:
                        async for _ in unread:
                            pass
                    except SlowConsumerError:
                        pass
    a, b = statistics.median(alone), statistics.median(beside)
    print(
        f"thread B's turn latency on a shared app-server, {rounds} rounds x {turns} turns:\n"
        f"  alone                                 median {a * 1000:6.1f} ms\n"
        f"  while thread A's consumer stops       median {b * 1000:6.1f} ms   ({b / a:.2f}x)\n"
        f"  (A's subscription overflowed in {overflowed} of {rounds} rounds; before issue 8, "
        "B stalled until its request timed out)"
    )


async def main_async(rounds: int, turns: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-isolation-") as tmp:
        async with open_mock_model(Path(tmp), Script.replying(message("ok"))) as model:
            await overhead(model, rounds, turns)
            await isolation(model, rounds, turns)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    logging.getLogger("codex_trio").setLevel(logging.ERROR)  # the overflows are the point
    print(f"pid {os.getpid()}, codex from the pinned wheel, mock model on loopback")
    trio.run(main_async, args.rounds, args.turns)


if __name__ == "__main__":
    main()
