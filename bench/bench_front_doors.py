"""Front-door overhead: a turn through ``codex_trio.sync`` / ``codex_trio.aio`` vs the same turn
through the trio API, on the same codex process and the same trio loop.

Each front door owns a trio loop on a background thread. The baseline is the trio API's own
``await thread.run(...)`` (or a streamed turn read to its end) running *on that loop*, timed
inside trio; the front door's sample is the same turn started from the caller's thread (blocking)
or the caller's asyncio loop, timed there. Both go to the same ``codex app-server`` process
(``transport="app-server"``, one per door) and the same mock model, so the difference is what the
front door adds: scheduling the call onto the loop, handing each event across the thread
boundary, and waking the caller. Samples are interleaved (A B, B A, ...: the side going first
alternates each round) and summarised as medians of the paired differences.

The mock model runs on a thread of this process (``serve_in_thread``), which competes for the
GIL with both sides alike. A turn's own spread (a few ms) is larger than what a front door adds,
so the script also times the crossing itself without a turn: a call's round trip to the loop and
back (what ``run`` adds), and a stream of as many events as a turn has through the hand-off
(what ``run_streamed`` adds, its entering and ending included), against trio reading the same
stream on the loop. Target (issue 12): at most 1 ms added per turn. About a minute by default.

    .venv/bin/python bench/bench_front_doors.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import codex_trio
from codex_trio import aio, sync
from codex_trio._bridge import Bridge, Handoff
from codex_trio.aio import _await_job
from codex_trio.testing import (
    Script,
    message,
    reasoning,
    response,
    serve_in_thread,
    write_codex_home,
)

PROMPT = "ping"


def thread_options(workdir: Path) -> dict[str, Any]:
    return {"working_directory": str(workdir), "skip_git_repo_check": True}


async def trio_turn(inner: codex_trio.Codex, workdir: Path, streamed: bool) -> float:
    """One turn through the trio API, timed on the trio loop."""
    thread = inner.start_thread(**thread_options(workdir))
    begun = time.perf_counter()
    if streamed:
        async with thread.run_streamed(PROMPT) as events:
            async for _ in events:
                pass
        result = events.result
    else:
        result = await thread.run(PROMPT)
    elapsed = time.perf_counter() - begun
    assert result.final_response == "pong", result
    return elapsed


def sync_turn(codex: sync.Codex, workdir: Path, streamed: bool) -> float:
    thread = codex.start_thread(**thread_options(workdir))
    begun = time.perf_counter()
    if streamed:
        with thread.run_streamed(PROMPT) as events:
            for _ in events:
                pass
        result = events.result
    else:
        result = thread.run(PROMPT)
    elapsed = time.perf_counter() - begun
    assert result.final_response == "pong", result
    return elapsed


async def aio_turn(codex: aio.Codex, workdir: Path, streamed: bool) -> float:
    thread = codex.start_thread(**thread_options(workdir))
    begun = time.perf_counter()
    if streamed:
        async with thread.run_streamed(PROMPT) as events:
            async for _ in events:
                pass
        result = events.result
    else:
        result = await thread.run(PROMPT)
    elapsed = time.perf_counter() - begun
    assert result.final_response == "pong", result
    return elapsed


def paired(
    rounds: int, baseline: Callable[[], float], door: Callable[[], float]
) -> tuple[list[float], list[float]]:
    base: list[float] = []
    front: list[float] = []
    for i in range(rounds):
        if i % 2 == 0:
            base.append(baseline())
            front.append(door())
        else:
            front.append(door())
            base.append(baseline())
    return base, front


def row(name: str, base: list[float], front: list[float]) -> str:
    diffs = [f - b for b, f in zip(base, front, strict=True)]
    quartiles = statistics.quantiles(diffs, n=4) if len(diffs) > 1 else [diffs[0]] * 3
    return (
        f"{name:<16} {statistics.median(base) * 1000:9.2f} {statistics.median(front) * 1000:9.2f}"
        f" {statistics.median(diffs) * 1000:+9.3f} {(quartiles[2] - quartiles[0]) * 1000:9.2f}"
        f" {len(diffs):5d}"
    )


async def noop() -> None:
    return None


class FakeTurn:
    """An async context manager yielding a stream of ``count`` events (no codex): what a
    streamed turn's hand-off carries, without the turn."""

    def __init__(self, count: int) -> None:
        self.count = count

    async def __aenter__(self) -> Any:
        async def events() -> Any:
            for i in range(self.count):
                yield i

        return events()

    async def __aexit__(self, *exc: object) -> None:
        return None


