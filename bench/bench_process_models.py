"""The runtime's process models side by side: exec, a shared app-server, a pool of 2, one per
thread; each against a raw baseline at the same concurrency cap, on the real codex binary.

Sections, all in one run, the mock model in a process of its own (``mock_process.py``), every
codex process of both sides started in a session of its own (as codex-trio starts codex) with
codex-trio's argv, flag for flag (checked at start):

1. **Throughput** (turns/s). ``--threads`` threads (default 12) each run ``--turns`` trivial
   turns (default 3) in order, all threads at once, at most ``--cap`` turns at a time (default
   8). Ours: ``Runtime(transport=..., app_servers=..., max_concurrent_turns=cap)``. Raw: for
   exec, ``codex exec`` processes (``exec resume <id>`` after the first turn) behind a
   ``trio.CapacityLimiter(cap)``; for the app-server models the raw driver
   (``raw_app_server.py``) with 1 process, 2 processes (threads placed round-robin), or one
   process per thread (started at the thread's first turn, inside its slot of the cap, as the
   runtime's per-thread actor starts its own), behind the same limiter. A side's time runs from before its processes
   are spawned (ours: entering the Runtime) to after the last one is reaped. ``--rounds``
   rounds (default 5); within a round each model's two sides run back to back, the side going
   first alternating by round (A B, B A, ...). Medians, the ratio of the medians, and the
   median of the per-round ratios ("paired": the two sides of a round ran back to back, so it
   is less moved by load that changes between rounds).
2. **CPU per turn.** Whole run, from the throughput runs: the benchmark process's own CPU
   (``getrusage RUSAGE_SELF``: codex-trio and its trio loop, or the raw driver) against codex's
   (``RUSAGE_CHILDREN``: every codex process of a run is reaped by its end; the mock, reaped
   only at the very end, is not counted); codex's start-up is in it.
   **Steady state** (app-server models; the figures for the targets, as a long-lived daemon
   sees them): ``--cpu-threads`` warm threads (default 10; processes up, one turn done) run
   ``--cpu-turns`` turns each (default 5) at the same cap; the window's wall time gives
   turns/s, and codex's CPU over it is the reaped children's plus the live processes'
   (``/proc/PID/stat`` utime + stime + cutime + cstime); ours and the raw driver interleaved,
   ``--cpu-rounds`` rounds (default 3).
3. **Blast radius**: ``--blast-threads`` threads (default 6) each with a turn in flight (the mock
   holds every request), one process serving thread k is killed with SIGKILL, the held turns
   released; turns failed per kill (median of ``--kills``, default 3), and whether every thread's
   next turn then succeeds.
4. **Memory per idle thread**: ``--idle-threads`` threads (default 12) each run one turn and
   then sit idle. Python side: bytes still allocated (``tracemalloc``, started after a warm-up)
   per thread; engine side: the summed RSS (``/proc/PID/status`` VmRSS) of every codex process
   below this one, per thread. With hibernation in the runtime, one more row: per-thread with
   ``idle_timeout=--hibernate`` (default 2 s), read after the timeout.
5. **Recycling** (when the runtime has ``max_threads_per_app_server=``): ``--recycle-threads``
   new threads (default 500) each run one turn (at most ``--cap`` at a time) on the shared
   app-server with ``max_threads_per_app_server=--recycle-after`` (default 100), the engines'
   summed RSS read every 50 threads and its peak sampled every 0.25 s; next to the same flow
   without recycling. The first 5 threads then run one more turn (they resume elsewhere).

The pool and per-thread models and recycling are being built as this script is written: a
model the installed runtime does not accept is skipped with a message, not failed.

    .venv/bin/python bench/bench_process_models.py [--quick] [--rounds 5] [--threads 12]
        [--turns 3] [--cap 8] [--models exec,shared,pool2,per-thread]
        [--skip throughput,cpu,blast,memory,recycling] [--recycle-threads 500]
"""

from __future__ import annotations

import argparse
import gc
import inspect
import logging
import os
import resource
import signal
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import attrs
import trio
from bench_runtime import check_raw_argv
from bench_runtime import raw_run as raw_exec_run
from mock_process import HOLD_MARK, MockProcess, open_mock_process
from proc_stats import descendants, proc_cpu
from raw_app_server import ARGS as RAW_APP_SERVER_ARGS
from raw_app_server import RawAppServer, open_raw_app_server

