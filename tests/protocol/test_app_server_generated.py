"""The committed app-server protocol module matches the pinned binary's schema, and decodes."""

from __future__ import annotations

import importlib.util
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_trio._errors import ProtocolError
from codex_trio._protocol.app_server import (
    Notification,
    decode_notification,
    decode_params,
    encode_message,
    encode_params,
    parse_message,
)
from codex_trio._protocol.app_server import types as g

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
    current = (ROOT / "src/codex_trio/_protocol/app_server/_generated.py").read_text()
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


# ------------------------------------------------------------------------ round trip (property)
#
# Values of every generated class, built by hypothesis from the classes' own annotations, go out
# through ENCODERS and back through DECODERS: decode(encode(v)) == v, and for the wire object
# x = encode(v) (what the encoders can produce: no explicit nulls, unknown keys in ``extra``),
# encode(decode(x)) == x. Unknown-variant classes (raw JSON, not in DECODERS) are left out of
# unions: a raw object whose tag happens to be known decodes to that variant, by design.

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=6), inner, max_size=2)
    ),
    max_leaves=4,
)
_HINTS: dict[type, dict[str, Any]] = {}
_STRATEGIES: dict[Any, st.SearchStrategy[Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, globalns=vars(g))
    return _HINTS[cls]


def _for_type(tp: Any) -> st.SearchStrategy[Any]:
    if tp in _STRATEGIES:
        return _STRATEGIES[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    strategy: st.SearchStrategy[Any]
    if tp is type(None):
        strategy = st.none()
    elif tp is str:
        strategy = st.text(max_size=8)
    elif tp is bool:
        strategy = st.booleans()
    elif tp is int:
        strategy = st.integers(-(2**63), 2**64 - 1)
    elif tp is float:
        strategy = st.floats(allow_nan=False, allow_infinity=False)
    elif tp is Any:
        strategy = _JSON
    elif origin is typing.Literal:
        strategy = st.sampled_from(args)
    elif origin in (types.UnionType, typing.Union):
        options = [
            a
            for a in args
            if not isinstance(a, type)
            or a is type(None)
            or a in g.DECODERS
            or a in (str, int, float, bool)
        ]
        strategy = st.one_of([st.deferred(lambda a=a: _for_type(a)) for a in options])
    elif origin is tuple:
        assert args[1:] == (Ellipsis,), tp
        strategy = st.lists(st.deferred(lambda: _for_type(args[0])), max_size=2).map(tuple)
    elif origin in (Mapping, dict):
        strategy = st.dictionaries(
            st.text(max_size=6), st.deferred(lambda: _for_type(args[1])), max_size=2
        )
    elif tp in g.DECODERS:
        strategy = st.deferred(lambda: _instances(tp))
    else:
        raise AssertionError(f"no strategy for {tp!r}")
    _STRATEGIES[tp] = strategy
    return strategy


def _instances(cls: type) -> st.SearchStrategy[Any]:
    hints = _hints(cls)
    known = getattr(g, f"_K_{cls.__name__}")
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in attrs.fields(cls):
        if field.name == "extra":
            fields["extra"] = st.dictionaries(
                st.text(min_size=1, max_size=6).filter(lambda k: k not in known), _JSON, max_size=2
            )
        else:
            fields[field.name] = _for_type(hints[field.name])
    return st.fixed_dictionaries(fields).map(lambda kw: cls(**kw))


GENERATED_CLASSES = sorted(g.DECODERS, key=lambda cls: cls.__name__)


def test_every_generated_class_has_an_encoder_and_a_decoder() -> None:
    assert set(g.ENCODERS) == set(g.DECODERS)


@pytest.mark.parametrize("cls", GENERATED_CLASSES, ids=lambda cls: cls.__name__)
@settings(
    max_examples=3,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    deadline=None,
)
@given(data=st.data())
def test_generated_classes_round_trip_through_the_wire(cls: type, data: st.DataObject) -> None:
    value = data.draw(_instances(cls), label=cls.__name__)
    wire = json.loads(json.dumps(encode_params(value)))
    decoded = decode_params(cls, wire)
    assert decoded == value
    assert encode_params(decoded) == wire


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)
@given(data=st.data())
def test_notifications_round_trip_through_a_json_rpc_line(data: st.DataObject) -> None:
    method, cls = data.draw(
        st.sampled_from(sorted((m, c) for m, c in g.SERVER_NOTIFICATIONS.items() if c is not None)),
        label="method",
    )
    value = data.draw(_instances(cls), label=cls.__name__)
    line = encode_message({"method": method, "params": encode_params(value)})
    note = parse_message(line)
    assert isinstance(note, Notification) and note.method == method
    decoded = decode_notification(note)
    assert decoded == value
    assert encode_message({"method": method, "params": encode_params(decoded)}) == line


def test_generated_classes_behave_as_attrs_frozen_classes() -> None:
    # The classes are plain __slots__ classes on a shared base (cheap to create at import), with
    # what @attrs.frozen(kw_only=True) gave them: frozen, ==/hash/repr over the fields (extra
    # left out of repr and hash), attrs.fields/evolve/asdict, copy and pickle.
    import copy
    import pickle

    a = g.TokenUsageBreakdown(
        total_tokens=3, input_tokens=2, cached_input_tokens=0, output_tokens=1,
        reasoning_output_tokens=0, extra={"k": 1},
    )  # fmt: skip
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.total_tokens = 4  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del a.total_tokens
    assert not hasattr(a, "__dict__") and not hasattr(a, "__weakref__")
    b = attrs.evolve(a)
    assert b == a and hash(b) == hash(a) and b is not a
    assert attrs.evolve(a, total_tokens=4) != a and attrs.evolve(a, extra={}) != a
    assert hash(attrs.evolve(a, extra={})) == hash(a)  # extra is compared, not hashed
    assert repr(a) == (
        "TokenUsageBreakdown(cache_write_input_tokens=None, cached_input_tokens=0, "
        "input_tokens=2, output_tokens=1, reasoning_output_tokens=0, total_tokens=3)"
    )
    assert attrs.has(g.TokenUsageBreakdown) and attrs.asdict(a)["extra"] == {"k": 1}
    fields = attrs.fields(g.TokenUsageBreakdown)
    assert [f.name for f in fields][-1] == "extra" and fields.extra.repr is False
    assert all(f.kw_only and f.init for f in fields)
    assert fields.total_tokens.default is attrs.NOTHING and fields.extra.default is g.EMPTY_EXTRA
    assert copy.deepcopy(a) == a and pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(TypeError):
        g.TokenUsageBreakdown(3, 2, 0, 1, 0)  # type: ignore[misc]
    # Optional keys default to None; classes differ even with equal fields.
    assert g.ThreadStartParams().cwd is None
    assert g.ThreadStartParams() != g.ThreadForkParams(thread_id="t")
    # Unknown-variant classes keep positional construction and match arguments.
    unknown = g.UnknownThreadItem("hologram", {"type": "hologram"})
    assert unknown == g.UnknownThreadItem(type="hologram", raw={"type": "hologram"})
    assert g.UnknownThreadItem.__match_args__ == ("type", "raw")
    assert repr(unknown) == "UnknownThreadItem(type='hologram', raw={'type': 'hologram'})"
