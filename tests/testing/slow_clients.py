"""Slowloris clients for the HTTP servers' limits: connections that send nothing, or a partial
request header a line at a time, and notice when the server closes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import trio


@attrs.define(eq=False)
class SlowClient:
    trickle: bool
    closed_by_server: trio.Event = attrs.field(factory=trio.Event)


@attrs.define
class SlowClients:
    clients: list[SlowClient]

    def closed(self) -> int:
        return sum(c.closed_by_server.is_set() for c in self.clients)

    async def wait_closed(self, at_least: int | None = None) -> None:
        """Until ``at_least`` (default: all) connections were closed by the server. No clock:
        the caller's guard bounds it."""
        target = len(self.clients) if at_least is None else at_least
        while self.closed() < target:
            await trio.sleep(0.02)


async def _run(client: SlowClient, port: int, gap: float, connected: trio.Event) -> None:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    connected.set()
    try:
        if client.trickle:
            await stream.send_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n")
        n = 0
        while True:
            # A byte of header every ``gap`` seconds (more often than any idle timeout in the
            # tests, so only a deadline for the whole request closes it), or silence.
            with trio.move_on_after(gap):
                data = await stream.receive_some(4096)
                if not data:
                    break  # EOF: the server closed
                continue  # e.g. a 503 before the close; wait for the EOF
            if client.trickle:
                await stream.send_all(b"x-slow-%d: 1\r\n" % n)
                n += 1
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass  # reset by the server: closed too
    finally:
        await stream.aclose()
    client.closed_by_server.set()


@asynccontextmanager
async def slow_clients(port: int, count: int = 200, gap: float = 0.1) -> AsyncIterator[SlowClients]:
    """``count`` connections to ``127.0.0.1:port``, every other one trickling a header; yields
    once all are connected. Leaving the block closes those still open."""
    clients = [SlowClient(trickle=i % 2 == 1) for i in range(count)]
    async with trio.open_nursery() as nursery:
        for client in clients:
            connected = trio.Event()
            nursery.start_soon(_run, client, port, gap, connected)
            await connected.wait()
        yield SlowClients(clients)
        nursery.cancel_scope.cancel()