from codex_trio._errors import CodexError
from codex_trio._protocol.app_server.params import app_server_argv
from codex_trio._protocol.options import CodexOptions
from codex_trio._transport.discovery import find_codex
from codex_trio.runtime import Runtime, ThreadHandle

MODELS: dict[str, dict[str, Any]] = {
    "exec": {"transport": "exec"},
    "shared": {"transport": "app-server"},
    "pool2": {"transport": "app-server", "app_servers": 2},
    "per-thread": {"transport": "app-server", "app_servers": "per-thread"},
}
HIBERNATE = "per-thread, hibernating"  # the memory section's extra row (idle_timeout=)
LABELS = {
    "exec": "exec (process per turn)",
    "shared": "app-server, shared",
    "pool2": "app-server, pool of 2",
    "per-thread": "app-server, per thread",
}
RAW_PROCESSES: dict[str, int | None] = {"shared": 1, "pool2": 2, "per-thread": None}


@attrs.define
class Ctx:
    codex: str
    env: dict[str, str]
    workdir: Path
    mock: MockProcess


# --- /proc --------------------------------------------------------------------------------------


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def engine_rss(ctx: Ctx) -> float:
    return rss_mb(descendants({ctx.mock.proc.pid}))


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


# --- availability -------------------------------------------------------------------------------


def unsupported(kwargs: dict[str, Any], ctx_codex: str) -> str | None:
    """Why the installed Runtime cannot run this model, or None."""
    params = inspect.signature(Runtime.__init__).parameters
    missing = [k for k in kwargs if k not in params]
    if missing:
        return f"Runtime has no {', '.join(missing)}= yet (being built; check git log)"
    try:
        Runtime(codex_path=ctx_codex, **kwargs)
    except (CodexError, TypeError, ValueError) as exc:
        return f"Runtime({kwargs}) refused: {exc}"
    return None


# --- throughput ---------------------------------------------------------------------------------


async def ours_run(ctx: Ctx, model: str, threads: int, turns: int, cap: int) -> float:
    async def run_thread(handle: ThreadHandle) -> None:
        for _ in range(turns):
            result = await handle.run("ping")
            assert result.final_response == "pong", result

    begun = time.perf_counter()
    async with Runtime(
        codex_path=ctx.codex, env=ctx.env, max_concurrent_turns=cap, **MODELS[model]
    ) as runtime:
        async with trio.open_nursery() as nursery:
            for _ in range(threads):
                handle = await runtime.start_thread(
                    working_directory=str(ctx.workdir), skip_git_repo_check=True
                )
                nursery.start_soon(run_thread, handle)
    return time.perf_counter() - begun


async def raw_app_thread(
    ctx: Ctx, server: RawAppServer | None, turns: int, limiter: trio.CapacityLimiter
) -> None:
    async with AsyncExitStack() as stack:
        thread_id: str | None = None
        for _ in range(turns):
            async with limiter:
                if server is None:
                    # One process per thread, started at its first turn inside the turn's slot,
                    # as the runtime's per-thread actor starts its own.
                    server = await stack.enter_async_context(
                        open_raw_app_server(ctx.codex, ctx.env)
                    )
                if thread_id is None:
                    thread_id = await server.thread_start(str(ctx.workdir))
                assert await server.turn(thread_id, "ping") == "completed"


async def raw_run(ctx: Ctx, model: str, threads: int, turns: int, cap: int) -> float:
    if model == "exec":
        return await raw_exec_run(ctx.codex, ctx.env, ctx.workdir, threads, turns, cap)
    processes = RAW_PROCESSES[model]
    limiter = trio.CapacityLimiter(cap)
    begun = time.perf_counter()
    async with AsyncExitStack() as stack:
        servers: list[RawAppServer] = []
        for _ in range(processes or 0):
            servers.append(await stack.enter_async_context(open_raw_app_server(ctx.codex, ctx.env)))
        async with trio.open_nursery() as nursery:
            for i in range(threads):
                server = servers[i % len(servers)] if servers else None
                nursery.start_soon(raw_app_thread, ctx, server, turns, limiter)
    return time.perf_counter() - begun


@attrs.define
class Sample:
    seconds: float
    self_cpu: float
    codex_cpu: float


