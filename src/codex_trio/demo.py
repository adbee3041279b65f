"""The offline demo: real codex processes, the built-in mock model, metrics, live progress.

``codex-trio demo`` runs a few threads at once, each a short conversation (a shell command, then
an answer, then a follow-up turn that resumes the thread), prints each event as it happens and a
summary of the Prometheus metrics at the end. Nothing leaves the machine: the model is
:class:`~codex_trio.testing.MockResponsesServer` on 127.0.0.1.
"""

from __future__ import annotations

import functools
import re
import sys
import tempfile
from collections.abc import Hashable
from pathlib import Path
from typing import TextIO

import trio

from codex_trio.api import Codex
from codex_trio.observe import Metrics, serve_metrics
from codex_trio.protocol import (
    AgentMessageItem,
    CommandExecutionItem,
    ItemCompletedEvent,
    ThreadEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
)
from codex_trio.testing import (
    MockResponsesServer,
    Script,
    Step,
    exec_command,
    message,
    write_codex_home,
)
from codex_trio.testing.recorded import RecordedRequest

__all__ = ["run_demo"]

_MARKER = re.compile(r"\[demo-thread-(\d+)\]")


def _conversation_key(request: RecordedRequest) -> str:
    return request.marker(_MARKER) or "?"


def demo_script(threads: int) -> Script:
    """Per thread: a command, its summary, then the answer to the follow-up turn."""
    plan: dict[Hashable, list[Step]] = {}
    for n in range(threads):
        plan[str(n)] = [
            exec_command(f"echo thread {n} checking in", login=False),
            message(f"Thread {n}: the command ran."),
            message(f"Thread {n}: follow-up answered."),
        ]
    return Script.by_key(_conversation_key, plan)


async def _conversation(codex: Codex, n: int, workdir: Path, out: TextIO, done: list[str]) -> None:
    thread = codex.start_thread(working_directory=str(workdir), skip_git_repo_check=True)
    async with thread.run_streamed(f"[demo-thread-{n}] run a command", timeout=120) as events:
        async for event in events:
            _show(n, event, out)
    result = await thread.run(f"[demo-thread-{n}] and a follow-up", timeout=120)
    done.append(result.final_response or "")
    print(f"  thread {n}: resumed {thread.id}: {result.final_response!r}", file=out)


def _show(n: int, event: ThreadEvent, out: TextIO) -> None:
    if isinstance(event, ThreadStartedEvent):
        print(f"  thread {n}: started {event.thread_id}", file=out)
    elif isinstance(event, ItemCompletedEvent):
        item = event.item
        if isinstance(item, CommandExecutionItem):
            print(f"  thread {n}: ran {item.command!r} -> exit {item.exit_code}", file=out)
        elif isinstance(item, AgentMessageItem):
            print(f"  thread {n}: says {item.text!r}", file=out)
    elif isinstance(event, TurnCompletedEvent):
        print(f"  thread {n}: turn done ({event.usage.output_tokens} output tokens)", file=out)


async def run_demo(threads: int = 4, serve: bool = False, port: int = 0) -> int:
    out = sys.stdout
    metrics = Metrics()
    metrics.attach()
    try:
        with tempfile.TemporaryDirectory(prefix="codex-trio-demo-") as tmp:
            workdir = Path(tmp)
            async with MockResponsesServer(demo_script(threads)) as server:
                home = write_codex_home(workdir / "codex-home", base_url=server.base_url)
                codex = Codex(env=home.environ())
                async with trio.open_nursery() as nursery:
                    host, bound = await nursery.start(
                        functools.partial(serve_metrics, metrics.registry, port=port)
                    )
                    url = f"http://{host}:{bound}/metrics"
                    print(f"codex-trio demo: {threads} threads, metrics at {url}", file=out)
                    done: list[str] = []
                    async with trio.open_nursery() as turns:
                        for n in range(threads):
                            turns.start_soon(_conversation, codex, n, workdir, out, done)
                    nursery.cancel_scope.cancel()
    finally:
        metrics.detach()
    print("summary:", file=out)
    for name, value in sorted(metrics.snapshot().items()):
        print(f"  {name} = {value:g}", file=out)
    return 0 if len(done) == threads else 1
