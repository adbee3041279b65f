"""Engine services of ``Codex`` (models, config, MCP status, account, command exec, review,
login) on the real binary, with the mock model."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio import _redact as redact
from codex_trio.app_server import InternalError, InvalidRequestError
from codex_trio.testing import (
    MockModel,
    MockRateLimits,
    MockRateLimitWindow,
    message,
    response,
)

GUARD = 120
TRANSPORTS = ["exec", "app-server"]
MCP_SERVER = Path(__file__).with_name("_mcp_echo_server.py")


@asynccontextmanager
async def open_codex(
    mock_model: MockModel, transport: str, **options: Any
) -> AsyncIterator[codex_trio.Codex]:
    """A Codex on ``transport`` (app-server: the long-lived process of ``async with``)."""
    with trio.fail_after(GUARD):
        async with codex_trio.Codex(
            transport=transport,  # type: ignore[arg-type]
            env=mock_model.env,
            thread_defaults={
                "working_directory": str(mock_model.workdir),
                "skip_git_repo_check": True,
            },
            **options,
        ) as codex:
            yield codex


# ------------------------------------------------------------------------------ models


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_models_lists_the_engines_catalogue(mock_model: MockModel, transport: str) -> None:
    async with open_codex(mock_model, transport) as codex:
        models = await codex.models()
    [model] = [m for m in models if m.id == mock_model.home.model]
    assert model.is_default and not model.hidden
    assert "medium" in model.reasoning_efforts
    assert model.default_reasoning_effort == "medium"
    assert "text" in model.input_modalities


async def test_app_server_services_work_outside_async_with_too(mock_model: MockModel) -> None:
    codex = codex_trio.Codex(transport="app-server", env=mock_model.env)
    with trio.fail_after(GUARD):
        models = await codex.models()  # a private app-server for the call
    assert any(m.id == mock_model.home.model for m in models)


# ------------------------------------------------------------------------------ config


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_config_writes_change_what_config_read_returns(
    mock_model: MockModel, transport: str
) -> None:
    async with open_codex(mock_model, transport) as codex:
        before = await codex.read_config()
        assert before["model"] == mock_model.home.model
        assert before.get("model_reasoning_effort") is None
        await codex.write_config({"model_reasoning_effort": "high"})  # config/value/write
        await codex.write_config(  # config/batchWrite
            [
                codex_trio.ConfigEdit("model_verbosity", "low"),
                codex_trio.ConfigEdit("shell_environment_policy", {"inherit": "core"}, merge=True),
            ]
        )
        after = await codex.read_config()
    assert after.get("model_reasoning_effort") == "high"
    assert after.get("model_verbosity") == "low"
    assert after.get("shell_environment_policy.inherit") == "core"
    assert after.origins["model_verbosity"]["type"] == "user"
    assert after.version is not None and after.version != before.version
    # Written into the test's CODEX_HOME, where later codex processes read it.
    on_disk = tomllib.loads(mock_model.home.config_path.read_text())
    assert on_disk["model_reasoning_effort"] == "high"
    assert on_disk["model_verbosity"] == "low"
    assert on_disk["model_providers"]["mock"]["base_url"] == mock_model.server.base_url


async def test_a_write_over_a_stale_version_is_refused(mock_model: MockModel) -> None:
    async with open_codex(mock_model, "exec") as codex:
        stale = (await codex.read_config()).version
        await codex.write_config({"model_verbosity": "high"})
        with pytest.raises(InvalidRequestError, match="modified since last read"):
            await codex.write_config({"model_verbosity": "low"}, expected_version=stale)
        assert (await codex.read_config()).get("model_verbosity") == "high"


async def test_write_config_checks_its_edits_before_any_process(mock_model: MockModel) -> None:
    codex = codex_trio.Codex(env=mock_model.env)
    with pytest.raises(codex_trio.ConfigurationError):
        await codex.write_config({})


# ------------------------------------------------------------------------------ MCP


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_mcp_servers_report_tools_and_startup_failures(
    mock_model: MockModel, transport: str
) -> None:
    mock_model.configure(
        extra_config={
            "mcp_servers": {
                "echo": {"command": sys.executable, "args": [str(MCP_SERVER)]},
                "broken": {"command": "/nonexistent/mcp-server"},
            }
        }
    )
    async with open_codex(mock_model, transport) as codex:
        servers = {s.name: s for s in await codex.mcp_servers()}
    assert set(servers) == {"echo", "broken"}
    echo = servers["echo"]
    assert echo.tools == ("echo",) and echo.tools_error is None
    assert (echo.server_name, echo.server_version) == ("echo-server", "1.2.3")
    broken = servers["broken"]
    assert broken.tools == () and broken.tools_error is not None
    assert "No such file" in broken.tools_error


# ------------------------------------------------------------------------------ account


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_account_with_a_provider_of_ones_own(mock_model: MockModel, transport: str) -> None:
    async with open_codex(mock_model, transport) as codex:
        account = await codex.account()
    # The mock is a provider of our own: no OpenAI account is needed or reported.
    assert account.kind is None and account.requires_openai_auth is False


async def test_api_key_login_is_stored_and_the_key_kept_secret(mock_model: MockModel) -> None:
    key = "sk-proj-services-test-0123456789abcdef"
    auth_file = mock_model.home.path / "auth.json"
    async with open_codex(mock_model, "exec") as codex:
        await codex.login_api_key(key)
        stored = json.loads(auth_file.read_text())
        assert key in json.dumps(stored)
        assert key not in redact.redact(f"key={key}")
        await codex.logout()
    assert not auth_file.exists() or key not in auth_file.read_text()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_rate_limits_read_needs_a_chatgpt_login(
    mock_model: MockModel, transport: str
) -> None:
    async with open_codex(mock_model, transport) as codex:
        with pytest.raises(codex_trio.LoginRequiredError, match="ChatGPT login"):
            await codex.rate_limits()


async def test_chatgpt_login_gives_the_auth_url_and_can_be_cancelled(
    mock_model: MockModel,
) -> None:
    async with open_codex(mock_model, "app-server") as codex:
        flow = await codex.login_chatgpt()
        assert flow.kind == "chatgpt" and flow.login_id
        assert flow.auth_url is not None
        assert flow.auth_url.startswith("https://auth.openai.com/oauth/authorize?")
        assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback" in flow.auth_url
        await codex.cancel_login(flow)
        result = await codex.wait_for_login(flow)
    assert result.login_id == flow.login_id
    assert result.success is False and result.error


async def test_device_code_login_needs_the_auth_server(mock_model: MockModel) -> None:
    async with open_codex(mock_model, "app-server") as codex:
        # Offline the engine cannot reach auth.openai.com for a code.
        with pytest.raises(InternalError, match="device code"):
            await codex.login_device_code()


async def test_interactive_logins_need_the_long_lived_app_server(mock_model: MockModel) -> None:
    with pytest.raises(codex_trio.ConfigurationError, match="transport='exec'"):
        await codex_trio.Codex(env=mock_model.env).login_chatgpt()
    with pytest.raises(codex_trio.ConfigurationError, match="async with"):
        await codex_trio.Codex(transport="app-server", env=mock_model.env).login_chatgpt()


# ------------------------------------------------------------------------------ command exec


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_run_command_returns_output_and_exit_code(
    mock_model: MockModel, transport: str
) -> None:
    async with open_codex(mock_model, transport) as codex:
        result = await codex.run_command(
            ["sh", "-c", 'echo "out $GREETING"; echo err >&2; exit 3'],
            cwd=str(mock_model.workdir),
            env={"GREETING": "hello"},
        )
    assert isinstance(result, codex_trio.CommandResult)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out hello\n", "err\n")
    assert not result.ok and not result.timed_out


async def test_run_command_timeout_is_reported(mock_model: MockModel) -> None:
    async with open_codex(mock_model, "app-server") as codex:
        result = await codex.run_command(["sh", "-c", "echo started; sleep 30"], timeout=0.5)
    assert result.timed_out and result.exit_code == 124


async def test_run_command_runs_in_the_sandbox(mock_model: MockModel) -> None:
    target = mock_model.workdir / "written.txt"
    argv = ["sh", "-c", f"echo x > {target}"]
    async with open_codex(mock_model, "app-server") as codex:
        refused = await codex.run_command(argv, cwd=str(mock_model.workdir))
        assert refused.exit_code != 0 and "Read-only file system" in refused.stderr
        assert not target.exists()
        allowed = await codex.run_command(
            argv, cwd=str(mock_model.workdir), sandbox="workspace-write"
        )
    assert allowed.ok and target.read_text() == "x\n"


async def test_run_command_checks_argv_before_any_process(mock_model: MockModel) -> None:
    codex = codex_trio.Codex(env=mock_model.env)
    for bad in ([], "ls -l"):
        with pytest.raises(codex_trio.ConfigurationError):
            await codex.run_command(bad)  # type: ignore[arg-type]
    with pytest.raises(codex_trio.ConfigurationError):
        await codex.run_command(["true"], sandbox="nowhere")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ review

REVIEW_OUTPUT = {
    "findings": [
        {
            "title": "[P1] Off-by-one drops the last item",
            "body": "`range(len(xs) - 1)` skips the final element.",
            "confidence_score": 0.8,
            "priority": 1,
            "code_location": {
                "absolute_file_path": "/repo/a.py",
                "line_range": {"start": 2, "end": 3},
            },
        }
    ],
    "overall_correctness": "patch is incorrect",
    "overall_explanation": "One bug in the loop.",
    "overall_confidence_score": 0.7,
}


def git_repo(path: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (path / "a.py").write_text("xs = [1, 2]\n")
    git("add", "a.py")
    git("commit", "-q", "-m", "first")
    (path / "a.py").write_text("xs = [1, 2]\nfor i in range(len(xs) - 1):\n    print(xs[i])\n")
    return git("rev-parse", "HEAD")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_review_of_uncommitted_changes_returns_typed_findings(
    mock_model: MockModel, transport: str
) -> None:
    git_repo(mock_model.workdir)
    window = MockRateLimitWindow(used_percent=10)
    mock_model.script = [
        response(message(json.dumps(REVIEW_OUTPUT)), rate_limits=MockRateLimits(primary=window))
    ]
    async with open_codex(mock_model, transport) as codex:
        review = await codex.review(codex_trio.ReviewUncommittedChanges())
    assert isinstance(review, codex_trio.ReviewResult)
    [finding] = review.findings
    assert finding.title == "[P1] Off-by-one drops the last item"
    assert (finding.priority, finding.confidence_score) == (1, 0.8)
    assert (finding.file, finding.line_start, finding.line_end) == ("/repo/a.py", 2, 3)
    assert review.overall_correctness == "patch is incorrect"
    assert review.overall_explanation == "One bug in the loop."
    assert review.overall_confidence_score == 0.7
    # codex's own rendering of it (the exitedReviewMode item)
    assert review.text is not None
    assert review.text.startswith("One bug in the loop.")
    assert "[P1] Off-by-one drops the last item" in review.text
    assert any(getattr(i, "type", None) == "exitedReviewMode" for i in review.items)
    # codex 0.163 sends no account/rateLimits/updated for a review turn (sub-agent).
    assert codex.latest_rate_limits is None
    # The engine ran a review turn: codex's review guidelines went to the model.
    [request] = mock_model.requests
    assert "Review guidelines" in json.dumps(request.body)
    assert "staged, unstaged, and untracked" in json.dumps(request.body)


async def test_review_targets_reach_the_model(mock_model: MockModel) -> None:
    sha = git_repo(mock_model.workdir)
    mock_model.script = [message(json.dumps(REVIEW_OUTPUT)) for _ in range(3)]
    targets = [
        codex_trio.ReviewBaseBranch("main"),
        codex_trio.ReviewCommit(sha, title="first"),
        "Check the loop bounds in a.py",  # custom instructions
    ]
    async with open_codex(mock_model, "app-server") as codex:
        reviews = [await codex.review(t) for t in targets]
    assert all(len(r.findings) == 1 for r in reviews)
    prompts = [json.dumps(r.body) for r in mock_model.requests]
    assert "main" in prompts[0]
    assert sha in prompts[1]
    assert "Check the loop bounds in a.py" in prompts[2]


async def test_review_on_an_existing_thread_runs_inline(mock_model: MockModel) -> None:
    git_repo(mock_model.workdir)
    mock_model.script = [message("hello"), message("Looks fine to me.")]
    async with open_codex(mock_model, "app-server") as codex:
        thread = codex.start_thread()
        await thread.run("hi")
        assert thread.id is not None
        review = await codex.review("Anything wrong?", thread_id=thread.id)
    assert review.thread_id == thread.id
    # Not the structured output: no findings, the model's words as the text.
    assert review.findings == () and review.text == "Looks fine to me."


async def test_a_review_turn_failure_is_a_typed_error(mock_model: MockModel) -> None:
    from codex_trio.testing import usage_limit_reached

    git_repo(mock_model.workdir)
    mock_model.script = [usage_limit_reached(resets_at=2_000_000_000)]
    async with open_codex(mock_model, "app-server") as codex:
        with pytest.raises(codex_trio.UsageLimitError) as caught:
            await codex.review()
    assert caught.value.resets_at is not None


async def test_review_timeout_interrupts_it(mock_model: MockModel) -> None:
    from codex_trio.testing import hang

    git_repo(mock_model.workdir)
    mock_model.script = [hang()]
    async with open_codex(mock_model, "app-server") as codex:
        with pytest.raises(codex_trio.TurnDeadlineError):
            await codex.review(timeout=1.0)
