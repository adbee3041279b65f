"""The supervised runtime on the app-server transport: real binary, mock model."""

from __future__ import annotations

import os
import signal

import pytest
import trio

import codex_trio
from codex_trio._api.approvals import allow_all
from codex_trio._errors import TransportError
from codex_trio.testing import MockModel, exec_command, hold, message
from tests.conftest import AppServerSetup
from tests.fakes import pid_alive


async def test_runtime_threads_share_one_app_server_and_survive_its_death(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    mock_model.script = [message("one"), hold(message("never")), message("after restart")]
    async with app_server_setup.runtime() as (runtime, handle):
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


async def test_runtime_answers_approvals_with_its_handler(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    mock_model.script = [
        exec_command("touch approved.txt", escalated=True, justification="needed", login=False),
        message("done"),
    ]
    escalating = {"approval_policy": "on-request", "sandbox_mode": "workspace-write"}
    async with app_server_setup.runtime(thread=escalating, approval_handler=allow_all) as (
        _,
        handle,
    ):
        result = await handle.run("touch it")
    assert result.final_response == "done"
    assert (mock_model.workdir / "approved.txt").exists()


async def test_shared_process_deaths_do_not_use_up_a_threads_restart_intensity(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    # Four deaths of the shared app-server, each failing a turn in flight, on a thread allowed
    # one restart: before, the actor crashed each time and its supervisor gave up at the second.
    mock_model.script = [*(hold(message("never")) for _ in range(4)), message("still here")]
    errors: list[TransportError] = []
    async with app_server_setup.runtime(thread_max_restarts=1) as (runtime, handle):
        for n in range(4):
            status = runtime.app_server_status
            assert status is not None
            while status.state != "running" or status.pid is None:  # restarting, backoff
                await trio.sleep(0.05)
                status = runtime.app_server_status
                assert status is not None
            pid = status.pid
            assert pid is not None

            async def kill_when_held(pid: int = pid, n: int = n) -> None:
                await mock_model.server.wait_for_held(n + 1)
                os.kill(pid, signal.SIGKILL)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(kill_when_held)
                with pytest.raises(TransportError) as info:
                    await handle.run(f"turn {n}")
            errors.append(info.value)
        while (runtime.app_server_status or status).pid is None:
            await trio.sleep(0.05)
        last = await handle.run("and now")
        children = runtime.which_children()
        status = runtime.app_server_status
    assert all(e.signal == signal.SIGKILL for e in errors)
    assert last.final_response == "still here" and last.thread_id == handle.id
    assert [(c.state.value, c.restart_count) for c in children] == [("running", 0)]
    assert status is not None and status.restarts == 4


async def test_retry_policy_retries_a_turn_cut_by_a_shared_process_death(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    mock_model.script = [hold(message("never")), message("retried")]
    retry = codex_trio.RetryPolicy(initial_backoff=0.2, jitter=0)
    async with app_server_setup.runtime(retry=retry) as (runtime, handle):
        status = runtime.app_server_status
        assert status is not None and status.pid is not None

        async def kill_when_held(pid: int = status.pid) -> None:
            await mock_model.server.wait_for_held(1)
            os.kill(pid, signal.SIGKILL)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(kill_when_held)
            result = await handle.run("once")
    assert result.final_response == "retried"


async def test_a_stopped_thread_is_forgotten_by_the_shared_client(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    mock_model.script = [message("one")]
    async with app_server_setup.runtime(thread={"name": "short-lived"}) as (runtime, handle):
        await handle.run("hi")
        client = runtime._app_server.client if runtime._app_server else None
        assert client is not None and handle.id is not None
        before = (client.tracked_threads, client.is_loaded(handle.id))
        await runtime.stop_thread("short-lived")
        after = (client.tracked_threads, client.is_loaded(handle.id))
    assert before == (1, True)
    assert after == (0, False)
