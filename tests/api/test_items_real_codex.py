"""Items the public stream used to lose or leave untyped, on the real binary: dynamic tool calls,
the agent's plan (as exec's to-do list, on both transports) and raw reasoning content."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio

import codex_trio
from codex_trio._api.tools import tool
from codex_trio._protocol import (
    DynamicToolCallItem,
    DynamicToolCallStatus,
    ItemCompletedEvent,
    ItemStartedEvent,
    ItemUpdatedEvent,
    ReasoningItem,
    TodoListItem,
)
from codex_trio.testing import MockModel, function_call, message, response, update_plan

pytestmark = pytest.mark.integration


@attrs.frozen
class RawReasoning:
    """A reasoning output item with raw ``content`` and no summary (the mock's own
    :func:`~codex_trio.testing.reasoning` only has summaries)."""

    content: tuple[str, ...]

    def item(self, item_id: str, call_id: str) -> dict[str, Any]:
        return {
            "type": "reasoning",
            "id": item_id,
            "summary": [],
            "content": [{"type": "reasoning_text", "text": c} for c in self.content],
            "encrypted_content": None,
        }

    @property
    def id_prefix(self) -> str:
        return "rs"


def thread_options(mock_model: MockModel) -> dict[str, Any]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}


async def test_a_python_tool_call_is_a_typed_item_on_the_stream_and_the_result(
    mock_model: MockModel,
) -> None:
    @tool
    async def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    mock_model.script = [function_call("add", {"a": 2, "b": 40}), message("it is 42")]
    with trio.fail_after(90):
        async with codex_trio.Codex(env=mock_model.env, transport="app-server", tools=[add]) as c:
            thread = c.start_thread(**thread_options(mock_model))
            async with thread.run_streamed("add 2 and 40", timeout=60) as events:
                seen = [e async for e in events]
            result = events.result
    started = [e.item for e in seen if isinstance(e, ItemStartedEvent)]
    assert any(
        isinstance(i, DynamicToolCallItem) and i.status is DynamicToolCallStatus.IN_PROGRESS
        for i in started
    )
    calls = [i for i in result.items if isinstance(i, DynamicToolCallItem)]
    assert len(calls) == 1
    call = calls[0]
    assert (call.tool, call.arguments) == ("add", {"a": 2, "b": 40})
    assert call.status is DynamicToolCallStatus.COMPLETED and call.success is True
    assert call.text == "42"
    assert result.final_response == "it is 42"


@pytest.mark.parametrize("transport", ["exec", "app-server"])
async def test_the_plan_is_a_todo_list_started_updated_and_completed_on_both_transports(
    mock_model: MockModel, transport: str
) -> None:
    mock_model.configure(update_plan=True)
    mock_model.script = [
        update_plan([("write it", "in_progress"), "test it"], explanation="two steps"),
        update_plan([("write it", "completed"), ("test it", "completed")]),
        message("done"),
    ]
    with trio.fail_after(90):
        codex = codex_trio.Codex(env=mock_model.env, transport=transport)  # type: ignore[arg-type]
        thread = codex.start_thread(**thread_options(mock_model))
        async with thread.run_streamed("plan it", timeout=60) as events:
            todo = [
                (type(e), e.item)
                for e in [e async for e in events]
                if isinstance(e, ItemStartedEvent | ItemUpdatedEvent | ItemCompletedEvent)
                and isinstance(e.item, TodoListItem)
            ]
        result = events.result
    assert [kind for kind, _ in todo] == [ItemStartedEvent, ItemUpdatedEvent, ItemCompletedEvent]
    assert len({item.id for _, item in todo}) == 1
    first, last = todo[0][1], todo[-1][1]
    assert [(t.text, t.completed) for t in first.items] == [("write it", False), ("test it", False)]
    assert [(t.text, t.completed) for t in last.items] == [("write it", True), ("test it", True)]
    assert [i for i in result.items if isinstance(i, TodoListItem)] == [last]
    assert result.final_response == "done"


async def test_reasoning_with_raw_content_only_keeps_it_and_no_item_is_empty(
    mock_model: MockModel,
) -> None:
    mock_model.script = [response(RawReasoning(("thinking hard",)), message("answer"))]
    with trio.fail_after(90):
        codex = codex_trio.Codex(env=mock_model.env, transport="app-server")
        thread = codex.start_thread(**thread_options(mock_model))
        async with thread.run_streamed("think", timeout=60) as events:
            seen = [e async for e in events]
        result = events.result
    reasoning = [i for i in result.items if isinstance(i, ReasoningItem)]
    assert [r.text for r in reasoning] == ["thinking hard"]
    assert reasoning[0].extra["content"] == ["thinking hard"]
    streamed = [getattr(e, "item", None) for e in seen]
    assert not any(isinstance(i, ReasoningItem) and not i.text for i in streamed)
