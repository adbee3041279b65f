"""A ``turn/completed`` before ``turn/started`` is a protocol error, never a success without a
response. The real binary always starts a turn before ending it, so a fake app-server plays the
broken engine (fault injection only; the mapper's rule is unit-tested in tests/protocol)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from codex_trio._errors import ProtocolError
from codex_trio._protocol.exec_events import TurnCompletedEvent
from codex_trio._protocol.options import CodexOptions
from codex_trio._transport.app_server import open_app_server
from tests.fakes import APP_SERVER_PRELUDE, fake_codex

PRELUDE = (
    APP_SERVER_PRELUDE
    + """
msg = read()  # turn/start
out({"id": msg["id"], "result": {"turn": {"id": "u", "items": [], "status": "inProgress"}}})
"""
)
STARTED = 'out({"method": "turn/started", "params": {"threadId": "A", "turn": {"id": "u", "items": [], "status": "inProgress"}}})\n'
COMPLETED = 'out({"method": "turn/completed", "params": {"threadId": "A", "turn": {"id": "u", "items": [], "status": "completed"}}})\nread()\n'


async def test_turn_completed_before_turn_started_is_a_protocol_error(tmp_path: Path) -> None:
    path = fake_codex(tmp_path, PRELUDE + COMPLETED)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path)) as client:
            async with client.turn("A", "hi") as turn:
                with pytest.raises(ProtocolError, match="before turn/started") as info:
                    async for _ in turn:
                        pass
    assert info.value.thread_id == "A" and info.value.turn_id == "u"
    assert turn.status == "failed"


async def test_the_same_fake_in_the_right_order_completes(tmp_path: Path) -> None:
    path = fake_codex(tmp_path, PRELUDE + STARTED + COMPLETED)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path)) as client:
            async with client.turn("A", "hi") as turn:
                events = [e async for e in turn]
    assert isinstance(events[-1], TurnCompletedEvent) and turn.status == "completed"
