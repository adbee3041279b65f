"""The cluster path (``codex_trio.cluster``) against the local ``Runtime``, on the real codex
binary, a real redis-server (``codex_trio.testing.RedisServer``, AOF with ``appendfsync
always``, as the tests run it) and the mock model in a process of its own (``mock_process.py``).

Sections, all in one run:

1. **Added latency per turn.** One thread on the local ``Runtime`` (``thread.run("ping")``)
   against one thread through the cluster (``client.submit(...)`` then ``handle.result()``),
   each turn continuing its thread. The worker runs *in-process* on the *same* ``Runtime``
   instance as the local side, so both sides start codex the same way, from the same process
   and session, with the same CODEX_HOME (``exec`` transport: one ``codex exec [resume]``
   process per turn on both sides). One warm-up turn each, then ``--rounds`` rounds (default
   15) of one turn per side, the side going first alternating (A B, B A, ...). Medians, the
   added time (median cluster - median local), and the median of the per-round differences
   ("paired"). The cluster side's extra work per turn: the submit script, the worker's read,
   lease, rollout download and write, a thread actor started and stopped around the turn,
   events published in batches, the rollout read back and uploaded in the commit script
   (with the last events and the outcome), the client woken by the end event. Since codex's
   own run varies by tens of milliseconds between turns on a busy machine, the cluster turn is
   also split: the worker's thread on the shared runtime is timed from its start to its stop
   (codex's run, the thread actor around it), and the rest, "outside codex", is the cluster's
   path (submit, take, download, upload and commit, the wake-up), transfer included.
2. **Rollout transfer against rollout size.** One thread run through the cluster to
   ``--sizes`` turns (default 1,10,50); at each size, what a worker does to move the rollout,
   ``--transfers`` times (default 20), medians: *down* = ``HGETALL`` of the thread's hash plus
   writing the file into a ``sessions/YYYY/MM/DD/`` tree (``_write_rollout``); *up* = reading
   it back (``_take_rollout``) plus one ``EVAL`` carrying the bytes into a hash field, as the
   commit script does.
3. **Redis operations and bytes per turn.** ``CONFIG RESETSTAT``, then ``--ops-turns`` turns
   (default 10) in order on one thread through the in-process worker; ``INFO commandstats``
   (commands run inside scripts are counted too) and ``total_net_input_bytes`` /
   ``total_net_output_bytes`` divided by the turns. Idle reads (a worker's blocking
   ``XREADGROUP`` every ``block_ms``) are in it; the worker's health sample is set to 60 s.
4. **Throughput, 1 and 2 workers.** Worker *processes* (``codex-trio worker``, each with a
   CODEX_HOME of its own, ``--concurrency --cap``, default 2): one deployment (key prefix) with
   one worker, another with two, all started once and left running; ``--threads`` threads
   (default 8) each run ``--turns`` turns (default 2) in order, all threads at once, through a
   client in this process; next to the local ``Runtime(max_concurrent_turns=--cap)`` doing the
   same. ``--tp-rounds`` rounds (default 3), the order rotating by round; medians of turns/s.
   On one machine two workers share its cores with every codex they run: this measures what the
   queue costs and whether a second consumer adds contention, not scale-out across machines.

    .venv/bin/python bench/bench_cluster.py [--quick] [--rounds 15] [--sizes 1,10,50]
        [--transfers 20] [--ops-turns 10] [--threads 8] [--turns 2] [--cap 2] [--tp-rounds 3]
        [--sections latency,transfer,ops,throughput]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import trio
from mock_process import MockProcess, open_mock_process

from codex_trio._transport.discovery import find_codex
from codex_trio.cluster import ClusterClient, ClusterWorker
from codex_trio.cluster._demo import worker_process
from codex_trio.cluster._worker import _take_rollout, _write_rollout
from codex_trio.runtime import Runtime
from codex_trio.testing import RedisServer, find_redis_server

UPLOAD = "redis.call('HSET', KEYS[1], 'rollout_name', ARGV[1], 'rollout', ARGV[2]) return 1"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


# --- 1. latency ---------------------------------------------------------------------------------


async def latency(
    runtime: Runtime, redis: RedisServer, workdir: Path, rounds: int
) -> dict[str, Any]:
    options = {"working_directory": str(workdir), "skip_git_repo_check": True}
    local_s: list[float] = []
    cluster_s: list[float] = []
    outside_s: list[float] = []
    marks: dict[str, float] = {}
    start_thread, stop_thread = runtime.start_thread, runtime.stop_thread

    # The worker's thread on the shared runtime, timed: from its start to its stop is codex's
    # run (and the thread actor around it); the rest of a cluster turn is the cluster's path.
    async def timed_start(*args: Any, **kwargs: Any) -> Any:
        if str(kwargs.get("name", "")).startswith("cluster:"):
            marks["start"] = time.perf_counter()
        return await start_thread(*args, **kwargs)

    async def timed_stop(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("cluster:"):
            marks["stop"] = time.perf_counter()
        return await stop_thread(name, *args, **kwargs)

    runtime.start_thread = timed_start  # type: ignore[method-assign]
    runtime.stop_thread = timed_stop  # type: ignore[method-assign]
    async with (
        ClusterWorker(redis.url, runtime=runtime, prefix="lat", concurrency=1, sample_interval=60),
        ClusterClient(redis.url, prefix="lat") as client,
    ):
        local = await runtime.start_thread(**options)
        assert (await local.run("ping")).final_response == "pong"  # warm-up, not counted
        assert (await client.run("lat", "ping", **options)).final_response == "pong"

        async def local_turn() -> float:
            begun = time.perf_counter()
            result = await local.run("ping")
            elapsed = time.perf_counter() - begun
            assert result.final_response == "pong", result
            return elapsed

        async def cluster_turn() -> float:
            begun = time.perf_counter()
            marks.clear()
            result = await (await client.submit("lat", "ping")).result()
            elapsed = time.perf_counter() - begun
            assert result.final_response == "pong", result
            outside_s.append(elapsed - (marks["stop"] - marks["start"]))
            return elapsed

        for r in range(rounds):
            sides: list[tuple[list[float], Callable[[], Awaitable[float]]]] = [
                (local_s, local_turn),
                (cluster_s, cluster_turn),
            ]
            for into, turn in sides if r % 2 == 0 else sides[::-1]:
                into.append(await turn())
            print(
                f"  latency round {r + 1:2}: local {ms(local_s[-1])}, cluster {ms(cluster_s[-1])}",
                flush=True,
            )
        record = await client.thread("lat")
        assert record is not None
        down, up = await transfer_once(client, "lat", workdir.parent / "xfer-lat")
        await runtime.stop_thread(local.name)
    runtime.start_thread, runtime.stop_thread = start_thread, stop_thread  # type: ignore[method-assign]
    return {
        "outside": outside_s,
        "local": local_s,
        "cluster": cluster_s,
        "rollout_bytes": record.rollout_bytes,
        "turns": record.version,
        "transfer": (down, up),
    }


# --- 2. transfer --------------------------------------------------------------------------------


async def transfer_once(
    client: ClusterClient, key: str, scratch: Path, times: int = 1
) -> tuple[float, float]:
    """Median (down, up) seconds of moving the thread's rollout, as a worker does."""
    conn, keys = client._conn, client.keys
    downs: list[float] = []
    ups: list[float] = []
    sessions = scratch / "sessions"
    for _ in range(times):
        begun = time.perf_counter()
        thread = await conn.call(lambda r: r.hgetall(keys.thread(key)))
        thread_id = thread[b"thread_id"].decode()
        name = thread[b"rollout_name"].decode()
        await trio.to_thread.run_sync(_write_rollout, sessions, name, thread_id, thread[b"rollout"])
        downs.append(time.perf_counter() - begun)
        begun = time.perf_counter()
        found = await trio.to_thread.run_sync(_take_rollout, sessions, thread_id)
        assert found is not None
        await conn.script(UPLOAD, [f"{keys.prefix}:bench-upload"], [found[0], found[1]])
        ups.append(time.perf_counter() - begun)
    return median(downs), median(ups)


