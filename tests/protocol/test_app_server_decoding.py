"""Parsing lines (orjson) and typing notifications: same answers as json.loads and __init__."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from codex_trio._errors import ProtocolError
from codex_trio._protocol.app_server import (
    Notification,
    Request,
    Response,
    UnknownNotification,
    classify,
    decode_notification,
    decode_params,
    encode_message,
    parse_message,
)
from codex_trio._protocol.app_server import types as g

DELTA = {"threadId": "t", "turnId": "u", "itemId": "i", "delta": "hé"}


def _line(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def test_parse_message_classifies_notifications_requests_and_responses() -> None:
    for obj in (
        {"method": "item/agentMessage/delta", "params": DELTA},
        {"method": "initialized"},
        {"id": 0, "method": "item/tool/call", "params": {"a": 1}},
        {"id": 3, "result": {"ok": True}},
        {"id": 4, "error": {"code": -32601, "message": "no"}},
    ):
        assert parse_message(_line(obj)) == classify(obj)
    assert isinstance(parse_message(_line({"method": "x"})), Notification)
    assert isinstance(parse_message(_line({"id": 1, "method": "x"})), Request)
    assert isinstance(parse_message(_line({"id": 1, "result": None})), Response)


def test_parse_message_accepts_what_json_loads_accepts_and_orjson_refuses() -> None:
    note = parse_message(b'{"method": "m", "params": {"a": NaN, "b": "\\ud800", "c": 1e400}}')
    assert isinstance(note, Notification)
    assert note.params["a"] != note.params["a"]  # NaN
    assert note.params["b"] == "\ud800" and note.params["c"] == float("inf")


@pytest.mark.parametrize("line", [b"not json", b"\xff\xfe", b'{"method": "m"', b""])
def test_parse_message_raises_value_error_for_a_line_that_is_not_json(line: bytes) -> None:
    with pytest.raises(ValueError):
        parse_message(line)


def test_parse_message_raises_protocol_error_for_json_that_is_not_json_rpc() -> None:
    with pytest.raises(ProtocolError):
        parse_message(b"[1, 2]")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_parse_message_reads_params_exactly_as_json_loads(value: Any) -> None:
    line = json.dumps({"method": "m", "params": {"v": value}}, ensure_ascii=False).encode()
    note = parse_message(line)
    assert isinstance(note, Notification)
    assert note.params == json.loads(line)["params"]
    # ... and the round trip: what encode_message writes of it parses back to the same message,
    # and writing that again gives the same line.
    encoded = encode_message({"method": note.method, "params": note.params})
    again = parse_message(encoded)
    assert again == note
    assert encode_message({"method": again.method, "params": again.params}) == encoded


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    ),
    st.sampled_from(["request", "response", "error"]),
)
def test_requests_and_responses_round_trip_through_encode_message(value: Any, kind: str) -> None:
    obj: dict[str, Any] = {
        "request": {"id": 7, "method": "item/tool/call", "params": {"v": value}},
        "response": {"id": 7, "result": {"v": value}},
        "error": {"id": 7, "error": {"code": -32000, "message": "no", "data": value}},
    }[kind]
    encoded = encode_message(obj)
    assert json.loads(encoded) == obj
    assert parse_message(encoded) == classify(obj)


def test_decode_notification_types_a_known_method_with_its_generated_class() -> None:
    note = parse_message(_line({"method": "item/agentMessage/delta", "params": DELTA}))
    assert isinstance(note, Notification)
    assert decode_notification(note) == g.AgentMessageDeltaNotification(
        thread_id="t", turn_id="u", item_id="i", delta="hé"
    )


def test_unknown_method_decodes_to_unknown_notification_with_the_raw_params() -> None:
    params = {"threadId": "t", "weather": [1, 2]}
    note = Notification(method="thread/weather/changed", params=params)
    assert decode_notification(note) == UnknownNotification("thread/weather/changed", params)


def test_decode_notification_of_a_malformed_payload_is_a_protocol_error() -> None:
    note = Notification(method="item/agentMessage/delta", params={"threadId": "t"})
    with pytest.raises(ProtocolError, match="AgentMessageDeltaNotification"):
        decode_notification(note)


def test_every_typed_notification_method_has_the_decoder_of_its_class() -> None:
    typed = {m: cls for m, cls in g.SERVER_NOTIFICATIONS.items() if cls is not None}
    assert set(g.NOTIFICATION_DECODERS) == set(typed)
    for method, cls in typed.items():
        assert g.NOTIFICATION_DECODERS[method] is g.DECODERS[cls]


def test_generated_classes_do_nothing_in_init_that_the_decoders_skip() -> None:
    # The decoders fill slots directly instead of calling __init__: that builds the same object
    # only while no class has a validator, converter, factory default or post-init hook.
    for cls in g.DECODERS:
        assert "__slots__" in cls.__dict__, cls
        assert not hasattr(cls, "__attrs_post_init__"), cls
        for field in attrs.fields(cls):
            assert field.validator is None and field.converter is None, (cls, field.name)
            assert not isinstance(field.default, attrs.Factory), (cls, field.name)  # type: ignore[arg-type]


# Unknown keys are found two ways: by length when every key is required, else by set inclusion.


def test_unknown_key_is_kept_when_every_key_is_required() -> None:
    decoded = decode_params(g.AgentMessageDeltaNotification, {**DELTA, "newKey": 1})
    assert decoded.extra == {"newKey": 1}
    assert decode_params(g.AgentMessageDeltaNotification, DELTA).extra == {}


def test_unknown_key_is_kept_when_an_optional_key_is_missing_in_its_place() -> None:
    snapshot = {"limitId": "codex", "primary": None, "brandNew": True}
    decoded = decode_params(g.RateLimitSnapshot, snapshot)
    assert decoded.limit_id == "codex" and decoded.extra == {"brandNew": True}


def test_unknown_key_of_a_union_variant_is_kept_whether_or_not_the_tag_is_there() -> None:
    item = {"type": "agentMessage", "id": "m", "text": "hi", "mood": "good"}
    via_union = decode_params(
        g.ItemStartedNotification, {"threadId": "t", "turnId": "u", "startedAtMs": 1, "item": item}
    ).item
    assert via_union.extra == {"mood": "good"}
    untagged = {k: v for k, v in item.items() if k != "type"}
    assert decode_params(type(via_union), untagged).extra == {"mood": "good"}


def test_decoders_build_the_same_objects_as_init() -> None:
    params = {
        "threadId": "t",
        "turnId": "u",
        "tokenUsage": {
            "total": {
                "totalTokens": 25,
                "inputTokens": 20,
                "cachedInputTokens": 0,
                "outputTokens": 5,
                "reasoningOutputTokens": 0,
            },
            "last": {
                "totalTokens": 25,
                "inputTokens": 20,
                "cachedInputTokens": 0,
                "outputTokens": 5,
                "reasoningOutputTokens": 0,
            },
            "modelContextWindow": None,
        },
    }
    decoded = decode_notification(Notification(method="thread/tokenUsage/updated", params=params))
    assert isinstance(decoded, g.ThreadTokenUsageUpdatedNotification)
    total = decoded.token_usage.total
    assert total == g.TokenUsageBreakdown(
        total_tokens=25,
        input_tokens=20,
        cached_input_tokens=0,
        output_tokens=5,
        reasoning_output_tokens=0,
    )
    assert attrs.evolve(decoded) == decoded and hash(total) == hash(attrs.evolve(total))


def test_objects_built_without_init_are_frozen_and_equal_to_those_built_with_it() -> None:
    note = parse_message(_line({"method": "item/agentMessage/delta", "params": DELTA}))
    assert type(note) is Notification
    assert note == Notification(method="item/agentMessage/delta", params=DELTA)
    assert hash(note.method) == hash("item/agentMessage/delta")
    decoded = decode_notification(note)
    assert type(decoded) is g.AgentMessageDeltaNotification
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        note.method = "x"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        decoded.delta = "x"  # type: ignore[misc]
    assert repr(decoded) == repr(
        g.AgentMessageDeltaNotification(thread_id="t", turn_id="u", item_id="i", delta="hé")
    )
