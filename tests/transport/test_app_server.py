"""AppServerClient against the real ``codex app-server`` on the mock model."""

from __future__ import annotations

import pytest
import trio

from codex_trio._protocol.app_server import (
    AgentMessageDeltaEvent,
    AppServerNotificationEvent,
    InvalidRequestError,
)
from codex_trio._protocol.exec_events import (
    ItemCompletedEvent,
    TurnCompletedEvent,
    TurnStartedEvent,
)
from codex_trio._protocol.exec_items import AgentMessageItem
from codex_trio.testing import MockModel, hold, message
from tests.fakes import children_of_self, open_fds, pid_alive
from tests.transport.helpers import app_server, thread_options

pytestmark = pytest.mark.integration


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
    assert len(completed) == 1 and isinstance(completed[0], AgentMessageItem)
    assert completed[0].text == "one two three"
    assert isinstance(events[-1], TurnCompletedEvent)
    assert events[-1].usage.input_tokens > 0
    assert turn.status == "completed"


async def test_buffered_turn_returns_items_final_response_and_usage(mock_model: MockModel) -> None:
    mock_model.script = [message("first"), message("final answer")]
    with trio.fail_after(60):
        async with app_server(mock_model) as client:
            thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
            first = await client.run_turn(thread_id, "one")
            result = await client.run_turn(thread_id, "two")
    assert result.status == "completed" and result.final_response == "final answer"
    assert [type(i) for i in result.items] == [AgentMessageItem]
    assert result.usage.input_tokens > first.usage.input_tokens > 0


async def test_cancelling_mid_turn_leaves_no_process_and_no_fd(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("never"))]
    fds_before = open_fds()
    pid = None
    with trio.fail_after(60):
        with trio.CancelScope() as scope:
            async with app_server(mock_model) as client:
                pid = client.pid
                thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
                async with client.turn(thread_id, "wait") as turn:
                    async for event in turn:
                        if isinstance(event, TurnStartedEvent):
                            await mock_model.server.wait_for_held()
                            scope.cancel()
    assert scope.cancelled_caught and pid is not None
    assert not pid_alive(pid)
    assert pid not in children_of_self()
    assert open_fds() <= fds_before


async def test_thread_revert_drops_the_turns_from_the_given_one_on(mock_model: MockModel) -> None:
    mock_model.script = [message("a"), message("b")]
    with trio.fail_after(60):
        async with app_server(mock_model) as client:
            thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
            first = await client.run_turn(thread_id, "one")
            second = await client.run_turn(thread_id, "two")
            await client.thread_revert(thread_id=thread_id, before_turn_id=second.turn_id)
            turns = (await client.thread_read(thread_id=thread_id, include_turns=True)).thread.turns
    assert [t.id for t in turns] == [first.turn_id]


async def test_thread_listing_naming_and_archiving(mock_model: MockModel) -> None:
    mock_model.script = [message("a")]
    with trio.fail_after(60):
        async with app_server(mock_model) as client:
            thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
            await client.run_turn(thread_id, "one")
            await client.thread_name_set(thread_id=thread_id, name="named thread")
            listed = [t.id async for t in client.iter_threads(page_size=1)]
            name = (await client.thread_read(thread_id=thread_id, include_turns=True)).thread.name
            await client.thread_archive(thread_id)
            after_archive = [t.id async for t in client.iter_threads()]
            archived = [t.id async for t in client.iter_threads(archived=True)]
            await client.thread_unarchive(thread_id=thread_id)
            after_unarchive = [t.id async for t in client.iter_threads()]
    assert listed == [thread_id] and name == "named thread"
    assert after_archive == [] and archived == [thread_id] and after_unarchive == [thread_id]


async def test_account_read_without_login_and_rate_limits_need_auth(mock_model: MockModel) -> None:
    with trio.fail_after(60):
        async with app_server(mock_model) as client:
            account = await client.account_read()
            with pytest.raises(InvalidRequestError, match="authentication required"):
                await client.account_rate_limits_read()
    assert account.account is None


async def test_api_key_login_stores_the_key_and_logout_removes_it(mock_model: MockModel) -> None:
    auth = mock_model.home.path / "auth.json"
    key = "sk-test-not-a-real-key-123456"
    with trio.fail_after(60):
        async with app_server(mock_model) as client:
            answer = await client.login_api_key(key)
            stored = auth.read_text() if auth.exists() else ""
            await client.account_logout()
    assert answer == {"type": "apiKey"}
    assert key in stored
    assert not auth.exists() or key not in auth.read_text()


async def test_iter_threads_lists_every_thread_of_one_second_page_by_page(
    mock_model: MockModel,
) -> None:
    """The engine's own cursor (the page's last second) skips the other threads of that second;
    iter_threads pages around it. Threads started back to back share their second."""
    mock_model.script = [message(f"t{i}") for i in range(4)]
    with trio.fail_after(60):
        async with app_server(mock_model) as client:
            ids = []
            for i in range(4):
                thread_id = (await client.thread_start(thread_options(mock_model))).thread.id
                await client.run_turn(thread_id, f"turn {i}")
                ids.append(thread_id)
            by_one = [t.id async for t in client.iter_threads(page_size=1)]
            by_three = [t.id async for t in client.iter_threads(page_size=3)]
            oldest_first = [t.id async for t in client.iter_threads(sort_direction="asc")]
    assert sorted(by_one) == sorted(ids) and len(by_one) == 4
    assert by_three == by_one
    assert oldest_first == by_one[::-1]
