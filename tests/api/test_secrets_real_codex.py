"""API keys never reach argv, errors or logs, with the real binary."""

from __future__ import annotations

import io
import json
import os

import pytest

import codex_trio
from codex_trio._errors import TurnFailedError
from codex_trio._protocol import ThreadStartedEvent
from codex_trio.observe import attach_log_handler, configure_logging, detach
from codex_trio.testing import MockModel, hold, http_error, message

SECRET = "sk-live-0123456789abcdefSECRET"


async def test_api_key_is_not_in_argv_and_reaches_codex_env(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("x"))]
    env = {**mock_model.env, "CODEX_TRIO_MOCK_API_KEY": SECRET}
    codex = codex_trio.Codex(env=env, api_key=SECRET)
    thread = codex.start_thread(working_directory=str(mock_model.workdir), skip_git_repo_check=True)
    async with thread.run_streamed("hi", timeout=60) as events:
        async for event in events:
            if isinstance(event, ThreadStartedEvent):
                await mock_model.server.wait_for_held(1)
                pid = events.pid or -1
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read()
                with open(f"/proc/{pid}/environ", "rb") as f:
                    environ = f.read()
                break
    assert SECRET.encode() not in cmdline
    assert SECRET.encode() in environ  # it went where codex reads it: the environment
    # The key was sent to the model as the bearer token (and the mock masks it in headers).
    request = (await mock_model.server.wait_for_requests(1))[0]
    assert SECRET in (request.authorization() or "")
    assert SECRET not in json.dumps(request.headers)


async def test_api_key_is_absent_from_errors_and_logs(mock_model: MockModel) -> None:
    stream = io.StringIO()
    configure_logging(json=True, level="DEBUG", stream=stream)
    handler_id = attach_log_handler()
    try:
        # The mock echoes the key in its error message: codex repeats it in turn.failed.
        mock_model.script = [http_error(401, f"bad key {SECRET}")]
        env = {**mock_model.env, "CODEX_TRIO_MOCK_API_KEY": SECRET}
        codex = codex_trio.Codex(env=env, api_key=SECRET)
        thread = codex.start_thread(
            working_directory=str(mock_model.workdir), skip_git_repo_check=True
        )
        with pytest.raises(TurnFailedError) as info:
            await thread.run("hi", timeout=60)
    finally:
        detach(handler_id)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.args)
    assert "bad key" in str(info.value)
    logs = stream.getvalue()
    assert "turn" in logs
    assert SECRET not in logs
    assert SECRET not in os.environ.get("CODEX_API_KEY", "")
