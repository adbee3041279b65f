"""Dynamic tools from async functions: schema from hints, calls, failures."""

from __future__ import annotations

import enum
from typing import Literal

import pytest
import trio

from codex_trio.api.tools import ToolCall, ToolResult, json_schema_for, tool
from codex_trio.errors import ConfigurationError
from codex_trio.protocol.app_server.server_requests import tool_response
from codex_trio.transport.app_server import _run_tool


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def call(arguments: object, name: str = "t") -> ToolCall:
    return ToolCall(
        thread_id="t", turn_id="u", call_id="c", tool=name, namespace=None, arguments=arguments
    )


def test_schema_comes_from_the_type_hints_and_defaults() -> None:
    @tool
    async def search(
        query: str,
        limit: int = 10,
        tags: list[str] | None = None,
        mode: Literal["fast", "slow"] = "fast",
        colour: Colour = Colour.RED,
    ) -> str:
        """Search the index.

        Longer text that is not part of the description."""
        return query

    assert search.name == "search" and search.description == "Search the index."
    assert search.input_schema == {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": "integer"},
            "tags": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
            "mode": {"enum": ["fast", "slow"]},
            "colour": {"enum": ["red", "blue"]},
        },
        "required": ["query"],
        "additionalProperties": False,
    }
    assert search.spec()["type"] == "function" and search.spec()["inputSchema"]["required"]


def test_given_schema_name_and_description_win() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "number"}}}

    @tool(name="my-tool", description="does x", schema=schema, timeout=3)
    async def anything(**kwargs: object) -> str:
        return "x"

    assert (anything.name, anything.description, anything.input_schema, anything.timeout) == (
        "my-tool",
        "does x",
        schema,
        3,
    )


def test_sync_functions_bad_names_and_unknown_hints_are_refused() -> None:
    def sync(a: int) -> int:
        return a

    with pytest.raises(ConfigurationError, match="async"):
        tool(sync)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="name"):
        tool(name="has space")(_noop)
    with pytest.raises(ConfigurationError, match="name"):
        tool(name="trailing_newline\n")(_noop)
    with pytest.raises(ConfigurationError, match="schema"):
        json_schema_for(object)


async def _noop() -> None:
    return None


async def test_call_passes_arguments_and_returns_json_text() -> None:
    @tool
    async def pair(a: int, b: str) -> dict[str, object]:
        """Pair."""
        return {"a": a, "b": b}

    result = await pair.handler(call({"a": 1, "b": "x"}))
    assert result == ToolResult(text='{"a": 1, "b": "x"}')
    assert tool_response(result) == {
        "contentItems": [{"type": "inputText", "text": '{"a": 1, "b": "x"}'}],
        "success": True,
    }


async def test_raising_tool_reports_failure_with_the_error_text() -> None:
    @tool
    async def boom() -> str:
        """Boom."""
        raise ValueError("bad input")

    result, status = await _run_tool(boom, call({}))
    assert not result.success and "bad input" in result.text and status == "error"


async def test_tool_past_its_timeout_reports_failure() -> None:
    @tool(timeout=0.01)
    async def slow() -> str:
        """Slow."""
        await trio.sleep_forever()
        return "never"

    result, status = await _run_tool(slow, call({}))
    assert not result.success and "timed out" in result.text and status == "timeout"


async def test_non_object_arguments_are_a_failed_call_not_a_crash() -> None:
    @tool
    async def one(a: int) -> int:
        """One."""
        return a

    result = await one.handler(call([1, 2]))
    assert not result.success
