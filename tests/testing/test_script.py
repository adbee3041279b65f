"""Output item builders and script order/routing (no server, no codex)."""

from __future__ import annotations

import json

import pytest

from codex_trio.testing import (
    Script,
    apply_patch,
    delay,
    disconnect,
    exec_command,
    function_call,
    hang,
    hold,
    http_error,
    message,
    reasoning,
    response,
    response_failed,
    update_plan,
    web_search,
)
from codex_trio.testing._recorded import RecordedRequest
from tests.testing.http_client import user_body


def request_with(text: str, index: int = 0) -> RecordedRequest:
    return RecordedRequest.build(
        index=index,
        method="POST",
        path="/v1/responses",
        headers=[],
        raw_body=json.dumps(user_body(text)).encode(),
    )


def test_exec_command_sends_cmd_as_json_arguments() -> None:
    item = exec_command("echo hi").item("fc_1", "call_1")
    assert item["type"] == "function_call"
    assert item["name"] == "exec_command"
    assert item["call_id"] == "call_1"
    assert json.loads(item["arguments"]) == {"cmd": "echo hi"}


def test_escalated_exec_command_requests_escalation_with_justification() -> None:
    item = exec_command("rm -rf build", escalated=True, justification="clean").item("f", "c")
    assert json.loads(item["arguments"]) == {
        "cmd": "rm -rf build",
        "sandbox_permissions": "require_escalated",
        "justification": "clean",
    }


def test_apply_patch_is_a_custom_tool_call_with_the_patch_as_input() -> None:
    item = apply_patch("*** Begin Patch\n*** End Patch\n").item("ctc_1", "call_7")
    assert item == {
        "type": "custom_tool_call",
        "id": "ctc_1",
        "call_id": "call_7",
        "name": "apply_patch",
        "input": "*** Begin Patch\n*** End Patch\n",
        "status": "completed",
    }


def test_update_plan_accepts_strings_tuples_and_mappings() -> None:
    item = update_plan(["a", ("b", "completed"), {"step": "c", "status": "in_progress"}])
    args = json.loads(item.item("f", "c")["arguments"])
    assert args == {
        "plan": [
            {"step": "a", "status": "pending"},
            {"step": "b", "status": "completed"},
            {"step": "c", "status": "in_progress"},
        ]
    }


def test_function_call_carries_namespace_for_mcp_tools() -> None:
    item = function_call("echo", {"text": "x"}, namespace="mcp__srv").item("f", "c")
    assert item["namespace"] == "mcp__srv"
    assert json.loads(item["arguments"]) == {"text": "x"}


def test_function_call_keeps_raw_string_arguments_unchanged() -> None:
    assert function_call("t", "{not json").item("f", "c")["arguments"] == "{not json"


def test_explicit_call_id_overrides_the_generated_one() -> None:
    assert exec_command("ls", call_id="mine").item("f", "call_1")["call_id"] == "mine"


def test_message_with_deltas_splits_text_into_chunks_that_add_up() -> None:
    spec = message("one two three", deltas=True)
    assert spec.delta_chunks() == ("one ", "two ", "three")
    assert message("no deltas").delta_chunks() == ()


def test_message_rejects_chunks_that_do_not_add_up_to_the_text() -> None:
    with pytest.raises(ValueError, match="add up"):
        message("abc", chunks=["a", "b"])


def test_reasoning_and_web_search_items_have_their_wire_shape() -> None:
    assert reasoning(["s1", "s2"]).item("rs_1", "c")["summary"] == [
        {"type": "summary_text", "text": "s1"},
        {"type": "summary_text", "text": "s2"},
    ]
    assert web_search("q").item("ws_1", "c")["action"] == {"type": "search", "query": "q"}


def test_behaviour_helpers_set_the_response_kind() -> None:
    assert http_error(429, "slow down", retry_after=2).headers == (("retry-after", "2"),)
    assert hang().kind == "hang"
    assert hold(message("x")).hold
    assert response_failed("x").kind == "failed"
    assert disconnect(after_events=3).disconnect_after_events == 3
    assert delay(1.5, message("x")).delay == 1.5


def test_http_error_rejects_a_success_status() -> None:
    with pytest.raises(ValueError):
        http_error(200, "fine")


def test_script_answers_in_global_order_then_runs_out() -> None:
    script = Script([message("a"), response(message("b"))])
    first = script.next_response(request_with("x"))
    second = script.next_response(request_with("x"))
    assert first is not None and first.items == (message("a"),)
    assert second is not None and second.items == (message("b"),)
    assert script.next_response(request_with("x")) is None
    assert script.remaining == 0
    assert script.served == 2


def test_script_default_answers_after_the_queue_and_may_use_the_request() -> None:
    script = Script(
        [message("first")], default=lambda req: message(f"echo: {req.last_user_text()}")
    )
    script.next_response(request_with("x"))
    answer = script.next_response(request_with("ping"))
    assert answer is not None and answer.items == (message("echo: ping"),)


def test_script_by_key_routes_each_conversation_to_its_own_queue() -> None:
    script = Script.by_key(
        lambda req: req.first_user_text(),
        {"A": [message("a1"), message("a2")], "B": [message("b1")]},
        default=message("nobody"),
    )
    answers = [script.next_response(request_with(t)) for t in ("B", "A", "A", "B", "C")]
    texts = [a.items[0].text for a in answers if a is not None]  # type: ignore[union-attr]
    assert texts == ["b1", "a1", "a2", "nobody", "nobody"]


def test_script_append_extends_the_global_queue() -> None:
    script = Script()
    script.append(message("late"))
    assert script.remaining == 1
