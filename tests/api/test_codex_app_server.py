"""``Codex(transport="app-server")``: the public entry point on the app-server transport, real
binary and mock model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
import trio

import codex_trio
from codex_trio._api.approvals import allow_all, deny_all
from codex_trio._api.tools import tool
from codex_trio._errors import ConfigurationError, TransportError
from codex_trio._protocol.app_server.server_requests import ApprovalDecision
from codex_trio._protocol.options import ThreadOptions
from codex_trio.observe import telemetry
from codex_trio.observe.events import PROCESS_SPAWN
from codex_trio.testing import MockModel, Script, exec_command, function_call, message
from tests.conftest import AppServerSetup
from tests.fakes import fake_codex

# Thread options for a turn whose command asks for escalation.
ESCALATING = {"approval_policy": "on-request", "sandbox_mode": "workspace-write"}


async def test_codex_app_server_runs_turns_on_one_long_lived_process(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    mock_model.script = [message("first"), message("second"), message("third")]
    spawned: list[dict[str, Any]] = []
    handler_id = f"test-one-app-server-{id(spawned)}"
    telemetry.attach(
        handler_id, [PROCESS_SPAWN], lambda _name, _m, meta, _c: spawned.append(dict(meta))
    )
    try:
        async with app_server_setup.codex() as (codex, thread):
            first = await thread.run("one")
            client = codex.transport.client  # type: ignore[attr-defined]
            assert client is not None
            pid = client.pid
            second = await thread.run("two")
            other = await codex.start_thread(**app_server_setup.thread_options()).run("three")
            assert codex.transport.client is client and client.pid == pid  # type: ignore[attr-defined]
    finally:
        telemetry.detach(handler_id)
    assert (first.final_response, second.final_response) == ("first", "second")
    assert thread.id == first.thread_id == second.thread_id
    assert other.final_response == "third" and other.thread_id != thread.id
    # One codex process served every turn of both threads: spawned once, and it was this one.
    assert spawned == [{"pid": pid, "transport": "app-server"}]


async def test_codex_app_server_answers_approvals_with_the_given_handler(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    mock_model.script = [
        exec_command("touch approved.txt", escalated=True, justification="needed", login=False),
        message("done"),
    ]
    async with app_server_setup.codex(thread=ESCALATING, approval_handler=allow_all) as (_, thread):
        result = await thread.run("touch it")
    assert result.final_response == "done"
    assert (mock_model.workdir / "approved.txt").exists()
    [record] = result.approvals
    assert record.decision == ApprovalDecision.ACCEPT
    assert "touch approved.txt" in (record.request.command or "")


async def test_declined_approval_is_recorded_on_the_turn_result(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    mock_model.script = [
        exec_command("touch refused.txt", escalated=True, justification="needed", login=False),
        message("could not"),
    ]
    async with app_server_setup.codex(thread=ESCALATING, approval_handler=deny_all) as (_, thread):
        result = await thread.run("touch it")
    assert not (mock_model.workdir / "refused.txt").exists()
    assert [r.decision for r in result.approvals] == [ApprovalDecision.DECLINE]


async def test_codex_app_server_offers_python_tools(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    @tool
    async def shout(text: str) -> str:
        """Upper-case some text."""
        return text.upper()

    mock_model.script = [function_call("shout", {"text": "hey"}, call_id="c1"), message("ok")]
    async with app_server_setup.codex(tools=[shout]) as (_, thread):
        await thread.run("shout hey")
    assert mock_model.requests[1].function_call_outputs()["c1"] == "HEY"


def test_approval_handler_on_exec_transport_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="app-server"):
        codex_trio.Codex(approval_handler=allow_all)


async def test_failed_start_under_async_with_raises_the_transport_error(
    mock_model: MockModel,
) -> None:
    # The real binary refuses a config naming a provider it does not know and exits 1 at once.
    with trio.fail_after(90), pytest.raises(TransportError) as caught:
        async with codex_trio.Codex(
            transport="app-server", env=mock_model.env, config={"model_provider": "nonexistent"}
        ):
            pytest.fail("the block ran although the app-server did not start")
    assert caught.value.exit_code == 1
    assert "nonexistent" in caught.value.stderr_tail
    # ... while an error raised by the block of a started one still comes out as itself.
    with trio.fail_after(90), pytest.raises(KeyError):
        async with codex_trio.Codex(transport="app-server", env=mock_model.env):
            raise KeyError("mine")


async def test_fake_codex_that_exits_at_once_raises_the_transport_error_under_async_with(
    tmp_path: Path,
) -> None:
    path = fake_codex(tmp_path, "sys.stderr.write('no app-server here\\n'); sys.exit(3)\n")
    with trio.fail_after(60), pytest.raises(TransportError) as caught:
        async with codex_trio.Codex(transport="app-server", codex_path=path):
            pytest.fail("the block ran although the app-server did not start")
    assert caught.value.exit_code == 3
    assert "no app-server here" in caught.value.stderr_tail
    # The same error as a turn outside ``async with`` gets.
    thread = codex_trio.Codex(transport="app-server", codex_path=path).start_thread()
    with trio.fail_after(60), pytest.raises(TransportError) as direct:
        await thread.run("hi")
    assert direct.value.exit_code == 3


def test_thread_defaults_reach_started_and_resumed_threads() -> None:
    defaults = ThreadOptions(working_directory="/somewhere", skip_git_repo_check=True)
    for transport in ("exec", "app-server"):
        codex = codex_trio.Codex(transport=transport, thread_defaults=defaults)  # type: ignore[arg-type]
        assert codex.start_thread().options == defaults
        assert codex.resume_thread("t-1").options == defaults
        # Keyword fields override the defaults one by one; a whole ThreadOptions replaces them.
        assert codex.resume_thread("t-1", model="m").options == attrs.evolve(defaults, model="m")
        assert codex.start_thread(ThreadOptions(model="m")).options == ThreadOptions(model="m")
    as_dict = codex_trio.Codex(thread_defaults={"working_directory": "/x", "model": "m"})
    assert as_dict.start_thread().options == ThreadOptions(working_directory="/x", model="m")
    assert codex_trio.Codex().start_thread().options == ThreadOptions()
    with pytest.raises(ConfigurationError, match="thread_defaults"):
        codex_trio.Codex(thread_defaults="/repo")  # type: ignore[arg-type]


async def test_closing_a_thread_forgets_it_on_the_shared_client(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    mock_model.script = Script.replying(message("ok"))
    async with app_server_setup.codex() as (codex, thread):
        await thread.run("hi")
        client = codex._app_server.client if codex._app_server is not None else None
        assert client is not None and thread.id is not None
        before = (client.tracked_threads, client.is_loaded(thread.id))
        thread.close()
        after = (client.tracked_threads, client.is_loaded(thread.id))
        again = await thread.run("again")  # resumed on the same process
        reloaded = client.is_loaded(thread.id)
    assert before == (1, True) and after == (0, False)
    assert again.final_response == "ok" and again.thread_id == thread.id and reloaded
