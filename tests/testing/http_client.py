"""A tiny HTTP/1.1 client (h11 over trio) for testing the mock server without codex."""

from __future__ import annotations

import json
from typing import Any

import attrs
import h11
import trio


@attrs.define
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes
    complete: bool
    """False when the server closed the connection before the end of the response."""

    def json(self) -> Any:
        return json.loads(self.body)

    def sse(self) -> list[tuple[str, dict[str, Any]]]:
        """(event type, data) pairs; checks the ``event:``/``data:`` framing of each block."""
        events = []
        for block in self.body.decode().split("\n\n"):
            if not block:
                continue
            lines = block.split("\n")
            assert len(lines) == 2, block
            assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
            data = json.loads(lines[1][len("data: ") :])
            assert data["type"] == lines[0][len("event: ") :]
            events.append((data["type"], data))
        return events


class HttpClient:
    """One keep-alive connection; ``post`` may be called several times."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def connect(cls, port: int) -> HttpClient:
        return cls(await trio.open_tcp_stream("127.0.0.1", port))

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def _next(self) -> Any:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await self.stream.receive_some(65536)
            except trio.BrokenResourceError:
                data = b""
            self.conn.receive_data(data)

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
    ) -> HttpResult:
        if self.conn.our_state is h11.DONE:
            self.conn.start_next_cycle()
        all_headers = [("host", "127.0.0.1"), ("content-length", str(len(body))), *(headers or [])]
        await self.stream.send_all(
            self.conn.send(h11.Request(method=method, target=path, headers=all_headers))
        )
        await self.stream.send_all(self.conn.send(h11.Data(data=body)))
        await self.stream.send_all(self.conn.send(h11.EndOfMessage()))
        try:
            response = await self._next()
        except h11.RemoteProtocolError:
            return HttpResult(status=0, headers={}, body=b"", complete=False)
        assert isinstance(response, h11.Response), response
        result = HttpResult(
            status=response.status_code,
            headers={k.decode(): v.decode() for k, v in response.headers},
            body=b"",
            complete=False,
        )
        while True:
            try:
                event = await self._next()
            except h11.RemoteProtocolError:
                return result
            if isinstance(event, h11.Data):
                result.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                result.complete = True
                return result
            else:
                return result

    async def post(
        self,
        body: dict[str, Any],
        path: str = "/v1/responses",
        headers: list[tuple[str, str]] | None = None,
    ) -> HttpResult:
        return await self.request(
            "POST",
            path,
            json.dumps(body).encode(),
            [("content-type", "application/json"), *(headers or [])],
        )


async def post_once(port: int, body: dict[str, Any], **kwargs: Any) -> HttpResult:
    client = await HttpClient.connect(port)
    try:
        return await client.post(body, **kwargs)
    finally:
        await client.aclose()


def user_body(text: str) -> dict[str, Any]:
    """A minimal Responses API request body with one user message."""
    return {
        "model": "mock-model",
        "stream": True,
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        ],
    }
