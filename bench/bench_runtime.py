"""Supervised runtime throughput and restart latency, on the real codex binary and the mock model.

1. Throughput: ``--threads`` supervised threads (default 64) each run ``--turns`` trivial turns
   (default 5) in order, all threads at once, under ``Runtime(max_concurrent_turns=--cap)``
   (default 8). The same work done by raw ``codex exec`` processes (``exec resume <id>`` for
   turns 2..n) with a ``trio.CapacityLimiter(--cap)`` is the baseline. Each side runs
   ``--rounds`` times, alternating, so drift in machine load hits both alike; the best and
   median wall times are printed with turns/s.
2. Restart latency: a supervised thread's codex is killed with SIGKILL while the model holds its
   request; the time from the kill to the end of the next (resumed) turn, median over
   ``--restarts`` runs (default 15), next to the time of a resumed turn on a healthy thread.

    .venv/bin/python bench/bench_runtime.py [--threads 64] [--turns 5] [--cap 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

import trio

from codex_trio._errors import TransportError
from codex_trio._transport.discovery import find_codex
from codex_trio.runtime import Runtime, ThreadHandle
from codex_trio.testing import (
    MockResponsesServer,
    RecordedRequest,
    Script,
    Step,
    hold,
    message,
    write_codex_home,
)


def pong(_request: RecordedRequest) -> Step:
    return message("pong")


async def raw_thread(
    codex: str, env: dict[str, str], workdir: Path, turns: int, limiter: trio.CapacityLimiter
) -> None:
    thread_id: str | None = None
    for _ in range(turns):
        argv = [codex, "exec", "--experimental-json", "--skip-git-repo-check", "--cd", str(workdir)]
        if thread_id is not None:
            argv += ["resume", thread_id]
        async with limiter:
            result = await trio.run_process(
                argv, stdin=b"ping", env=env, capture_stdout=True, capture_stderr=True
            )
        assert b'"turn.completed"' in result.stdout, result.stdout[-500:]
        if thread_id is None:
            first = json.loads(result.stdout.splitlines()[0])
            thread_id = str(first["thread_id"])


async def raw_run(
    codex: str, env: dict[str, str], workdir: Path, threads: int, turns: int, cap: int
) -> float:
    limiter = trio.CapacityLimiter(cap)
    begun = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(threads):
            nursery.start_soon(raw_thread, codex, env, workdir, turns, limiter)
    return time.perf_counter() - begun


async def supervised_run(
    codex: str, env: dict[str, str], workdir: Path, threads: int, turns: int, cap: int
) -> float:
    async def run_thread(handle: ThreadHandle) -> None:
        for _ in range(turns):
            result = await handle.run("ping")
            assert result.final_response == "pong"

    async with Runtime(codex_path=codex, env=env, max_concurrent_turns=cap) as runtime:
        begun = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(threads):
                handle = await runtime.start_thread(
                    working_directory=str(workdir), skip_git_repo_check=True
                )
                nursery.start_soon(run_thread, handle)
        elapsed = time.perf_counter() - begun
    return elapsed


async def doomed_turn(thread: ThreadHandle, failed: trio.Event) -> None:
    try:
        await thread.run("about to be killed")
    except TransportError:
        failed.set()


async def restart_latency(
    server: MockResponsesServer, codex: str, env: dict[str, str], workdir: Path, runs: int
) -> tuple[list[float], list[float]]:
    """(kill -9 -> next turn done, healthy resumed turn) samples."""
    after_kill: list[float] = []
    healthy: list[float] = []
    async with Runtime(
        codex_path=codex, env=env, thread_max_restarts=runs + 1, thread_restart_window=1.0
    ) as runtime:
        thread = await runtime.start_thread(
            working_directory=str(workdir), skip_git_repo_check=True
        )
        await thread.run("warm up")
        held = 0  # holds so far on this server: only this function uses them
        for _ in range(runs):
            server.script = Script([hold(message("never sent"))], default=pong)
            failed = trio.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(doomed_turn, thread, failed)
                held += 1
                await server.wait_for_held(held)
                pid = thread.actor.pid
                assert pid is not None
                begun = time.perf_counter()
                os.kill(pid, signal.SIGKILL)
            assert failed.is_set()
            result = await thread.run("after the kill")
            after_kill.append(time.perf_counter() - begun)
            assert result.final_response == "pong"
            begun = time.perf_counter()
            await thread.run("healthy")
            healthy.append(time.perf_counter() - begun)
        [info] = runtime.which_children()
        assert info.restart_count == runs, info
    return after_kill, healthy


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


async def main(args: argparse.Namespace) -> None:
    codex = find_codex()
    total = args.threads * args.turns
    with tempfile.TemporaryDirectory(prefix="codex-trio-bench-") as tmp:
        workdir = Path(tmp)
        async with MockResponsesServer(Script.replying(pong)) as server:
            env = write_codex_home(workdir / "home", base_url=server.base_url).environ()
            await raw_run(codex, env, workdir, 1, 1, 1)  # warm up: page cache, version check
            await supervised_run(codex, env, workdir, 1, 1, 1)
            raw: list[float] = []
            ours: list[float] = []
            for _ in range(args.rounds):
                raw.append(await raw_run(codex, env, workdir, args.threads, args.turns, args.cap))
                ours.append(
                    await supervised_run(codex, env, workdir, args.threads, args.turns, args.cap)
                )
            server.script = Script.replying(pong)
            after_kill, healthy = await restart_latency(server, codex, env, workdir, args.restarts)
    print(
        f"throughput: {args.threads} threads x {args.turns} turns = {total} turns, "
        f"cap {args.cap}, {args.rounds} rounds, {os.cpu_count()} CPUs"
    )
    for name, samples in (("raw codex exec + limiter", raw), ("supervised Runtime", ours)):
        best, median = min(samples), statistics.median(samples)
        print(
            f"  {name:<26} best {best:6.2f} s ({total / best:5.1f} turns/s)  "
            f"median {median:6.2f} s ({total / median:5.1f} turns/s)"
        )
    ratio = statistics.median(ours) / statistics.median(raw)
    print(f"  supervised / raw wall time (medians): {ratio:.3f}")
    print(f"restart latency, {args.restarts} runs (kill -9 mid-turn -> next resumed turn done)")
    print(
        f"  after kill -9   median {ms(statistics.median(after_kill))}  max {ms(max(after_kill))}"
    )
    print(f"  healthy resume  median {ms(statistics.median(healthy))}  max {ms(max(healthy))}")
    added = statistics.median(after_kill) - statistics.median(healthy)
    print(f"  added by the crash + restart: {added * 1000:+.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--cap", type=int, default=8, help="concurrent turns (both sides)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--restarts", type=int, default=15)
    trio.run(main, parser.parse_args())
