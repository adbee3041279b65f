"""Supervised runtime throughput and restart latency (exec transport), on the real codex binary.

1. Throughput: ``--threads`` supervised threads (default 24) each run ``--turns`` trivial turns
   (default 3) in order, all threads at once, under ``Runtime(max_concurrent_turns=--cap)``
   (default 8). The baseline does the same work with raw ``codex exec`` processes (``exec resume
   <id>`` for turns 2..n) behind a ``trio.CapacityLimiter(--cap)``.

   Like for like: the raw processes run with codex-trio's argv, flag for flag (checked at
   start: ``-c features.shell_snapshot=false`` included), and are started in a session of their own
   (``start_new_session=True``), as codex-trio starts codex (``_transport/process.py``). With the
   kernel's autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled`` = 1) each session
   is its own scheduling group, so a baseline left in the benchmark's session shares one group's
   CPU while the runtime's codex processes each get a group: that alone flattered the runtime
   before (raw in a new session ran 0.88-0.93x the wall time of raw as first written). The mock
   model runs in a process of its own (``mock_process.py``), not in the benchmark's trio loop,
   so it does not compete with the runtime for this interpreter. ``--rounds`` rounds (default 5),
   the side going first alternating (A B, B A, ...); medians, the ratio of the medians, and the
   median of the per-round ratios ("paired": less moved by load that changes between rounds).
2. Restart latency: a supervised thread's codex is killed with SIGKILL while the model holds its
   request; the time from the kill to the end of the next (resumed) turn, median over
   ``--restarts`` runs (default 15), next to a resumed turn on a healthy thread (alternating).

    .venv/bin/python bench/bench_runtime.py [--quick] [--threads 24] [--turns 3] [--cap 8]
        [--rounds 5] [--restarts 15]
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
from mock_process import HOLD_MARK, MockProcess, open_mock_process

from codex_trio._errors import TransportError
from codex_trio._protocol.options import CodexOptions, ThreadOptions, exec_argv
from codex_trio._transport.discovery import find_codex
from codex_trio.runtime import Runtime, ThreadHandle


def raw_exec_argv(codex: str, workdir: Path) -> list[str]:
    """The raw side's ``codex exec`` argv: codex-trio's for default options, flag for flag
    (:func:`check_raw_argv`); shell snapshots are off on both sides (with them on, every exec
    process runs the user's login shell once to snapshot it)."""
    return [
        codex,
        "exec",
        *("-c", "features.shell_snapshot=false"),
        *("--cd", str(workdir), "--skip-git-repo-check", "--experimental-json"),
    ]


def check_raw_argv(codex: str, workdir: Path) -> None:
    """Fail loudly if codex-trio would run codex with other flags than the raw side."""
    ours = exec_argv(
        codex,
        CodexOptions(codex_path=codex),
        ThreadOptions(working_directory=str(workdir), skip_git_repo_check=True),
    )
    if ours != raw_exec_argv(codex, workdir):
        raise SystemExit(f"raw argv {raw_exec_argv(codex, workdir)} != codex-trio's {ours}")


async def raw_thread(
    codex: str, env: dict[str, str], workdir: Path, turns: int, limiter: trio.CapacityLimiter
) -> None:
    thread_id: str | None = None
    for _ in range(turns):
        argv = raw_exec_argv(codex, workdir)
        if thread_id is not None:
            argv += ["resume", thread_id]
        async with limiter:
            result = await trio.run_process(
                argv,
                stdin=b"ping",
                env=env,
                capture_stdout=True,
                capture_stderr=True,
                start_new_session=True,  # as codex-trio starts codex
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

    begun = time.perf_counter()
    async with Runtime(codex_path=codex, env=env, max_concurrent_turns=cap) as runtime:
        async with trio.open_nursery() as nursery:
            for _ in range(threads):
                handle = await runtime.start_thread(
                    working_directory=str(workdir), skip_git_repo_check=True
                )
                nursery.start_soon(run_thread, handle)
    return time.perf_counter() - begun


async def doomed_turn(thread: ThreadHandle, failed: trio.Event) -> None:
    try:
        await thread.run(f"{HOLD_MARK}: about to be killed")
    except TransportError:
        failed.set()


async def restart_latency(
    mock: MockProcess, codex: str, env: dict[str, str], workdir: Path, runs: int
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
        for n in range(runs):
            if n % 2:  # alternate which sample comes first
                begun = time.perf_counter()
                await thread.run("healthy")
                healthy.append(time.perf_counter() - begun)
            failed = trio.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(doomed_turn, thread, failed)
                await mock.wait_held(mock.held + 1)
                pid = thread.actor.pid
                assert pid is not None
                begun = time.perf_counter()
                os.kill(pid, signal.SIGKILL)
            assert failed.is_set()
            result = await thread.run("after the kill")
            after_kill.append(time.perf_counter() - begun)
            assert result.final_response == "pong"
            if n % 2 == 0:
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
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="codex-trio-bench-") as tmp:
        workdir = Path(tmp)
        check_raw_argv(codex, workdir)
        async with open_mock_process(workdir) as mock:
            env = mock.env
            await raw_run(codex, env, workdir, 1, 1, 1)  # warm up: page cache, a warm home
            await supervised_run(codex, env, workdir, 1, 1, 1)
            raw: list[float] = []
            ours: list[float] = []
            for r in range(args.rounds):
                for side in ("raw", "ours") if r % 2 == 0 else ("ours", "raw"):
                    run = raw_run if side == "raw" else supervised_run
                    seconds = await run(codex, env, workdir, args.threads, args.turns, args.cap)
                    (raw if side == "raw" else ours).append(seconds)
                print(
                    f"  round {r + 1}: raw {raw[-1]:6.2f} s, supervised {ours[-1]:6.2f} s "
                    f"(throughput ratio {raw[-1] / ours[-1]:.3f})",
                    flush=True,
                )
            after_kill, healthy = await restart_latency(mock, codex, env, workdir, args.restarts)
    raw_m, ours_m = statistics.median(raw), statistics.median(ours)
    ratio = raw_m / ours_m
    added = statistics.median(after_kill) - statistics.median(healthy)
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    print(
        f"\nthroughput: {args.threads} threads x {args.turns} turns = {total} turns, cap "
        f"{args.cap}, {args.rounds} rounds alternating, {os.cpu_count()} CPUs, "
        f"autogroup {autogroup.read_text().strip() if autogroup.exists() else '?'}, "
        f"load average {os.getloadavg()[0]:.2f}; total {time.monotonic() - began:.0f} s"
    )
    print("\n| side | median wall | turns/s | min | max |\n|---|---|---|---|---|")
    for name, samples in (("raw `codex exec` + limiter", raw), ("supervised `Runtime`", ours)):
        median = statistics.median(samples)
        print(
            f"| {name} | {median:.2f} s | {total / median:.2f} | {min(samples):.2f} s "
            f"| {max(samples):.2f} s |"
        )
    paired = statistics.median(r / o for r, o in zip(raw, ours, strict=True))
    print(
        f"| **supervised / raw throughput** | **{ratio:.3f}** (target >= 0.97: "
        f"{'met' if ratio >= 0.97 else 'missed'}) | paired {paired:.3f} | | |"
    )
    print(f"\nrestart latency, {args.restarts} runs\n\n| | median | max |\n|---|---|---|")
    print(
        f"| kill -9 -> next resumed turn done | {ms(statistics.median(after_kill))} "
        f"| {ms(max(after_kill))} |"
    )
    print(f"| healthy resumed turn | {ms(statistics.median(healthy))} | {ms(max(healthy))} |")
    print(f"| added by the crash and the restart | {added * 1000:+.1f} ms | |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="8 threads x 2 turns, 2 rounds, 4 restarts"
    )
    parser.add_argument("--threads", type=int, default=24)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--cap", type=int, default=8, help="concurrent turns (both sides)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--restarts", type=int, default=15)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.threads, arguments.turns, arguments.rounds, arguments.restarts = 8, 2, 2, 4
    trio.run(main, arguments)