async def transfers(
    runtime: Runtime, redis: RedisServer, workdir: Path, sizes: list[int], times: int
) -> list[tuple[int, int, float, float]]:
    """(turns, rollout bytes, down s, up s) per size."""
    options = {"working_directory": str(workdir), "skip_git_repo_check": True}
    out = []
    async with (
        ClusterWorker(redis.url, runtime=runtime, prefix="xfer", concurrency=1, sample_interval=60),
        ClusterClient(redis.url, prefix="xfer") as client,
    ):
        done = 0
        for size in sorted(sizes):
            while done < size:
                result = await client.run("x", "ping", **(options if done == 0 else {}))
                assert result.final_response == "pong"
                done += 1
            record = await client.thread("x")
            assert record is not None
            down, up = await transfer_once(client, "x", workdir.parent / "xfer", times)
            out.append((size, record.rollout_bytes, down, up))
            print(
                f"  transfer {size:3} turns: {record.rollout_bytes:8} bytes, down {ms(down)}, "
                f"up {ms(up)}",
                flush=True,
            )
    return out


# --- 3. Redis operations per turn ---------------------------------------------------------------


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dict):
        return {_decoded(k): _decoded(v) for k, v in value.items()}
    return value


async def operations(
    runtime: Runtime, redis: RedisServer, workdir: Path, turns: int
) -> dict[str, Any]:
    options = {"working_directory": str(workdir), "skip_git_repo_check": True}
    async with (
        ClusterWorker(redis.url, runtime=runtime, prefix="ops", concurrency=1, sample_interval=60),
        ClusterClient(redis.url, prefix="ops") as client,
    ):
        conn = client._conn
        await client.run("o", "ping", **options)  # the thread exists: every turn resumes it
        await conn.call(lambda r: r.config_resetstat())
        begun = time.perf_counter()
        for _ in range(turns):
            assert (await client.run("o", "ping")).final_response == "pong"
        elapsed = time.perf_counter() - begun
        stats = _decoded(await conn.call(lambda r: r.info("stats")))
        commands = _decoded(await conn.call(lambda r: r.info("commandstats")))
        record = await client.thread("o")
    calls: dict[str, float] = {}
    for name, fields in commands.items():
        if not isinstance(fields, dict):
            fields = dict(part.split("=", 1) for part in str(fields).split(","))
        command = name.removeprefix("cmdstat_").upper()
        if command.split("|")[0] in {"CONFIG", "INFO"}:  # this benchmark's own
            continue
        calls[command] = int(fields["calls"]) / turns
    assert record is not None
    return {
        "calls": calls,
        "in_bytes": int(stats["total_net_input_bytes"]) / turns,
        "out_bytes": int(stats["total_net_output_bytes"]) / turns,
        "rollout_bytes": record.rollout_bytes,
        "seconds": elapsed / turns,
    }


