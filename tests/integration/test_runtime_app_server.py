"""The supervised runtime on the app-server transport: real binary, mock model."""

from __future__ import annotations

import os
import signal

import pytest
import trio

import codex_trio
from codex_trio.api.approvals import allow_all
from codex_trio.errors import TransportError
from codex_trio.testing import MockModel, exec_command, hold, message
from tests.fakes import pid_alive


async def test_runtime_threads_share_one_app_server_and_survive_its_death(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("one"), hold(message("never")), message("after restart")]
    with trio.fail_after(120):
        async with codex_trio.Runtime(transport="app-server", env=mock_model.env) as runtime:
            handle = await runtime.start_thread(
                working_directory=str(mock_model.workdir), skip_git_repo_check=True
            )
            first = await handle.run("first")
            app_server = runtime._app_server
            assert app_server is not None and app_server.client is not None
            old_pid = app_server.client.pid

            async def kill_when_held() -> None:
                await mock_model.server.wait_for_held()
                os.kill(old_pid, signal.SIGKILL)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(kill_when_held)
                with pytest.raises(TransportError) as info:
                    await handle.run("second")
            third = await handle.run("third")
            assert app_server.client is not None and app_server.client.pid != old_pid
        assert not pid_alive(old_pid)
    assert info.value.signal == signal.SIGKILL
    assert first.thread_id == third.thread_id == handle.id
    assert third.final_response == "after restart"
    texts = " ".join(mock_model.requests[-1].input_texts())
    assert "first" in texts and "third" in texts


async def test_runtime_answers_approvals_with_its_handler(mock_model: MockModel) -> None:
    mock_model.script = [
        exec_command("touch approved.txt", escalated=True, justification="needed", login=False),
        message("done"),
    ]
    with trio.fail_after(120):
        async with codex_trio.Runtime(
            transport="app-server", env=mock_model.env, approval_handler=allow_all
        ) as runtime:
            handle = await runtime.start_thread(
                working_directory=str(mock_model.workdir),
                skip_git_repo_check=True,
                approval_policy="on-request",
                sandbox_mode="workspace-write",
            )
            result = await handle.run("touch it")
    assert result.final_response == "done"
    assert (mock_model.workdir / "approved.txt").exists()
