"""AppServerClient routing and failure handling, with fake app-servers for exact control."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio

from codex_trio._errors import ProtocolError, SlowConsumerError, TransportError
from codex_trio._protocol.app_server import AppServerNotificationEvent
from codex_trio._protocol.exec_events import TurnCompletedEvent, TurnFailedEvent
from codex_trio._protocol.options import CodexOptions, ThreadOptions
from codex_trio._transport.app_server import AppServerTransport, open_app_server
from codex_trio.observe import Metrics
from tests.fakes import APP_SERVER_PRELUDE, fake_codex

# A fake app-server: answers initialize, then runs SCENARIO with helpers out()/read().
PRELUDE = APP_SERVER_PRELUDE


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


async def test_a_full_subscription_merges_deltas_of_one_item_and_loses_nothing(
    tmp_path: Path,
) -> None:
    body = GO + "".join(note("A", n) for n in range(20)) + "read()\n"
    path = fake_codex(tmp_path, PRELUDE + body)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path), event_buffer=2) as client:
            async with client.subscribe("A") as a:
                await client.request("go")
                while a.statistics().coalesced < 18:
                    await trio.sleep(0.01)
                stats = a.statistics()
                got = [a.receive_nowait().params["delta"] for _ in range(2)]
                with pytest.raises(trio.WouldBlock):
                    a.receive_nowait()
    assert stats.current_buffer_used == 2 and not stats.overflowed
    assert "".join(got) == "".join(f"A{n}" for n in range(20))


def status_note(thread: str, n: int) -> str:
    return (
        f'out({{"method": "thread/status/changed", "params": {{"threadId": "{thread}", '
        f'"status": {{"type": "active", "n": {n}}}}}}})\n'
    )


async def test_a_subscriber_that_stops_reading_holds_back_no_other_thread(
    tmp_path: Path,
) -> None:
    # 50 notifications for A (never read: its buffer is 4), interleaved with 50 for B.
    body = GO + "".join(status_note("A", n) + note("B", n) for n in range(50)) + "read()\n"
    path = fake_codex(tmp_path, PRELUDE + body)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path), event_buffer=4) as client:
            async with client.subscribe("A") as a, client.subscribe("B") as b:
                await client.request("go")
                got_b = ""
                while len(got_b) < len("".join(f"B{n}" for n in range(50))):
                    got_b += (await b.receive()).params["delta"]
                buffered = [(await a.receive()).params["status"]["n"] for _ in range(4)]
                with pytest.raises(SlowConsumerError) as info:
                    await a.receive()
            assert client.slow_consumers == 1
    assert got_b == "".join(f"B{n}" for n in range(50))
    assert buffered == [0, 1, 2, 3]
    assert info.value.capacity == 4 and info.value.thread_id == "A"


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
out({"method": "turn/started", "params": {"threadId": "A", "turn": {"id": "u", "items": [], "status": "inProgress"}}})
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


async def test_shared_process_that_keeps_dying_backs_off_and_turns_fail_at_once(
    tmp_path: Path,
) -> None:
    path = fake_codex(tmp_path, PRELUDE + "sys.exit(1)\n")
    transport = AppServerTransport(
        options=CodexOptions(codex_path=path), max_restarts=1, initial_backoff=30.0
    )
    with trio.fail_after(30):
        async with transport.open():
            while transport.status.state != "backoff":
                await trio.sleep(0.01)
            with pytest.raises(TransportError, match="shared app-server is down"):
                async with transport.turn("hi", ThreadOptions()) as stream:
                    async for _ in stream:
                        pass
            status = transport.status
    assert status.restarts == 2 and status.consecutive_failures == 2
    assert status.retry_in is not None and 0 < status.retry_in <= 30
    assert "codex app-server exited" in (status.last_error or "")


async def test_shared_process_recovers_once_the_engine_stays_up(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    body = f"""
with open({str(starts)!r}, "a") as f:
    f.write("x")
if len(open({str(starts)!r}).read()) <= 4:
    sys.exit(1)
while True:
    read()
"""
    path = fake_codex(tmp_path, PRELUDE + body)
    transport = AppServerTransport(
        options=CodexOptions(codex_path=path),
        max_restarts=1,
        initial_backoff=0.01,
        max_backoff=0.05,
    )
    states: list[str] = []
    metrics = Metrics()
    metrics.attach()
    try:
        with trio.fail_after(30):
            async with transport.open():
                while transport.status.state != "running" or transport.restarts < 4:
                    states.append(transport.status.state)
                    await trio.sleep(0.005)
                pid = transport.status.pid
                figures = metrics.snapshot()
    finally:
        metrics.detach()
    assert "backoff" in states
    assert transport.restarts == 4 and pid is not None
    assert figures["codex_app_server_up"] == 1
    assert figures["codex_app_server_restarts_total"] == 4
    assert figures['codex_app_server_state{state="running"}'] == 1
    assert figures['codex_app_server_state{state="backoff"}'] == 0


async def test_undecodable_turn_completed_before_turn_started_is_a_protocol_error(
    tmp_path: Path,
) -> None:
    body = """
msg = read()  # turn/start
out({"id": msg["id"], "result": {"turn": {"id": "u", "items": [], "status": "inProgress"}}})
out({"method": "turn/completed", "params": {"threadId": "A", "turn": {"id": "u", "status": "completed", "items": 5}}})
read()
"""
    path = fake_codex(tmp_path, PRELUDE + body)
    with trio.fail_after(30):
        async with open_app_server(CodexOptions(codex_path=path)) as client:
            async with client.turn("A", "hi") as stream:
                with pytest.raises(ProtocolError, match="before turn/started"):
                    async for _ in stream:
                        pass
            assert stream.status == "failed"