# --- 4. throughput ------------------------------------------------------------------------------


async def cluster_load(client: ClusterClient, threads: int, turns: int, workdir: Path) -> float:
    options = {"working_directory": str(workdir), "skip_git_repo_check": True}
    run_id = time.monotonic_ns()

    async def one(n: int) -> None:
        for t in range(turns):
            result = await client.run(f"tp-{run_id}-{n}", "ping", **(options if t == 0 else {}))
            assert result.final_response == "pong", result

    begun = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for n in range(threads):
            nursery.start_soon(one, n)
    return threads * turns / (time.perf_counter() - begun)


async def local_load(mock: MockProcess, threads: int, turns: int, cap: int, workdir: Path) -> float:
    async def one(runtime: Runtime) -> None:
        handle = await runtime.start_thread(
            working_directory=str(workdir), skip_git_repo_check=True
        )
        for _ in range(turns):
            assert (await handle.run("ping")).final_response == "pong"

    begun = time.perf_counter()
    async with Runtime(env=mock.env, max_concurrent_turns=cap) as runtime:
        async with trio.open_nursery() as nursery:
            for _ in range(threads):
                nursery.start_soon(one, runtime)
    return threads * turns / (time.perf_counter() - begun)


async def throughput(
    mock: MockProcess, redis: RedisServer, root: Path, args: argparse.Namespace
) -> dict[str, list[float]]:
    workdir = root / "work"
    flags: dict[str, float | str] = {"concurrency": args.cap, "block_ms": 200}
    out: dict[str, list[float]] = {"local": [], "1 worker": [], "2 workers": []}
    async with AsyncExitStack() as stack:
        for name, prefix in (("one-a", "tp1"), ("two-a", "tp2"), ("two-b", "tp2")):
            await stack.enter_async_context(
                worker_process(name, root, redis.url, mock.base_url, {**flags, "prefix": prefix})
            )
        one = await stack.enter_async_context(ClusterClient(redis.url, prefix="tp1"))
        two = await stack.enter_async_context(ClusterClient(redis.url, prefix="tp2"))
        runs: dict[str, Callable[[], Awaitable[float]]] = {
            "local": lambda: local_load(mock, args.threads, args.turns, args.cap, workdir),
            "1 worker": lambda: cluster_load(one, args.threads, args.turns, workdir),
            "2 workers": lambda: cluster_load(two, args.threads, args.turns, workdir),
        }
        for run in runs.values():  # warm-up, not counted
            await run()
        names = list(runs)
        for r in range(args.tp_rounds):
            order = names[r % 3 :] + names[: r % 3]
            for name in order:
                out[name].append(await runs[name]())
            line = ", ".join(f"{n} {out[n][-1]:5.2f}/s" for n in names)
            print(f"  throughput round {r + 1}: {line}", flush=True)
    return out


