"""App-server notifications mapped onto the exec transport's public events."""

from __future__ import annotations

from typing import Any

import pytest

from codex_trio._errors import ProtocolError
from codex_trio._protocol.app_server import (
    AgentMessageDeltaEvent,
    AppServerNotificationEvent,
    PlanUpdatedEvent,
    TokenUsageUpdatedEvent,
    TurnEventMapper,
    decode_params,
    map_item,
)
from codex_trio._protocol.app_server import types as g
from codex_trio._protocol.exec_events import (
    ItemCompletedEvent,
    ItemStartedEvent,
    ItemUpdatedEvent,
    ThreadErrorEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    TurnStartedEvent,
    Usage,
)
from codex_trio._protocol.exec_items import (
    AgentMessageItem,
    CommandExecutionItem,
    CommandExecutionStatus,
    DynamicToolCallItem,
    DynamicToolCallStatus,
    FileChangeItem,
    PatchApplyStatus,
    PatchChangeKind,
    ReasoningItem,
    TodoItem,
    TodoListItem,
    UnknownItem,
)

IDS = {"threadId": "t", "turnId": "u"}


def mapped(mapper: TurnEventMapper, method: str, params: dict[str, Any]) -> list[Any]:
    cls = g.SERVER_NOTIFICATIONS[method]
    assert cls is not None
    return mapper.map(method, decode_params(cls, params))


def item(raw: dict[str, Any]) -> Any:
    return decode_params(g.ItemCompletedNotification, {**IDS, "completedAtMs": 1, "item": raw}).item


TURN_STARTED = {"threadId": "t", "turn": {"id": "u", "items": [], "status": "inProgress"}}


def started(usage: Usage | None = None) -> TurnEventMapper:
    """A mapper that has seen this turn's ``turn/started``."""
    mapper = TurnEventMapper(usage=usage)
    assert mapped(mapper, "turn/started", TURN_STARTED) == [TurnStartedEvent()]
    return mapper


def usage(total: int) -> dict[str, Any]:
    return {
        "inputTokens": total,
        "cachedInputTokens": 0,
        "outputTokens": 1,
        "reasoningOutputTokens": 0,
        "totalTokens": total + 1,
    }


def test_items_map_to_exec_items() -> None:
    assert map_item(item({"type": "agentMessage", "id": "m", "text": "hi"})) == AgentMessageItem(
        id="m", text="hi"
    )
    assert map_item(item({"type": "reasoning", "id": "r", "summary": ["a", "b"]})) == ReasoningItem(
        id="r", text="a\nb"
    )
    command = map_item(
        item(
            {
                "type": "commandExecution",
                "id": "c",
                "command": "ls",
                "cwd": "/",
                "status": "declined",
                "commandActions": [],
            }
        )
    )
    assert command == CommandExecutionItem(
        id="c",
        command="ls",
        aggregated_output="",
        exit_code=None,
        status=CommandExecutionStatus.DECLINED,
    )
    change = map_item(
        item(
            {
                "type": "fileChange",
                "id": "f",
                "status": "completed",
                "changes": [{"path": "a.txt", "kind": {"type": "add"}, "diff": "+x"}],
            }
        )
    )
    assert isinstance(change, FileChangeItem) and change.status is PatchApplyStatus.COMPLETED
    assert change.changes[0].kind is PatchChangeKind.ADD


def test_user_message_is_left_out_and_unmapped_types_stay_as_unknown_items() -> None:
    assert map_item(item({"type": "userMessage", "id": "u1", "content": []})) is None
    unknown = map_item(item({"type": "contextCompaction", "id": "x"}))
    assert isinstance(unknown, UnknownItem) and unknown.type == "contextCompaction"
    assert unknown.raw["id"] == "x"


def test_turn_completed_carries_the_threads_cumulative_usage() -> None:
    mapper = started(Usage(input_tokens=5, cached_input_tokens=0, output_tokens=1))
    events = mapped(
        mapper,
        "thread/tokenUsage/updated",
        {**IDS, "tokenUsage": {"total": usage(50), "last": usage(45), "modelContextWindow": 1000}},
    )
    assert isinstance(events[0], TokenUsageUpdatedEvent) and events[0].last.input_tokens == 45
    done = mapped(
        mapper,
        "turn/completed",
        {"threadId": "t", "turn": {"id": "u", "items": [], "status": "completed"}},
    )
    assert isinstance(done[0], TurnCompletedEvent) and done[0].usage.input_tokens == 50
    assert mapper.finished


def test_failed_and_interrupted_turns_end_with_turn_failed() -> None:
    failed = mapped(
        started(),
        "turn/completed",
        {
            "threadId": "t",
            "turn": {"id": "u", "items": [], "status": "failed", "error": {"message": "quota"}},
        },
    )
    assert isinstance(failed[0], TurnFailedEvent) and failed[0].message == "quota"
    interrupted = mapped(
        started(),
        "turn/completed",
        {"threadId": "t", "turn": {"id": "u", "items": [], "status": "interrupted"}},
    )
    assert interrupted[0].extra == {"status": "interrupted"}


