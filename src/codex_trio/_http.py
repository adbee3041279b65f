"""The connection handling shared by codex-trio's two small HTTP/1.1 servers (h11 over trio).

The ``/metrics`` endpoint (:mod:`codex_trio.observe._metrics_server`) and the mock Responses API
(:mod:`codex_trio.testing._mock_server`) both accept connections from anyone on their port, so
both need the same defences against a client that connects and then sends its request slowly, or
never (slowloris). :func:`serve_http` gives them:

* ``request_timeout``: a request, head and body, must arrive within this many seconds of its
  start: the connection opening (first request) or its first byte (a later request on a
  kept-alive connection). A client that sends nothing, or trickles its header a byte at a time,
  is closed when it runs out.
* ``idle_timeout``: a kept-alive connection with no request in progress is closed after this
  many seconds without a byte.
* ``max_connections``: at most this many connections are served at once. A new connection beyond
  the cap closes the *oldest connection still waiting for its request* (the slow clients, never
  one being answered); if every connection is being answered, the new one gets ``503`` and is
  closed. So a normal client still gets through while the cap is full of slow ones.

Only the request phase is bounded: once a request has arrived, answering it (a long SSE stream,
a held response) takes as long as the server's handler wants.
"""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

import attrs
import h11
import trio

__all__ = ["HttpConnection", "HttpLimits", "serve_http"]

_ACCEPT_CAPACITY_ERRNOS: Final = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
)
_RECEIVE: Final = 65536
_BUSY: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 18\r\n"
    b"connection: close\r\n\r\nserver at capacity"
)


@attrs.frozen(kw_only=True)
class HttpLimits:
    """How long a client may take to send a request, and how many connections are served."""

    request_timeout: float = 10.0
    """Seconds for a whole request (head and body) to arrive, from its start."""
    idle_timeout: float = 30.0
    """Seconds a kept-alive connection may stay silent between requests."""
    max_connections: int = 64
    """Connections served at once; beyond it the oldest one still waiting for a request is
    closed (or, if none is waiting, the new one is answered 503)."""

    def __attrs_post_init__(self) -> None:
        if not (self.request_timeout > 0 and self.idle_timeout > 0):
            raise ValueError("request_timeout and idle_timeout must be positive")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")


class HttpConnection:
    """One accepted connection: an h11 server state machine whose request reads are bounded by
    the :class:`HttpLimits`. A read that runs out of time returns ``None``: close the
    connection (the serving loop does when the handler returns)."""

    def __init__(self, stream: trio.SocketStream, limits: HttpLimits, max_header_bytes: int):
        self.stream = stream
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=max_header_bytes)
        self.limits = limits
        self._deadline = trio.current_time() + limits.request_timeout
        self._first = True
        self.waiting = True
        """True while no complete request is in hand: the connection may be closed to make room."""
        self._scope = trio.CancelScope()

    async def next_request(self) -> h11.Request | h11.ConnectionClosed | None:
        """The head of the next request, ``ConnectionClosed`` if the client closed cleanly, or
        ``None`` if it took too long (idle, or a request not sent in time)."""
        self.waiting = True
        if self._first:
            self._first = False  # the first request's deadline counts from the accept
        else:
            # Kept alive: wait at most idle_timeout for the first byte of the next request
            # (unless h11 holds some already), then request_timeout for the rest of it.
            buffered, closed = self.h11.trailing_data
            if not buffered and not closed:
                with trio.move_on_after(self.limits.idle_timeout) as scope:
                    data = await self.stream.receive_some(_RECEIVE)
                if scope.cancelled_caught:
                    return None
                self.h11.receive_data(data)
            self._deadline = trio.current_time() + self.limits.request_timeout
        event = await self.next_event()
        if event is None:
            return None
        if isinstance(event, (h11.Request, h11.ConnectionClosed)):
            return event
        raise h11.RemoteProtocolError(f"expected a request, got {event!r}")

    def request_read(self) -> None:
        """The whole request is in hand: from now on the connection is being answered."""
        self.waiting = False

    async def next_event(self) -> h11.Event | None:
        """The next h11 event of the request being read, ``None`` past its deadline (or if h11
        pauses because the client pipelined more than it should)."""
        while True:
            event = self.h11.next_event()
            if event is h11.PAUSED:
                return None
            if event is not h11.NEED_DATA:
                assert isinstance(event, h11.Event)
                return event
            with trio.move_on_at(self._deadline) as scope:
                data = await self.stream.receive_some(_RECEIVE)
            if scope.cancelled_caught:
                return None
            self.h11.receive_data(data)  # b"": end of stream, which h11 turns into an event

    async def send(self, event: h11.Event) -> None:
        data = self.h11.send(event)
        if data:
            await self.stream.send_all(data)

    def evict(self) -> None:
        self._scope.cancel()


Handler = Callable[[HttpConnection], Awaitable[None]]


async def serve_http(
    handler: Handler,
    listeners: Sequence[trio.SocketListener],
    limits: HttpLimits,
    *,
    max_header_bytes: int = 16384,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Accept connections on ``listeners`` until cancelled; run ``handler`` for each one, in a
    task of its own, within ``limits``. The stream is closed when the handler returns (or is
    cancelled to make room). A handler must catch its own errors: one that escapes is a bug and
    stops the server."""
    live: dict[HttpConnection, None] = {}  # insertion order: oldest first

    async def run(stream: trio.SocketStream) -> None:
        connection = HttpConnection(stream, limits, max_header_bytes)
        if len(live) >= limits.max_connections:
            oldest = next((c for c in live if c.waiting), None)
            if oldest is None:
                await _refuse(stream)
                return
            del live[oldest]  # counted out now, so one newcomer evicts one connection
            oldest.evict()
        live[connection] = None
        try:
            with connection._scope:
                await handler(connection)
        finally:
            live.pop(connection, None)
            await _close(stream)

    async with trio.open_nursery() as nursery:
        for listener in listeners:
            nursery.start_soon(_accept_loop, listener, run, nursery)
        task_status.started()


async def _accept_loop(
    listener: trio.SocketListener,
    run: Callable[[trio.SocketStream], Awaitable[None]],
    nursery: trio.Nursery,
) -> None:
    while True:
        try:
            stream = await listener.accept()
        except OSError as exc:
            if exc.errno in _ACCEPT_CAPACITY_ERRNOS:
                # Out of fds or memory: let connections finish, then try again (as trio does).
                await trio.sleep(0.1)
                continue
            raise
        nursery.start_soon(run, stream)


async def _refuse(stream: trio.SocketStream) -> None:
    with trio.move_on_after(1):
        try:
            await stream.send_all(_BUSY)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
    await _close(stream)


async def _close(stream: trio.SocketStream) -> None:
    with trio.CancelScope(shield=True):
        try:
            await stream.aclose()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
