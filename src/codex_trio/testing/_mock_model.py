"""The mock model as one object: a running server, a CODEX_HOME pointing at it, and a codex runner.

:func:`open_mock_model` is what the pytest fixture ``mock_model`` yields, and what a test or demo
without pytest can use directly::

    async with open_mock_model(tmp_path, Script([message("hi")])) as model:
        result = await model.exec("Say hi")
        assert result.final_message == "hi"

:meth:`MockModel.exec` runs ``codex exec --json`` once, feeding the prompt on stdin and closing
it (codex waits for EOF before it starts). It is a test helper, not the SDK: it keeps the whole
output in memory and knows nothing about threads beyond ``resume``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio

from codex_trio._errors import CodexNotFoundError
from codex_trio._transport import discovery
from codex_trio._transport.discovery import ENV_VAR
from codex_trio.testing._codex_home import CodexHome, write_codex_home
from codex_trio.testing._mock_server import MockResponsesServer
from codex_trio.testing._recorded import RecordedRequest
from codex_trio.testing._script import Script, Step

__all__ = [
    "CODEX_ENV_VAR",
    "ExecResult",
    "MockModel",
    "find_codex",
    "open_mock_model",
    "run_codex_exec",
]

CODEX_ENV_VAR = ENV_VAR
"""Environment variable naming the codex binary (the same one :class:`~codex_trio.Codex` reads)."""


def find_codex() -> str:
    """The codex binary to test with, found as :class:`~codex_trio.Codex` finds it
    (``$CODEX_TRIO_CODEX_PATH``, the pinned wheel, ``PATH``).

    Raises ``FileNotFoundError`` naming every place tried when there is none.
    """
    try:
        return discovery.find_codex()
    except CodexNotFoundError as exc:
        raise FileNotFoundError(str(exc)) from exc


@attrs.frozen(kw_only=True)
class ExecResult:
    """What one ``codex exec --json`` run printed.

    ``events`` are the JSON lines of stdout, in order; ``stderr`` is codex's diagnostics (it
    always says "Reading prompt from stdin...").
    """

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes = attrs.field(repr=False)
    stderr: str = attrs.field(repr=False)
    events: tuple[dict[str, Any], ...]

    @property
    def thread_id(self) -> str | None:
        """The id from ``thread.started``."""
        for event in self.events:
            if event.get("type") == "thread.started":
                return str(event["thread_id"])
        return None

    @property
    def last_event(self) -> dict[str, Any] | None:
        """The final event (``turn.completed`` or ``turn.failed`` for a finished turn)."""
        return self.events[-1] if self.events else None

    def items(self, item_type: str | None = None) -> list[dict[str, Any]]:
        """The items of ``item.completed`` events (of ``item_type`` only, if given)."""
        found: list[dict[str, Any]] = []
        for event in self.events:
            if event.get("type") == "item.completed":
                item = event["item"]
                if item_type is None or item.get("type") == item_type:
                    found.append(item)
        return found

    @property
    def final_message(self) -> str | None:
        """The text of the last ``agent_message`` item."""
        messages = self.items("agent_message")
        return str(messages[-1]["text"]) if messages else None


async def run_codex_exec(
    codex: str,
    env: Mapping[str, str],
    workdir: str | os.PathLike[str],
    prompt: str,
    *args: str,
    resume: str | None = None,
    hang_guard: float = 60.0,
) -> ExecResult:
    """Run ``codex exec --json --skip-git-repo-check -C <workdir> <args> [resume <id>]`` with
    ``prompt`` on stdin and ``env`` as its whole environment; bounded by ``hang_guard`` seconds
    (``trio.TooSlowError``), after which, or on cancellation, trio terminates and reaps codex."""
    argv = [codex, "exec", "--json", "--skip-git-repo-check", "-C", str(workdir), *args]
    if resume is not None:
        argv += ["resume", resume]
    with trio.fail_after(hang_guard):
        proc = await trio.run_process(
            argv,
            stdin=prompt.encode(),
            env=dict(env),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    events = tuple(json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip())
    return ExecResult(
        argv=tuple(argv),
        returncode=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr.decode(errors="replace"),
        events=events,
    )


@attrs.define(kw_only=True)
class MockModel:
    """A running :class:`MockResponsesServer` plus a CODEX_HOME that points codex at it."""

    server: MockResponsesServer
    home: CodexHome
    codex: str
    workdir: Path
    _home_options: dict[str, Any] = attrs.field(factory=dict, alias="home_options")

    @property
    def script(self) -> Script:
        """The server's script; assign a :class:`Script` or a list of steps to replace it."""
        return self.server.script

    @script.setter
    def script(self, value: Script | Iterable[Step]) -> None:
        self.server.script = value

    @property
    def requests(self) -> list[RecordedRequest]:
        """The Responses API requests codex sent so far."""
        return self.server.requests

    @property
    def env(self) -> dict[str, str]:
        """A full environment for a codex process (see :meth:`CodexHome.environ`)."""
        return self.home.environ()

    def configure(self, **options: Any) -> CodexHome:
        """Rewrite the CODEX_HOME with ``write_codex_home`` options, e.g. ``update_plan=True``.

        Options given earlier are kept unless overridden. Affects codex processes started later.
        """
        self._home_options.update(options)
        self.home = write_codex_home(
            self.home.path, base_url=self.server.base_url, **self._home_options
        )
        return self.home

    async def exec(
        self,
        prompt: str,
        *args: str,
        cwd: str | os.PathLike[str] | None = None,
        resume: str | None = None,
        env: Mapping[str, str] | None = None,
        hang_guard: float = 60.0,
    ) -> ExecResult:
        """Run ``codex exec --json --skip-git-repo-check -C <cwd> <args> [resume <id>]``.

        ``cwd`` defaults to :attr:`workdir`. ``env`` adds variables to :attr:`env`. The run is
        bounded by ``hang_guard`` seconds (raising ``trio.TooSlowError``); when they pass or
        the caller is cancelled, trio terminates codex and reaps it before this returns.
        """
        workdir = Path(cwd) if cwd is not None else self.workdir
        return await run_codex_exec(
            self.codex,
            {**self.env, **(env or {})},
            workdir,
            prompt,
            *args,
            resume=resume,
            hang_guard=hang_guard,
        )


@asynccontextmanager
async def open_mock_model(
    directory: str | os.PathLike[str],
    script: Script | Sequence[Step] | None = None,
    *,
    codex: str | None = None,
    **home_options: Any,
) -> AsyncIterator[MockModel]:
    """Start a mock server and write ``<directory>/codex-home``; ``<directory>/work`` is the
    default working directory of :meth:`MockModel.exec`.

    ``home_options`` go to :func:`~codex_trio.testing.write_codex_home` (``update_plan``,
    ``extra_config`` ...). The server stops when the block exits; the directory is left to the
    caller (pytest's ``tmp_path`` cleans itself).
    """
    root = Path(directory)
    workdir = root / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    binary = codex if codex is not None else find_codex()
    async with MockResponsesServer(script) as server:
        home = write_codex_home(root / "codex-home", base_url=server.base_url, **home_options)
        yield MockModel(
            server=server, home=home, codex=binary, workdir=workdir, home_options=dict(home_options)
        )