async def sampled(run: Callable[[], Awaitable[float]]) -> Sample:
    gc.collect()
    self0, children0 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
    seconds = await run()
    return Sample(
        seconds,
        cpu(resource.RUSAGE_SELF) - self0,
        cpu(resource.RUSAGE_CHILDREN) - children0,
    )


async def throughput(
    ctx: Ctx, models: list[str], args: argparse.Namespace
) -> dict[str, dict[str, list[Sample]]]:
    results: dict[str, dict[str, list[Sample]]] = {m: {"ours": [], "raw": []} for m in models}
    for model in models:  # warm up each path once (page cache, a warm home), not counted
        await ours_run(ctx, model, 2, 1, args.cap)
        await raw_run(ctx, model, 2, 1, args.cap)
    for r in range(args.rounds):
        for model in models:
            line = []
            for side in ("ours", "raw") if r % 2 == 0 else ("raw", "ours"):
                run = ours_run if side == "ours" else raw_run
                sample = await sampled(
                    lambda run=run, model=model: run(  # type: ignore[misc]
                        ctx, model, args.threads, args.turns, args.cap
                    )
                )
                results[model][side].append(sample)
                line.append(f"{side} {sample.seconds:5.2f} s")
            print(f"  round {r + 1} {LABELS[model]:<24} {', '.join(line)}", flush=True)
    return results


# --- CPU per turn, steady state ----------------------------------------------------------------


def cpu_snapshot(ctx: Ctx) -> tuple[float, float]:
    """(this process's CPU, codex's: reaped children + live descendants), in seconds."""
    live = sum(proc_cpu(pid) for pid in descendants({ctx.mock.proc.pid}))
    return cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN) + live


async def steady_ours(ctx: Ctx, model: str, threads: int, turns: int, cap: int) -> Sample:
    """CPU over ``threads`` x ``turns`` turns on warm threads (processes up, one turn done)."""
    async with Runtime(
        codex_path=ctx.codex, env=ctx.env, max_concurrent_turns=cap, **MODELS[model]
    ) as runtime:
        handles = [
            await runtime.start_thread(working_directory=str(ctx.workdir), skip_git_repo_check=True)
            for _ in range(threads)
        ]

        async def run_thread(h: ThreadHandle, n: int) -> None:
            for _ in range(n):
                assert (await h.run("ping")).final_response == "pong"

        async with trio.open_nursery() as nursery:
            for h in handles:
                nursery.start_soon(run_thread, h, 1)
        gc.collect()
        begun, (self0, codex0) = time.perf_counter(), cpu_snapshot(ctx)
        async with trio.open_nursery() as nursery:
            for h in handles:
                nursery.start_soon(run_thread, h, turns)
        self1, codex1 = cpu_snapshot(ctx)
        return Sample(time.perf_counter() - begun, self1 - self0, codex1 - codex0)


async def steady_raw(ctx: Ctx, model: str, threads: int, turns: int, cap: int) -> Sample:
    processes = RAW_PROCESSES[model] or threads
    limiter = trio.CapacityLimiter(cap)
    async with AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(open_raw_app_server(ctx.codex, ctx.env))
            for _ in range(processes)
        ]
        placed = [servers[i % processes] for i in range(threads)]
        ids = [await server.thread_start(str(ctx.workdir)) for server in placed]

        async def run_thread(server: RawAppServer, thread_id: str, n: int) -> None:
            for _ in range(n):
                async with limiter:
                    assert await server.turn(thread_id, "ping") == "completed"

        async with trio.open_nursery() as nursery:
            for server, thread_id in zip(placed, ids, strict=True):
                nursery.start_soon(run_thread, server, thread_id, 1)
        gc.collect()
        begun, (self0, codex0) = time.perf_counter(), cpu_snapshot(ctx)
        async with trio.open_nursery() as nursery:
            for server, thread_id in zip(placed, ids, strict=True):
                nursery.start_soon(run_thread, server, thread_id, turns)
        self1, codex1 = cpu_snapshot(ctx)
        return Sample(time.perf_counter() - begun, self1 - self0, codex1 - codex0)