def test_deltas_plans_errors_and_others() -> None:
    mapper = TurnEventMapper()
    assert mapped(mapper, "item/agentMessage/delta", {**IDS, "itemId": "m", "delta": "x"}) == [
        AgentMessageDeltaEvent(item_id="m", delta="x")
    ]
    plan = mapped(
        mapper, "turn/plan/updated", {**IDS, "plan": [{"step": "a", "status": "pending"}]}
    )
    assert isinstance(plan[0], PlanUpdatedEvent) and plan[0].steps[0].step == "a"
    error = mapped(
        mapper, "error", {**IDS, "willRetry": True, "error": {"message": "Reconnecting... 1/5"}}
    )
    assert isinstance(error[0], ThreadErrorEvent) and error[0].extra == {"willRetry": True}
    other = mapped(mapper, "thread/name/updated", {"threadId": "t", "threadName": "n"})
    assert isinstance(other[0], AppServerNotificationEvent)
    assert isinstance(
        mapped(
            mapper,
            "item/completed",
            {**IDS, "completedAtMs": 1, "item": {"type": "agentMessage", "id": "m", "text": "x"}},
        )[0],
        ItemCompletedEvent,
    )


def test_a_turn_completed_before_turn_started_is_a_protocol_error_not_a_success() -> None:
    mapper = TurnEventMapper()
    with pytest.raises(ProtocolError, match="before turn/started") as info:
        mapped(
            mapper,
            "turn/completed",
            {"threadId": "t", "turn": {"id": "u", "items": [], "status": "completed"}},
        )
    assert info.value.thread_id == "t" and info.value.turn_id == "u"
    assert mapper.finished and mapper.status == "failed"


def test_a_dynamic_tool_call_is_a_typed_item() -> None:
    running = map_item(
        item(
            {
                "type": "dynamicToolCall",
                "id": "call_3",
                "namespace": None,
                "tool": "add",
                "arguments": {"a": 2, "b": 40},
                "status": "inProgress",
                "contentItems": None,
                "success": None,
                "durationMs": None,
            }
        )
    )
    assert running == DynamicToolCallItem(
        id="call_3",
        tool="add",
        arguments={"a": 2, "b": 40},
        status=DynamicToolCallStatus.IN_PROGRESS,
    )
    done = map_item(
        item(
            {
                "type": "dynamicToolCall",
                "id": "call_3",
                "tool": "add",
                "arguments": {"a": 2, "b": 40},
                "status": "failed",
                "contentItems": [
                    {"type": "inputText", "text": "4"},
                    {"type": "inputText", "text": "2"},
                ],
                "success": False,
                "durationMs": 1,
            }
        )
    )
    assert isinstance(done, DynamicToolCallItem) and done.status is DynamicToolCallStatus.FAILED
    assert done.success is False and done.duration_ms == 1 and done.text == "42"
    assert done.content_items == (
        {"type": "inputText", "text": "4"},
        {"type": "inputText", "text": "2"},
    )


def test_reasoning_keeps_raw_content_without_a_summary_and_empty_reasoning_is_left_out() -> None:
    raw = map_item(item({"type": "reasoning", "id": "r", "summary": [], "content": ["x", "y"]}))
    assert raw == ReasoningItem(id="r", text="x\ny", extra={"content": ["x", "y"]})
    both = map_item(item({"type": "reasoning", "id": "r", "summary": ["s"], "content": ["x"]}))
    assert both == ReasoningItem(id="r", text="s", extra={"content": ["x"]})
    assert map_item(item({"type": "reasoning", "id": "r", "summary": [], "content": []})) is None
    mapper = started()
    assert (
        mapped(
            mapper,
            "item/started",
            {**IDS, "startedAtMs": 1, "item": {"type": "reasoning", "id": "r", "summary": []}},
        )
        == []
    )


def test_the_plan_is_a_todo_list_started_updated_and_completed_with_the_turn() -> None:
    mapper = started()
    first = mapped(
        mapper,
        "turn/plan/updated",
        {
            **IDS,
            "explanation": "why",
            "plan": [{"step": "a", "status": "inProgress"}, {"step": "b", "status": "pending"}],
        },
    )
    assert isinstance(first[0], PlanUpdatedEvent)
    assert first[1] == ItemStartedEvent(
        TodoListItem(
            id="u:todo_list",
            items=(
                TodoItem(text="a", completed=False, extra={"status": "inProgress"}),
                TodoItem(text="b", completed=False, extra={"status": "pending"}),
            ),
            extra={"explanation": "why"},
        )
    )
    second = mapped(
        mapper,
        "turn/plan/updated",
        {
            **IDS,
            "plan": [{"step": "a", "status": "completed"}, {"step": "b", "status": "completed"}],
        },
    )
    assert isinstance(second[1], ItemUpdatedEvent) and second[1].item.id == "u:todo_list"
    assert [t.completed for t in second[1].item.items] == [True, True]  # type: ignore[union-attr]
    end = mapped(
        mapper,
        "turn/completed",
        {"threadId": "t", "turn": {"id": "u", "items": [], "status": "completed"}},
    )
    assert [type(e) for e in end] == [ItemCompletedEvent, TurnCompletedEvent]
    assert end[0].item == second[1].item


def test_a_turn_without_a_plan_completes_without_a_todo_list() -> None:
    end = mapped(
        started(),
        "turn/completed",
        {"threadId": "t", "turn": {"id": "u", "items": [], "status": "interrupted"}},
    )
    assert [type(e) for e in end] == [TurnFailedEvent]