# --- report -------------------------------------------------------------------------------------


def report(
    lat: dict[str, Any] | None,
    xfer: list[Any] | None,
    ops: dict[str, Any] | None,
    tp: Any,
    args: Any,
) -> None:
    if lat is not None:
        report_latency(lat)
    if xfer is not None:
        report_transfer(xfer, args)
    if ops is not None:
        report_ops(ops, args)
    if tp is not None:
        report_throughput(tp, args)


def report_latency(lat: dict[str, Any]) -> None:
    local, cluster = lat["local"], lat["cluster"]
    added = median(cluster) - median(local)
    paired = median([c - w for c, w in zip(cluster, local, strict=True)])
    down, up = lat["transfer"]
    print()
    print(f"1. latency per turn ({len(local)} rounds, medians; thread of {lat['turns']} turns)")
    print(f"   {'local Runtime':<34}{ms(median(local))}")
    print(f"   {'cluster (submit -> result)':<34}{ms(median(cluster))}")
    print(
        f"   {'added (median - median)':<34}{ms(added)}   "
        f"ratio {median(cluster) / median(local):.2f}x"
    )
    print(f"   {'added (paired, per round)':<34}{ms(paired)}")
    print(
        f"   {'rollout transfer at this size':<34}{ms(down + up)}   "
        f"({lat['rollout_bytes']} bytes: down {ms(down).strip()}, up {ms(up).strip()})"
    )
    print(f"   {'added minus transfer':<34}{ms(paired - down - up)}   (target <= 10 ms)")
    outside = lat["outside"]
    print(
        f"   {'cluster path outside codex':<34}{ms(median(outside))}   (submit -> thread started"
        f" + thread stopped -> result; min {ms(min(outside)).strip()}, max "
        f"{ms(max(outside)).strip()})"
    )