def per_call(samples: int, fn: Callable[[], object]) -> float:
    """Median seconds of ``fn()`` over ``samples`` calls, in batches of 50."""
    batches = []
    for _ in range(max(1, samples // 50)):
        begun = time.perf_counter()
        for _ in range(50):
            fn()
        batches.append((time.perf_counter() - begun) / 50)
    return statistics.median(batches)


def crossing_costs(samples: int, events: int) -> list[str]:
    """The front doors' own costs, without a turn: a call's round trip to the loop and back,
    and one event through the hand-off (trio iterating the same stream on the loop as base)."""
    bridge = Bridge("codex-trio-sync-bench")
    loop = asyncio.new_event_loop()
    out = []
    try:
        sync_rt = per_call(samples, lambda: bridge.run(noop))
        aio_rt = per_call(samples, lambda: loop.run_until_complete(_await_job(bridge.spawn(noop))))
        in_trio = per_call(samples // 10, lambda: bridge.run(_drain_in_trio, events))

        def sync_stream() -> None:
            handoff = Handoff(bridge, lambda: FakeTurn(events), 8)
            handoff.start().wait()
            while handoff.get() is not None:
                pass
            assert handoff.host is not None
            handoff.host.wait()

        async def aio_stream() -> None:
            handoff = Handoff(bridge, lambda: FakeTurn(events), 8)
            await _await_job(handoff.start())
            while await handoff.aget() is not None:
                pass
            assert handoff.host is not None
            await _await_job(handoff.host)

        sync_st = per_call(samples // 10, sync_stream)
        aio_st = per_call(samples // 10, lambda: loop.run_until_complete(aio_stream()))
        out.append(
            f"{'call round trip':<28} sync {sync_rt * 1e6:7.1f} us   aio {aio_rt * 1e6:7.1f} us"
        )
        out.append(
            f"{f'stream of {events} events':<28} sync {(sync_st - in_trio) * 1e3:7.3f} ms   "
            f"aio {(aio_st - in_trio) * 1e3:7.3f} ms   (added to trio's {in_trio * 1e3:.3f} ms)"
        )
    finally:
        loop.close()
        bridge.close()
    return out


async def _drain_in_trio(events: int) -> None:
    async with FakeTurn(events) as stream:
        async for _ in stream:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=60, help="pairs per row (default 60)")
    parser.add_argument("--events", type=int, default=8, help="reasoning items per turn")
    parser.add_argument("--calls", type=int, default=2000, help="samples of the crossing costs")
    args = parser.parse_args()
    crossing = crossing_costs(args.calls, args.events + 4)
    reply = response(*[reasoning(f"r{i}") for i in range(args.events)], message("pong"))
    with tempfile.TemporaryDirectory() as tmp, serve_in_thread(Script(default=reply)) as server:
        home = write_codex_home(Path(tmp) / "codex-home", base_url=server.base_url)
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        env = home.environ()
        rows = []
        with sync.Codex(transport="app-server", env=env) as blocking:
            inner = blocking.inner

            for streamed in (False, True):
                for _ in range(3):  # warm up
                    sync_turn(blocking, workdir, streamed)
                base, front = paired(
                    args.rounds,
                    lambda s=streamed: blocking.bridge.run(trio_turn, inner, workdir, s),
                    lambda s=streamed: sync_turn(blocking, workdir, s),
                )
                rows.append(row(f"sync {'streamed' if streamed else 'run'}", base, front))

        loop = asyncio.new_event_loop()
        try:
            codex = aio.Codex(transport="app-server", env=env)
            loop.run_until_complete(codex.__aenter__())

            def on_loop(make: Callable[[], Awaitable[float]]) -> float:
                return loop.run_until_complete(make())

            inner_aio: codex_trio.Codex = codex._inner
            for streamed in (False, True):
                for _ in range(3):
                    on_loop(lambda s=streamed: aio_turn(codex, workdir, s))
                base, front = paired(
                    args.rounds,
                    lambda s=streamed: on_loop(
                        lambda: codex._call(trio_turn, inner_aio, workdir, s)
                    ),
                    lambda s=streamed: on_loop(lambda: aio_turn(codex, workdir, s)),
                )
                rows.append(row(f"aio {'streamed' if streamed else 'run'}", base, front))
            loop.run_until_complete(codex.aclose())
        finally:
            loop.close()
    print(f"front-door overhead per turn ({args.events + 4}-ish events a turn; medians, ms)")
    print(f"{'door':<16} {'trio':>9} {'door':>9} {'added':>9} {'diff IQR':>9} {'pairs':>5}")
    for line in rows:
        print(line)
    print("(a turn's own spread, the IQR of the paired differences, is larger than the target:")
    print(" the costs below, measured without a turn, are what a front door adds to one)")
    print("the front doors' own costs, no turn (medians)")
    for line in crossing:
        print(line)


if __name__ == "__main__":
    main()
