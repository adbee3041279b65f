"""The mock model drives the real ``codex exec --json`` (codex 0.163 from the pinned wheel).

Each test runs codex once or twice against the mock (about 0.3-0.6 s per run) and checks both
sides: the JSONL codex printed, and the requests codex sent.
"""

from __future__ import annotations

import base64
import json
import signal
from functools import partial
from pathlib import Path

import pytest
import trio

from codex_trio.testing import (
    DEFAULT_API_KEY,
    MockModel,
    MockUsage,
    Script,
    apply_patch,
    exec_command,
    function_call,
    hang,
    hold,
    http_error,
    message,
    reasoning,
    response,
    update_plan,
    web_search,
)

pytestmark = pytest.mark.integration

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


async def test_plain_message_completes_the_turn(mock_model: MockModel) -> None:
    mock_model.script = [message("Hello from the mock.")]
    result = await mock_model.exec("Say hello.")
    assert result.returncode == 0
    assert [e["type"] for e in result.events] == [
        "thread.started",
        "turn.started",
        "item.completed",
        "turn.completed",
    ]
    assert result.final_message == "Hello from the mock."
    assert mock_model.requests[0].last_user_text() == "Say hello."


async def test_known_model_gets_no_metadata_warning_and_is_offered_the_usual_tools(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("x")]
    result = await mock_model.exec("hi")
    assert result.items("error") == []
    tools = mock_model.requests[0].tool_names()
    for name in ("exec_command", "write_stdin", "apply_patch", "view_image", "web_search"):
        assert name in tools
    assert "update_plan" not in tools


async def test_unknown_model_gets_a_warning_item_and_no_apply_patch(mock_model: MockModel) -> None:
    mock_model.configure(known_model=False)
    mock_model.script = [message("x")]
    result = await mock_model.exec("hi")
    assert "Model metadata for `mock-model` not found" in result.items("error")[0]["message"]
    assert "apply_patch" not in mock_model.requests[0].tool_names()


async def test_codex_sends_the_dummy_key_as_bearer_token(mock_model: MockModel) -> None:
    mock_model.script = [message("x")]
    await mock_model.exec("hi")
    assert mock_model.requests[0].authorization() == f"Bearer {DEFAULT_API_KEY}"
    assert DEFAULT_API_KEY not in repr(mock_model.requests[0])


async def test_reasoning_summary_becomes_a_reasoning_item(mock_model: MockModel) -> None:
    mock_model.script = [response(reasoning("Thinking."), message("Done."))]
    result = await mock_model.exec("think")
    assert [(i["type"], i["text"]) for i in result.items()] == [
        ("reasoning", "Thinking."),
        ("agent_message", "Done."),
    ]


async def test_scripted_usage_is_reported_in_turn_completed(mock_model: MockModel) -> None:
    mock_model.script = [
        response(
            message("x"),
            usage=MockUsage(
                input_tokens=30,
                cached_input_tokens=4,
                output_tokens=12,
                reasoning_output_tokens=7,
                cache_write_input_tokens=2,
            ),
        )
    ]
    result = await mock_model.exec("count")
    assert result.events[-1]["usage"] == {
        "input_tokens": 30,
        "cached_input_tokens": 4,
        "cache_write_input_tokens": 2,
        "output_tokens": 12,
        "reasoning_output_tokens": 7,
    }


async def test_exec_command_runs_and_its_output_goes_back_to_the_model(
    mock_model: MockModel,
) -> None:
    mock_model.script = [exec_command("echo hi", login=False), message("It printed hi.")]
    result = await mock_model.exec("run echo hi")
    [command] = result.items("command_execution")
    assert command["aggregated_output"] == "hi\n"
    assert command["exit_code"] == 0 and command["status"] == "completed"
    _, second = mock_model.requests
    outputs = second.function_call_outputs()
    [call] = second.items_of_type("function_call")
    assert call["name"] == "exec_command" and call["call_id"] in outputs
    assert "hi" in outputs[call["call_id"]]
    assert result.final_message == "It printed hi."


