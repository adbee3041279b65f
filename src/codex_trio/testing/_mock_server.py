"""A loopback mock of the OpenAI Responses API, for running the real ``codex`` offline.

:class:`MockResponsesServer` listens on ``127.0.0.1`` (an ephemeral port by default) and answers
``POST /v1/responses`` with server-sent events taken from a :class:`~codex_trio.testing.Script`,
one scripted response per request. It records every request so tests can check what codex sent.
Point codex at it with :func:`~codex_trio.testing.write_codex_home`.

It speaks real HTTP/1.1 (h11): keep-alive, chunked SSE streams, any number of concurrent
connections, so one server can serve many codex processes at once.

Everything it does happens in a nursery it opens on ``__aenter__``; leaving the ``async with``
cancels the handlers and closes the listener and every connection, including streams that are
hanging or held. What can go wrong:

* the script runs out: the request is answered with an HTTP error (codex then fails the turn)
  and counted in :attr:`MockResponsesServer.exhausted`, so the test fails instead of hanging.
  The status is 503 by default, not 500: codex 0.163 replaces the message of a 500 with a generic
  "high demand" text, but shows a 503's message ("mock script exhausted ...") in its error;
* a ``default`` callable of the script raises: the request is answered with HTTP 503 and the
  exception is kept in :attr:`MockResponsesServer.errors`;
* a client sends something that is not HTTP: its connection is closed; the server keeps serving;
* a client is slow to send its request, or holds connections open without sending (slowloris):
  ``limits`` (:data:`DEFAULT_LIMITS`: a request within 30 s of its start, kept-alive connections
  idle for at most 120 s, which is longer than codex's own pool keeps them, and at most 512
  connections, the oldest connection still waiting for its request closed to make room) close
  it. A response being streamed or held is never cut short by them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Self

import attrs
import h11
import trio

from codex_trio._http import HttpConnection, HttpLimits, serve_http
from codex_trio.testing._recorded import RecordedRequest
from codex_trio.testing._script import MockRateLimits, Script, ScriptedResponse, Step
from codex_trio.testing._sse import Ids as _Ids
from codex_trio.testing._sse import sse_events

__all__ = [
    "DEFAULT_LIMITS",
    "HttpLimits",
    "MockResponsesServer",
    "MockServerStatistics",
    "sse_events",
]

RESPONSES_PATH = "/v1/responses"
BACKEND_PATH = "/backend-api/"
USAGE_PATH = "/backend-api/wham/usage"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}

_MAX_HEADER_BYTES = 64 * 1024

DEFAULT_LIMITS = HttpLimits(request_timeout=30.0, idle_timeout=120.0, max_connections=512)
"""The mock's defences against slow clients. The idle timeout is above the 90 s for which
codex's HTTP client (reqwest) keeps an idle connection, so the client, not the mock, closes it
and never reuses one the mock has just closed."""


@attrs.frozen(kw_only=True)
class MockServerStatistics:
    """A snapshot of what a :class:`MockResponsesServer` has done so far."""

    requests: int
    """Requests received on any path."""
    exhausted: int
    """Requests answered with an HTTP error because the script had nothing left."""
    connections_total: int
    """Connections accepted since start."""
    connections_open: int
    """Connections currently open."""
    held: int
    """Streams currently paused by :func:`~codex_trio.testing.hold`."""


class _PeerClosed(Exception):
    """The client closed its side of the connection while we waited."""


class MockResponsesServer:
    """A scripted Responses API on ``127.0.0.1``; use as ``async with MockResponsesServer(s)``.

    ``script`` is a :class:`~codex_trio.testing.Script` or a list of steps (wrapped in one). It
    can be replaced between (or during) turns by assigning :attr:`script`.

    Inside the ``async with``: :attr:`base_url` is what codex needs as the provider's
    ``base_url``; :attr:`requests` lists the ``POST /v1/responses`` requests received (other
    paths are answered 404 and kept in :attr:`all_requests`); :meth:`release` lets held streams
    go on; :meth:`wait_for_requests` and :meth:`wait_for_held` let a test wait for codex without
    sleeping. ``exhausted_status`` is the HTTP status answered when the script has nothing left.
    ``limits`` bounds slow clients (:data:`DEFAULT_LIMITS`).

    For synchronous programs (a demo, a script) see
    :func:`~codex_trio.testing.serve_in_thread`.
    """

    def __init__(
        self,
        script: Script | Iterable[Step] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_bytes: int = 64 * 1024 * 1024,
        exhausted_status: int = 503,
        limits: HttpLimits = DEFAULT_LIMITS,
    ) -> None:
        self.script = script if script is not None else Script()
        self.account_rate_limits: MockRateLimits | None = None
        """What the ChatGPT backend's usage endpoint (``GET /backend-api/wham/usage``) answers,
        for codex's ``account/rateLimits/read`` under a ChatGPT login whose
        ``chatgpt_base_url`` is :attr:`chatgpt_base_url`; ``None``: 404."""
        self.account_plan_type = "plus"
        self._host = host
        self._port = port
        self._max_body_bytes = max_body_bytes
        self._exhausted_status = exhausted_status
        self._limits = limits
        self.all_requests: list[RecordedRequest] = []
        self.requests: list[RecordedRequest] = []
        self.exhausted = 0
        self.errors: list[BaseException] = []
        self._ids = _Ids()
        self._connections_total = 0
        self._connections_open = 0
        self._held_now = 0
        self._held_total = 0
        self._release = trio.Event()
        self._changed = trio.Event()
        self._stack: AsyncExitStack | None = None
        self._bound_port: int | None = None
        self._token: trio.lowlevel.TrioToken | None = None

    # -- configuration -------------------------------------------------------------------------

    @property
    def script(self) -> Script:
        """The script answering from the next request on."""
        return self._script

    @script.setter
    def script(self, value: Script | Iterable[Step]) -> None:
        self._script = value if isinstance(value, Script) else Script(value)

    @property
    def port(self) -> int:
        """The TCP port listened on; only valid inside the ``async with``."""
        if self._bound_port is None:
            raise RuntimeError("the mock server is not running")
        return self._bound_port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: the ``base_url`` of the codex model provider."""
        return f"http://{self._host}:{self.port}/v1"

    @property
    def chatgpt_base_url(self) -> str:
        """``http://127.0.0.1:PORT/backend-api/``: codex's ``chatgpt_base_url`` for the
        backend routes the mock serves (:attr:`account_rate_limits`)."""
        return f"http://{self._host}:{self.port}{BACKEND_PATH}"

    def statistics(self) -> MockServerStatistics:
        """Counters describing what the server has done so far."""
        return MockServerStatistics(
            requests=len(self.all_requests),
            exhausted=self.exhausted,
            connections_total=self._connections_total,
            connections_open=self._connections_open,
            held=self._held_now,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("a MockResponsesServer can only be entered once at a time")
        stack = AsyncExitStack()
        try:
            listeners = await trio.open_tcp_listeners(self._port, host=self._host)
            for listener in listeners:
                stack.push_async_callback(listener.aclose)
            nursery = await stack.enter_async_context(trio.open_nursery())
            stack.callback(nursery.cancel_scope.cancel)
            self._bound_port = listeners[0].socket.getsockname()[1]
            self._token = trio.lowlevel.current_trio_token()
            await nursery.start(
                functools.partial(
                    serve_http,
                    self._serve_connection,
                    listeners,
                    self._limits,
                    max_header_bytes=_MAX_HEADER_BYTES,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        stack, self._stack = self._stack, None
        self._bound_port = None
        assert stack is not None
        # The body's exception is not handed to the nursery: it would come out wrapped in an
        # ExceptionGroup, and ``pytest.raises(SomeError)`` around the ``async with`` would fail.
        # The nursery is cancelled first, so closing it only waits for the handlers to unwind.
        await stack.aclose()
        return None

    # -- test controls -------------------------------------------------------------------------

    def release(self) -> None:
        """Let every stream currently held by :func:`~codex_trio.testing.hold` go on.

        Holds reached after this call wait for the next call. Safe to call from any thread
        while the server runs.
        """
        token = self._token
        if token is None:
            return
        try:
            in_loop = trio.lowlevel.current_trio_token() is token
        except RuntimeError:
            in_loop = False
        if in_loop:
            self._release_now()
        else:
            token.run_sync_soon(self._release_now)

    def _release_now(self) -> None:
        self._release.set()
        self._release = trio.Event()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for_requests(self, count: int = 1) -> list[RecordedRequest]:
        """Wait until at least ``count`` Responses API requests have arrived in total."""
        while len(self.requests) < count:
            await self._changed.wait()
        return self.requests[:count]

    async def wait_for_idle(self) -> None:
        """Wait until no connection is open (e.g. every codex process has gone away)."""
        while self._connections_open:
            await self._changed.wait()

    async def wait_for_held(self, count: int = 1) -> None:
        """Wait until ``count`` streams in total have reached their hold point."""
        while self._held_total < count:
            await self._changed.wait()

    # -- HTTP ----------------------------------------------------------------------------------

    async def _serve_connection(self, conn: HttpConnection) -> None:
        self._connections_total += 1
        self._connections_open += 1
        self._notify()
        try:
            while True:
                request = await self._read_request(conn)
                if request is None:
                    return
                keep_open = await self._answer(conn.h11, conn.stream, request)
                if not keep_open or conn.h11.our_state is not h11.DONE:
                    return
                if conn.h11.their_state is not h11.DONE:
                    return
                conn.h11.start_next_cycle()
        except (
            trio.BrokenResourceError,
            trio.ClosedResourceError,
            h11.ProtocolError,
            _PeerClosed,
            OSError,
        ):
            return
        finally:
            self._connections_open -= 1
            self._notify()

    async def _read_request(self, conn: HttpConnection) -> RecordedRequest | None:
        """The next whole request; None when the client closed or was too slow to send it."""
        event = await conn.next_request()
        if not isinstance(event, h11.Request):
            return None
        body = bytearray()
        while True:
            part = await conn.next_event()
            if part is None:
                return None  # the body did not arrive in time
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > self._max_body_bytes:
                    raise h11.RemoteProtocolError("request body too large")
            elif isinstance(part, h11.EndOfMessage):
                break
            else:
                raise _PeerClosed
        conn.request_read()
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in event.headers]
        recorded = RecordedRequest.build(
            index=len(self.all_requests),
            method=event.method.decode("ascii"),
            path=event.target.decode("latin-1"),
            headers=headers,
            raw_body=bytes(body),
        )
        self.all_requests.append(recorded)
        if _is_responses_request(recorded):
            self.requests.append(recorded)
        self._notify()
        return recorded

    async def _send(self, conn: h11.Connection, stream: trio.SocketStream, event: Any) -> None:
        data = conn.send(event)
        if data:
            await stream.send_all(data)

    async def _send_json(
        self,
        conn: h11.Connection,
        stream: trio.SocketStream,
        status: int,
        body: dict[str, Any],
        extra_headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        payload = json.dumps(body).encode()
        headers = [
            ("content-type", "application/json"),
            ("content-length", str(len(payload))),
            *extra_headers,
        ]
        await self._send(conn, stream, h11.Response(status_code=status, headers=headers))
        await self._send(conn, stream, h11.Data(data=payload))
        await self._send(conn, stream, h11.EndOfMessage())

    async def _send_error(
        self,
        conn: h11.Connection,
        stream: trio.SocketStream,
        status: int,
        message: str,
        code: str | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
        *,
        error_type: str | None = None,
        fields: Iterable[tuple[str, Any]] = (),
    ) -> None:
        error: dict[str, Any] = {
            "message": message,
            "type": error_type or _ERROR_TYPES.get(status, "server_error"),
            "param": None,
            "code": code,
        }
        error.update(fields)
        await self._send_json(conn, stream, status, {"error": error}, extra_headers)

    async def _answer(
        self, conn: h11.Connection, stream: trio.SocketStream, request: RecordedRequest
    ) -> bool:
        """Answer one request; False when the connection must be closed afterwards."""
        if not _is_responses_request(request):
            limits = self.account_rate_limits
            if request.method == "GET" and request.path.split("?")[0] == USAGE_PATH and limits:
                body = limits.usage_payload(plan_type=self.account_plan_type)
                await self._send_json(conn, stream, 200, body)
                return True
            await self._send_error(conn, stream, 404, f"mock: no route for {request.path}")
            return True
        try:
            scripted = self.script.next_response(request)
        except Exception as exc:
            self.errors.append(exc)
            await self._send_error(
                conn, stream, self._exhausted_status, f"mock script raised {exc!r}"
            )
            return True
        if scripted is None:
            self.exhausted += 1
            self._notify()
            await self._send_error(
                conn,
                stream,
                self._exhausted_status,
                f"mock script exhausted: nothing scripted for request #{request.index} "
                f"({self.exhausted} unanswered so far)",
                code="mock_script_exhausted",
            )
            return True
        if scripted.delay > 0:
            await trio.sleep(scripted.delay)
        if scripted.kind == "http_error":
            await self._send_error(
                conn,
                stream,
                scripted.status,
                scripted.error or "",
                scripted.error_code,
                scripted.headers,
                error_type=scripted.error_type,
                fields=scripted.error_fields,
            )
            return True
        if scripted.kind == "hang":
            await _wait_for_peer_close(stream)
            return False
        return await self._stream(conn, stream, request, scripted)

    async def _stream(
        self,
        conn: h11.Connection,
        stream: trio.SocketStream,
        request: RecordedRequest,
        scripted: ScriptedResponse,
    ) -> bool:
        headers = [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
            *scripted.headers,
        ]
        await self._send(conn, stream, h11.Response(status_code=200, headers=headers))
        limit = scripted.disconnect_after_events
        sent = 0
        for event in sse_events(scripted, self._ids, request.model):
            if limit is not None and sent >= limit:
                return False
            await self._send(conn, stream, h11.Data(data=event))
            sent += 1
            if sent == 1 and scripted.hold:
                await self._hold(stream)
        if limit is not None and sent >= limit:
            return False
        await self._send(conn, stream, h11.EndOfMessage())
        return True

    async def _hold(self, stream: trio.SocketStream) -> None:
        release = self._release
        self._held_now += 1
        self._held_total += 1
        self._notify()
        peer_closed = False
        try:
            async with trio.open_nursery() as nursery:

                async def watch_peer() -> None:
                    nonlocal peer_closed
                    await _wait_for_peer_close(stream)
                    peer_closed = True
                    nursery.cancel_scope.cancel()

                nursery.start_soon(watch_peer)
                await release.wait()
                nursery.cancel_scope.cancel()
        finally:
            self._held_now -= 1
        # Raised here, outside the nursery: raised inside it (or from an ``except*``), it would
        # arrive wrapped in an ExceptionGroup that the connection's ``except _PeerClosed`` misses.
        if peer_closed:
            raise _PeerClosed


def _is_responses_request(request: RecordedRequest) -> bool:
    return request.method == "POST" and request.path.split("?")[0] == RESPONSES_PATH


async def _wait_for_peer_close(stream: trio.SocketStream) -> None:
    """Discard whatever the client sends until it closes its side (or the connection breaks)."""
    try:
        while await stream.receive_some(65536):
            pass
    except (trio.BrokenResourceError, OSError):
        return