async def steady_cpu(
    ctx: Ctx, models: list[str], args: argparse.Namespace
) -> dict[str, dict[str, list[Sample]]]:
    results: dict[str, dict[str, list[Sample]]] = {m: {"ours": [], "raw": []} for m in models}
    threads, turns = args.cpu_threads, args.cpu_turns
    for r in range(args.cpu_rounds):
        for model in models:
            for side in ("ours", "raw") if r % 2 == 0 else ("raw", "ours"):
                run = steady_ours if side == "ours" else steady_raw
                results[model][side].append(await run(ctx, model, threads, turns, args.cap))
            o, w = results[model]["ours"][-1], results[model]["raw"][-1]
            print(
                f"  cpu round {r + 1} {LABELS[model]:<24} ours {o.self_cpu:.3f} s (codex "
                f"{o.codex_cpu:.2f} s), raw {w.self_cpu:.3f} s (codex {w.codex_cpu:.2f} s)",
                flush=True,
            )
    return results


# --- blast radius -------------------------------------------------------------------------------


async def process_of(runtime: Runtime, handle: ThreadHandle) -> int | None:
    """The pid of the codex process running ``handle``'s turn: the thread's own (exec), its
    pool slot's or its own app-server (``which_app_servers``), else the shared one."""
    if handle.actor.pid is not None:
        return handle.actor.pid
    infos = getattr(runtime, "which_app_servers", list)()
    slot = next((t.app_server for t in runtime.which_children() if t.name == handle.name), None)
    for info in infos:
        if info.pid is not None and (
            info.thread == handle.name or (slot is not None and info.slot == slot)
        ):
            return int(info.pid)
    status = runtime.app_server_status
    return status.pid if status is not None else None


async def blast(ctx: Ctx, model: str, threads: int, kills: int) -> tuple[list[int], int, str]:
    """(turns failed per kill, next turns that failed afterwards, note)."""
    failed_per_kill: list[int] = []
    next_failed = 0
    note = ""
    async with Runtime(
        codex_path=ctx.codex,
        env=ctx.env,
        max_concurrent_turns=threads,
        thread_max_restarts=kills + 2,
        **MODELS[model],
    ) as runtime:
        handles = [
            await runtime.start_thread(working_directory=str(ctx.workdir), skip_git_repo_check=True)
            for _ in range(threads)
        ]
        async with trio.open_nursery() as nursery:
            for h in handles:
                nursery.start_soon(h.run, "warm up")
        for k in range(kills):
            outcomes: list[str] = []

            async def doomed(h: ThreadHandle, outcomes: list[str] = outcomes) -> None:
                try:
                    await h.run(f"{HOLD_MARK}: a turn in flight")
                    outcomes.append("ok")
                except CodexError as exc:
                    outcomes.append(type(exc).__name__)

            held = ctx.mock.held
            async with trio.open_nursery() as nursery:
                for h in handles:
                    nursery.start_soon(doomed, h)
                await ctx.mock.wait_held(held + threads)
                victim = handles[k % threads]
                pid = await process_of(runtime, victim)
                if pid is None:
                    note = "no pid to kill: the runtime does not report this model's process"
                    await ctx.mock.release()
                    break
                os.kill(pid, signal.SIGKILL)
                await trio.sleep(0.2)  # the turns on the dead process fail now
                await ctx.mock.release()
            failed_per_kill.append(sum(1 for o in outcomes if o != "ok"))
            results: list[bool] = []

            async def after(h: ThreadHandle, results: list[bool] = results) -> None:
                try:
                    results.append((await h.run("after the kill")).final_response == "pong")
                except CodexError:
                    results.append(False)

            async with trio.open_nursery() as nursery:
                for h in handles:
                    nursery.start_soon(after, h)
            next_failed += results.count(False)
    return failed_per_kill, next_failed, note


# --- memory -------------------------------------------------------------------------------------


