"""CPU per turn of the client itself against codex's, on one app-server thread: codex-trio
against a raw app-server driver and the official Python SDK (``openai-codex``), same mock, same
codex, same ``-c`` overrides.

Each side runs in a fresh Python process of its own, started the same way by this script (in
this script's session), one after another, interleaved (A B C, then B C A, ...), for
``--rounds`` rounds. In its process a side starts ``codex app-server``, runs ``--warmup``
turns, then ``--turns`` sequential turns on one thread, and reports the CPU it used itself
(``RUSAGE_SELF``: every thread of the process, so the official SDK's reader thread too) and
what codex used (``/proc`` of its live descendants), over those turns only. The mock model is a
process of its own (bench/mock_process.py), the same for all sides.

* ``codex-trio``: ``codex_trio.Codex(transport="app-server")``, ``await thread.run("ping")``
  (typed events, exec-style items, telemetry: what the SDK does for a user);
* ``raw``: bench/raw_app_server.py, a few dozen lines of JSON-RPC over stdio on trio (what it
  costs to drive codex at all from trio);
* ``official``: ``openai_codex.Codex`` (synchronous), ``thread.run("ping")``, with
  ``config_overrides`` giving codex the same settings (skipped if it is not installed).

``.venv/bin/python bench/bench_cpu_per_turn.py [--rounds 5 --turns 30 --warmup 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parent))

from proc_stats import descendants, proc_cpu

SIDES = ("codex-trio", "raw", "official")
OVERRIDES = ("thread_unload_delay_secs=0", "features.shell_snapshot=false")


# --- one side, in its own process ----------------------------------------------------------------


def _snapshot() -> tuple[float, float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    codex = sum(proc_cpu(pid) for pid in descendants())
    return time.perf_counter(), usage.ru_utime + usage.ru_stime, codex


def _report(before: tuple[float, float, float], after: tuple[float, float, float]) -> None:
    wall, me, codex = (b - a for a, b in zip(before, after, strict=True))
    print(json.dumps({"wall": wall, "self": me, "codex": codex}), flush=True)


async def _ours(workdir: str, warmup: int, turns: int) -> None:
    import codex_trio

    async with codex_trio.Codex(transport="app-server") as codex:
        thread = codex.start_thread(working_directory=workdir, skip_git_repo_check=True)
        for _ in range(warmup):
            assert (await thread.run("ping")).final_response == "pong"
        before = _snapshot()
        for _ in range(turns):
            assert (await thread.run("ping")).final_response == "pong"
        _report(before, _snapshot())


async def _raw(workdir: str, warmup: int, turns: int) -> None:
    from raw_app_server import open_raw_app_server

    from codex_trio._transport.discovery import find_codex

    async with open_raw_app_server(find_codex(), dict(os.environ)) as server:
        thread_id = await server.thread_start(workdir)
        for _ in range(warmup):
            assert await server.turn(thread_id, "ping") == "completed"
        before = _snapshot()
        for _ in range(turns):
            assert await server.turn(thread_id, "ping") == "completed"
        _report(before, _snapshot())


def _official(workdir: str, warmup: int, turns: int) -> None:
    import openai_codex

    from codex_trio._transport.discovery import find_codex

    config = openai_codex.CodexConfig(
        codex_bin=find_codex(), env=dict(os.environ), config_overrides=OVERRIDES
    )
    with openai_codex.Codex(config) as codex:
        thread = codex.thread_start(cwd=workdir, approval_mode=openai_codex.ApprovalMode.deny_all)
        for _ in range(warmup):
            assert thread.run("ping").final_response == "pong"
        before = _snapshot()
        for _ in range(turns):
            assert thread.run("ping").final_response == "pong"
        _report(before, _snapshot())


def _side(args: argparse.Namespace) -> None:
    if args.side == "official":
        _official(args.workdir, args.warmup, args.turns)
        return
    import trio

    run = _ours if args.side == "codex-trio" else _raw
    trio.run(run, args.workdir, args.warmup, args.turns)


# --- the comparison ----------------------------------------------------------------------------


def _official_installed() -> bool:
    try:
        import openai_codex  # noqa: F401
    except ImportError:
        return False
    return True


def _counts(args: argparse.Namespace) -> list[str]:
    return ["--turns", str(args.turns), "--warmup", str(args.warmup)]


def _run_side(side: str, env: dict[str, str], workdir: str, args: argparse.Namespace) -> Any:
    out = subprocess.run(
        [sys.executable, __file__, "--side", side, "--workdir", workdir, *_counts(args)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if out.returncode != 0:
        raise SystemExit(f"{side} failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _compare(args: argparse.Namespace) -> None:
    from mock_process import open_mock_process

    sides = [s for s in SIDES if s != "official" or _official_installed()]
    if "official" not in sides:
        print("openai-codex is not installed: the official SDK's column is left out")
    samples: dict[str, list[dict[str, float]]] = {s: [] for s in sides}
    import trio

    with tempfile.TemporaryDirectory(prefix="bench-cpu-per-turn-") as tmp:
        async with open_mock_process(Path(tmp)) as mock:
            env = {**os.environ, **mock.env}
            for round_ in range(args.rounds):
                order = sides[round_ % len(sides) :] + sides[: round_ % len(sides)]
                for side in order:
                    sample = await trio.to_thread.run_sync(_run_side, side, env, tmp, args)
                    samples[side].append(sample)
                    print(
                        f"  round {round_ + 1} {side:10s} self {sample['self'] * 1000:7.1f} ms"
                        f"  codex {sample['codex'] * 1000:7.1f} ms  wall {sample['wall']:.2f} s",
                        flush=True,
                    )
    n = args.turns

    def med(side: str, key: str) -> float:
        return statistics.median(s[key] for s in samples[side]) / n * 1000

    def share(side: str) -> float:
        return statistics.median(s["self"] / s["codex"] for s in samples[side]) * 100

    print(
        f"\n{args.turns} sequential turns on one thread after {args.warmup} warm-up turns, "
        f"{args.rounds} rounds interleaved, medians; load average {os.getloadavg()[0]:.2f}\n"
    )
    print("| client | client CPU ms/turn | codex CPU ms/turn | client / codex | vs raw driver |")
    print("|---|---|---|---|---|")
    raw = med("raw", "self")
    for side in sides:
        print(
            f"| {side} | {med(side, 'self'):.2f} | {med(side, 'codex'):.1f} | "
            f"**{share(side):.1f} %** | {med(side, 'self') / raw:.2f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is not None:
        _side(args)
        return
    import trio

    trio.run(_compare, args)


if __name__ == "__main__":
    main()
