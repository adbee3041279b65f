"""``codex-trio cluster-demo``: a turn outlives the worker that was running it.

Everything runs on this machine and nothing leaves it: a ``redis-server`` in a temporary
directory (:class:`~codex_trio.testing.RedisServer`, AOF on), the mock model
(:class:`~codex_trio.testing.MockResponsesServer` on 127.0.0.1), two workers as real processes
(``python -m codex_trio.cli worker``, each with a CODEX_HOME of its own, each in a session of its
own, as if on two machines) and a client (:class:`~codex_trio.cluster.ClusterClient`) in this
process. The client submits a turn; the model holds its answer, so the turn is in flight on
whichever worker took it; that worker is killed with SIGKILL (its codex goes with it:
``PR_SET_PDEATHSIG``), the other worker reclaims the entry once it has been idle for
``claim_idle_ms`` (XAUTOCLAIM) and runs the turn again from the thread's last committed rollout;
the client's ``result()`` returns it. A follow-up turn then shows the thread's history holding
the turn once. Every step is printed as it happens.

On the way out the surviving worker is stopped with SIGTERM (it drains, then exits), the
redis-server and the mock are stopped, every child is reaped and the temporary directory removed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TextIO

import trio

from codex_trio._protocol import (
    AgentMessageItem,
    ItemCompletedEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
)
from codex_trio.cluster._client import ClusterClient, EventsGap, TurnHandle, TurnRestarted
from codex_trio.cluster._errors import ClusterError
from codex_trio.testing import (
    MockResponsesServer,
    RecordedRequest,
    RedisServer,
    RedisServerUnavailable,
    Script,
    Step,
    find_redis_server,
    hold,
    message,
    write_codex_home,
)

__all__ = ["run_cluster_demo"]

THREAD_KEY = "demo-ticket-7"
TASK = "[cluster-demo] summarise ticket 7"
ANSWER = "Ticket 7: the login page times out under load."
FOLLOW_UP = "[cluster-demo] and what should we do first?"
FOLLOW_UP_ANSWER = "Add a connection pool limit, then load-test again."
UNSENT = "this answer is never sent"
_HANG_GUARD = 120.0  # seconds; the demo takes about 6


def _reply(held_once: list[bool]) -> Script:
    """The task's first request is held (the turn is then in flight, its worker waiting on the
    model); every later request of it is answered; the follow-up gets its own answer."""

    def reply(request: RecordedRequest) -> Step:
        last = request.last_user_text() or ""
        if FOLLOW_UP in last:
            return message(FOLLOW_UP_ANSWER)
        if not held_once:
            held_once.append(True)
            return hold(message(UNSENT))
        return message(ANSWER)

    return Script.replying(reply)


class WorkerProcess:
    def __init__(self, name: str, process: trio.Process, home: Path, log: Path) -> None:
        self.name = name
        self.process = process
        self.home = home
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal_group(self, sig: int) -> None:
        """Signal the worker's whole session (it and its codex children: a machine dying)."""
        os.killpg(self.process.pid, sig)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@asynccontextmanager
