"""The offline demo: supervised threads on the real codex binary and the built-in mock model.

``codex-trio demo`` starts a :class:`~codex_trio.Runtime`, serves ``/metrics`` from inside it,
and runs a few threads at once, each a short conversation (a shell command and its summary, then a
follow-up turn that resumes the thread). One thread's codex process is killed on purpose
(SIGKILL) in the middle of its turn: its actor is restarted by its supervisor and the turn is
retried on the same Codex thread. Events are printed as they happen; a summary of the Prometheus
metrics ends the run. ``--serve`` keeps the runtime up (a heartbeat turn every few seconds) until
SIGINT or SIGTERM, then drains and exits 0.

Nothing leaves the machine: the model is :class:`~codex_trio.testing.MockResponsesServer` on
127.0.0.1.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import tempfile
from collections.abc import Hashable
from pathlib import Path
from typing import TextIO

import trio

from codex_trio._protocol import (
    AgentMessageItem,
    CommandExecutionItem,
    ItemCompletedEvent,
    ThreadEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
)
from codex_trio._protocol.options import ThreadOptions
from codex_trio.runtime import RetryPolicy, Runtime, ThreadHandle
from codex_trio.testing import (
    MockResponsesServer,
    Script,
    Step,
    exec_command,
    hold,
    message,
    write_codex_home,
)
from codex_trio.testing._recorded import RecordedRequest

__all__ = ["run_demo"]

_MARKER = re.compile(r"\[demo-thread-(\w+)\]")
VICTIM = "0"


def _conversation_key(request: RecordedRequest) -> str:
    return request.marker(_MARKER) or "?"


def demo_script(threads: int) -> Script:
    """Per thread: a command, its summary, the follow-up's answer. Thread 0's first request is
    held open (its codex gets killed meanwhile) before the same conversation is played."""
    plan: dict[Hashable, list[Step]] = {}
    for n in range(threads):
        steps: list[Step] = [
            exec_command(f"echo thread {n} checking in", login=False),
            message(f"Thread {n}: the command ran."),
            message(f"Thread {n}: follow-up answered."),
        ]
        if str(n) == VICTIM:
            steps.insert(0, hold(message("never delivered")))
        plan[str(n)] = steps
    return Script.by_key(_conversation_key, plan, default=message("heartbeat"))


def _show(name: str, event: ThreadEvent, out: TextIO) -> None:
    if isinstance(event, ThreadStartedEvent):
        print(f"  {name}: codex thread {event.thread_id}", file=out)
    elif isinstance(event, ItemCompletedEvent):
        item = event.item
        if isinstance(item, CommandExecutionItem):
            print(f"  {name}: ran {item.command!r} -> exit {item.exit_code}", file=out)
        elif isinstance(item, AgentMessageItem):
            print(f"  {name}: says {item.text!r}", file=out)
    elif isinstance(event, TurnCompletedEvent):
        print(f"  {name}: turn done ({event.usage.output_tokens} output tokens so far)", file=out)


async def _conversation(handle: ThreadHandle, n: int, out: TextIO, done: list[str]) -> None:
    async with handle.run_streamed(f"[demo-thread-{n}] run a command", timeout=120) as events:
        async for event in events:
            _show(handle.name, event, out)
    result = await handle.run(f"[demo-thread-{n}] and a follow-up", timeout=120)
    print(f"  {handle.name}: follow-up resumed {handle.id}: {result.final_response!r}", file=out)
    done.append(handle.name)


async def _victim(
    runtime: Runtime,
    handle: ThreadHandle,
    server: MockResponsesServer,
    out: TextIO,
    done: list[str],
) -> None:
    async def kill_when_waiting() -> None:
        await server.wait_for_held(1)
        pid = next(info.pid for info in runtime.which_children() if info.name == handle.name)
        if pid is not None:
            print(f"  {handle.name}: killing its codex process {pid} (SIGKILL) mid-turn", file=out)
            os.kill(pid, signal.SIGKILL)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(kill_when_waiting)
        # The retry policy re-runs the turn once the supervisor has restarted the actor.
        result = await handle.run(f"[demo-thread-{VICTIM}] run a command", timeout=120)
    restarts = next(i.restart_count for i in runtime.which_children() if i.name == handle.name)
    print(
        f"  {handle.name}: recovered after {restarts} restart(s): {result.final_response!r}",
        file=out,
    )
    follow_up = await handle.run(f"[demo-thread-{VICTIM}] and a follow-up", timeout=120)
    print(f"  {handle.name}: follow-up resumed {handle.id}: {follow_up.final_response!r}", file=out)
    done.append(handle.name)


async def _heartbeat(handle: ThreadHandle, stop: trio.Event, out: TextIO) -> None:
    """A turn every few seconds until ``stop``; a turn in flight is finished, not cancelled."""
    beat = 0
    while not stop.is_set():
        with trio.move_on_after(5):
            await stop.wait()
        if stop.is_set():
            return
        beat += 1
        result = await handle.run(f"[demo-thread-hb] heartbeat {beat}", timeout=60)
        print(f"  heartbeat {beat}: {result.final_response!r}", file=out)


async def _serve_until_signal(runtime: Runtime, options: ThreadOptions, out: TextIO) -> None:
    # Catch the signals before saying we serve: a SIGTERM right after must drain, not kill. The
    # runtime keeps catching them until it has shut down, so a repeated SIGTERM during the drain
    # cannot kill the process before its codex children are reaped either.
    shutdown = await runtime.catch_shutdown_signals()
    heart = await runtime.start_thread(options, name="heartbeat")
    print("serving; SIGINT or SIGTERM drains and exits", file=out)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_heartbeat, heart, stop, out)
        signum = await shutdown.wait()
        print(f"received {signal.Signals(signum).name}: draining", file=out)
        stop.set()


async def run_demo(threads: int = 4, serve: bool = False, port: int = 0) -> int:
    out = sys.stdout
    threads = max(threads, 1)
    done: list[str] = []
    with tempfile.TemporaryDirectory(prefix="codex-trio-demo-") as tmp:
        workdir = Path(tmp)
        async with MockResponsesServer(demo_script(threads)) as server:
            home = write_codex_home(workdir / "codex-home", base_url=server.base_url)
            async with Runtime(
                env=home.environ(),
                max_concurrent_turns=4,
                retry=RetryPolicy(max_attempts=3, initial_backoff=0.2),
            ) as runtime:
                host, bound = await runtime.serve_metrics(port=port)
                print(
                    f"codex-trio demo: {threads} supervised threads, real codex, mock model; "
                    f"metrics at http://{host}:{bound}/metrics",
                    file=out,
                )
                options = ThreadOptions(working_directory=workdir, skip_git_repo_check=True)
                async with trio.open_nursery() as nursery:
                    for n in range(threads):
                        handle = await runtime.start_thread(options, name=f"thread-{n}")
                        if str(n) == VICTIM:
                            nursery.start_soon(_victim, runtime, handle, server, out, done)
                        else:
                            nursery.start_soon(_conversation, handle, n, out, done)
                if serve:
                    await _serve_until_signal(runtime, options, out)
                metrics = runtime.metrics
                assert metrics is not None
                summary = metrics.snapshot()
    print("metrics summary:", file=out)
    for name, value in sorted(summary.items()):
        if value:
            print(f"  {name} = {value:g}", file=out)
    ok = len(done) == threads
    print("demo finished" if ok else f"demo incomplete: {sorted(done)}", file=out)
    return 0 if ok else 1
