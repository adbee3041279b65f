"""What frees the memory a long-lived ``codex app-server`` keeps per loaded thread (codex 0.163.0).

Each scenario starts its own ``codex app-server`` on the mock model (one CODEX_HOME for all),
loads ``--warmup`` threads (the first threads pay one-time costs), then ``--threads`` more, each
``thread/start`` + one trivial turn, does one action on each of those threads, waits for them to
leave ``thread/loaded/list``, waits ``--settle`` seconds, and reads the process's VmRSS
(``/proc/PID/status``); then it loads ``--threads`` new threads in the same process and reads
VmRSS again. That last step tells memory freed and reused from memory still held: codex uses
jemalloc, which hands freed pages back to the kernel only after its decay time (~10 s) and not
always all of them, so RSS alone under-reports what was freed.

* ``thread/unsubscribe`` with the default idle-unload delay, waiting up to ``--default-wait``
  seconds (default 65; upstream's newer docs say 60 s by default, older source says 30 min);
* ``thread/unsubscribe`` with ``-c thread_unload_delay_secs=0``; then ``thread/resume`` of an
  unloaded thread and a turn on it;
* ``thread/unsubscribe`` with ``thread_unload_delay_secs=3`` on ``--threads // 10`` threads left
  idle past the delay first: the time from unsubscribe to ``thread/closed``;
* ``thread/archive`` and ``thread/delete`` on threads still subscribed (default delay);
* process restart: a new process on the same CODEX_HOME, one old thread resumed by id + a turn;
* ``--control`` adds a row with no action.

"loaded" counts the scenario's threads in ``thread/loaded/list`` (warm-up threads left out),
"closed" their ``thread/closed`` notifications. The engine is driven by a bare JSON-RPC client
over stdio (``codex app-server -c KEY=VALUE``), so nothing of the SDK's transport sits between
the figures and the engine.

    .venv/bin/python bench/bench_engine_memory.py [--threads 100] [--warmup 5] [--settle 12]
        [--default-wait 65] [--control]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio

from codex_trio.testing import MockModel, Script, message, open_mock_model


def vm_rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` in MB (MiB), from ``/proc/PID/status``."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@attrs.define
class Engine:
    """A bare JSON-RPC client of one ``codex app-server`` (nothing of the SDK's transport between
    the bench and the engine), and what the engine told it: turn ends, ``thread/closed``."""

    process: trio.Process
    workdir: str
    next_id: int = 0
    pending: dict[int, tuple[trio.Event, list[dict[str, Any]]]] = attrs.field(factory=dict)
    turn_done: dict[str, tuple[trio.Event, list[str]]] = attrs.field(factory=dict)
    closed_at: dict[str, float] = attrs.field(factory=dict)

    @property
    def rss(self) -> float:
        return vm_rss_mb(self.process.pid)

    async def send(self, obj: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(json.dumps(obj).encode() + b"\n")

    async def read(self) -> None:
        assert self.process.stdout is not None
        buffer = b""
        async for chunk in self.process.stdout:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    await self.dispatch(json.loads(line))
        for event, _ in self.pending.values():
            event.set()  # the process is gone: wake every caller (they find no reply)

    async def dispatch(self, msg: dict[str, Any]) -> None:
        method, params = msg.get("method"), msg.get("params") or {}
        if method is not None and "id" in msg:  # a server request: none is expected here
            await self.send({"id": msg["id"], "error": {"code": -32601, "message": "no"}})
        elif method == "turn/completed":
            event, status = self.turn_done.pop(params["threadId"])
            status.append(params["turn"]["status"])
            event.set()
        elif method == "thread/closed":
            self.closed_at[params["threadId"]] = time.monotonic()
        elif method is None and msg.get("id") in self.pending:
            event, reply = self.pending.pop(msg["id"])
            reply.append(msg)
            event.set()

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        event, reply = trio.Event(), []
        self.pending[self.next_id] = (event, reply)
        await self.send({"id": self.next_id, "method": method, "params": params})
        with trio.fail_after(60):
            await event.wait()
        if not reply:
            raise RuntimeError(f"{method}: app-server exited")
        if "error" in reply[0]:
            raise RuntimeError(f"{method}: {reply[0]['error'].get('message')}")
        return reply[0].get("result")

    async def turn(self, thread_id: str, text: str) -> str:
        event, status = trio.Event(), []
        self.turn_done[thread_id] = (event, status)
        await self.call(
            "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]}
        )
        with trio.fail_after(60):
            await event.wait()
        return status[0]

    async def loaded(self) -> set[str]:
        ids: set[str] = set()
        cursor: str | None = None
        while True:
            page = await self.call("thread/loaded/list", {"cursor": cursor} if cursor else {})
            ids.update(page["data"])
            cursor = page.get("nextCursor")
            if not cursor:
                return ids

    async def count_loaded(self, ids: list[str]) -> int:
        return len(await self.loaded() & set(ids))

    async def resume(self, thread_id: str) -> None:
        await self.call("thread/resume", {"threadId": thread_id, "cwd": self.workdir})

    async def load(self, count: int) -> list[str]:
        """``count`` new threads, each with one completed turn."""
        ids: list[str] = []
        for i in range(count):
            started = await self.call(
                "thread/start", {"cwd": self.workdir, "approvalPolicy": "never"}
            )
            thread_id = started["thread"]["id"]
            status = await self.turn(thread_id, f"question {i}")
            if status != "completed":
                raise RuntimeError(f"turn on {thread_id} ended {status}")
            ids.append(thread_id)
        return ids

    async def call_each(self, method: str, ids: list[str]) -> dict[str, int]:
        """``method {threadId}`` on every thread; how many results had each ``status``."""
        statuses: dict[str, int] = {}
        for thread_id in ids:
            result = await self.call(method, {"threadId": thread_id}) or {}
            key = str(result.get("status", "ok"))
            statuses[key] = statuses.get(key, 0) + 1
        return statuses

    async def wait_unloaded(self, ids: list[str], limit: float) -> float:
        """Poll ``thread/loaded/list`` until none of ``ids`` is loaded or ``limit`` seconds pass;
        the seconds waited."""
        began = time.monotonic()
        with trio.move_on_after(limit):
            while await self.loaded() & set(ids):
                await trio.sleep(0.5)
        return time.monotonic() - began


@asynccontextmanager
async def engine(model: MockModel, *overrides: str) -> AsyncIterator[Engine]:
    """``codex app-server [-c override]...``, initialized; stopped (stdin closed) on exit."""
    argv = [model.codex, "app-server"]
    for override in overrides:
        argv += ["-c", override]
    process = await trio.lowlevel.open_process(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=model.env,
        cwd=str(model.workdir),
    )
    try:
        async with trio.open_nursery() as nursery:
            e = Engine(process, str(model.workdir))
            nursery.start_soon(e.read)
            await e.call(
                "initialize",
                {
                    "clientInfo": {"name": "bench", "title": "bench", "version": "0"},
                    "capabilities": {"experimentalApi": True},
                },
            )
            await e.send({"method": "initialized"})
            yield e
            assert process.stdin is not None
            await process.stdin.aclose()
            with trio.move_on_after(5):
                await process.wait()
            nursery.cancel_scope.cancel()
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()


@attrs.define
class Row:
    scenario: str
    threads: int
    loaded_before: int
    loaded_after: int
    closed: int
    rss_warm: float
    rss_loaded: float
    rss_after: float
    rss_reloaded: float | None = None
    note: str = ""

    @property
    def held(self) -> float:
        return (self.rss_loaded - self.rss_warm) / self.threads

    @property
    def returned(self) -> float:
        return (self.rss_loaded - self.rss_after) / self.threads

    @property
    def regrowth(self) -> float | None:
        if self.rss_reloaded is None:
            return None
        return (self.rss_reloaded - self.rss_loaded) / self.threads


async def measure(
    model: MockModel,
    args: argparse.Namespace,
    name: str,
    method: str | None,
    *overrides: str,
    wait: float = 5.0,
) -> Row:
    """Warm up, load ``--threads``, call ``method`` on each, wait up to ``wait`` s for them to
    unload, settle, read RSS; then load ``--threads`` new ones and read RSS again."""
    async with engine(model, *overrides) as e:
        await e.load(args.warmup)
        rss_warm = e.rss
        ids = await e.load(args.threads)
        before, rss_loaded = await e.count_loaded(ids), e.rss
        began = time.monotonic()
        statuses = await e.call_each(method, ids) if method else {}
        waited = await e.wait_unloaded(ids, wait)
        after = await e.count_loaded(ids)
        closed = sum(1 for t in ids if t in e.closed_at)
        last = max((e.closed_at[t] for t in ids if t in e.closed_at), default=began) - began
        await trio.sleep(args.settle)
        rss_after = e.rss
        note = f"waited {waited:.1f} s for unload; replies {statuses}"
        if closed:
            note += f"; last thread/closed {last:.1f} s after the first call"
        if after == 0:  # does an unloaded thread come back from its rollout?
            try:
                await e.resume(ids[0])
                note += f"; thread/resume + turn after: {await e.turn(ids[0], 'again')}"
            except RuntimeError as exc:
                note += f"; then {str(exc).replace(ids[0], '<id>')[:90]}"
        await e.load(args.threads)
        return Row(
            name, len(ids), before, after, closed, rss_warm, rss_loaded, rss_after, e.rss, note
        )


async def scenario_unsubscribe_delay(model: MockModel, args: argparse.Namespace) -> Row:
    """A short non-zero delay: is it counted from the unsubscribe or from the last activity?"""
    delay = 3
    count = max(args.threads // 10, 3)
    async with engine(model, f"thread_unload_delay_secs={delay}") as e:
        await e.load(args.warmup)
        rss_warm = e.rss
        ids = await e.load(count)
        before, rss_loaded = await e.count_loaded(ids), e.rss
        await trio.sleep(delay + 1)  # idle past the delay while still subscribed
        still = await e.count_loaded(ids)
        sent: dict[str, float] = {}
        for thread_id in ids:
            sent[thread_id] = time.monotonic()
            await e.call("thread/unsubscribe", {"threadId": thread_id})
        await e.wait_unloaded(ids, 4 * delay + 10)
        lags = [e.closed_at[t] - sent[t] for t in ids if t in e.closed_at]
        lag = f"{statistics.median(lags):.1f} s (max {max(lags):.1f})" if lags else "none"
        return Row(
            f"thread/unsubscribe, delay={delay}",
            len(ids),
            before,
            await e.count_loaded(ids),
            len(lags),
            rss_warm,
            rss_loaded,
            e.rss,
            note=f"subscribed and idle {delay + 1} s: {still} still loaded; unsubscribe -> "
            f"thread/closed median {lag}",
        )


async def scenario_restart(model: MockModel, args: argparse.Namespace) -> Row:
    async with engine(model) as e:
        await e.load(args.warmup)
        rss_warm = e.rss
        ids = await e.load(args.threads)
        before, rss_loaded = await e.count_loaded(ids), e.rss
    async with engine(model) as fresh:
        rss_init = fresh.rss
        await fresh.resume(ids[0])
        resumed = await fresh.turn(ids[0], "again")
        return Row(
            "process restart",
            len(ids),
            before,
            await fresh.count_loaded(ids),
            0,
            rss_warm,
            rss_loaded,
            fresh.rss,
            note=f"new process: {rss_init:.0f} MB after initialize; 'after' = it with one old "
            f"thread resumed + a turn ({resumed})",
        )


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'scenario':36s} {'N':>4s} {'loaded':>9s} {'closed':>6s} {'RSS warm':>8s} "
        f"{'loaded':>7s} {'after':>6s} {'+N new':>6s} {'held':>5s} {'ret.':>5s} {'regrow':>6s}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        reloaded = f"{r.rss_reloaded:6.0f}" if r.rss_reloaded is not None else "     -"
        regrowth = f"{r.regrowth:6.2f}" if r.regrowth is not None else "     -"
        print(
            f"{r.scenario:36s} {r.threads:4d} {r.loaded_before:4d}->{r.loaded_after:<4d} "
            f"{r.closed:6d} {r.rss_warm:8.0f} {r.rss_loaded:7.0f} {r.rss_after:6.0f} "
            f"{reloaded} {r.held:5.2f} {r.returned:5.2f} {regrowth}"
        )
        if r.note:
            print(f"    {r.note}")
    print(
        "RSS columns: VmRSS in MB after the warm-up, with N loaded, after the action (+settle), "
        "after N new threads.\nheld = MB per thread loaded; ret. = MB per thread the process "
        "gave back to the kernel; regrow = MB per thread the N new threads added above the "
        "first peak\n(~held: the first N are still in memory; ~0: their memory was freed and "
        "is reused)."
    )


async def main_async(args: argparse.Namespace) -> None:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-engine-memory-") as tmp:
        async with open_mock_model(Path(tmp), Script.replying(message("ok"))) as model:
            knob = []
            for overrides in ((), ("thread_unload_delay_secs=0",)):
                async with engine(model, *overrides) as e:
                    config = (await e.call("config/read", {}))["config"]
                    knob.append(config.get("thread_unload_delay_secs", "absent"))
            rows = [await measure(model, args, "no action (control)", None)] if args.control else []
            rows += [
                await measure(
                    model,
                    args,
                    "thread/unsubscribe (default delay)",
                    "thread/unsubscribe",
                    wait=args.default_wait,
                ),
                await measure(
                    model,
                    args,
                    "thread/unsubscribe, delay=0",
                    "thread/unsubscribe",
                    "thread_unload_delay_secs=0",
                    wait=30,
                ),
                await scenario_unsubscribe_delay(model, args),
                await measure(model, args, "thread/archive (subscribed)", "thread/archive"),
                await measure(model, args, "thread/delete (subscribed)", "thread/delete"),
                await scenario_restart(model, args),
            ]
    print(f"config/read thread_unload_delay_secs: default {knob[0]!r}, with -c ...=0: {knob[1]!r}")
    print(
        f"codex app-server memory per loaded thread: {args.threads} threads per scenario "
        f"after {args.warmup} warm-up threads, one trivial turn each; RSS 'after' read "
        f"{args.settle:.0f} s after the action"
    )
    print_table(rows)
    print(f"total {time.monotonic() - began:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--settle", type=float, default=12.0)
    parser.add_argument("--default-wait", type=float, default=65.0)
    parser.add_argument("--control", action="store_true", help="add a row with no action")
    args = parser.parse_args()
    trio.run(main_async, args)


if __name__ == "__main__":
    main()
