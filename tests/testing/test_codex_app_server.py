"""Streamed message deltas reach ``codex app-server`` clients as ``item/agentMessage/delta``."""

from __future__ import annotations

import json
import subprocess
from functools import partial
from typing import Any

import pytest
import trio

from codex_trio.testing import MockModel, message

pytestmark = pytest.mark.integration


class _Rpc:
    """Just enough newline-delimited JSON-RPC to start one turn."""

    def __init__(self, proc: trio.Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.stdin = proc.stdin
        self.stdout = proc.stdout
        self.buffer = b""

    async def send(self, message: dict[str, Any]) -> None:
        await self.stdin.send_all(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")

    async def receive(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            chunk = await self.stdout.receive_some(65536)
            assert chunk, "app-server closed stdout"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        result: dict[str, Any] = json.loads(line)
        return result

    async def call(self, request_id: int, method: str, params: dict[str, Any]) -> Any:
        await self.send({"id": request_id, "method": method, "params": params})
        while True:
            msg = await self.receive()
            if msg.get("id") == request_id and "method" not in msg:
                return msg["result"]


async def test_message_deltas_arrive_as_agent_message_delta_notifications(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("one two three", deltas=True)]
    notifications: list[dict[str, Any]] = []
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            proc = await nursery.start(
                partial(
                    trio.run_process,
                    [mock_model.codex, "app-server"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=mock_model.env,
                    check=False,
                )
            )
            rpc = _Rpc(proc)
            await rpc.call(
                1,
                "initialize",
                {
                    "clientInfo": {"name": "test", "title": "test", "version": "0"},
                    "capabilities": {"experimentalApi": True},
                },
            )
            await rpc.send({"method": "initialized"})
            thread = await rpc.call(2, "thread/start", {"cwd": str(mock_model.workdir)})
            await rpc.send(
                {
                    "id": 3,
                    "method": "turn/start",
                    "params": {
                        "threadId": thread["thread"]["id"],
                        "input": [{"type": "text", "text": "hi"}],
                    },
                }
            )
            while True:
                msg = await rpc.receive()
                notifications.append(msg)
                if msg.get("method") == "turn/completed":
                    break
            nursery.cancel_scope.cancel()  # stops and reaps app-server
    deltas = [
        n["params"]["delta"] for n in notifications if n.get("method") == "item/agentMessage/delta"
    ]
    assert deltas == ["one ", "two ", "three"]
    completed = [n["params"]["item"] for n in notifications if n.get("method") == "item/completed"]
    assert {"type": "agentMessage", "text": "one two three"}.items() <= completed[-1].items()
