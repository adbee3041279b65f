"""Dynamic tools from async functions: schema from hints, calls, failures."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from typing import Any, Literal

import pytest
import trio

import codex_trio
from codex_trio._api.tools import ToolCall, ToolResult, json_schema_for, tool
from codex_trio._errors import ConfigurationError
from codex_trio._protocol.app_server.server_requests import tool_response
from codex_trio._transport.app_server._dispatch import _run_tool
from codex_trio.observe import telemetry
from codex_trio.observe.telemetry import EventName
from codex_trio.testing import MockModel, function_call, message


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


class Opaque:
    """Not JSON; its repr holds something that must not reach the model."""

    def __repr__(self) -> str:
        return "Opaque(secret-looking-repr)"

    __str__ = __repr__


async def test_result_that_is_not_json_is_a_failed_call_naming_the_type() -> None:
    @tool
    async def bad() -> object:
        """Bad."""
        return {"value": Opaque()}

    result = await bad.handler(call({}))
    assert not result.success
    assert "not JSON-serialisable" in result.text and "Opaque" in result.text
    assert "secret-looking-repr" not in result.text
    for value, reason in (([float("nan")], "NaN"), (_cycle(), "circular")):

        @tool
        async def odd() -> object:
            """Odd."""
            return value  # noqa: B023 - called before the loop moves on

        result = await odd.handler(call({}))
        assert not result.success and reason in result.text


def _cycle() -> list[object]:
    items: list[object] = []
    items.append(items)
    return items


@pytest.mark.integration
async def test_non_json_tool_result_reaches_the_model_as_a_clear_error_and_is_logged(
    mock_model: MockModel, caplog: pytest.LogCaptureFixture
) -> None:
    @tool
    async def lookup(key: str) -> object:
        """Look a key up."""
        return {"key": key, "found": Opaque()}

    stops: list[Mapping[str, Any]] = []

    def on_stop(e: EventName, m: Mapping[str, float], md: Mapping[str, Any], c: Any) -> None:
        stops.append(md)

    mock_model.script = [function_call("lookup", {"key": "k"}, call_id="c1"), message("ok")]
    telemetry.attach("test-tools-not-json", [("codex", "tool", "call", "stop")], on_stop)
    try:
        with trio.fail_after(90), caplog.at_level(logging.WARNING, logger="codex_trio._api.tools"):
            async with codex_trio.Codex(
                transport="app-server", env=mock_model.env, tools=[lookup]
            ) as codex:
                thread = codex.start_thread(
                    working_directory=str(mock_model.workdir), skip_git_repo_check=True
                )
                result = await thread.run("look up k")
    finally:
        telemetry.detach("test-tools-not-json")
    assert result.final_response == "ok"
    output = mock_model.requests[1].function_call_outputs()["c1"]
    assert "not JSON-serialisable" in output and "Opaque" in output
    assert "secret-looking-repr" not in output
    [record] = [
        r
        for r in caplog.records
        if isinstance(r.msg, dict) and r.msg.get("event") == "tool.result_not_json"
    ]
    assert record.levelno == logging.WARNING
    assert isinstance(record.msg, dict)
    assert (record.msg["tool"], record.msg["result_type"]) == ("lookup", "Opaque")
    assert record.msg["thread_id"] == thread.id and record.msg["call_id"] == "c1"
    assert "secret-looking-repr" not in caplog.text
    assert [(s["tool"], s["status"]) for s in stops] == [("lookup", "error")]