async def idle_memory(
    ctx: Ctx, kwargs: dict[str, Any], threads: int, idle: float = 1.0
) -> tuple[float, float, float]:
    """(Python KiB per idle thread, engine MB per idle thread, engine MB total at the end).

    ``idle`` seconds pass after the turns before reading (past ``idle_timeout`` for the
    hibernating row, whose engine figure is then the total over ``threads``: an idle thread
    should need no process at all, the warm-up threads' included)."""
    async with Runtime(
        codex_path=ctx.codex, env=ctx.env, max_concurrent_turns=8, **kwargs
    ) as runtime:
        warm = [
            await runtime.start_thread(working_directory=str(ctx.workdir), skip_git_repo_check=True)
            for _ in range(2)
        ]
        for h in warm:
            await h.run("warm up")
        await trio.sleep(0.5)
        gc.collect()
        engine0 = 0.0 if "idle_timeout" in kwargs else engine_rss(ctx)
        tracemalloc.start()
        try:
            handles = []
            for _ in range(threads):
                handles.append(
                    await runtime.start_thread(
                        working_directory=str(ctx.workdir), skip_git_repo_check=True
                    )
                )
            async with trio.open_nursery() as nursery:
                for h in handles:
                    nursery.start_soon(h.run, "one turn, then idle")
            await trio.sleep(idle)  # exec: the processes are reaped; app-server: quiet
            gc.collect()
            python_bytes, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        engine1 = engine_rss(ctx)
    return python_bytes / threads / 1024, (engine1 - engine0) / threads, engine1


# --- recycling ----------------------------------------------------------------------------------


async def recycling(
    ctx: Ctx, kwargs: dict[str, Any], threads: int, cap: int
) -> tuple[list[tuple[int, float]], float, int]:
    """Engine RSS every 50 threads, the peak sampled every 0.25 s, and turns failed."""
    samples: list[tuple[int, float]] = []
    peak = 0.0
    failed = 0
    done = 0

    async def sample_peak() -> None:
        nonlocal peak
        while True:
            peak = max(peak, engine_rss(ctx))
            await trio.sleep(0.25)

    async with Runtime(
        codex_path=ctx.codex, env=ctx.env, max_concurrent_turns=cap, **kwargs
    ) as runtime:
        limiter = trio.CapacityLimiter(cap)
        handles: list[ThreadHandle] = []

        async def one(n: int) -> None:
            nonlocal failed, done
            async with limiter:
                try:
                    h = await runtime.start_thread(
                        working_directory=str(ctx.workdir), skip_git_repo_check=True
                    )
                    handles.append(h)
                    assert (await h.run(f"thread {n}")).final_response == "pong"
                except CodexError:
                    failed += 1
            done += 1
            if done % 50 == 0:
                samples.append((done, engine_rss(ctx)))

        async with trio.open_nursery() as outer:
            outer.start_soon(sample_peak)
            async with trio.open_nursery() as nursery:
                for n in range(threads):
                    nursery.start_soon(one, n)
            outer.cancel_scope.cancel()
        for h in handles[:5]:  # the first threads resume (on whatever process) and answer
            try:
                assert (await h.run("still there?")).final_response == "pong"
            except CodexError:
                failed += 1
    return samples, peak, failed


