"""The JSON-RPC connection over a websocket, against in-process trio-websocket servers that
misbehave on purpose (the real binary's websocket is in
tests/api/test_remote_app_server_real_codex.py), and the checks made before connecting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio_websocket
from trio_websocket import WebSocketConnection, WebSocketRequest

import codex_trio
from codex_trio._errors import (
    AuthenticationError,
    CodexVersionError,
    ConfigurationError,
    TransportError,
)
from codex_trio._protocol.app_server.messages import Notification, Request
from codex_trio._protocol.options import CodexOptions
from codex_trio._redact import redact
from codex_trio._transport.app_server import AppServerTransport, connect_app_server
from codex_trio._transport.jsonrpc import JsonRpcConnection, open_jsonrpc
from codex_trio._transport.websocket import check_auth_token, check_url, open_websocket_channel
from tests.remote_server import free_port

TOKEN = "fake-server-token-5c1d"
Handler = Callable[[WebSocketConnection], Awaitable[None]]


async def no_requests(request: Request) -> None:
    return None


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@asynccontextmanager
async def fake_server(
    handler: Handler, *, require_token: str | None = None, **server_options: Any
) -> AsyncIterator[str]:
    """A websocket server on loopback running ``handler`` per connection; yields its URL."""

    async def on_request(request: WebSocketRequest) -> None:
        if require_token is not None:
            given = dict(request.headers).get(b"authorization")
            if given != f"Bearer {require_token}".encode():
                await request.reject(401, body=b"invalid websocket bearer token")
                return
        ws = await request.accept()
        await handler(ws)

    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(
                trio_websocket.serve_websocket, on_request, "127.0.0.1", 0, None, **server_options
            )
        )
        yield f"ws://127.0.0.1:{server.port}"
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def connection_to(
    url: str,
    *,
    notifications: list[Notification] | None = None,
    write_timeout: float = 30.0,
    max_message_bytes: int = 8 * 1024 * 1024,
    auth_token: str | None = None,
) -> AsyncIterator[JsonRpcConnection]:
    received = notifications if notifications is not None else []

    def on_note(note: Notification) -> None:
        received.append(note)

    async def on_request(request: Request) -> Any:
        return {"answered": request.method}

    async with open_websocket_channel(
        url, auth_token=auth_token, max_message_bytes=max_message_bytes
    ) as channel:
        async with open_jsonrpc(
            channel,
            on_notification=on_note,
            on_request=on_request,
            request_timeout=30,
            write_timeout=write_timeout,
        ) as connection:
            yield connection


async def echo_with_garbage(ws: WebSocketConnection) -> None:
    """Before each answer, a message that is not JSON and one that is not JSON-RPC."""
    try:
        while True:
            message = json.loads(await ws.get_message())
            if "id" in message and "method" in message:
                await ws.send_message("this is not json {")
                await ws.send_message("[1, 2, 3]")
                await ws.send_message(
                    json.dumps({"method": "thing/happened", "params": {"n": message["id"]}})
                )
                await ws.send_message(
                    json.dumps({"id": message["id"], "result": {"echo": message["params"]}})
                )
    except trio_websocket.ConnectionClosed:
        pass


async def test_messages_go_one_per_websocket_message_and_bad_ones_are_skipped() -> None:
    notes: list[Notification] = []
    with trio.fail_after(30):
        async with fake_server(echo_with_garbage) as url:
            async with connection_to(url, notifications=notes) as connection:
                results = [await connection.call("echo", {"n": n}) for n in range(3)]
                skipped = connection.skipped_lines
                assert connection.error is None
    assert results == [{"echo": {"n": n}} for n in range(3)]
    assert skipped == 6  # two bad messages per call, each skipped and counted
    assert [n.method for n in notes] == ["thing/happened"] * 3


async def test_server_requests_are_answered_over_the_websocket() -> None:
    answers: list[dict[str, Any]] = []

    async def ask(ws: WebSocketConnection) -> None:
        await ws.send_message(json.dumps({"id": 0, "method": "item/tool/call", "params": {}}))
        answers.append(json.loads(await ws.get_message()))
        await ws.aclose()

    with trio.fail_after(30):
        async with fake_server(ask) as url:
            async with connection_to(url) as connection:
                with trio.fail_after(20):
                    while connection.error is None:
                        await trio.sleep(0.01)
    assert answers == [{"jsonrpc": "2.0", "id": 0, "result": {"answered": "item/tool/call"}}]


async def test_a_closed_connection_fails_every_pending_call_at_once_with_one_error() -> None:
    async def read_two_then_close(ws: WebSocketConnection) -> None:
        await ws.get_message()
        await ws.get_message()
        await ws.aclose(code=1001, reason="going away")

    errors: list[BaseException] = []

    async def call(connection: JsonRpcConnection, n: int) -> None:
        try:
            await connection.call("never/answered", {"n": n})
        except TransportError as exc:
            errors.append(exc)

    before = open_fds()
    with trio.fail_after(30):
        async with fake_server(read_two_then_close) as url:
            async with connection_to(url) as connection:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(call, connection, 1)
                    nursery.start_soon(call, connection, 2)
                with pytest.raises(TransportError) as later:
                    await connection.call("after/close")
    assert len(errors) == 2 and errors[0] is errors[1] is later.value
    assert "1001" in str(errors[0]) and "going away" in str(errors[0])
    assert errors[0].pid is None and errors[0].stderr_tail == ""
    assert open_fds() == before


async def test_a_write_the_server_never_reads_fails_the_connection_after_write_timeout() -> None:
    stop = trio.Event()

    async def never_read(ws: WebSocketConnection) -> None:
        await stop.wait()

    big = "x" * (32 * 1024 * 1024)  # far more than the loopback socket buffers hold
    with trio.fail_after(60):
        # message_queue_size=0: the server's reader stops at the first message nobody takes.
        async with fake_server(
            never_read, message_queue_size=0, max_message_size=64 * 1024 * 1024
        ) as url:
            async with connection_to(url, write_timeout=0.5) as connection:
                await connection.notify("first")
                with pytest.raises(TransportError) as info:
                    await connection.call("stuck", {"data": big})
                with pytest.raises(TransportError) as later:
                    await connection.call("after")
            stop.set()
    assert "could not be written" in str(info.value)
    assert "the server stopped reading" in str(info.value)
    assert later.value is connection.error


async def test_a_message_over_the_limit_ends_the_connection_with_a_typed_error() -> None:
    async def send_big(ws: WebSocketConnection) -> None:
        await ws.get_message()
        await ws.send_message(json.dumps({"method": "big", "params": {"x": "y" * 200_000}}))
        await trio.sleep_forever()

    with trio.fail_after(30):
        async with fake_server(send_big) as url:
            async with connection_to(url, max_message_bytes=100_000) as connection:
                with pytest.raises(TransportError) as info:
                    await connection.call("ask")
    assert "larger than the client's limit" in str(info.value)
    assert "1009" in str(info.value)


async def test_a_refused_token_is_an_authentication_error_without_the_token() -> None:
    async def unused(ws: WebSocketConnection) -> None:
        raise AssertionError("the upgrade should have been refused")

    wrong = "wrong-token-0f9e8d"
    with trio.fail_after(30):
        async with fake_server(unused, require_token=TOKEN) as url:
            with pytest.raises(AuthenticationError) as info:
                async with connection_to(url, auth_token=wrong):
                    pass
            with pytest.raises(AuthenticationError) as missing:
                async with connection_to(url):
                    pass
            async with connection_to(url, auth_token=TOKEN) as connection:
                assert connection.error is None
    assert info.value.status_code == 401 and info.value.url == url
    assert wrong not in str(info.value) and wrong not in repr(info.value)
    assert "needs an auth_token" in str(missing.value)
    assert isinstance(info.value, TransportError)


async def test_an_unreachable_server_is_a_transport_error() -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    before = open_fds()
    with trio.fail_after(30):
        with pytest.raises(TransportError) as info:
            async with connection_to(url):
                pass
    assert not isinstance(info.value, AuthenticationError)
    assert "could not connect" in str(info.value) and url in str(info.value)
    assert open_fds() == before


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://127.0.0.1:1234", "ws://"),
        ("127.0.0.1:1234", "ws://"),
        ("ws://user:pw@127.0.0.1:1234", "credentials"),
        ("ws://:1234", "no host"),
        ("ws://127.0.0.1:99999", "not a valid"),
    ],
)
def test_urls_that_are_not_websocket_urls_are_refused(url: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        check_url(url)


@pytest.mark.parametrize("token", ["abc12", "has space-123", "newline\ninjected", "ünïcode-tok"])
def test_tokens_that_cannot_be_sent_or_masked_are_refused_without_echoing_them(
    token: str,
) -> None:
    with pytest.raises(ConfigurationError) as info:
        check_auth_token(token)
    assert token not in str(info.value)


def test_url_and_token_need_the_app_server_transport() -> None:
    with pytest.raises(ConfigurationError, match="transport='app-server'"):
        codex_trio.Codex(url="ws://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="transport='app-server'"):
        codex_trio.Codex(auth_token=TOKEN)
    with pytest.raises(ConfigurationError, match="transport='app-server'"):
        codex_trio.Runtime(url="ws://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="give url"):
        AppServerTransport(auth_token=TOKEN)


def test_process_settings_are_refused_for_a_remote_server() -> None:
    with pytest.raises(ConfigurationError, match="config"):
        codex_trio.Codex(transport="app-server", url="ws://127.0.0.1:1", config={"model": "m"})
    with pytest.raises(ConfigurationError, match="api_key"):
        AppServerTransport(options=CodexOptions(api_key="sk-abcdefghijkl"), url="ws://h:1")


async def test_the_token_is_in_no_repr_and_is_registered_as_a_secret() -> None:
    transport = AppServerTransport(url="ws://127.0.0.1:1", auth_token=TOKEN)
    codex = codex_trio.Codex(transport="app-server", url="ws://127.0.0.1:1", auth_token=TOKEN)
    assert TOKEN not in repr(transport)
    assert TOKEN not in repr(codex.transport)
    assert TOKEN not in redact(f"header Authorization: Bearer {TOKEN}; raw {TOKEN}")
    assert codex.transport.status.url == "ws://127.0.0.1:1"  # type: ignore[attr-defined]


async def test_a_server_that_never_answers_the_upgrade_is_a_transport_error_after_the_timeout() -> (
    None
):
    accepted: list[trio.SocketStream] = []

    async def silent(stream: trio.SocketStream) -> None:
        accepted.append(stream)
        await trio.sleep_forever()

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            [listener] = await nursery.start(partial(trio.serve_tcp, silent, 0, host="127.0.0.1"))
            port = listener.socket.getsockname()[1]
            with pytest.raises(TransportError) as info:
                async with connect_app_server(f"ws://127.0.0.1:{port}", connect_timeout=0.5):
                    pass
            nursery.cancel_scope.cancel()
    assert accepted, "the client never reached the server"
    assert "within 0.5 s" in str(info.value)


def initialize_answering(user_agent: str) -> Handler:
    async def handler(ws: WebSocketConnection) -> None:
        try:
            while True:
                message = json.loads(await ws.get_message())
                if message.get("method") == "initialize":
                    result = {
                        "userAgent": user_agent,
                        "codexHome": "/srv/codex-home",
                        "platformFamily": "unix",
                        "platformOs": "linux",
                    }
                    await ws.send_message(json.dumps({"id": message["id"], "result": result}))
        except trio_websocket.ConnectionClosed:
            pass

    return handler


async def test_the_remote_servers_version_is_checked_from_its_initialize_answer() -> None:
    with trio.fail_after(30):
        async with fake_server(initialize_answering("codex_trio/0.100.0 (Linux)")) as url:
            with pytest.raises(CodexVersionError, match=r"0\.100\.0") as info:
                async with connect_app_server(url):
                    pass
            async with connect_app_server(url, check=False) as unchecked:
                agent = unchecked.initialize_response
        async with fake_server(initialize_answering("codex_trio/0.163.0 (Linux)")) as url:
            async with connect_app_server(url) as client:
                home = client.initialize_response
    assert info.value.version == "0.100.0"
    assert agent is not None and agent.user_agent.startswith("codex_trio/0.100.0")
    assert home is not None and home.codex_home == "/srv/codex-home"


def test_using_the_app_server_transport_without_a_url_does_not_load_the_websocket_stack() -> None:
    code = (
        "import sys, codex_trio\n"
        "codex_trio.Codex(transport='app-server')\n"
        "print('trio_websocket' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


async def test_a_server_that_stops_answering_pings_is_dropped_and_everyone_learns_at_once() -> None:
    stop = trio.Event()

    async def stop_reading_after_the_first_message(ws: WebSocketConnection) -> None:
        await ws.get_message()
        await stop.wait()  # the reader stops at the next message: pings go unanswered

    errors: list[BaseException] = []

    async def call(connection: JsonRpcConnection) -> None:
        try:
            await connection.call("waits/forever")
        except TransportError as exc:
            errors.append(exc)

    with trio.fail_after(30):
        async with fake_server(stop_reading_after_the_first_message, message_queue_size=0) as url:
            async with open_websocket_channel(url, ping_interval=0.2, ping_timeout=0.5) as channel:
                async with open_jsonrpc(
                    channel,
                    on_notification=lambda note: None,
                    on_request=no_requests,
                    request_timeout=30,
                ) as connection:
                    await connection.notify("first")  # taken by the handler
                    await connection.notify("second")  # stays in the server's reader
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(call, connection)
                        nursery.start_soon(call, connection)
            stop.set()
    assert len(errors) == 2 and errors[0] is errors[1]
    assert "no answer to a websocket ping within 0.5 s" in str(errors[0])


async def test_a_live_server_answers_pings_and_the_connection_stays_up() -> None:
    with trio.fail_after(30):
        async with fake_server(echo_with_garbage) as url:
            async with open_websocket_channel(url, ping_interval=0.05, ping_timeout=5) as channel:
                async with open_jsonrpc(
                    channel,
                    on_notification=lambda note: None,
                    on_request=no_requests,
                    request_timeout=30,
                ) as connection:
                    results = []
                    for n in range(5):
                        results.append(await connection.call("echo", {"n": n}))
                        await trio.sleep(0.1)  # pings go back and forth meanwhile
                    assert connection.error is None
    assert len(results) == 5