def report_transfer(xfer: list[Any], args: Any) -> None:
    print()
    print(f"2. rollout transfer ({args.transfers} times each, medians)")
    print(f"   {'turns':>5} {'bytes':>9} {'+bytes/turn':>11} {'down':>11} {'up':>11}")
    first_size, first_bytes = xfer[0][0], xfer[0][1]
    for size, nbytes, d, u in xfer:
        growth = (nbytes - first_bytes) / (size - first_size) if size > first_size else 0
        print(f"   {size:>5} {nbytes:>9} {growth:>11.0f} {ms(d):>11} {ms(u):>11}")
    print("   (+bytes/turn: growth per turn after the first size; a first turn's rollout holds")
    print("   codex's instructions and environment context)")


def report_ops(ops: dict[str, Any], args: Any) -> None:
    print()
    print(f"3. Redis per turn ({args.ops_turns} turns, thread of {ops['rollout_bytes']} bytes)")
    calls = ops["calls"]
    total = sum(calls.values())
    print(
        f"   commands {total:.1f} per turn: "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1]))
    )
    print(
        f"   network: {ops['in_bytes'] / 1024:.1f} KiB in, {ops['out_bytes'] / 1024:.1f} KiB out "
        f"per turn; {ms(ops['seconds']).strip()} per turn"
    )


def report_throughput(tp: Any, args: Any) -> None:
    print()
    print(
        f"4. throughput ({args.threads} threads x {args.turns} turns, --cap {args.cap} per "
        f"worker / runtime, {args.tp_rounds} rounds, medians)"
    )
    base = median(tp["local"])
    for name, values in tp.items():
        print(f"   {name:<12} {median(values):6.2f} turns/s   {median(values) / base:.2f}x local")


async def main(args: argparse.Namespace) -> None:
    codex = find_codex()
    binary = find_redis_server()
    print(f"codex {codex}; redis-server {binary}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        workdir = root / "work"
        workdir.mkdir()
        async with (
            open_mock_process(root / "mock") as mock,
            RedisServer(root / "redis", binary=binary) as redis,
        ):
            lat: dict[str, Any] | None = None
            xfer: list[Any] | None = None
            ops: dict[str, Any] | None = None
            tp: Any = None
            async with Runtime(codex_path=codex, env=mock.env, max_concurrent_turns=2) as runtime:
                if "latency" in args.sections:
                    print("1. latency", flush=True)
                    lat = await latency(runtime, redis, workdir, args.rounds)
                if "transfer" in args.sections:
                    print("2. transfer", flush=True)
                    xfer = await transfers(runtime, redis, workdir, args.sizes, args.transfers)
                if "ops" in args.sections:
                    print("3. Redis operations", flush=True)
                    ops = await operations(runtime, redis, workdir, args.ops_turns)
            if "throughput" in args.sections:
                print("4. throughput", flush=True)
                tp = await throughput(mock, redis, root, args)
    report(lat, xfer, ops, tp, args)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--transfers", type=int, default=20)
    parser.add_argument("--ops-turns", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--cap", type=int, default=2)
    parser.add_argument("--tp-rounds", type=int, default=3)
    parser.add_argument(
        "--sections",
        default="latency,transfer,ops,throughput",
        help="which sections to run, comma-separated (default: all)",
    )
    args = parser.parse_args(argv)
    args.sections = set(args.sections.split(","))
    unknown = args.sections - {"latency", "transfer", "ops", "throughput"}
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.quick:
        args.rounds, args.sizes, args.transfers, args.ops_turns = 2, "1,3", 3, 2
        args.threads, args.turns, args.tp_rounds = 2, 1, 1
    args.sizes = [int(s) for s in args.sizes.split(",")]
    return args


if __name__ == "__main__":
    trio.run(main, parse())
