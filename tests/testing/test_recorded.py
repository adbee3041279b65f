"""Accessors of RecordedRequest over a body shaped like codex's."""

from __future__ import annotations

import json
from typing import Any

from codex_trio.testing import RecordedRequest


def recorded(body: Any, headers: list[tuple[str, str]] | None = None) -> RecordedRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return RecordedRequest.build(
        index=0, method="POST", path="/v1/responses", headers=headers or [], raw_body=raw
    )


BODY = {
    "model": "mock-model",
    "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "d"}]},
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "<environment_context>"}],
        },
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                {"type": "input_text", "text": "first prompt"},
            ],
        },
        {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "hi\n"},
        {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Success."},
        {
            "type": "function_call_output",
            "call_id": "call_3",
            "output": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}],
        },
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "second prompt"}],
        },
    ],
    "tools": [{"type": "function", "name": "exec_command"}, {"type": "web_search"}],
    "text": {"format": {"type": "json_schema", "name": "codex_output_schema", "schema": {}}},
}


def test_input_texts_filter_by_role() -> None:
    req = recorded(BODY)
    assert req.input_texts() == ["<environment_context>", "first prompt", "second prompt"]
    assert req.input_texts("developer") == ["d"]
    assert req.last_user_text() == "second prompt"
    assert req.first_user_text(containing="prompt") == "first prompt"


def test_tool_outputs_are_mapped_by_call_id() -> None:
    req = recorded(BODY)
    assert req.function_call_outputs() == {"call_1": "hi\n", "call_3": "ab"}
    assert req.custom_tool_call_outputs() == {"call_2": "Success."}


def test_tools_images_and_text_format_are_exposed() -> None:
    req = recorded(BODY)
    assert req.tool_names() == ["exec_command", "web_search"]
    assert req.input_images() == ["data:image/png;base64,AAAA"]
    assert req.text_format is not None and req.text_format["name"] == "codex_output_schema"
    assert req.model == "mock-model"


def test_non_json_body_is_kept_raw_and_accessors_are_empty() -> None:
    req = recorded(b"not json")
    assert req.body is None and req.raw_body == b"not json"
    assert req.input == [] and req.last_user_text() is None and req.text_format is None


def test_credentials_are_only_available_through_authorization() -> None:
    req = recorded(
        BODY, headers=[("Authorization", "Bearer secret-value-123"), ("X-Other", "visible")]
    )
    assert req.headers["authorization"] == "[REDACTED]"
    assert req.headers["x-other"] == "visible"
    assert "secret-value-123" not in repr(req) and "secret-value-123" not in str(req)
    assert req.authorization() == "Bearer secret-value-123"


def test_marker_returns_the_first_group_of_the_first_matching_user_text() -> None:
    req = recorded(
        {
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "no"}],
                },
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "hi [conv:7] and [conv:8]"}],
                },
            ]
        }
    )
    assert req.marker(r"\[conv:(\d+)\]") == "7"
    assert req.marker(r"conv:\d") == "conv:7"
    assert req.marker("absent") is None
