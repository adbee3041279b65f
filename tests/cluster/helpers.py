"""Helpers for the cluster tests: worker homes on the mock model, in-process workers, and
worker subprocesses (``python -m codex_trio.cli worker``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

import codex_trio
from codex_trio.cluster import ClusterWorker
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


class WorkerProcess:
    """``python -m codex_trio.cli worker`` in a session of its own (so a kill takes its codex
    children with it, as when a machine dies). The Redis URL goes in the environment."""

    def __init__(self, process: trio.Process, name: str) -> None:
        self.process = process
        self.name = name

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal_group(self, sig: int) -> None:
        os.killpg(self.process.pid, sig)

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            with trio.move_on_after(30) as scope:
                await self.process.wait()
            if scope.cancelled_caught:
                self.signal_group(signal.SIGKILL)
        with trio.CancelScope(shield=True):
            await self.process.wait()
        return self.process.returncode


@asynccontextmanager
async def worker_process(
    redis_url: str,
    mock_model: MockModel,
    directory: Path,
    name: str,
    *args: str,
) -> AsyncIterator[WorkerProcess]:
    env = worker_home(mock_model, directory / "home")
    env["CODEX_TRIO_REDIS_URL"] = redis_url
    argv = [
        sys.executable,
        "-m",
        "codex_trio.cli",
        "worker",
        "--name",
        name,
        "--lease-ms",
        str(FAST["lease_ms"]),
        "--claim-idle-ms",
        str(FAST["claim_idle_ms"]),
        "--block-ms",
        "200",
        "--sample-interval",
        "0.5",
        *args,
    ]
    log = (directory / "worker.log").open("wb")
    process = await trio.lowlevel.open_process(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
    worker = WorkerProcess(process, name)
    try:
        assert process.stdout is not None
        with trio.fail_after(60):
            line = b""
            while b"\n" not in line:
                chunk = await process.stdout.receive_some(4096)
                if not chunk:
                    raise AssertionError(
                        f"worker {name} exited: {(directory / 'worker.log').read_text()[-2000:]}"
                    )
                line += chunk
        assert b"ready" in line, line
        yield worker
    finally:
        with trio.CancelScope(shield=True):
            await worker.stop()
            if process.stdout is not None:
                await process.stdout.aclose()
            log.close()
