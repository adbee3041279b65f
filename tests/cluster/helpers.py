"""Helpers for the cluster tests: worker homes on the mock model, in-process workers, and
worker subprocesses (``python -m codex_trio.cli worker``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

import codex_trio
from codex_trio.cluster import ClusterWorker
from codex_trio.cluster._demo import WorkerProcess
from codex_trio.cluster._demo import worker_process as demo_worker_process
from codex_trio.testing import MockModel, write_codex_home

FAST = {"lease_ms": 1500, "claim_idle_ms": 2500, "block_ms": 200, "sample_interval": 0.5}
"""Short lease and claim times, so the fault tests do not wait for minutes."""


def worker_home(mock_model: MockModel, directory: Path) -> dict[str, str]:
    """The environment of a worker with a CODEX_HOME of its own pointing at the mock model."""
    home = write_codex_home(directory, base_url=mock_model.server.base_url)
    return home.environ()


def thread_options(mock_model: MockModel) -> dict[str, Any]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}


@asynccontextmanager
async def in_process_worker(
    redis_url: str, mock_model: MockModel, directory: Path, **options: Any
) -> AsyncIterator[ClusterWorker]:
    env = worker_home(mock_model, directory)
    runtime = codex_trio.Runtime(env=env, max_concurrent_turns=2)
    async with ClusterWorker(redis_url, runtime=runtime, **{**FAST, **options}) as worker:
        yield worker


async def wait_until(predicate: Callable[[], Any], *, deadline: float = 60.0) -> Any:
    """Poll ``predicate`` (sync or async) until it returns something truthy."""
    with trio.fail_after(deadline):
        while True:
            value = predicate()
            if hasattr(value, "__await__"):
                value = await value
            if value:
                return value
            await trio.sleep(0.05)


@asynccontextmanager
async def worker_process(
    redis_url: str, mock_model: MockModel, directory: Path, name: str
) -> AsyncIterator[WorkerProcess]:
    """``python -m codex_trio.cli worker`` with the FAST timings, in a session of its own (so
    a kill takes its codex children with it, as when a machine dies), its own CODEX_HOME on the
    mock model, the Redis URL in its environment: the cluster demo's worker process."""
    async with demo_worker_process(
        name, directory, redis_url, mock_model.server.base_url, FAST
    ) as worker:
        yield worker
