"""The committed app-server protocol module matches the pinned binary's schema, and decodes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from codex_trio.errors import ProtocolError
from codex_trio.protocol.app_server import decode_params, encode_params
from codex_trio.protocol.app_server import types as g

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_app_server_protocol", ROOT / "scripts" / "gen_app_server_protocol.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_module_matches_the_pinned_binarys_schema(codex_binary: str) -> None:
    gen = _generator()
    defs, version = gen.load_schema(codex_binary)
    expected = gen.render(defs, version)
    current = (ROOT / "src/codex_trio/protocol/app_server/_generated.py").read_text()
    assert current == expected, "run: python scripts/gen_app_server_protocol.py"


def test_method_tables_cover_the_methods_the_transport_uses() -> None:
    for method in (
        "thread/start",
        "turn/start",
        "turn/steer",
        "turn/interrupt",
        "model/list",
        "thread/fork",
        "thread/read",
        "thread/list",
    ):
        assert g.CLIENT_REQUESTS[method][0] is not None
    assert g.SERVER_REQUESTS["item/tool/call"] == (
        g.DynamicToolCallParams,
        g.DynamicToolCallResponse,
    )
    assert g.SERVER_NOTIFICATIONS["item/agentMessage/delta"] is g.AgentMessageDeltaNotification


def test_notification_decodes_to_its_generated_class_with_snake_case_fields() -> None:
    params = {"threadId": "t", "turnId": "u", "itemId": "i", "delta": "hé"}
    decoded = decode_params(g.AgentMessageDeltaNotification, params)
    assert decoded == g.AgentMessageDeltaNotification(
        thread_id="t", turn_id="u", item_id="i", delta="hé"
    )


def test_unknown_keys_are_kept_in_extra_and_written_back() -> None:
    params = {"threadId": "t", "turnId": "u", "itemId": "i", "delta": "x", "newKey": [1]}
    decoded = decode_params(g.AgentMessageDeltaNotification, params)
    assert decoded.extra == {"newKey": [1]}
    assert encode_params(decoded) == params


def test_unknown_union_tag_decodes_to_the_unknown_class_with_the_raw_object() -> None:
    raw = {"type": "hologram", "id": "item_9", "colour": "blue"}
    params = {"threadId": "t", "turnId": "u", "startedAtMs": 1, "item": raw}
    decoded = decode_params(g.ItemStartedNotification, params)
    assert isinstance(decoded.item, g.UnknownThreadItem)
    assert decoded.item.type == "hologram" and decoded.item.raw == raw


def test_known_union_tag_decodes_to_its_variant_with_nested_unions() -> None:
    item = {
        "type": "commandExecution",
        "id": "c1",
        "command": "ls",
        "cwd": "/",
        "status": "completed",
        "exitCode": 0,
        "aggregatedOutput": "a\n",
        "commandActions": [{"type": "listFiles", "command": "ls", "path": None}],
    }
    decoded = decode_params(
        g.ItemCompletedNotification,
        {"threadId": "t", "turnId": "u", "completedAtMs": 2, "item": item},
    )
    assert isinstance(decoded.item, g.CommandExecutionThreadItem)
    action = decoded.item.command_actions[0]
    assert isinstance(action, g.ListFilesCommandAction)
    assert decoded.item.exit_code == 0 and action.command == "ls"


def test_unknown_enum_value_is_kept_as_a_string() -> None:
    item = {
        "type": "commandExecution",
        "id": "c1",
        "command": "ls",
        "cwd": "/",
        "status": "teleported",
        "commandActions": [],
    }
    decoded = decode_params(
        g.ItemCompletedNotification,
        {"threadId": "t", "turnId": "u", "completedAtMs": 2, "item": item},
    )
    assert decoded.item.status == "teleported"


def test_missing_required_key_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="AgentMessageDeltaNotification"):
        decode_params(g.AgentMessageDeltaNotification, {"threadId": "t"})


def test_params_round_trip_through_encode_and_decode() -> None:
    params = g.ThreadStartParams(
        cwd="/w",
        approval_policy="on-request",
        dynamic_tools=(
            g.FunctionDynamicToolSpec(
                name="add", description="adds", input_schema={"type": "object"}
            ),
        ),
    )
    wire = encode_params(params)
    assert wire["cwd"] == "/w" and wire["approvalPolicy"] == "on-request"
    assert wire["dynamicTools"] == [
        {
            "type": "function",
            "name": "add",
            "description": "adds",
            "inputSchema": {"type": "object"},
        }
    ]
    assert decode_params(g.ThreadStartParams, json.loads(json.dumps(wire))) == params
