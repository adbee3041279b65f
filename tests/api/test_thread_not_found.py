"""Resuming a thread codex has no rollout for is a typed ThreadNotFoundError on both transports
(real binary), not a crash: users fall back to a new thread."""

from __future__ import annotations

import pytest
import trio

import codex_trio
from codex_trio.testing import MockModel, message

UNKNOWN = "019abcde-0000-7000-8000-000000000000"


def options(mock_model: MockModel) -> dict[str, object]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}


async def test_exec_resume_of_an_unknown_thread_raises_thread_not_found(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("fresh")]
    codex = codex_trio.Codex(env=mock_model.env)
    with trio.fail_after(60):
        with pytest.raises(codex_trio.ThreadNotFoundError) as info:
            await codex.resume_thread(UNKNOWN, **options(mock_model)).run("hi")
        fresh = await codex.start_thread(**options(mock_model)).run("start over")
    assert info.value.thread_id == UNKNOWN and "not found" in str(info.value)
    assert isinstance(info.value.__cause__, codex_trio.TransportError)  # codex exited 1
    assert fresh.final_response == "fresh"


async def test_app_server_resume_of_an_unknown_thread_raises_thread_not_found(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("fresh")]
    with trio.fail_after(60):
        async with codex_trio.Codex(transport="app-server", env=mock_model.env) as codex:
            with pytest.raises(codex_trio.ThreadNotFoundError) as info:
                await codex.resume_thread(UNKNOWN, **options(mock_model)).run("hi")
            fresh = await codex.start_thread(**options(mock_model)).run("start over")
    assert info.value.thread_id == UNKNOWN
    assert fresh.final_response == "fresh"


@pytest.mark.parametrize("transport", ["exec", "app-server"])
async def test_a_supervised_unknown_thread_is_not_a_crash(
    mock_model: MockModel, transport: str
) -> None:
    with trio.fail_after(60):
        async with codex_trio.Runtime(transport=transport, env=mock_model.env) as runtime:  # type: ignore[arg-type]
            handle = await runtime.resume_thread(UNKNOWN, **options(mock_model))
            with pytest.raises(codex_trio.ThreadNotFoundError):
                await handle.run("hi")
            children = runtime.which_children()
    assert [(c.state.value, c.restart_count) for c in children] == [("running", 0)]