async def test_failing_command_reports_its_exit_code(mock_model: MockModel) -> None:
    mock_model.script = [exec_command("exit 3", login=False), message("It failed.")]
    result = await mock_model.exec("run a failing command")
    [command] = result.items("command_execution")
    assert command["exit_code"] == 3 and command["status"] == "failed"
    assert result.events[-1]["type"] == "turn.completed"


async def test_apply_patch_creates_the_file(mock_model: MockModel) -> None:
    patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello world\n*** End Patch\n"
    mock_model.script = [apply_patch(patch), message("Created.")]
    result = await mock_model.exec("create hello.txt", "-s", "workspace-write")
    [change] = result.items("file_change")
    assert change["status"] == "completed"
    assert change["changes"] == [{"path": str(mock_model.workdir / "hello.txt"), "kind": "add"}]
    assert (mock_model.workdir / "hello.txt").read_text() == "hello world\n"
    [call] = mock_model.requests[1].items_of_type("custom_tool_call")
    output = mock_model.requests[1].custom_tool_call_outputs()[call["call_id"]]
    assert "Success. Updated the following files:\nA hello.txt" in output


async def test_update_plan_shows_a_todo_list_when_enabled(mock_model: MockModel) -> None:
    mock_model.configure(update_plan=True)
    mock_model.script = [update_plan([("Read", "completed"), "Write"]), message("Planned.")]
    result = await mock_model.exec("plan")
    assert "update_plan" in mock_model.requests[0].tool_names()
    [todo] = result.items("todo_list")
    assert todo["items"] == [
        {"text": "Read", "completed": True},
        {"text": "Write", "completed": False},
    ]


async def test_web_search_call_becomes_a_web_search_item(mock_model: MockModel) -> None:
    mock_model.script = [response(web_search("trio nursery"), message("Found it."))]
    result = await mock_model.exec("search")
    [search] = result.items("web_search")
    assert search["query"] == "trio nursery"


async def test_output_schema_reaches_the_model_as_text_format(mock_model: MockModel) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    schema_path = mock_model.workdir / "schema.json"
    schema_path.write_text(json.dumps(schema))
    mock_model.script = [message('{"a": "b"}')]
    result = await mock_model.exec("json please", "--output-schema", str(schema_path))
    fmt = mock_model.requests[0].text_format
    assert fmt is not None and fmt["type"] == "json_schema" and fmt["schema"] == schema
    assert json.loads(result.final_message or "") == {"a": "b"}


async def test_image_input_arrives_as_a_data_url(mock_model: MockModel) -> None:
    image = mock_model.workdir / "pixel.png"
    image.write_bytes(PNG_1X1)
    mock_model.script = [message("A pixel.")]
    await mock_model.exec("describe", "-i", str(image))
    expected = "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()
    assert mock_model.requests[0].input_images() == [expected]


async def test_resume_continues_the_thread_with_its_history(mock_model: MockModel) -> None:
    mock_model.script = [message("First answer."), message("Second answer.")]
    first = await mock_model.exec("first prompt")
    second = await mock_model.exec("second prompt", resume=first.thread_id)
    assert second.thread_id == first.thread_id
    assert second.final_message == "Second answer."
    history = mock_model.requests[1].input_texts(None)
    assert "first prompt" in history and "First answer." in history
    assert mock_model.requests[1].last_user_text() == "second prompt"


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (400, "mock says 400"),
        (401, "401 Unauthorized: mock says 401"),
        (429, "429 Too Many Requests"),
        (500, "high demand"),  # codex 0.163 replaces a 500's message with a generic text
    ],
)
async def test_http_error_fails_the_turn(mock_model: MockModel, status: int, shown: str) -> None:
    mock_model.script = [http_error(status, f"mock says {status}")]
    result = await mock_model.exec("hi")
    assert result.returncode == 1
    assert [e["type"] for e in result.events[-2:]] == ["error", "turn.failed"]
    assert shown in result.events[-1]["error"]["message"]


