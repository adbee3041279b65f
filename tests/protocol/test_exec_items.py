"""Items of ``codex exec --json``: each type decodes to its class and re-encodes to the same JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from codex_trio._errors import ProtocolError
from codex_trio._protocol import (
    AgentMessageItem,
    CollabAgentStatus,
    CollabTool,
    CollabToolCallItem,
    CollabToolCallStatus,
    CommandExecutionItem,
    CommandExecutionStatus,
    DuplicateKeyDict,
    ErrorItem,
    FileChangeItem,
    FindInPageAction,
    ItemCompletedEvent,
    McpToolCallItem,
    McpToolCallStatus,
    OpenPageAction,
    OtherAction,
    PatchApplyStatus,
    PatchChangeKind,
    PlanItem,
    ReasoningItem,
    SearchAction,
    ThreadItem,
    TodoListItem,
    UnknownAction,
    UnknownItem,
    WebSearchItem,
    decode_event,
    encode_event,
    unstructure_event,
)


def _line(item: dict[str, Any]) -> str:
    return json.dumps({"type": "item.completed", "item": item}, separators=(",", ":"))


def _item(item_json: dict[str, Any]) -> ThreadItem:
    event = decode_event(_line(item_json))
    assert isinstance(event, ItemCompletedEvent)
    return event.item


def _pairs(text: str) -> Any:
    return json.loads(text, object_pairs_hook=lambda pairs: pairs)


# One realistic object per item type, in codex's key order (as codex 0.163 writes them, or as
# exec_events.rs declares them for types the mock model cannot make codex produce).
ITEMS: dict[str, dict[str, Any]] = {
    "agent_message": {"id": "item_4", "type": "agent_message", "text": "All done."},
    "reasoning": {"id": "item_1", "type": "reasoning", "text": "I will run a command"},
    "plan": {"id": "item_2", "type": "plan", "text": "1. read\n2. write"},
    "error": {"id": "item_0", "type": "error", "message": "Model metadata for `m` not found."},
    "command_execution": {
        "id": "item_3",
        "type": "command_execution",
        "command": "/bin/bash -lc 'echo hi'",
        "aggregated_output": "hi\n",
        "exit_code": 0,
        "status": "completed",
    },
    "file_change": {
        "id": "item_0",
        "type": "file_change",
        "changes": [{"path": "/w/hello.txt", "kind": "add"}, {"path": "/w/a", "kind": "delete"}],
        "status": "completed",
    },
    "mcp_tool_call": {
        "id": "item_5",
        "type": "mcp_tool_call",
        "server": "docs",
        "tool": "lookup",
        "arguments": {"q": "trio", "n": 2},
        "result": {
            "content": [{"type": "text", "text": "found"}],
            "structured_content": {"hits": [1, 2.5]},
        },
        "error": None,
        "status": "completed",
    },
    "collab_tool_call": {
        "id": "item_6",
        "type": "collab_tool_call",
        "tool": "spawn_agent",
        "sender_thread_id": "t-1",
        "receiver_thread_ids": ["t-2"],
        "prompt": "review the patch",
        "agents_states": {"t-2": {"status": "running", "message": None}},
        "status": "in_progress",
    },
    "todo_list": {
        "id": "item_5",
        "type": "todo_list",
        "items": [{"text": "one", "completed": True}, {"text": "two", "completed": False}],
    },
}
WEB_SEARCH_LINE = (
    '{"type":"item.completed","item":{"id":"item_2","type":"web_search","id":"ws_1",'
    '"query":"weather paris","action":{"type":"search","query":"weather paris"}}}'
)


@pytest.mark.parametrize("kind", sorted(ITEMS))
def test_every_item_type_round_trips_to_the_same_json(kind: str) -> None:
    line = _line(ITEMS[kind])
    event = decode_event(line)
    assert isinstance(event, ItemCompletedEvent)
    assert event.item.type == kind
    assert not isinstance(event.item, UnknownItem)
    assert json.loads(encode_event(event)) == json.loads(line)
    assert unstructure_event(event) == json.loads(line)


def test_text_items_carry_their_text() -> None:
    assert _item(ITEMS["agent_message"]) == AgentMessageItem(id="item_4", text="All done.")
    assert _item(ITEMS["reasoning"]) == ReasoningItem(id="item_1", text="I will run a command")
    assert _item(ITEMS["plan"]) == PlanItem(id="item_2", text="1. read\n2. write")
    assert _item(ITEMS["error"]) == ErrorItem(
        id="item_0", message="Model metadata for `m` not found."
    )


def test_command_execution_fields_are_typed() -> None:
    item = _item(ITEMS["command_execution"])
    assert item == CommandExecutionItem(
        id="item_3",
        command="/bin/bash -lc 'echo hi'",
        aggregated_output="hi\n",
        exit_code=0,
        status=CommandExecutionStatus.COMPLETED,
    )
    assert type(item.status) is CommandExecutionStatus


def test_running_command_keeps_its_explicit_null_exit_code() -> None:
    running = dict(ITEMS["command_execution"], exit_code=None, status="in_progress")
    item = _item(running)
    assert isinstance(item, CommandExecutionItem)
    assert item.exit_code is None
    assert '"exit_code":null' in encode_event(ItemCompletedEvent(item))


def test_absent_exit_code_reads_as_none_and_stays_absent() -> None:
    absent = {k: v for k, v in ITEMS["command_execution"].items() if k != "exit_code"}
    item = _item(absent)
    assert isinstance(item, CommandExecutionItem)
    assert item.exit_code is None
    assert "exit_code" not in encode_event(ItemCompletedEvent(item))


def test_absent_and_null_optional_fields_compare_equal() -> None:
    with_null = _item(dict(ITEMS["command_execution"], exit_code=None))
    absent = _item({k: v for k, v in ITEMS["command_execution"].items() if k != "exit_code"})
    assert with_null == absent


def test_file_change_lists_each_path_and_kind() -> None:
    item = _item(ITEMS["file_change"])
    assert isinstance(item, FileChangeItem)
    assert [(c.path, c.kind) for c in item.changes] == [
        ("/w/hello.txt", PatchChangeKind.ADD),
        ("/w/a", PatchChangeKind.DELETE),
    ]
    assert item.status is PatchApplyStatus.COMPLETED


def test_mcp_tool_call_keeps_arguments_result_and_null_error() -> None:
    item = _item(ITEMS["mcp_tool_call"])
    assert isinstance(item, McpToolCallItem)
    assert item.arguments == {"q": "trio", "n": 2}
    assert item.result is not None
    assert item.result.content == ({"type": "text", "text": "found"},)
    assert item.result.structured_content == {"hits": [1, 2.5]}
    assert item.error is None
    assert item.status is McpToolCallStatus.COMPLETED


def test_failed_mcp_tool_call_carries_the_error_message() -> None:
    failed = dict(ITEMS["mcp_tool_call"], result=None, error={"message": "timeout"})
    failed["status"] = "failed"
    item = _item(failed)
    assert isinstance(item, McpToolCallItem)
    assert item.result is None
    assert item.error is not None and item.error.message == "timeout"


def test_mcp_tool_call_without_arguments_key_round_trips_without_it() -> None:
    bare = {k: v for k, v in ITEMS["mcp_tool_call"].items() if k != "arguments"}
    item = _item(bare)
    assert isinstance(item, McpToolCallItem)
    assert item.arguments is None
    assert json.loads(encode_event(ItemCompletedEvent(item)))["item"] == bare


def test_collab_tool_call_fields_are_typed() -> None:
    item = _item(ITEMS["collab_tool_call"])
    assert isinstance(item, CollabToolCallItem)
    assert item.tool is CollabTool.SPAWN_AGENT
    assert item.receiver_thread_ids == ("t-2",)
    assert item.agents_states["t-2"].status is CollabAgentStatus.RUNNING
    assert item.agents_states["t-2"].message is None
    assert item.status is CollabToolCallStatus.IN_PROGRESS


def test_todo_list_items_keep_text_and_completion() -> None:
    item = _item(ITEMS["todo_list"])
    assert isinstance(item, TodoListItem)
    assert [(t.text, t.completed) for t in item.items] == [("one", True), ("two", False)]


# ------------------------------------------------------------------------------ web search


def test_web_search_keeps_both_duplicated_ids() -> None:
    event = decode_event(WEB_SEARCH_LINE)
    assert isinstance(event, ItemCompletedEvent)
    item = event.item
    assert isinstance(item, WebSearchItem)
    assert (item.id, item.call_id) == ("item_2", "ws_1")
    assert item.action == SearchAction(query="weather paris")


def test_web_search_reencodes_both_ids_in_order() -> None:
    encoded = encode_event(decode_event(WEB_SEARCH_LINE))
    assert _pairs(encoded) == _pairs(WEB_SEARCH_LINE)
    assert encoded == WEB_SEARCH_LINE


def test_web_search_unstructures_to_a_dict_that_remembers_both_ids() -> None:
    obj = unstructure_event(decode_event(WEB_SEARCH_LINE))
    assert obj == json.loads(WEB_SEARCH_LINE)
    item = obj["item"]
    assert isinstance(item, DuplicateKeyDict)
    assert [v for k, v in item.pairs if k == "id"] == ["item_2", "ws_1"]


def test_web_search_with_a_single_id_has_no_call_id_and_writes_one_id() -> None:
    line = WEB_SEARCH_LINE.replace('"id":"ws_1",', "")
    event = decode_event(line)
    assert isinstance(event, ItemCompletedEvent) and isinstance(event.item, WebSearchItem)
    assert (event.item.id, event.item.call_id) == ("item_2", None)
    assert encode_event(event) == line


def test_web_search_with_three_ids_is_a_protocol_error() -> None:
    line = WEB_SEARCH_LINE.replace('"id":"ws_1",', '"id":"ws_1","id":"ws_2",')
    with pytest.raises(ProtocolError, match="3 times"):
        decode_event(line)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"type": "search", "query": "q"}, SearchAction(query="q")),
        ({"type": "search", "queries": ["a", "b"]}, SearchAction(queries=("a", "b"))),
        ({"type": "open_page", "url": "https://e.x"}, OpenPageAction(url="https://e.x")),
        (
            {"type": "find_in_page", "url": "https://e.x", "pattern": "foo"},
            FindInPageAction(url="https://e.x", pattern="foo"),
        ),
        ({"type": "other"}, OtherAction()),
    ],
)
def test_known_web_search_actions_are_typed(action: dict[str, Any], expected: object) -> None:
    line = WEB_SEARCH_LINE.replace(
        '{"type":"search","query":"weather paris"}', json.dumps(action, separators=(",", ":"))
    )
    event = decode_event(line)
    assert isinstance(event, ItemCompletedEvent) and isinstance(event.item, WebSearchItem)
    assert event.item.action == expected
    assert encode_event(event) == line


@pytest.mark.parametrize(
    "action",
    [
        {"type": "scroll", "by": 3},
        {"type": "search", "query": 5},
        {"query": "no type"},
        "just a string",
        None,
        [1, 2],
    ],
)
def test_unknown_web_search_action_shapes_are_kept_raw(action: Any) -> None:
    item = dict(ITEMS["agent_message"], type="web_search", query="q", action=action)
    del item["text"]
    decoded = _item(item)
    assert isinstance(decoded, WebSearchItem)
    assert decoded.action == UnknownAction(action)
    assert json.loads(encode_event(ItemCompletedEvent(decoded)))["item"]["action"] == action


# -------------------------------------------------------------------- unknown and extra


def test_unknown_item_type_keeps_the_raw_object() -> None:
    raw = {"id": "item_9", "type": "image_generation", "saved_path": "/x.png", "n": [1]}
    item = _item(raw)
    assert item == UnknownItem(id="item_9", type="image_generation", raw=raw)
    assert json.loads(encode_event(ItemCompletedEvent(item)))["item"] == raw


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("command_execution", "status", "cancelled"),
        ("file_change", "status", "declined"),
        ("mcp_tool_call", "status", "queued"),
        ("collab_tool_call", "tool", "resume_agent"),
        ("collab_tool_call", "status", "paused"),
    ],
)
def test_unknown_enum_value_makes_the_item_unknown_not_an_error(
    kind: str, field: str, value: str
) -> None:
    raw = dict(ITEMS[kind], **{field: value})
    item = _item(raw)
    assert isinstance(item, UnknownItem)
    assert (item.id, item.type, item.raw) == (raw["id"], kind, raw)
    assert json.loads(encode_event(ItemCompletedEvent(item)))["item"] == raw


def test_unknown_nested_enum_value_makes_the_item_unknown() -> None:
    raw = dict(ITEMS["file_change"], changes=[{"path": "/a", "kind": "rename"}])
    assert isinstance(_item(raw), UnknownItem)
    states = {"t-2": {"status": "hibernating", "message": None}}
    assert isinstance(_item(dict(ITEMS["collab_tool_call"], agents_states=states)), UnknownItem)


@pytest.mark.parametrize("kind", sorted(ITEMS))
def test_extra_keys_keep_the_item_typed_and_survive_reencoding(kind: str) -> None:
    raw = dict(ITEMS[kind], added_in_0_200={"nested": [1, None]}, flag=True)
    item = _item(raw)
    assert not isinstance(item, UnknownItem)
    assert dict(item.extra) == {"added_in_0_200": {"nested": [1, None]}, "flag": True}
    assert json.loads(encode_event(ItemCompletedEvent(item)))["item"] == raw


def test_extra_keys_of_a_web_search_item_follow_both_ids() -> None:
    line = WEB_SEARCH_LINE[:-2] + ',"results":[{"url":"https://e.x"}]}}'
    event = decode_event(line)
    assert isinstance(event, ItemCompletedEvent) and isinstance(event.item, WebSearchItem)
    assert dict(event.item.extra) == {"results": [{"url": "https://e.x"}]}
    assert encode_event(event) == line


def test_extra_keys_in_nested_objects_survive_reencoding() -> None:
    raw = dict(
        ITEMS["mcp_tool_call"],
        result={"content": [], "structured_content": None, "annotations": {"k": 1}},
    )
    item = _item(raw)
    assert isinstance(item, McpToolCallItem) and item.result is not None
    assert dict(item.result.extra) == {"annotations": {"k": 1}}
    assert json.loads(encode_event(ItemCompletedEvent(item)))["item"] == raw


def test_mcp_result_meta_is_typed_and_written_back_in_place() -> None:
    # As codex 0.163 writes it when the MCP server's result carries `_meta`.
    line = (
        '{"type":"item.completed","item":{"id":"item_1","type":"mcp_tool_call","server":"docs",'
        '"tool":"lookup","arguments":{"q":"trio"},"result":{"content":[{"type":"text",'
        '"text":"found trio"}],"_meta":{"trace":"t1"},"structured_content":{"hits":2}},'
        '"error":null,"status":"completed"}}'
    )
    event = decode_event(line)
    assert isinstance(event, ItemCompletedEvent) and isinstance(event.item, McpToolCallItem)
    assert event.item.result is not None
    assert event.item.result.meta == {"trace": "t1"}
    assert dict(event.item.result.extra) == {}
    assert encode_event(event) == line


# ------------------------------------------------------------------------------ bad items


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("agent_message", {"text": 5}),
        ("agent_message", {"id": None}),
        ("command_execution", {"exit_code": "0"}),
        ("command_execution", {"exit_code": 1.5}),
        ("command_execution", {"status": 3}),
        ("file_change", {"changes": {"path": "/a"}}),
        ("file_change", {"changes": ["/a"]}),
        ("mcp_tool_call", {"result": "ok"}),
        ("mcp_tool_call", {"error": {"message": 1}}),
        ("collab_tool_call", {"receiver_thread_ids": [1]}),
        ("collab_tool_call", {"agents_states": []}),
        ("todo_list", {"items": [{"text": "a", "completed": "yes"}]}),
    ],
)
def test_known_item_with_wrongly_typed_field_is_a_protocol_error(
    kind: str, change: dict[str, Any]
) -> None:
    with pytest.raises(ProtocolError, match=kind):
        decode_event(_line(dict(ITEMS[kind], **change)))


@pytest.mark.parametrize("kind", sorted(ITEMS))
def test_known_item_missing_a_required_key_is_a_protocol_error(kind: str) -> None:
    required = {
        "agent_message": "text",
        "reasoning": "text",
        "plan": "text",
        "error": "message",
        "command_execution": "status",
        "file_change": "changes",
        "mcp_tool_call": "server",
        "collab_tool_call": "sender_thread_id",
        "todo_list": "items",
    }[kind]
    raw = {k: v for k, v in ITEMS[kind].items() if k != required}
    with pytest.raises(ProtocolError, match=f"missing required key '{required}'"):
        decode_event(_line(raw))


def test_item_without_a_string_type_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="'type'"):
        decode_event(_line({"id": "item_0", "text": "hi"}))


def test_other_web_search_action_keeps_its_extra_keys() -> None:
    line = WEB_SEARCH_LINE.replace(
        '{"type":"search","query":"weather paris"}', '{"type":"other","note":"n"}'
    )
    event = decode_event(line)
    assert isinstance(event, ItemCompletedEvent) and isinstance(event.item, WebSearchItem)
    assert event.item.action == OtherAction({"note": "n"})
    assert encode_event(event) == line
