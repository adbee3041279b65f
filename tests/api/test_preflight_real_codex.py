"""What a turn needs is checked before any codex process starts, the same way on both transports
(approval policy per transport, working directory, prompt), and the lists and limits checked are
the real binary's own."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio._errors import ConfigurationError
from codex_trio._protocol.app_server.messages import InvalidParamsError, InvalidRequestError
from codex_trio._protocol.options import MAX_INPUT_CHARS, CodexOptions, ThreadOptions
from codex_trio._transport.app_server import open_app_server
from codex_trio.testing import MockModel, Script, message

pytestmark = pytest.mark.integration

TRANSPORTS = ["exec", "app-server"]
GRANULAR = {"granular": {"sandbox_approval": True, "rules": True, "mcp_elicitations": False}}


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The argv of every process started from now on (the codex version check included): every
    spawn, trio's or the SDK's own, goes through ``subprocess.Popen``."""
    calls: list[Any] = []
    init = subprocess.Popen.__init__

    def spy(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
        calls.append(args)
        init(self, args, *rest, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    return calls


@asynccontextmanager
async def codex_on(transport: str, mock_model: MockModel) -> AsyncIterator[codex_trio.Codex]:
    # Not entered as `async with` for app-server: a turn then starts its own process, so "no
    # process started" is visible to the spy.
    yield codex_trio.Codex(env=mock_model.env, transport=transport)  # type: ignore[arg-type]


def options(mock_model: MockModel, **kw: Any) -> dict[str, Any]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True, **kw}


@pytest.mark.parametrize(
    ("transport", "policy"), [("exec", "untrusted"), ("app-server", "on-failure")]
)
async def test_a_policy_the_transports_engine_refuses_fails_before_any_process(
    mock_model: MockModel, spawned: list[Any], transport: str, policy: str
) -> None:
    async with codex_on(transport, mock_model) as codex:
        thread = codex.start_thread(**options(mock_model, approval_policy=policy))
        with pytest.raises(ConfigurationError, match=f"{policy}.*{transport} transport"):
            await thread.run("hi", timeout=60)
    assert spawned == [] and mock_model.requests == []


@pytest.mark.parametrize(
    ("transport", "policy"),
    [
        ("exec", "on-failure"),
        ("exec", GRANULAR),
        ("app-server", "untrusted"),
        ("app-server", GRANULAR),
    ],
)
async def test_the_policies_only_one_transport_takes_run_there_on_the_real_binary(
    mock_model: MockModel, transport: str, policy: Any
) -> None:
    mock_model.script = [message("ran")]
    async with codex_on(transport, mock_model) as codex:
        thread = codex.start_thread(**options(mock_model, approval_policy=policy))
        with trio.fail_after(90):
            result = await thread.run("hi", timeout=60)
    assert result.final_response == "ran"


async def test_the_engine_refuses_what_preflight_refuses(mock_model: MockModel) -> None:
    """The per-transport lists are codex's: the refused policy fails on the binary itself."""
    mock_model.script = Script([], default=message("ok"))
    refused = await mock_model.exec("hi", "-c", 'approval_policy="untrusted"')
    assert refused.returncode == 1 and "untrusted" in refused.stderr
    with trio.fail_after(90):
        async with open_app_server(
            CodexOptions(codex_path=mock_model.codex, env=mock_model.env)
        ) as c:
            with pytest.raises(InvalidRequestError, match="on-failure"):
                await c.thread_start(
                    ThreadOptions(**options(mock_model)), approval_policy="on-failure"
                )


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_missing_working_directory_is_named_before_any_process(
    mock_model: MockModel, spawned: list[Any], transport: str
) -> None:
    missing = mock_model.workdir / "does-not-exist"
    async with codex_on(transport, mock_model) as codex:
        thread = codex.start_thread(working_directory=str(missing), skip_git_repo_check=True)
        with pytest.raises(ConfigurationError, match=r"working_directory.*does not exist"):
            await thread.run("hi", timeout=60)
    assert spawned == [] and mock_model.requests == []


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("prompt", ["", "  \n "])
async def test_an_empty_prompt_is_named_before_any_process(
    mock_model: MockModel, spawned: list[Any], transport: str, prompt: str
) -> None:
    async with codex_on(transport, mock_model) as codex:
        thread = codex.start_thread(**options(mock_model))
        with pytest.raises(ConfigurationError, match="prompt is"):
            await thread.run(prompt, timeout=60)
    assert spawned == [] and mock_model.requests == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_prompt_over_codexs_limit_is_named_before_any_process(
    mock_model: MockModel, spawned: list[Any], transport: str
) -> None:
    async with codex_on(transport, mock_model) as codex:
        thread = codex.start_thread(**options(mock_model))
        with pytest.raises(ConfigurationError, match="at most 1,048,576"):
            await thread.run("x" * 2_000_000, timeout=60)
    assert spawned == [] and mock_model.requests == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_prompt_of_exactly_codexs_limit_runs(
    mock_model: MockModel, spawned: list[Any], transport: str
) -> None:
    mock_model.script = [message("read it")]
    async with codex_on(transport, mock_model) as codex:
        thread = codex.start_thread(**options(mock_model))
        with trio.fail_after(90):
            result = await thread.run("é" * MAX_INPUT_CHARS, timeout=60)
    assert result.final_response == "read it"
    assert spawned  # the spy of the tests above sees the processes a turn starts


async def test_codexs_own_limit_is_max_input_chars(mock_model: MockModel) -> None:
    """The limit checked is the binary's: one character more and codex itself refuses."""
    over = "x" * (MAX_INPUT_CHARS + 1)
    refused = await mock_model.exec(over)
    assert refused.returncode == 1 and "input_too_large" in refused.stderr
    assert f'"max_chars":{MAX_INPUT_CHARS}' in refused.stderr
    mock_model.script = Script([], default=message("ok"))
    with trio.fail_after(90):
        async with open_app_server(
            CodexOptions(codex_path=mock_model.codex, env=mock_model.env)
        ) as c:
            started = await c.thread_start(ThreadOptions(**options(mock_model)))
            with pytest.raises(InvalidParamsError, match=f"maximum length of {MAX_INPUT_CHARS}"):
                await c.run_turn(started.thread.id, over)
