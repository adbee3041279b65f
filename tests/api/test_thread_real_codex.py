"""The Thread API against the real codex binary and the mock model: one behaviour per test."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio._errors import StructuredOutputError, TurnDeadlineError, TurnFailedError
from codex_trio._protocol import (
    AgentMessageItem,
    CommandExecutionItem,
    FileChangeItem,
    ReasoningItem,
    ThreadStartedEvent,
    TodoListItem,
    TurnFailedEvent,
    WebSearchItem,
)
from codex_trio.testing import (
    MockModel,
    MockUsage,
    apply_patch,
    exec_command,
    hang,
    http_error,
    message,
    reasoning,
    response,
    update_plan,
    web_search,
)
from tests.fakes import children_of_self, pid_alive

Options = dict[str, Any]


async def test_plain_message_gives_final_response_and_usage(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [
        response(message("Hello there."), usage=MockUsage(input_tokens=11, output_tokens=3))
    ]
    thread = codex.start_thread(**thread_options)
    result = await thread.run("Say hello")
    assert result.final_response == "Hello there."
    assert thread.id is not None and result.thread_id == thread.id
    assert result.usage is not None and result.usage.input_tokens == 11
    assert result.usage.output_tokens == 3
    assert mock_model.requests[0].input_texts()[-1].endswith("Say hello")


async def test_prompt_goes_to_stdin_not_argv(codex: codex_trio.Codex) -> None:
    from codex_trio._protocol.options import ThreadOptions, exec_argv

    argv = exec_argv(codex.codex_path, codex.options, ThreadOptions(skip_git_repo_check=True))
    assert "Say hello" not in argv


async def test_reasoning_then_message_are_typed_items(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [response(reasoning("Thinking it over"), message("Done."))]
    result = await codex.start_thread(**thread_options).run("think")
    kinds = [type(item) for item in result.items]
    assert kinds == [ReasoningItem, AgentMessageItem]
    assert "Thinking it over" in result.items[0].text  # type: ignore[union-attr]


async def test_shell_command_items_carry_output_and_exit_codes(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [
        exec_command("echo hi", login=False),
        exec_command("exit 3", login=False),
        message("ran both"),
    ]
    result = await codex.start_thread(**thread_options).run("run commands")
    commands = [item for item in result.items if isinstance(item, CommandExecutionItem)]
    assert [c.exit_code for c in commands] == [0, 3]
    assert commands[0].aggregated_output == "hi\n"
    assert [c.status for c in commands] == ["completed", "failed"]
    assert result.final_response == "ran both"


async def test_patch_creates_a_file(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    patch = "*** Begin Patch\n*** Add File: made.txt\n+made by codex\n*** End Patch\n"
    mock_model.script = [apply_patch(patch), message("patched")]
    thread = codex.start_thread(sandbox_mode="workspace-write", **thread_options)
    result = await thread.run("make a file")
    changes = [item for item in result.items if isinstance(item, FileChangeItem)]
    assert len(changes) == 1 and changes[0].status == "completed"
    assert changes[0].changes[0].kind == "add"
    assert (mock_model.workdir / "made.txt").read_text() == "made by codex\n"


async def test_plan_becomes_a_todo_list(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.configure(update_plan=True)
    mock_model.script = [
        update_plan([("write tests", "completed"), ("ship", "pending")]),
        message("planned"),
    ]
    result = await codex.start_thread(**thread_options).run("plan it")
    todos = [item for item in result.items if isinstance(item, TodoListItem)]
    assert todos, result.items
    assert [(t.text, t.completed) for t in todos[-1].items] == [
        ("write tests", True),
        ("ship", False),
    ]


async def test_web_search_item_keeps_both_ids(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [response(web_search("trio nurseries"), message("found"))]
    result = await codex.start_thread(**thread_options).run("search")
    searches = [item for item in result.items if isinstance(item, WebSearchItem)]
    assert searches and searches[0].query == "trio nurseries"
    assert searches[0].id.startswith("item_")


async def test_structured_output_is_parsed_and_schema_reaches_the_request(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    mock_model.script = [message('{"answer": 42}')]
    result = await codex.start_thread(**thread_options).run("answer", output_schema=schema)
    assert result.structured == {"answer": 42}
    text_format = mock_model.requests[0].body["text"]["format"]
    assert text_format["type"] == "json_schema" and text_format["schema"] == schema


async def test_structured_output_that_is_not_json_raises_with_the_raw_text(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [message("not json at all")]
    with pytest.raises(StructuredOutputError) as info:
        await codex.start_thread(**thread_options).run("answer", output_schema={"type": "object"})
    assert info.value.raw == "not json at all"


async def test_schema_temp_file_is_removed_after_the_turn(
    mock_model: MockModel,
    codex: codex_trio.Codex,
    thread_options: Options,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    mock_model.script = [http_error(400, "bad")]
    with pytest.raises(TurnFailedError):
        await codex.start_thread(**thread_options).run("x", output_schema={"type": "object"})
    assert not list(tmp_path.glob("codex-trio-schema-*"))


async def test_image_input_reaches_the_request_as_a_data_url(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options, tmp_path: Path
) -> None:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    image = tmp_path / "dot.png"
    image.write_bytes(png)
    mock_model.script = [message("I see a dot")]
    result = await codex.start_thread(**thread_options).run(
        [{"type": "text", "text": "what is this?"}, {"type": "local_image", "path": str(image)}]
    )
    assert result.final_response == "I see a dot"
    body = json.dumps(mock_model.requests[0].body)
    assert "data:image/png;base64," in body


async def test_resume_carries_history_and_per_turn_usage_is_the_difference(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [
        response(message("first answer"), usage=MockUsage(input_tokens=20, output_tokens=5)),
        response(message("second answer"), usage=MockUsage(input_tokens=50, output_tokens=7)),
    ]
    thread = codex.start_thread(**thread_options)
    first = await thread.run("first question")
    assert thread.id is not None
    again = codex.resume_thread(thread.id, **thread_options)
    second = await again.run("second question")
    assert second.thread_id == thread.id
    history = json.dumps(mock_model.requests[1].body["input"])
    assert "first question" in history and "first answer" in history
    assert first.usage is not None and second.usage is not None
    assert second.cumulative_usage is not None
    assert second.cumulative_usage.input_tokens == 70
    assert second.usage.input_tokens == 50 and second.usage.output_tokens == 7


@pytest.mark.parametrize("status", [400, 401, 500])
async def test_http_errors_raise_turn_failed(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options, status: int
) -> None:
    mock_model.script = [http_error(status, f"mock {status}")]
    thread = codex.start_thread(**thread_options)
    with pytest.raises(TurnFailedError) as info:
        await thread.run("fail please")
    assert info.value.thread_id == thread.id is not None


async def test_turn_failed_is_an_event_in_streamed_mode(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [http_error(400, "bad request")]
    async with codex.start_thread(**thread_options).run_streamed("x") as events:
        seen = [event async for event in events]
    assert isinstance(seen[0], ThreadStartedEvent)
    assert isinstance(seen[-1], TurnFailedEvent)
    assert events.result.failed


async def test_streamed_events_arrive_in_order(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [exec_command("echo streamed", login=False), message("ok")]
    async with codex.start_thread(**thread_options).run_streamed("go") as events:
        names = [type(event).__name__ async for event in events]
    assert names[0] == "ThreadStartedEvent" and names[-1] == "TurnCompletedEvent"
    assert names.index("ItemStartedEvent") < names.index("ItemCompletedEvent")
    assert events.result.final_response == "ok"


async def test_deadline_against_a_model_that_never_answers_stops_codex(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [hang()]
    thread = codex.start_thread(**thread_options)
    with pytest.raises(TurnDeadlineError) as info:
        await thread.run("wait forever", timeout=3)
    assert info.value.pid is not None and not pid_alive(info.value.pid)
    assert info.value.pid not in children_of_self()


async def test_cancellation_mid_turn_leaves_no_codex_process(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [hang()]
    thread = codex.start_thread(**thread_options)
    pids: list[int] = []
    with trio.move_on_after(30) as scope:
        async with thread.run_streamed("hang") as events:
            async for event in events:
                if isinstance(event, ThreadStartedEvent):
                    pids.append(events.pid or -1)
                    await mock_model.server.wait_for_requests(1)
                    scope.cancel()
    assert scope.cancelled_caught and pids
    assert not pid_alive(pids[0]) and pids[0] not in children_of_self()


async def test_leaving_a_stream_early_stops_codex(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [hang()]
    async with codex.start_thread(**thread_options).run_streamed("x") as events:
        async for _event in events:
            pid = events.pid or -1
            break
    assert not pid_alive(pid)


async def test_concurrent_turns_on_one_thread_run_one_after_another(
    mock_model: MockModel, codex: codex_trio.Codex, thread_options: Options
) -> None:
    mock_model.script = [message("answer one"), message("answer two")]
    thread = codex.start_thread(**thread_options)
    results: dict[str, str | None] = {}

    async def run(prompt: str) -> None:
        results[prompt] = (await thread.run(prompt)).final_response

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run, "question one")
        await trio.sleep(0.05)
        nursery.start_soon(run, "question two")
    assert results == {"question one": "answer one", "question two": "answer two"}
    # The second turn resumed the thread the first one created, with its history.
    assert "answer one" in json.dumps(mock_model.requests[1].body["input"])


async def test_cancel_mid_turn_leaves_no_process_fd_or_schema_file(
    mock_model: MockModel,
    codex: codex_trio.Codex,
    thread_options: Options,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tempfile

    from tests.fakes import open_fds

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    mock_model.script = [hang()]
    thread = codex.start_thread(**thread_options)
    fds_before = open_fds()
    pid = -1
    with trio.move_on_after(60) as scope:
        async with thread.run_streamed("hang", output_schema={"type": "object"}) as events:
            async for event in events:
                if isinstance(event, ThreadStartedEvent):
                    pid = events.pid or -1
                    assert list(tmp_path.glob("codex-trio-schema-*"))
                    await mock_model.server.wait_for_requests(1)
                    scope.cancel()
    assert scope.cancelled_caught and pid > 0
    assert not pid_alive(pid) and pid not in children_of_self()
    assert not list(tmp_path.glob("codex-trio-schema-*"))
    # The mock server (in this process) closes its end of the dead connection on its own time.
    with trio.move_on_after(10):
        while not open_fds() <= fds_before:
            await trio.sleep(0.05)
    assert open_fds() <= fds_before
