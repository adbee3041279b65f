"""The app-server transport end to end: the real ``codex app-server`` on the mock model.

One app-server per test (pytest-trio runs each test in its own trio run, so a process cannot
outlive a test); each session costs about a second.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
import trio

from codex_trio._api.approvals import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalRequest,
    allow_all,
    deny_all,
)
from codex_trio._api.thread import Thread
from codex_trio._api.tools import tool
from codex_trio._errors import TransportError, TurnDeadlineError
from codex_trio._protocol.app_server import types as g
from codex_trio._protocol.exec_events import (
    ItemCompletedEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    TurnStartedEvent,
)
from codex_trio._protocol.exec_items import AgentMessageItem, CommandExecutionItem
from codex_trio._protocol.options import CodexOptions, ThreadOptions, TurnOptions
from codex_trio._transport.app_server import (
    ApprovalHandler,
    AppServerClient,
    AppServerTransport,
    TurnOverrides,
    open_app_server,
)
from codex_trio._turn import UsageLedger
from codex_trio.observe import telemetry
from codex_trio.testing import MockModel, exec_command, function_call, hold, message

pytestmark = pytest.mark.integration


def codex_options(mock_model: MockModel) -> CodexOptions:
    return CodexOptions(codex_path=mock_model.codex, env=mock_model.env)


def thread_options(mock_model: MockModel) -> ThreadOptions:
    return ThreadOptions(working_directory=str(mock_model.workdir), skip_git_repo_check=True)


@asynccontextmanager
async def app_server(
    mock_model: MockModel, approval_handler: ApprovalHandler | None = None
) -> AsyncIterator[AppServerClient]:
    kwargs: dict[str, Any] = {}
    if approval_handler is not None:
        kwargs["approval_handler"] = approval_handler
    with trio.fail_after(90):
        async with open_app_server(codex_options(mock_model), **kwargs) as client:
            yield client


async def run_escalated_touch(
    mock_model: MockModel, handler: ApprovalHandler
) -> tuple[list[Any], list[Any]]:
    mock_model.script = [
        exec_command("touch approved.txt", escalated=True, justification="needs it", login=False),
        message("done"),
    ]
    async with app_server(mock_model, handler) as client:
        started = await client.thread_start(
            thread_options(mock_model), approval_policy="on-request"
        )
        async with client.turn(started.thread.id, "make the file") as turn:
            events = [e async for e in turn]
    return events, turn.approvals


async def test_accepted_approval_runs_the_command(mock_model: MockModel) -> None:
    events, approvals = await run_escalated_touch(mock_model, allow_all)
    assert (mock_model.workdir / "approved.txt").exists()
    assert [a.decision for a in approvals] == [ApprovalDecision.ACCEPT]
    assert approvals[0].request.kind is ApprovalKind.COMMAND_EXECUTION
    assert "touch approved.txt" in (approvals[0].request.command or "")
    commands = [
        e.item
        for e in events
        if isinstance(e, ItemCompletedEvent) and isinstance(e.item, CommandExecutionItem)
    ]
    assert commands and commands[0].exit_code == 0


async def test_declined_approval_does_not_run_the_command(mock_model: MockModel) -> None:
    events, approvals = await run_escalated_touch(mock_model, deny_all)
    assert not (mock_model.workdir / "approved.txt").exists()
    assert [a.decision for a in approvals] == [ApprovalDecision.DECLINE]
    assert isinstance(events[-1], TurnCompletedEvent)


async def test_default_handler_declines(mock_model: MockModel) -> None:
    _, approvals = await run_escalated_touch(mock_model, None)  # type: ignore[arg-type]
    assert not (mock_model.workdir / "approved.txt").exists()
    assert [a.decision for a in approvals] == [ApprovalDecision.DECLINE]


async def test_dynamic_tool_result_reaches_the_models_next_request(
    mock_model: MockModel,
) -> None:
    calls: list[tuple[int, int]] = []

    @tool
    async def add(a: int, b: int) -> int:
        """Add two integers."""
        calls.append((a, b))
        return a + b

    mock_model.script = [
        function_call("add", {"a": 2, "b": 40}, call_id="call_add"),
        message("it is 42"),
    ]
    async with app_server(mock_model) as client:
        started = await client.thread_start(thread_options(mock_model), tools=[add])
        async with client.turn(started.thread.id, "add 2 and 40") as turn:
            events = [e async for e in turn]
    assert calls == [(2, 40)]
    assert "add" in mock_model.requests[0].tool_names()
    assert mock_model.requests[1].function_call_outputs()["call_add"] == "42"
    assert isinstance(events[-1], TurnCompletedEvent)


async def test_dynamic_tool_that_raises_reports_failure_and_the_turn_goes_on(
    mock_model: MockModel,
) -> None:
    @tool
    async def explode() -> str:
        """Always fails."""
        raise RuntimeError("kaboom")

    mock_model.script = [function_call("explode", {}, call_id="call_x"), message("ok")]
    async with app_server(mock_model) as client:
        started = await client.thread_start(thread_options(mock_model), tools=[explode])
        async with client.turn(started.thread.id, "explode") as turn:
            events = [e async for e in turn]
        # the connection is still good
        assert (await client.model_list()).data is not None
    assert "kaboom" in mock_model.requests[1].function_call_outputs()["call_x"]
    assert isinstance(events[-1], TurnCompletedEvent)


async def test_a_secret_in_a_raising_tools_error_never_reaches_the_model(
    mock_model: MockModel,
) -> None:
    secret = "sk-proj-" + "Q" * 40

    @tool
    async def leaky() -> str:
        """Fails with a message that happens to hold an API key."""
        raise RuntimeError(f"upstream refused key {secret}")

    mock_model.script = [function_call("leaky", {}, call_id="call_l"), message("ok")]
    async with app_server(mock_model) as client:
        started = await client.thread_start(thread_options(mock_model), tools=[leaky])
        async with client.turn(started.thread.id, "call it") as turn:
            async for _ in turn:
                pass
    output = mock_model.requests[1].function_call_outputs()["call_l"]
    assert "upstream refused key" in output and "RuntimeError" in output
    assert secret not in output and secret not in mock_model.requests[1].raw_body.decode()


async def test_interrupt_stops_a_running_turn(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("too late"))]
    async with app_server(mock_model) as client:
        started = await client.thread_start(thread_options(mock_model))
        async with client.turn(started.thread.id, "wait") as turn:
            events = []
            async for event in turn:
                events.append(event)
                if isinstance(event, TurnStartedEvent):
                    await mock_model.server.wait_for_held()
                    await turn.interrupt()
    assert isinstance(events[-1], TurnFailedEvent)
    assert events[-1].extra["status"] == "interrupted" and turn.status == "interrupted"
    assert not any(
        isinstance(e, ItemCompletedEvent) and isinstance(e.item, AgentMessageItem) for e in events
    )


async def test_leaving_a_turn_early_interrupts_it(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("too late")), message("second turn")]
    async with app_server(mock_model) as client:
        thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
        async with client.turn(thread_id, "wait") as turn:
            async for event in turn:
                if isinstance(event, TurnStartedEvent):
                    await mock_model.server.wait_for_held()
                    break
        # The engine stopped the turn: the thread takes a new one, which completes.
        async with client.turn(thread_id, "again") as second:
            events = [e async for e in second]
        assert isinstance(events[-1], TurnCompletedEvent)
        read = await client.thread_read(thread_id=thread_id, include_turns=True)
        assert [t.status for t in read.thread.turns] == ["interrupted", "completed"]


async def test_steer_adds_input_to_the_running_turn(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("first")), message("steered")]
    async with app_server(mock_model) as client:
        thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
        async with client.turn(thread_id, "start") as turn:
            async for event in turn:
                if isinstance(event, TurnStartedEvent):
                    await mock_model.server.wait_for_held()
                    await turn.steer("also do STEERED-BIT")
                    mock_model.server.release()
    assert turn.status == "completed"
    assert any("STEERED-BIT" in t for t in mock_model.requests[-1].input_texts())


async def test_fork_copies_history_and_read_returns_turns(mock_model: MockModel) -> None:
    mock_model.script = [message("original answer")]
    async with app_server(mock_model) as client:
        thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
        async with client.turn(thread_id, "question") as turn:
            _ = [e async for e in turn]
        forked = await client.thread_fork(thread_id)
        assert forked.thread.id != thread_id
        read = await client.thread_read(thread_id=forked.thread.id, include_turns=True)
    texts = [
        i.text
        for t in read.thread.turns
        for i in t.items
        if isinstance(i, g.AgentMessageThreadItem)
    ]
    assert texts == ["original answer"]


async def test_model_list_returns_models(mock_model: MockModel) -> None:
    async with app_server(mock_model) as client:
        models = await client.model_list()
    assert models.data and all(isinstance(m, g.Model) for m in models.data)


async def test_killed_app_server_fails_the_turn_and_pending_calls_and_the_thread_resumes(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("never")), message("after restart")]
    errors: list[TransportError] = []
    async with app_server(mock_model) as client:
        thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
        async with client.turn(thread_id, "first") as turn:
            with pytest.raises(TransportError) as info:
                async for event in turn:
                    if isinstance(event, TurnStartedEvent):
                        await mock_model.server.wait_for_held()
                        os.kill(client.pid, signal.SIGKILL)
        errors.append(info.value)
        with pytest.raises(TransportError) as later:
            await client.model_list()
        errors.append(later.value)
    assert errors[0].signal == signal.SIGKILL and errors[0].thread_id == thread_id
    assert errors[1].signal == signal.SIGKILL
    # A new app-server resumes the thread by id and runs the next turn on it.
    async with app_server(mock_model) as client:
        await client.thread_resume(thread_id, thread_options(mock_model))
        async with client.turn(thread_id, "second") as turn:
            events = [e async for e in turn]
    assert isinstance(events[-1], TurnCompletedEvent)
    assert "first" in " ".join(mock_model.requests[-1].input_texts())


async def test_transport_turn_yields_exec_events_and_cumulative_usage(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("one"), message("two")]
    transport = AppServerTransport(options=codex_options(mock_model))
    with trio.fail_after(90):
        async with transport.open():
            async with transport.turn("first", thread_options(mock_model)) as stream:
                first = [e async for e in stream]
            assert isinstance(first[0], ThreadStartedEvent)
            thread_id = first[0].thread_id
            async with transport.turn(
                "second", thread_options(mock_model), resume_thread_id=thread_id
            ) as stream:
                second = [e async for e in stream]
    assert isinstance(first[-1], TurnCompletedEvent) and isinstance(second[-1], TurnCompletedEvent)
    assert second[-1].usage.input_tokens > first[-1].usage.input_tokens  # cumulative
    texts = [
        e.item.text
        for e in second
        if isinstance(e, ItemCompletedEvent) and isinstance(e.item, AgentMessageItem)
    ]
    assert texts == ["two"]


async def test_approval_request_carries_the_command_and_reason(mock_model: MockModel) -> None:
    seen: list[ApprovalRequest] = []

    async def record(request: ApprovalRequest) -> ApprovalDecision:
        seen.append(request)
        return ApprovalDecision.DECLINE

    await run_escalated_touch(mock_model, record)
    assert seen and seen[0].reason == "needs it" and seen[0].thread_id


async def test_transport_turn_past_its_deadline_raises_and_interrupts(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hold(message("too late")), message("next")]
    transport = AppServerTransport(options=codex_options(mock_model))
    with trio.fail_after(90):
        async with transport.open():
            assert transport.client is not None
            with pytest.raises(TurnDeadlineError) as info:
                async with transport.turn(
                    "wait", thread_options(mock_model), TurnOptions(timeout=2)
                ) as stream:
                    async for _ in stream:
                        pass
            thread_id = info.value.thread_id
            assert thread_id is not None
            read = await transport.client.thread_read(thread_id=thread_id, include_turns=True)
            assert [t.status for t in read.thread.turns] == ["interrupted"]


async def test_transport_turn_without_open_runs_on_a_private_app_server(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("solo")]
    transport = AppServerTransport(options=codex_options(mock_model))
    with trio.fail_after(90):
        async with transport.turn("hi", thread_options(mock_model)) as stream:
            events = [e async for e in stream]
    assert isinstance(events[0], ThreadStartedEvent)
    assert isinstance(events[-1], TurnCompletedEvent)
    assert transport.client is None


@contextmanager
def recorded_telemetry(*names: tuple[str, ...]) -> Iterator[list[tuple[Any, ...]]]:
    seen: list[tuple[Any, ...]] = []

    def handler(name: Any, measurements: Any, metadata: Any, config: Any) -> None:
        seen.append((tuple(name), dict(measurements), dict(metadata)))

    telemetry.attach("test-app-server", names, handler)
    try:
        yield seen
    finally:
        telemetry.detach("test-app-server")


async def test_approvals_emit_requested_and_decided_telemetry(mock_model: MockModel) -> None:
    with recorded_telemetry(
        ("codex", "approval", "requested"), ("codex", "approval", "decided")
    ) as seen:
        await run_escalated_touch(mock_model, allow_all)
    assert [s[0][-1] for s in seen] == ["requested", "decided"]
    assert seen[0][2]["kind"] == "command_execution" and seen[0][2]["thread_id"]
    assert seen[1][2]["decision"] == "accept" and seen[1][1]["latency"] >= 0


async def test_tool_calls_emit_a_span_with_their_status(mock_model: MockModel) -> None:
    @tool
    async def echo(text: str) -> str:
        """Echo."""
        return text

    mock_model.script = [function_call("echo", {"text": "x"}), message("done")]
    with recorded_telemetry(
        ("codex", "tool", "call", "start"), ("codex", "tool", "call", "stop")
    ) as seen:
        async with app_server(mock_model) as client:
            started = await client.thread_start(thread_options(mock_model), tools=[echo])
            await client.run_turn(started.thread.id, "echo")
    assert [s[0][-1] for s in seen] == ["start", "stop"]
    assert seen[1][2]["tool"] == "echo" and seen[1][2]["status"] == "ok"


async def test_turn_overrides_reach_the_model_request(mock_model: MockModel) -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
        "additionalProperties": False,
    }
    mock_model.script = [message('{"n": 1}')]
    async with app_server(mock_model) as client:
        thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
        result = await client.run_turn(
            thread_id, "count", TurnOverrides(model="override-model", output_schema=schema)
        )
    assert result.final_response == '{"n": 1}'
    assert mock_model.requests[0].model == "override-model"
    text_format = mock_model.requests[0].text_format
    assert text_format is not None and text_format["schema"] == schema


async def test_thread_api_runs_on_the_app_server_transport(mock_model: MockModel) -> None:
    mock_model.script = [message("first"), message("second")]
    transport = AppServerTransport(options=codex_options(mock_model))
    with trio.fail_after(90):
        async with transport.open():
            thread = Thread(transport, thread_options(mock_model), ledger=UsageLedger())
            first = await thread.run("one")
            second = await thread.run("two")
    assert (first.final_response, second.final_response) == ("first", "second")
    assert first.thread_id == second.thread_id == thread.id
    assert second.usage is not None and second.cumulative_usage is not None
    assert second.usage.input_tokens < second.cumulative_usage.input_tokens


async def test_shared_app_server_killed_mid_turn_is_restarted_and_the_thread_resumes(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("one"), hold(message("never")), message("after restart")]
    transport = AppServerTransport(options=codex_options(mock_model))
    with trio.fail_after(90):
        async with transport.open():
            async with transport.turn("first", thread_options(mock_model)) as stream:
                first = [e async for e in stream]
            assert isinstance(first[0], ThreadStartedEvent)
            thread_id = first[0].thread_id
            assert transport.client is not None
            old_pid = transport.client.pid
            with pytest.raises(TransportError) as info:
                async with transport.turn(
                    "second", thread_options(mock_model), resume_thread_id=thread_id
                ) as stream:
                    async for event in stream:
                        if isinstance(event, TurnStartedEvent):
                            await mock_model.server.wait_for_held()
                            os.kill(old_pid, signal.SIGKILL)
            async with transport.turn(
                "third", thread_options(mock_model), resume_thread_id=thread_id
            ) as stream:
                third = [e async for e in stream]
            assert transport.client is not None and transport.client.pid != old_pid
    assert info.value.signal == signal.SIGKILL
    assert transport.restarts == 1
    assert isinstance(third[-1], TurnCompletedEvent)
    texts = " ".join(mock_model.requests[-1].input_texts())
    assert "first" in texts and "third" in texts
