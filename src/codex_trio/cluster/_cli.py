"""``codex-trio worker``: a :class:`ClusterWorker` on a local :class:`~codex_trio.Runtime` whose
codex options come from the environment, as for any local ``Runtime`` (``CODEX_HOME``, the
model provider's key variable, ``CODEX_TRIO_CODEX_PATH`` ...).

The arguments are defined in :mod:`codex_trio.cli` (which must not import coredis).
The Redis URL comes from ``--redis`` or ``$CODEX_TRIO_REDIS_URL``, the password from the URL or
``$CODEX_TRIO_REDIS_PASSWORD`` (keep it out of argv: other users can read a command line). The
worker prints one JSON line ``{"event": "ready", "worker": NAME}`` to stdout once it takes turns,
and stops on SIGINT or SIGTERM: running turns finish (``--drain-timeout``), the rest are given
back at once.
"""

from __future__ import annotations

import argparse
import os
import sys

import orjson
import trio

__all__ = ["main", "run_worker"]


async def run_worker(args: argparse.Namespace) -> int:
    from codex_trio.cluster._errors import ClusterError
    from codex_trio.cluster._metrics import ClusterMetrics
    from codex_trio.cluster._worker import ClusterWorker
    from codex_trio.observe._metrics import Metrics
    from codex_trio.runtime import Runtime

    url = args.redis or os.environ.get("CODEX_TRIO_REDIS_URL")
    if not url:
        print("worker: give --redis URL or set CODEX_TRIO_REDIS_URL", file=sys.stderr)
        return 2
    password = os.environ.get("CODEX_TRIO_REDIS_PASSWORD") or None
    runtime = Runtime(
        transport=args.transport,
        max_concurrent_turns=args.concurrency,
        codex_home=args.codex_home,
    )
    try:
        async with runtime:
            caught = await runtime.catch_shutdown_signals()
            worker = ClusterWorker(
                url,
                runtime=runtime,
                password=password,
                prefix=args.prefix,
                name=args.name,
                concurrency=args.concurrency,
                prefetch=args.prefetch,
                lease_ms=args.lease_ms,
                claim_idle_ms=args.claim_idle_ms,
                max_deliveries=args.max_deliveries,
                block_ms=args.block_ms,
                sample_interval=args.sample_interval,
                drain_timeout=args.drain_timeout,
            )
            if args.metrics_port is not None:
                metrics = Metrics()
                metrics.attach()
                runtime.metrics = metrics
                ClusterMetrics(registry=metrics.registry).attach()
            async with worker:
                ready: dict[str, object] = {"event": "ready", "worker": worker.name}
                if args.metrics_port is not None:
                    host, port = await runtime.serve_metrics(port=args.metrics_port)
                    ready["metrics"] = f"http://{host}:{port}/metrics"
                sys.stdout.buffer.write(orjson.dumps(ready) + b"\n")
                sys.stdout.flush()
                await caught.wait()
    except ClusterError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 1
    return 0


def main(args: argparse.Namespace) -> int:
    return trio.run(run_worker, args)
