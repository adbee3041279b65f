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
``405`` for other methods, ``400`` for a request h11 cannot parse. Keep-alive is supported; a
connection idle for :data:`IDLE_TIMEOUT` seconds is closed so that stalled clients do not pile up.
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

__all__ = ["IDLE_TIMEOUT", "serve_metrics"]

IDLE_TIMEOUT: Final = 30.0
"""Seconds a connection may wait for (the rest of) a request before it is closed."""

_MAX_RECEIVE: Final = 16384
_MAX_BODY: Final = 65536  # a scrape has no body; anything larger is not a scraper
_GONE: Final = (trio.BrokenResourceError, trio.ClosedResourceError, h11.LocalProtocolError)


async def serve_metrics(
    registry: CollectorRegistry,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``registry`` on ``http://host:port/metrics`` until cancelled.

    Use ``await nursery.start(serve_metrics, registry, port=...)``: it returns once the socket is
    listening, with the bound ``(host, port)`` (``port=0`` picks a free port). If ``host``
    resolves to several addresses, all are served and the first is returned. An address already
    in use raises ``OSError`` from ``nursery.start``.
    """
    listeners = await trio.open_tcp_listeners(port, host=host)
    sockname = listeners[0].socket.getsockname()
    task_status.started((str(sockname[0]), int(sockname[1])))
    await trio.serve_listeners(functools.partial(_serve_connection, registry), listeners)


async def _serve_connection(registry: CollectorRegistry, stream: trio.SocketStream) -> None:
    # Every failure of one connection ends here: serve_listeners would let it stop the server.
    conn = h11.Connection(h11.SERVER)
    try:
        await _serve_requests(conn, stream, registry)
    except h11.RemoteProtocolError as exc:
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(*_GONE):
                await _send_simple(conn, stream, exc.error_status_hint, b"bad request\n")
    except _GONE:
        pass  # the client went away or the exchange cannot go on; nothing to tell anyone
    finally:
        await stream.aclose()


async def _serve_requests(
    conn: h11.Connection, stream: trio.SocketStream, registry: CollectorRegistry
) -> None:
    while True:
        request = await _next_request(conn, stream)
        if request is None:
            return
        await _respond(conn, stream, registry, request)
        if conn.our_state is h11.MUST_CLOSE:
            return
        if not await _drain_request(conn, stream):
            return
        conn.start_next_cycle()


async def _next_event(conn: h11.Connection, stream: trio.SocketStream) -> h11.Event | None:
    """The next h11 event, or None if the client was idle for too long."""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = b""
            with trio.move_on_after(IDLE_TIMEOUT) as scope:
                data = await stream.receive_some(_MAX_RECEIVE)
            if scope.cancelled_caught:
                return None
            conn.receive_data(data)  # b"" means end of stream; h11 turns it into an event
            continue
        if event is h11.PAUSED:
            return None
        assert isinstance(event, h11.Event)
        return event


async def _next_request(conn: h11.Connection, stream: trio.SocketStream) -> h11.Request | None:
    event = await _next_event(conn, stream)
    return event if isinstance(event, h11.Request) else None


async def _drain_request(conn: h11.Connection, stream: trio.SocketStream) -> bool:
    """Read the rest of the request (a body nobody wants) so the connection can be reused."""
    size = 0
    while conn.their_state is not h11.DONE:
        event = await _next_event(conn, stream)
        if event is None or isinstance(event, h11.ConnectionClosed):
            return False
        if isinstance(event, h11.Data):
            size += len(event.data)
            if size > _MAX_BODY:
                return False
    return True


async def _respond(
    conn: h11.Connection,
    stream: trio.SocketStream,
    registry: CollectorRegistry,
    request: h11.Request,
) -> None:
    path = request.target.split(b"?", 1)[0]
    if path != b"/metrics":
        await _send_simple(conn, stream, 404, b"not found; try /metrics\n")
        return
    if request.method not in (b"GET", b"HEAD"):
        await _send_simple(conn, stream, 405, b"method not allowed\n", [(b"allow", b"GET, HEAD")])
        return
    accept = b",".join(value for name, value in request.headers if name == b"accept")
    encoder, content_type = choose_encoder(accept.decode("latin-1"))
    try:
        body = encoder(registry)
    except Exception:
        # A custom collector raised. The scrape fails loudly (500) rather than returning a partial
        # exposition that Prometheus would take for the truth.
        await _send_simple(conn, stream, 500, b"collecting metrics failed\n")
        return
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    await _send(conn, stream, h11.Response(status_code=200, headers=headers))
    if request.method == b"GET":
        await _send(conn, stream, h11.Data(data=body))
    await _send(conn, stream, h11.EndOfMessage())


async def _send_simple(
    conn: h11.Connection,
    stream: trio.SocketStream,
    status: int,
    body: bytes,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
        *(extra_headers or []),
    ]
    await _send(conn, stream, h11.Response(status_code=status, headers=headers))
    await _send(conn, stream, h11.Data(data=body))
    await _send(conn, stream, h11.EndOfMessage())


async def _send(conn: h11.Connection, stream: trio.SocketStream, event: h11.Event) -> None:
    data = conn.send(event)
    if data:
        await stream.send_all(data)