async def worker_process(
    name: str, root: Path, redis_url: str, base_url: str, options: Mapping[str, float | str]
) -> AsyncIterator[WorkerProcess]:
    """``python -m codex_trio.cli worker --name NAME`` (``options``: more of its flags, e.g.
    ``{"lease_ms": 1500}``) with a CODEX_HOME of its own under ``root``, in a session of its
    own; yields once it printed its ready line; stopped (SIGTERM, then SIGKILL) and reaped
    after. ``bench/bench_cluster.py`` starts its workers with it too."""
    directory = root / f"worker-{name}"
    home = write_codex_home(directory / "codex-home", base_url=base_url)
    env = home.environ()
    env["CODEX_TRIO_REDIS_URL"] = redis_url  # not in argv: other users can read a command line
    argv = [sys.executable, "-m", "codex_trio.cli", "worker", "--name", name]
    for option, value in options.items():
        argv += [f"--{option.replace('_', '-')}", str(value)]
    log_path = directory / "worker.log"
    with log_path.open("wb") as log:
        process = await trio.lowlevel.open_process(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
    worker = WorkerProcess(name, process, home.path, log_path)
    try:
        assert process.stdout is not None
        line = b""
        with trio.fail_after(60):
            while b"\n" not in line:
                chunk = await process.stdout.receive_some(4096)
                if not chunk:
                    raise ClusterError(f"worker {name} exited at start:\n{worker.log_tail()}")
                line += chunk
        if b'"ready"' not in line:
            raise ClusterError(f"worker {name} did not say it was ready: {line[:200]!r}")
        yield worker
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                with trio.move_on_after(30):
                    await process.wait()
            if process.returncode is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            await process.wait()
            if process.stdout is not None:
                await process.stdout.aclose()


async def _turn_fields(client: ClusterClient, turn_id: str) -> tuple[str | None, int]:
    """(the worker that last started the turn, its deliveries) from the turn's hash."""
    key = client.keys.turn(turn_id)
    worker, deliveries = await client._conn.call(lambda r: r.hmget(key, ["worker", "deliveries"]))
    return (worker.decode() if worker else None), int(deliveries or 0)


async def _show_events(handle: TurnHandle, out: TextIO) -> None:
    async for event in handle.events():
        if isinstance(event, ThreadStartedEvent):
            print(f"  [client] event: thread started (codex thread {event.thread_id})", file=out)
        elif isinstance(event, TurnRestarted):
            print(
                f"  [client] event: TurnRestarted(attempt={event.attempt}): the turn runs again; "
                "the events after this marker are the new run's",
                file=out,
            )
        elif isinstance(event, EventsGap):
            print(f"  [client] event: {event.missed} events dropped (capped stream)", file=out)
        elif isinstance(event, ItemCompletedEvent) and isinstance(event.item, AgentMessageItem):
            print(f"  [client] event: the agent says {event.item.text!r}", file=out)
        elif isinstance(event, TurnCompletedEvent):
            print("  [client] event: turn completed", file=out)


async def _demo(root: Path, binary: str, out: TextIO, claim_idle_ms: int) -> bool:
    lease_ms = max(100, claim_idle_ms * 3 // 5)
    options: dict[str, float | str] = {
        "concurrency": 1,
        "lease_ms": lease_ms,
        "claim_idle_ms": claim_idle_ms,
        "block_ms": 200,
        "sample_interval": 0.5,
        "drain_timeout": 10,
    }
    work = root / "work"
    work.mkdir()
    held_once: list[bool] = []
    async with (
        MockResponsesServer(_reply(held_once)) as model,
        RedisServer(root / "redis", binary=binary) as redis,
    ):
        print(f"[redis] redis-server pid {redis.pid} on {redis.url} (AOF on)", file=out)
        print(f"[model] mock Responses API on {model.base_url}", file=out)
        async with (
            worker_process("A", root, redis.url, model.base_url, options) as a,
            worker_process("B", root, redis.url, model.base_url, options) as b,
        ):
            workers = {"A": a, "B": b}
            for w in (a, b):
                print(
                    f"[worker {w.name}] pid {w.process.pid} ready (its own CODEX_HOME "
                    f"{w.home}; lease {lease_ms} ms, reclaimed after {claim_idle_ms} ms idle)",
                    file=out,
                )
            async with ClusterClient(redis.url, block_ms=200) as client:
                handle = await client.submit(
                    THREAD_KEY, TASK, working_directory=str(work), skip_git_repo_check=True
                )
                print(
                    f"[client] submitted turn {handle.turn_id} of thread {THREAD_KEY!r}",
                    file=out,
                )
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_show_events, handle, out)
                    await model.wait_for_held()
                    taker, _ = await _turn_fields(client, handle.turn_id)
                    if taker not in workers:
                        print(f"[demo] unexpected worker {taker!r} on the turn", file=out)
                        return False
                    victim = workers[taker]
                    other = b if victim is a else a
                    print(
                        f"[worker {taker}] took the turn; its codex is mid-turn, waiting on "
                        "the model",
                        file=out,
                    )
                    print(
                        f"[demo] kill -9 worker {taker} (pid {victim.process.pid}); its codex "
                        "dies with it, as when a machine goes down",
                        file=out,
                    )
                    victim.process.send_signal(signal.SIGKILL)
                    await victim.process.wait()
                    stats = await client.queue_stats()
                    print(
                        f"[worker {taker}] gone (exit {victim.process.returncode}); its entry is "
                        f"still pending in the consumer group (pending={stats.pending})",
                        file=out,
                    )
                    while True:
                        who, deliveries = await _turn_fields(client, handle.turn_id)
                        if who == other.name and deliveries >= 2:
                            break
                        await trio.sleep(0.05)
                    print(
                        f"[worker {other.name}] reclaimed the turn (XAUTOCLAIM), took the "
                        f"thread's lease and runs it again (delivery {deliveries}) from the "
                        "thread's last committed state (none yet: the killed run committed "
                        "nothing, so the thread starts afresh)",
                        file=out,
                    )
                    result = await handle.result()
                print(
                    f"[client] result: {result.final_response!r} (status {result.status}, "
                    f"codex thread {result.thread_id})",
                    file=out,
                )
                record = await client.thread(THREAD_KEY)
                if record is None:
                    return False
                committed_by = record.worker
                print(
                    f"[redis] thread {THREAD_KEY!r}: committed by worker {record.worker}, "
                    f"{record.version} turn(s), rollout {record.rollout_bytes} bytes, fencing "
                    f"token {record.fence}",
                    file=out,
                )
                follow_handle = await client.submit(THREAD_KEY, FOLLOW_UP)
                follow = await follow_handle.result()
                who, _ = await _turn_fields(client, follow_handle.turn_id)
                record = await client.thread(THREAD_KEY)
                print(
                    f"[client] follow-up on the same thread, run by worker {who}: "
                    f"{follow.final_response!r}",
                    file=out,
                )
                history = model.requests[-1]
                prompts = history.input_texts().count(TASK)
                answers = history.input_texts("assistant").count(ANSWER)
                unsent = history.input_texts("assistant").count(UNSENT)
                print(
                    f"[history] the follow-up's request to the model carried the thread's "
                    f"history: the killed turn's prompt {prompts} time(s), its answer "
                    f"{answers} time(s), the killed run's answer {unsent} time(s)",
                    file=out,
                )
                stats = await client.queue_stats()
            print(
                f"[demo] queue: depth {stats.depth}, pending {stats.pending}, dead letters "
                f"{stats.dead_letters}; stopping worker {other.name} (SIGTERM)",
                file=out,
            )
        print(
            f"[worker {other.name}] stopped (exit {other.process.returncode})",
            file=out,
        )
    print(
        "[demo] redis-server and the mock model stopped; removing the temporary directory",
        file=out,
    )
    return (
        result.final_response == ANSWER
        and follow.final_response == FOLLOW_UP_ANSWER
        and record is not None
        and committed_by == other.name
        and record.version == 2
        and prompts == 1
        and answers == 1
        and unsent == 0
        and stats.depth == 0
        and stats.pending == 0
        and other.process.returncode == 0
    )


def _log_tails(root: Path) -> str:
    tails = []
    for log in sorted(root.glob("worker-*/worker.log")):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        tails.append(f"--- {log.parent.name} ---\n{tail}")
    return "\n".join(tails)


async def run_cluster_demo(claim_idle_ms: int = 2500) -> int:
    """Run the demo (see the module docstring); 0 when every step went as shown."""
    out = sys.stdout
    try:
        binary = find_redis_server()
    except RedisServerUnavailable as exc:
        print(f"cluster-demo: {exc}", file=sys.stderr)
        return 2
    print(
        "codex-trio cluster-demo: a local redis-server, two workers (separate processes, each "
        "with its own CODEX_HOME) and a client; real codex, mock model",
        file=out,
    )
    with tempfile.TemporaryDirectory(prefix="codex-trio-cluster-demo-") as tmp:
        try:
            with trio.fail_after(_HANG_GUARD):
                ok = await _demo(Path(tmp), binary, out, claim_idle_ms)
        except (ClusterError, trio.TooSlowError) as exc:
            print(f"cluster-demo: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
            print(_log_tails(Path(tmp)), file=sys.stderr)
            return 1
    print("cluster-demo finished" if ok else "cluster-demo: FAILED (see above)", file=out)
    return 0 if ok else 1
