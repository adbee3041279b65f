"""AppServerClient routing and failure handling, with fake app-servers for exact control."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio

from codex_trio.errors import TransportError
from codex_trio.protocol.app_server import AppServerNotificationEvent
from codex_trio.protocol.exec_events import TurnCompletedEvent, TurnFailedEvent
from codex_trio.protocol.options import CodexOptions, ThreadOptions
from codex_trio.transport.app_server import AppServerTransport, open_app_server
from tests.fakes import fake_codex

# A fake app-server: answers initialize, then runs SCENARIO with helpers out()/read().
PRELUDE = """
def out(obj):
    sys.stdout.write(json.dumps(obj) + "\\n"); sys.stdout.flush()
def read():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)
init = read()
out({"id": init["id"], "result": {"userAgent": "fake", "codexHome": "/tmp", "platformFamily": "unix", "platformOs": "linux"}})
read()  # initialized
"""


# Subscribers register before asking the fake to start, so nothing is sent before they listen.
GO = 'msg = read()\nout({"id": msg["id"], "result": {}})\n'


def note(thread: str, n: int) -> str:
    return (
        f'out({{"method": "item/agentMessage/delta", "params": {{"threadId": "{thread}", '
        f'"turnId": "u", "itemId": "i", "delta": "{thread}{n}"}}}})\n'
    )


async def test_notifications_reach_only_the_subscribers_of_their_thread(tmp_path: Path) -> None:
    body = "msg = read()\n" + "".join(note(t, n) for n in range(3) for t in ("A", "B", "C"))
    body += 'out({"id": msg["id"], "result": {}})\nread()\n'
    path = fake_codex(tmp_path, PRELUDE + body)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path)) as client:
            async with client.subscribe("A") as a, client.subscribe("B") as b:
                await client.request("go")
                got_a = [a.receive_nowait().params["delta"] for _ in range(3)]
                got_b = [b.receive_nowait().params["delta"] for _ in range(3)]
                with pytest.raises(trio.WouldBlock):
                    a.receive_nowait()
            assert client.dropped_notifications == 3  # thread C: nobody listens
    assert got_a == ["A0", "A1", "A2"] and got_b == ["B0", "B1", "B2"]


async def test_a_full_subscriber_channel_holds_the_reader_back_without_dropping(
    tmp_path: Path,
) -> None:
    body = GO + "".join(note("A", n) for n in range(20)) + "read()\n"
    path = fake_codex(tmp_path, PRELUDE + body)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path), event_buffer=2) as client:
            async with client.subscribe("A") as a:
                await client.request("go")
                while a.statistics().current_buffer_used < 2:
                    await trio.sleep(0.01)
                # The reader is now blocked on this channel; the buffer never grows past 2.
                await trio.testing.wait_all_tasks_blocked()
                assert a.statistics().current_buffer_used == 2
                got = [(await a.receive()).params["delta"] for _ in range(20)]
    assert got == [f"A{n}" for n in range(20)]


async def test_subscriptions_fail_with_transport_error_when_the_process_dies(
    tmp_path: Path,
) -> None:
    body = (
        GO
        + note("A", 0)
        + 'sys.stderr.write("engine crashed\\n"); sys.stderr.flush()\nsys.exit(7)\n'
    )
    path = fake_codex(tmp_path, PRELUDE + body)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path)) as client:
            async with client.subscribe("A") as a:
                await client.request("go")
                first = await a.receive()
                with pytest.raises(trio.EndOfChannel):
                    await a.receive()
            assert first.params["delta"] == "A0"
            assert isinstance(client.error, TransportError)
            assert client.error.exit_code == 7 and "engine crashed" in client.error.stderr_tail
            with pytest.raises(TransportError):
                await client.model_list()


async def test_unknown_server_request_gets_a_method_not_found_error(tmp_path: Path) -> None:
    body = """
out({"id": 0, "method": "brand/newRequest", "params": {"threadId": "A"}})
reply = read()
out({"method": "item/agentMessage/delta", "params": {"threadId": "A", "turnId": "u", "itemId": "i", "delta": json.dumps(reply)}})
read()
"""
    path = fake_codex(tmp_path, PRELUDE + body)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path)) as client:
            async with client.subscribe("A") as a:
                reply = (await a.receive()).params["delta"]
    assert '"code": -32601' in reply and '"result"' not in reply


TURN = """
msg = read()  # turn/start
out({"id": msg["id"], "result": {"turn": {"id": "u", "items": [], "status": "inProgress"}}})
out({"method": "item/completed", "params": {"threadId": "A", "turnId": "u", "item": "not an object"}})
out({"method": "turn/completed", "params": {"threadId": "A", "turn": %s}})
read()
"""


@pytest.mark.parametrize(
    ("turn", "final"),
    [
        ('{"id": "u", "items": [], "status": "completed"}', TurnCompletedEvent),
        ('{"id": "u", "status": "completed", "items": 5}', TurnCompletedEvent),
        ('{"id": "u", "status": "failed", "items": 5}', TurnFailedEvent),
    ],
)
async def test_undecodable_notifications_are_passed_on_raw_and_still_end_the_turn(
    tmp_path: Path, turn: str, final: type
) -> None:
    path = fake_codex(tmp_path, PRELUDE + TURN % turn)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path)) as client:
            async with client.turn("A", "hi") as stream:
                events = [e async for e in stream]
    raw = [e for e in events if isinstance(e, AppServerNotificationEvent)]
    assert raw[0].method == "item/completed" and raw[0].params["item"] == "not an object"
    assert isinstance(events[-1], final)


async def test_cancel_while_turn_start_is_pending_still_interrupts_the_turn(
    tmp_path: Path,
) -> None:
    received = tmp_path / "received"
    log = tmp_path / "log.jsonl"
    body = f"""
msg = read()  # turn/start
open({str(received)!r}, "w").write("yes")
time.sleep(0.2)
out({{"id": msg["id"], "result": {{"turn": {{"id": "u", "items": [], "status": "inProgress"}}}}}})
while True:
    msg = read()
    open({str(log)!r}, "a").write(json.dumps(msg) + "\\n")
    out({{"id": msg["id"], "result": {{}}}})
"""
    path = fake_codex(tmp_path, PRELUDE + body)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path)) as client:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:

                    async def cancel_once_sent() -> None:
                        while not received.exists():
                            await trio.sleep(0.01)
                        scope.cancel()

                    nursery.start_soon(cancel_once_sent)
                    async with client.turn("A", "hi") as turn:
                        async for _ in turn:
                            pass
            sent = [json.loads(line) for line in log.read_text().splitlines()]
    assert scope.cancelled_caught
    assert [(m["method"], m["params"]) for m in sent] == [
        ("turn/interrupt", {"threadId": "A", "turnId": "u"})
    ]


async def test_shared_process_that_keeps_dying_is_given_up_after_max_restarts(
    tmp_path: Path,
) -> None:
    path = fake_codex(tmp_path, PRELUDE + "sys.exit(1)\n")
    transport = AppServerTransport(options=CodexOptions(codex_path=path), max_restarts=1)
    with trio.fail_after(30):
        async with transport.open():
            while transport.gave_up is None:
                await trio.sleep(0.01)
            with pytest.raises(TransportError, match="not restarted again"):
                async with transport.turn("hi", ThreadOptions()) as stream:
                    async for _ in stream:
                        pass
    assert transport.restarts == 1
