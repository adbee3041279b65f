"""serve_in_thread: the mock server for synchronous programs."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from codex_trio.testing import Script, message, serve_in_thread
from tests.testing.http_client import user_body


def _post(port: int) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/v1/responses",
        body=json.dumps(user_body("sync hello")),
        headers={"content-type": "application/json"},
    )
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, body


def test_sync_caller_gets_scripted_stream_and_sees_the_request() -> None:
    with serve_in_thread(Script([message("from a thread")])) as server:
        port = server.port
        status, body = _post(port)
        assert server.requests[0].last_user_text() == "sync hello"
        assert server.statistics().requests == 1
    assert status == 200
    assert "from a thread" in body and "response.completed" in body


def test_set_script_replaces_the_script_from_the_caller_thread() -> None:
    with serve_in_thread() as server:
        port = server.port
        server.set_script([message("replaced")])
        _, body = _post(port)
    assert "replaced" in body


def test_leaving_the_block_stops_the_server_and_frees_the_port() -> None:
    with serve_in_thread() as server:
        port = server.port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=30).close()


def test_a_server_that_cannot_start_raises_in_the_caller() -> None:
    with serve_in_thread() as running:
        port = running.port
        with pytest.raises(OSError), serve_in_thread(port=port):
            pass
