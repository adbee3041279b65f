"""Typed structured output on the real binary with the mock model, on both transports: the
schema derived from ``output_type`` is what codex sends the model, the final message comes back
as an instance, and what does not fit is a StructuredOutputError with the raw text and path."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal, TypedDict

import attrs
import pytest
import trio

import codex_trio
from codex_trio import ConfigurationError, StructuredOutputError
from codex_trio._structured import schema_for
from codex_trio.testing import MockModel, message
from tests.conftest import AppServerSetup

TRANSPORTS = ["exec", "app-server"]


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


@attrs.frozen
class Task:
    title: str
    priority: Priority
    estimate_hours: float | None


@attrs.frozen
class Plan:
    summary: str
    tasks: list[Task]
    status: Literal["draft", "final"]


@dataclasses.dataclass
class Step:
    command: str
    args: list[str]


class Review(TypedDict):
    verdict: Literal["approve", "reject"]
    steps: list[Step]
    comment: str | None


PLAN = {
    "summary": "ship it",
    "tasks": [
        {"title": "write", "priority": "high", "estimate_hours": 2.5},
        {"title": "test", "priority": "low", "estimate_hours": None},
        {"title": "release", "priority": "high", "estimate_hours": 1},
    ],
    "status": "final",
}


@asynccontextmanager
async def thread_on(transport: str, mock_model: MockModel) -> AsyncIterator[codex_trio.Thread]:
    options = {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}
    with trio.fail_after(120):
        if transport == "exec":
            yield codex_trio.Codex(env=mock_model.env).start_thread(**options)
        else:
            async with codex_trio.Codex(transport="app-server", env=mock_model.env) as codex:
                yield codex.start_thread(**options)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_output_type_sends_its_strict_schema_and_returns_an_instance(
    transport: str, mock_model: MockModel
) -> None:
    mock_model.script = [message(json.dumps(PLAN))]
    async with thread_on(transport, mock_model) as thread:
        result = await thread.run("plan it", output_type=Plan)
    assert result.structured == Plan(
        "ship it",
        [
            Task("write", Priority.HIGH, 2.5),
            Task("test", Priority.LOW, None),
            Task("release", Priority.HIGH, 1.0),
        ],
        "final",
    )
    assert result.structured_as(Plan) is result.structured
    text_format = mock_model.requests[0].text_format
    assert text_format is not None
    assert text_format["type"] == "json_schema" and text_format["strict"] is True
    assert text_format["schema"] == schema_for(Plan)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_typeddict_with_nested_dataclasses_is_structured(
    transport: str, mock_model: MockModel
) -> None:
    review = {"verdict": "approve", "steps": [{"command": "ls", "args": ["-l"]}], "comment": None}
    mock_model.script = [message(json.dumps(review))]
    async with thread_on(transport, mock_model) as thread:
        result = await thread.run("review", output_type=Review)
    assert result.structured == {
        "verdict": "approve",
        "steps": [Step("ls", ["-l"])],
        "comment": None,
    }


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_message_that_does_not_fit_names_the_path_and_keeps_the_raw_text(
    transport: str, mock_model: MockModel
) -> None:
    bad = json.loads(json.dumps(PLAN))
    bad["tasks"][2]["title"] = None
    raw = json.dumps(bad)
    mock_model.script = [message(raw)]
    async with thread_on(transport, mock_model) as thread:
        with pytest.raises(StructuredOutputError) as caught:
            await thread.run("plan it", output_type=Plan)
    assert caught.value.path == "tasks[2].title"
    assert caught.value.raw == raw
    assert caught.value.thread_id is not None and caught.value.thread_id == thread.id


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_message_against_a_user_schema_is_validated(
    transport: str, mock_model: MockModel
) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"count": {"type": "integer", "maximum": 10}},
        "required": ["count"],
        "additionalProperties": False,
    }
    mock_model.script = [message('{"count": 3}'), message('{"count": 11}')]
    async with thread_on(transport, mock_model) as thread:
        assert (await thread.run("count", output_schema=schema)).structured == {"count": 3}
        with pytest.raises(StructuredOutputError, match="maximum") as caught:
            await thread.run("count again", output_schema=schema)
    assert caught.value.path == "count"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_invalid_schema_or_type_fails_before_any_process_starts(
    transport: str, mock_model: MockModel
) -> None:
    async with thread_on(transport, mock_model) as thread:
        with pytest.raises(ConfigurationError, match="keyword 'type'"):
            await thread.run(
                "x", output_schema={"type": "object", "properties": {"a": {"type": "nope"}}}
            )

        @attrs.frozen
        class Loose:
            extra: dict[str, int]

        with pytest.raises(ConfigurationError, match="extra"):
            await thread.run("x", output_type=Loose)
    assert mock_model.requests == []


async def test_the_runtime_structures_output_too(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    mock_model.script = [message(json.dumps(PLAN))]
    async with app_server_setup.runtime() as (_, handle):
        result = await handle.run("plan it", output_type=Plan)
    assert isinstance(result.structured, Plan) and len(result.structured.tasks) == 3


async def test_a_streamed_result_is_structured_on_demand(mock_model: MockModel) -> None:
    mock_model.script = [message(json.dumps(PLAN))]
    async with thread_on("exec", mock_model) as thread:
        async with thread.run_streamed("plan it", output_type=Plan) as stream:
            async for _ in stream:
                pass
    plan = stream.result.structured_as(Plan)
    assert plan.tasks[0] == Task("write", Priority.HIGH, 2.5)
    assert mock_model.requests[0].text_format is not None
