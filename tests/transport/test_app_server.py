"""AppServerClient against the real ``codex app-server`` on the mock model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from codex_trio.protocol.app_server import AgentMessageDeltaEvent, AppServerNotificationEvent
from codex_trio.protocol.exec_events import (
    ItemCompletedEvent,
    TurnCompletedEvent,
    TurnStartedEvent,
)
from codex_trio.protocol.exec_items import AgentMessageItem
from codex_trio.protocol.options import CodexOptions, ThreadOptions
from codex_trio.testing import MockModel, message
from codex_trio.transport.app_server import AppServerClient, open_app_server

pytestmark = pytest.mark.integration


@asynccontextmanager
async def app_server(mock_model: MockModel, **kwargs: object) -> AsyncIterator[AppServerClient]:
    options = CodexOptions(codex_path=mock_model.codex, env=mock_model.env)
    async with open_app_server(options, **kwargs) as client:  # type: ignore[arg-type]
        yield client


def thread_options(mock_model: MockModel) -> ThreadOptions:
    return ThreadOptions(working_directory=str(mock_model.workdir), skip_git_repo_check=True)


async def test_full_turn_streams_exec_style_events_with_deltas(mock_model: MockModel) -> None:
    mock_model.script = [message("one two three", deltas=True)]
    with trio.fail_after(60):
        async with app_server(mock_model) as client:
            started = await client.thread_start(thread_options(mock_model))
            async with client.turn(started.thread.id, "hi") as turn:
                events = [e async for e in turn]
    assert isinstance(events[0], AppServerNotificationEvent | TurnStartedEvent)
    assert any(isinstance(e, TurnStartedEvent) for e in events)
    deltas = [e.delta for e in events if isinstance(e, AgentMessageDeltaEvent)]
    assert deltas == ["one ", "two ", "three"]
    completed = [e.item for e in events if isinstance(e, ItemCompletedEvent)]
    assert completed == [AgentMessageItem(id=completed[0].id, text="one two three")]
    assert isinstance(events[-1], TurnCompletedEvent)
    assert events[-1].usage.input_tokens > 0
    assert turn.status == "completed"
