"""A small Prometheus scrape endpoint that runs as a trio task (h11 over trio sockets, no threads).

prometheus_client ships its own HTTP server, but it runs in a background thread outside any
nursery: it cannot be cancelled, its errors go nowhere, and tests cannot know when it is ready.
:func:`serve_metrics` is an ordinary trio task instead::

    async with trio.open_nursery() as nursery:
        host, port = await nursery.start(serve_metrics, metrics.registry)
        ...
        nursery.cancel_scope.cancel()   # closes the listener and every open connection

It answers ``GET /metrics`` (and ``HEAD``) with the Prometheus text format, or OpenMetrics when
the ``Accept`` header asks for ``application/openmetrics-text``; ``404`` on any other path,
``405`` for other methods, ``400`` for a request h11 cannot parse. Keep-alive is supported.
Slow or stalled clients cannot pile up (:data:`DEFAULT_LIMITS`, override with ``limits=``): a
request must arrive within ``request_timeout`` seconds (10) of the connection opening, a
kept-alive connection idle for ``idle_timeout`` seconds (30) is closed, and at most
``max_connections`` (64) are served at once; a connection beyond that closes the oldest one still
waiting for its request, so a scrape gets through while the server is full of slow clients.
A failure in one connection (client went away, malformed request, a collector that raises) is
answered or dropped there and never stops the server. It has no authentication: bind it to
loopback (the default) or a private interface.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Final

import h11
import trio
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from codex_trio._http import HttpConnection, HttpLimits, serve_http

__all__ = ["DEFAULT_LIMITS", "IDLE_TIMEOUT", "HttpLimits", "serve_metrics"]

DEFAULT_LIMITS: Final = HttpLimits(request_timeout=10.0, idle_timeout=30.0, max_connections=64)
"""The scrape endpoint's defences against slow clients (see :class:`HttpLimits`)."""

IDLE_TIMEOUT: Final = DEFAULT_LIMITS.idle_timeout
"""Seconds a kept-alive connection may wait for its next request before it is closed."""

_MAX_HEADER: Final = 16384
_MAX_BODY: Final = 65536  # a scrape has no body; anything larger is not a scraper
_GONE: Final = (trio.BrokenResourceError, trio.ClosedResourceError, h11.LocalProtocolError)


async def serve_metrics(
    registry: CollectorRegistry,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    limits: HttpLimits = DEFAULT_LIMITS,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``registry`` on ``http://host:port/metrics`` until cancelled.

    Use ``await nursery.start(serve_metrics, registry, port=...)``: it returns once the socket is
    listening, with the bound ``(host, port)`` (``port=0`` picks a free port). If ``host``
    resolves to several addresses, all are served and the first is returned. An address already
    in use raises ``OSError`` from ``nursery.start``. ``limits`` bounds slow clients (timeouts,
    connection cap); see :data:`DEFAULT_LIMITS`.
    """
    listeners = await trio.open_tcp_listeners(port, host=host)
    sockname = listeners[0].socket.getsockname()
    try:
        await serve_http(
            functools.partial(_serve_connection, registry),
            listeners,
            limits,
            max_header_bytes=_MAX_HEADER,
            task_status=_Started(task_status, (str(sockname[0]), int(sockname[1]))),
        )
    finally:
        for listener in listeners:
            with trio.CancelScope(shield=True):
                await listener.aclose()


class _Started:
    """Reports the bound address when serve_http says it is serving."""

    def __init__(self, status: trio.TaskStatus[tuple[str, int]], address: tuple[str, int]):
        self._status = status
        self._address = address

    def started(self, value: None = None) -> None:
        self._status.started(self._address)


async def _serve_connection(registry: CollectorRegistry, conn: HttpConnection) -> None:
    # Every failure of one connection ends here: it must not stop the server.
    try:
        await _serve_requests(conn, registry)
    except h11.RemoteProtocolError as exc:
        if conn.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(*_GONE):
                await _send_simple(conn, exc.error_status_hint, b"bad request\n")
    except _GONE:
        pass  # the client went away or the exchange cannot go on; nothing to tell anyone


async def _serve_requests(conn: HttpConnection, registry: CollectorRegistry) -> None:
    while True:
        request = await conn.next_request()
        if not isinstance(request, h11.Request):
            return  # closed by the client, idle, or too slow to send its request
        conn.request_read()  # a scrape has no body; the rest is drained after the answer
        await _respond(conn, registry, request)
        if conn.h11.our_state is h11.MUST_CLOSE:
            return
        if not await _drain_request(conn):
            return
        conn.h11.start_next_cycle()


async def _drain_request(conn: HttpConnection) -> bool:
    """Read the rest of the request (a body nobody wants) so the connection can be reused."""
    size = 0
    while conn.h11.their_state is not h11.DONE:
        event = await conn.next_event()
        if event is None or isinstance(event, h11.ConnectionClosed):
            return False
        if isinstance(event, h11.Data):
            size += len(event.data)
            if size > _MAX_BODY:
                return False
    return True


async def _respond(conn: HttpConnection, registry: CollectorRegistry, request: h11.Request) -> None:
    path = request.target.split(b"?", 1)[0]
    if path != b"/metrics":
        await _send_simple(conn, 404, b"not found; try /metrics\n")
        return
    if request.method not in (b"GET", b"HEAD"):
        await _send_simple(conn, 405, b"method not allowed\n", [(b"allow", b"GET, HEAD")])
        return
    accept = b",".join(value for name, value in request.headers if name == b"accept")
    encoder, content_type = choose_encoder(accept.decode("latin-1"))
    try:
        body = encoder(registry)
    except Exception:
        # A custom collector raised. The scrape fails loudly (500) rather than returning a partial
        # exposition that Prometheus would take for the truth.
        await _send_simple(conn, 500, b"collecting metrics failed\n")
        return
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    await conn.send(h11.Response(status_code=200, headers=headers))
    if request.method == b"GET":
        await conn.send(h11.Data(data=body))
    await conn.send(h11.EndOfMessage())


async def _send_simple(
    conn: HttpConnection,
    status: int,
    body: bytes,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
        *(extra_headers or []),
    ]
    await conn.send(h11.Response(status_code=status, headers=headers))
    await conn.send(h11.Data(data=body))
    await conn.send(h11.EndOfMessage())