async def test_exhausted_script_fails_the_turn_with_a_message_saying_so(
    mock_model: MockModel,
) -> None:
    result = await mock_model.exec("hi")
    assert result.events[-1]["type"] == "turn.failed"
    assert "mock script exhausted" in result.events[-1]["error"]["message"]
    assert mock_model.server.exhausted == 1


async def test_held_stream_waits_for_release(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("released"))]
    results = []
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:

            async def run() -> None:
                results.append(await mock_model.exec("hold on"))

            nursery.start_soon(run)
            await mock_model.server.wait_for_held()
            assert results == []
            mock_model.server.release()
    assert results[0].final_message == "released"


async def test_stalled_stream_fails_after_the_idle_timeout(mock_model: MockModel) -> None:
    mock_model.configure(stream_idle_timeout_ms=200)
    mock_model.script = [hold(message("never"))]
    result = await mock_model.exec("hi")
    assert result.events[-1]["type"] == "turn.failed"
    assert "idle timeout" in result.events[-1]["error"]["message"]


async def test_hang_with_a_deadline_kills_codex_and_closes_its_connection(
    mock_model: MockModel,
) -> None:
    mock_model.script = [hang()]
    argv = [
        mock_model.codex,
        "exec",
        "--json",
        "--skip-git-repo-check",
        "-C",
        str(mock_model.workdir),
    ]
    with trio.fail_after(60):
        with trio.CancelScope() as deadline:
            async with trio.open_nursery() as nursery:
                proc = await nursery.start(
                    partial(
                        trio.run_process,
                        argv,
                        stdin=b"hi",
                        env=mock_model.env,
                        capture_stdout=True,
                        capture_stderr=True,
                        check=False,
                    )
                )
                await mock_model.server.wait_for_requests(1)
                deadline.deadline = trio.current_time()  # the caller's deadline passes now
        assert deadline.cancelled_caught
        assert proc.returncode is not None  # reaped, not left running
        assert proc.returncode in (-signal.SIGTERM, -signal.SIGKILL, 128 + signal.SIGTERM)
        await mock_model.server.wait_for_idle()
    assert mock_model.server.statistics().connections_open == 0


async def test_concurrent_codex_processes_get_their_own_conversation(
    mock_model: MockModel,
    tmp_path: Path,
) -> None:
    names = [f"thread-{i}" for i in range(4)]
    mock_model.script = Script.by_key(
        lambda req: req.marker(r"\[conv:([\w-]+)\]"),
        {
            name: [exec_command(f"echo {name}", login=False), message(f"done {name}")]
            for name in names
        },
    )
    finals: dict[str, str | None] = {}
    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for name in names:

                async def run(name: str = name) -> None:
                    workdir = tmp_path / name
                    workdir.mkdir()
                    result = await mock_model.exec(f"I am [conv:{name}]", cwd=workdir)
                    finals[name] = result.final_message
                    assert result.items("command_execution")[0]["aggregated_output"] == (
                        f"{name}\n"
                    )

                nursery.start_soon(run)
    assert finals == {name: f"done {name}" for name in names}
    assert mock_model.server.exhausted == 0


async def test_escalated_command_is_refused_under_the_default_never_policy(
    mock_model: MockModel,
) -> None:
    mock_model.script = [
        exec_command("echo esc", escalated=True, justification="why"),
        message("refused"),
    ]
    result = await mock_model.exec("escalate")
    assert result.items("command_execution") == []
    [output] = mock_model.requests[1].function_call_outputs().values()
    assert "approval policy is Never" in output


async def test_unknown_function_tool_is_answered_as_unsupported(mock_model: MockModel) -> None:
    mock_model.script = [function_call("no_such_tool", {"a": 1}), message("ok")]
    result = await mock_model.exec("call it")
    assert result.events[-1]["type"] == "turn.completed"
    [output] = mock_model.requests[1].function_call_outputs().values()
    assert output == "unsupported call: no_such_tool"
