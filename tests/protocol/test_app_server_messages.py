"""Classification of incoming app-server lines, typed errors, and safe encoding."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codex_trio._errors import ProtocolError
from codex_trio._protocol.app_server import (
    InvalidMessageError,
    InvalidParamsError,
    JsonRpcError,
    MethodNotFoundError,
    Notification,
    Request,
    Response,
    ServerOverloadedError,
    classify,
    encode_message,
)
from codex_trio._protocol.app_server.messages import error_from_wire


def test_message_with_method_and_id_is_a_server_request_even_if_the_id_is_ours() -> None:
    assert classify({"id": 0, "method": "item/tool/call", "params": {"a": 1}}) == Request(
        id=0, method="item/tool/call", params={"a": 1}
    )


def test_message_with_method_and_no_id_is_a_notification_without_jsonrpc_key() -> None:
    assert classify({"method": "turn/started"}) == Notification(method="turn/started", params={})


def test_message_with_id_and_result_is_a_response() -> None:
    assert classify({"id": 3, "result": None}) == Response(id=3, result=None)
    assert classify({"id": 3, "error": {"code": 1}}).error == {"code": 1}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "obj", [[1], "x", {"id": 1}, {"method": 5}, {"method": "m", "params": [1]}]
)
def test_anything_else_is_a_protocol_error(obj: object) -> None:
    with pytest.raises(ProtocolError):
        classify(obj)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (-32601, MethodNotFoundError),
        (-32602, InvalidParamsError),
        (-32001, ServerOverloadedError),
        (42, JsonRpcError),
    ],
)
def test_error_codes_map_to_typed_errors(code: int, cls: type[JsonRpcError]) -> None:
    error = error_from_wire({"code": code, "message": "nope", "data": [1]}, method="m")
    assert type(error) is cls and error.code == code and error.data == [1]
    assert "m: nope" in str(error)


def test_encoding_refuses_lone_surrogates_and_nan_but_keeps_other_unicode() -> None:
    with pytest.raises(InvalidMessageError):
        encode_message({"text": "\udc80"})
    with pytest.raises(InvalidMessageError):
        encode_message({"x": float("inf")})
    line = encode_message({"text": "héllo 🎉 \u2028"})
    assert line.endswith(b"\n") and json.loads(line) == {"text": "héllo 🎉 \u2028"}
    assert b"\n" not in line[:-1]


@given(st.text())
def test_any_text_is_either_sent_intact_or_refused_for_a_lone_surrogate(text: str) -> None:
    has_lone_surrogate = any("\ud800" <= ch <= "\udfff" for ch in text)
    if has_lone_surrogate:
        with pytest.raises(InvalidMessageError):
            encode_message({"text": text})
    else:
        line = encode_message({"text": text})
        assert line.count(b"\n") == 1 and json.loads(line) == {"text": text}