# --- report -------------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def main(args: argparse.Namespace) -> None:
    codex = find_codex()
    began = time.monotonic()
    ours_argv = app_server_argv(codex, CodexOptions(codex_path=codex))
    if ours_argv != [codex, *RAW_APP_SERVER_ARGS]:  # the baselines must run what we run
        raise SystemExit(f"raw app-server argv {RAW_APP_SERVER_ARGS} != codex-trio's {ours_argv}")
    with tempfile.TemporaryDirectory(prefix="bench-process-models-") as tmp:
        check_raw_argv(codex, Path(tmp))
        async with open_mock_process(Path(tmp)) as mock:
            ctx = Ctx(codex, mock.env, Path(tmp), mock)
            models: list[str] = []
            skipped: dict[str, str] = {}
            for model in args.models.split(","):
                reason = unsupported(MODELS[model], codex)
                if reason is None:
                    models.append(model)
                else:
                    skipped[model] = reason
                    print(f"skipping {LABELS[model]}: {reason}")
            total = args.threads * args.turns
            spent: dict[str, float] = {}
            mark = time.monotonic()

            def lap(section: str) -> None:
                nonlocal mark
                now = time.monotonic()
                spent[section] = now - mark
                mark = now

            tput: dict[str, dict[str, list[Sample]]] = {}
            if "throughput" not in args.skip:
                print(
                    f"throughput: {args.threads} threads x {args.turns} turns = {total} turns, "
                    f"cap {args.cap}, {args.rounds} rounds",
                    flush=True,
                )
                tput = await throughput(ctx, models, args)
            lap("throughput")
            steady: dict[str, dict[str, list[Sample]]] = {}
            app_models = [m for m in models if m != "exec"]
            if "cpu" not in args.skip and app_models:
                print(
                    f"CPU per turn, steady state: {args.cpu_threads} warm threads x "
                    f"{args.cpu_turns} turns, {args.cpu_rounds} rounds",
                    flush=True,
                )
                steady = await steady_cpu(ctx, app_models, args)
            lap("cpu")
            blasts: dict[str, tuple[list[int], int, str]] = {}
            if "blast" not in args.skip:
                for model in models:
                    blasts[model] = await blast(ctx, model, args.blast_threads, args.kills)
                    print(f"  blast radius {LABELS[model]}: {blasts[model]}", flush=True)
            lap("blast")
            memory: dict[str, tuple[float, float, float]] = {}
            if "memory" not in args.skip:
                for model in models:
                    memory[model] = await idle_memory(ctx, MODELS[model], args.idle_threads)
                    print(f"  idle memory {LABELS[model]}: {memory[model]}", flush=True)
                hibernating = {**MODELS["per-thread"], "idle_timeout": args.hibernate}
                if "per-thread" in models and unsupported(hibernating, codex) is None:
                    memory[HIBERNATE] = await idle_memory(
                        ctx, hibernating, args.idle_threads, idle=args.hibernate + 2.0
                    )
                    print(f"  idle memory {HIBERNATE}: {memory[HIBERNATE]}", flush=True)
            lap("memory")
            recycled: dict[str, tuple[list[tuple[int, float]], float, int]] = {}
            if "recycling" not in args.skip:
                params = inspect.signature(Runtime.__init__).parameters
                if "max_threads_per_app_server" not in params:
                    print(
                        "skipping recycling: Runtime has no max_threads_per_app_server= yet "
                        "(being built; check git log)"
                    )
                else:
                    flows = {
                        f"shared, recycled after {args.recycle_after} threads": {
                            "transport": "app-server",
                            "max_threads_per_app_server": args.recycle_after,
                        },
                        "shared, no recycling": {"transport": "app-server"},
                    }
                    for name, kwargs in flows.items():
                        recycled[name] = await recycling(
                            ctx, kwargs, args.recycle_threads, args.cap
                        )
                        print(f"  {name}: {recycled[name]}", flush=True)
            lap("recycling")
    print(
        f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end, total "
        f"{time.monotonic() - began:.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in spent.items())
        + ")"
    )
    for model, reason in skipped.items():
        print(f"skipped {LABELS[model]}: {reason}")
    if tput:
        print(
            f"\nthroughput and CPU: {args.threads} threads x {args.turns} turns, cap {args.cap}, "
            f"{args.rounds} rounds interleaved, medians\n"
        )
        print(
            "| model | ours turns/s | raw turns/s | ours / raw | paired | target >= 0.97 "
            "| CPU ms/turn: codex-trio | raw client | codex | codex-trio / codex |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for model, sides in tput.items():
            ours, raw = sides["ours"], sides["raw"]
            o = total / med([s.seconds for s in ours])
            w = total / med([s.seconds for s in raw])
            o_cpu = med([s.self_cpu for s in ours]) / total * 1000
            w_cpu = med([s.self_cpu for s in raw]) / total * 1000
            c_cpu = med([s.codex_cpu for s in ours]) / total * 1000
            # The median of each round's ours/raw ratio (the two sides ran back to back): less
            # moved by load that changes between rounds than the ratio of the medians.
            paired = med([b.seconds / a.seconds for a, b in zip(ours, raw, strict=True)])
            print(
                f"| {LABELS[model]} | {o:.1f} | {w:.1f} | **{o / w:.3f}** | {paired:.3f} "
                f"| {'met' if o / w >= 0.97 else 'missed'} | {o_cpu:.2f} | {w_cpu:.2f} "
                f"| {c_cpu:.1f} | {o_cpu / c_cpu * 100:.1f} % |"
            )
    if steady:
        n = args.cpu_threads * args.cpu_turns
        print(
            f"\nsteady state (warm threads, processes up): {args.cpu_threads} threads x "
            f"{args.cpu_turns} turns, cap {args.cap}, {args.cpu_rounds} rounds interleaved, "
            "medians\n"
        )
        print(
            "| model | ours turns/s | raw turns/s | ours / raw | paired | codex-trio ms/turn "
            "| raw driver ms/turn | codex ms/turn (ours / raw) | codex-trio / codex "
            "| target <= 3 % |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for model, sides in steady.items():
            ours, raw = sides["ours"], sides["raw"]
            o_rate = n / med([s.seconds for s in ours])
            w_rate = n / med([s.seconds for s in raw])
            paired = med([b.seconds / a.seconds for a, b in zip(ours, raw, strict=True)])
            o_cpu = med([s.self_cpu for s in ours]) / n * 1000
            w_cpu = med([s.self_cpu for s in raw]) / n * 1000
            c_ours = med([s.codex_cpu for s in ours]) / n * 1000
            c_raw = med([s.codex_cpu for s in raw]) / n * 1000
            share = o_cpu / c_ours * 100
            print(
                f"| {LABELS[model]} | {o_rate:.1f} | {w_rate:.1f} | **{o_rate / w_rate:.3f}** "
                f"| {paired:.3f} | {o_cpu:.2f} | {w_cpu:.2f} | {c_ours:.1f} / {c_raw:.1f} "
                f"| **{share:.1f} %** | {'met' if share <= 3 else 'missed'} |"
            )
    if blasts or memory:
        print(
            f"\nblast radius ({args.blast_threads} threads with a turn in flight, {args.kills} "
            f"kills) and memory per idle thread ({args.idle_threads} threads)\n"
        )
        print(
            "| model | turns failed per kill | next turns failed | Python KiB/idle thread "
            "| engine MB/idle thread | engine MB total |"
        )
        print("|---|---|---|---|---|---|")
        for model in [*models, HIBERNATE]:
            b = blasts.get(model)
            m = memory.get(model)
            if b is None and m is None:
                continue
            per_kill = (
                f"{med([float(x) for x in b[0]]):.0f} of {args.blast_threads} {b[0]}"
                + (f" ({b[2]})" if b[2] else "")
                if b
                else "-"
            )
            label = LABELS.get(model, f"{model} (idle_timeout={args.hibernate:g} s)")
            print(
                f"| {label} | {per_kill} | {b[1] if b else '-'} "
                f"| {f'{m[0]:.1f}' if m else '-'} | {f'{m[1]:.2f}' if m else '-'} "
                f"| {f'{m[2]:.0f}' if m else '-'} |"
            )
    if recycled:
        print(f"\nengine RSS (MB, all codex processes) over {args.recycle_threads} threads\n")
        steps = sorted({n for samples, _, _ in recycled.values() for n, _ in samples})
        print("| flow | " + " | ".join(str(n) for n in steps) + " | peak | turns failed |")
        print("|---|" + "---|" * (len(steps) + 2))
        for name, (samples, peak, failed) in recycled.items():
            by = dict(samples)
            cells = " | ".join(f"{by[n]:.0f}" if n in by else "-" for n in steps)
            print(f"| {name} | {cells} | {peak:.0f} | {failed} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 round")
    parser.add_argument("--models", default="exec,shared,pool2,per-thread")
    parser.add_argument(
        "--skip", default="", help="comma list: throughput,cpu,blast,memory,recycling"
    )
    parser.add_argument("--threads", type=int, default=12)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--cap", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5, help="throughput rounds")
    parser.add_argument("--cpu-rounds", type=int, default=3)
    parser.add_argument("--cpu-threads", type=int, default=10)
    parser.add_argument("--cpu-turns", type=int, default=5, help="turns per warm thread")
    parser.add_argument("--blast-threads", type=int, default=6)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--idle-threads", type=int, default=12)
    parser.add_argument("--hibernate", type=float, default=2.0, help="idle_timeout, memory row")
    parser.add_argument("--recycle-threads", type=int, default=500)
    parser.add_argument("--recycle-after", type=int, default=100)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.threads, arguments.turns, arguments.rounds, arguments.cpu_rounds = 6, 2, 1, 1
        arguments.blast_threads, arguments.kills, arguments.idle_threads = 4, 1, 4
        arguments.cpu_threads, arguments.cpu_turns = 4, 3
        arguments.recycle_threads, arguments.recycle_after = 100, 25
    arguments.skip = set(filter(None, arguments.skip.split(",")))
    logging.getLogger("codex_trio").setLevel(logging.ERROR)  # the kills are the point
    trio.run(main, arguments)
