"""serve_metrics: real HTTP scrapes over loopback sockets, parsed with prometheus_client."""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator

import h11
import pytest
import trio
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from codex_trio.observe import events as ev
from codex_trio.observe._metrics import Metrics
from codex_trio.observe._metrics_server import HttpLimits, serve_metrics
from codex_trio.observe.telemetry import TelemetryBus
from tests.testing.slow_clients import slow_clients


class Reply:
    def __init__(self, status: int, headers: dict[bytes, bytes], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


async def exchange(
    stream: trio.SocketStream,
    conn: h11.Connection,
    method: bytes,
    target: bytes,
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
) -> Reply:
    """Send one request on ``stream`` and read its whole response (h11 as the client)."""
    request = h11.Request(method=method, target=target, headers=[(b"host", b"x"), *headers])
    await stream.send_all(conn.send(request) + conn.send(h11.EndOfMessage()))
    status, reply_headers, body = 0, {}, b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            status, reply_headers = event.status_code, dict(event.headers)
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return Reply(status, reply_headers, body)
        else:
            raise AssertionError(f"unexpected {event!r}")


async def get(
    address: tuple[str, int], target: bytes = b"/metrics", accept: bytes | None = None
) -> Reply:
    async with await trio.open_tcp_stream(*address) as stream:
        headers = [(b"accept", accept)] if accept else []
        return await exchange(stream, h11.Connection(h11.CLIENT), b"GET", target, headers)


@pytest.fixture
def metrics() -> Metrics:
    bus = TelemetryBus()
    m = Metrics()
    m.attach(bus)
    for _ in range(3):
        with bus.span(ev.TURN, {"transport": "exec", "thread_id": "t"}) as span:
            span.metadata["status"] = "completed"
            span.measurements["output_tokens"] = 5
    bus.execute(ev.PROCESS_SPAWN, {}, {"pid": 1, "transport": "exec"})
    return m


@pytest.fixture
async def address(metrics: Metrics) -> AsyncIterator[tuple[str, int]]:
    async with trio.open_nursery() as nursery:
        bound: tuple[str, int] = await nursery.start(serve_metrics, metrics.registry)
        yield bound
        nursery.cancel_scope.cancel()


async def test_start_returns_the_bound_loopback_address(address: tuple[str, int]) -> None:
    host, port = address
    assert host == "127.0.0.1"
    assert port > 0


async def test_scrape_returns_prometheus_text_with_the_values(address: tuple[str, int]) -> None:
    reply = await get(address)
    assert reply.status == 200
    assert reply.headers[b"content-type"].startswith(b"text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.body.decode())
        for sample in family.samples
    }
    assert samples[("codex_turns_total", (("status", "completed"), ("transport", "exec")))] == 3
    assert samples[("codex_tokens_total", (("kind", "output"),))] == 15
    assert samples[("codex_processes_running", ())] == 1


async def test_scrape_with_openmetrics_accept_returns_openmetrics(
    address: tuple[str, int],
) -> None:
    accept = b"application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    reply = await get(address, accept=accept)
    assert reply.status == 200
    assert reply.headers[b"content-type"].startswith(b"application/openmetrics-text")
    text = reply.body.decode()
    assert text.endswith("# EOF\n")
    families = {family.name: family for family in openmetrics_families(text)}  # type: ignore[no-untyped-call]
    turns = families["codex_turns"]
    assert turns.type == "counter"
    [total] = [s for s in turns.samples if s.name == "codex_turns_total"]
    assert total.value == 3


async def test_other_paths_get_404(address: tuple[str, int]) -> None:
    assert (await get(address, b"/")).status == 404
    assert (await get(address, b"/metricsx")).status == 404


async def test_query_string_is_ignored(address: tuple[str, int]) -> None:
    assert (await get(address, b"/metrics?x=1")).status == 200


async def test_post_gets_405_and_head_gets_headers_only(address: tuple[str, int]) -> None:
    async with await trio.open_tcp_stream(*address) as stream:
        conn = h11.Connection(h11.CLIENT)
        post = await exchange(stream, conn, b"POST", b"/metrics")
        assert post.status == 405
        assert post.headers[b"allow"] == b"GET, HEAD"
    async with await trio.open_tcp_stream(*address) as stream:
        head = await exchange(stream, h11.Connection(h11.CLIENT), b"HEAD", b"/metrics")
    assert head.status == 200
    assert head.body == b""
    assert int(head.headers[b"content-length"]) > 0


async def test_keep_alive_serves_several_requests_on_one_connection(
    address: tuple[str, int],
) -> None:
    async with await trio.open_tcp_stream(*address) as stream:
        conn = h11.Connection(h11.CLIENT)
        first = await exchange(stream, conn, b"GET", b"/metrics")
        conn.start_next_cycle()
        second = await exchange(stream, conn, b"GET", b"/nope")
        conn.start_next_cycle()
        third = await exchange(stream, conn, b"GET", b"/metrics")
    assert (first.status, second.status, third.status) == (200, 404, 200)


async def test_malformed_request_gets_400_and_the_server_keeps_serving(
    address: tuple[str, int],
) -> None:
    async with await trio.open_tcp_stream(*address) as stream:
        await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400")
    assert (await get(address)).status == 200


async def test_client_disconnecting_mid_request_does_not_stop_the_server(
    address: tuple[str, int],
) -> None:
    async with await trio.open_tcp_stream(*address) as stream:
        await stream.send_all(b"GET /metr")
    assert (await get(address)).status == 200


async def test_collector_failure_gives_500_and_the_server_keeps_serving() -> None:
    from prometheus_client import CollectorRegistry
    from prometheus_client.registry import Collector

    class Broken(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("collector bug")

    registry = CollectorRegistry()
    broken = Broken()
    registry.register(broken)
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve_metrics, registry)
        assert (await get(address)).status == 500
        registry.unregister(broken)
        assert (await get(address)).status == 200
        nursery.cancel_scope.cancel()


async def test_cancelling_the_server_closes_the_listener(metrics: Metrics) -> None:
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve_metrics, metrics.registry)
        nursery.cancel_scope.cancel()
    with pytest.raises(OSError):
        await trio.open_tcp_stream(*address)


# --- slow clients (slowloris) --------------------------------------------------------------------

HANG_GUARD = 120  # seconds; a guard against a hang, not a timing assertion


def open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_scrape_gets_through_200_slow_connections_beyond_the_cap(metrics: Metrics) -> None:
    # Timeouts far away: only the connection cap can close anything here.
    limits = HttpLimits(request_timeout=600, idle_timeout=600, max_connections=16)
    with trio.fail_after(HANG_GUARD):
        async with trio.open_nursery() as nursery:
            address = await nursery.start(
                functools.partial(serve_metrics, metrics.registry, limits=limits)
            )
            async with slow_clients(address[1], 200) as slow:
                reply = await get(address)
                assert reply.status == 200 and b"codex_turns_total" in reply.body
                # Each connection beyond the cap closed the oldest one still waiting for its
                # request, so the server holds at most 16 of the 200 (and the scrape's slot).
                await slow.wait_closed(at_least=200 - 16)
                assert (await get(address)).status == 200
            nursery.cancel_scope.cancel()


async def test_slow_and_idle_connections_are_closed_after_the_timeouts(metrics: Metrics) -> None:
    limits = HttpLimits(request_timeout=0.5, idle_timeout=0.5, max_connections=256)
    with trio.fail_after(HANG_GUARD):
        async with trio.open_nursery() as nursery:
            address = await nursery.start(
                functools.partial(serve_metrics, metrics.registry, limits=limits)
            )
            await get(address)  # warm up, so the baseline counts no lazily opened fd
            baseline = open_fd_count()
            async with slow_clients(address[1], 200, gap=0.1) as slow:
                # Half of them send nothing, half trickle a header line every 0.1 s (faster
                # than the idle timeout): the server closes every one of them.
                await slow.wait_closed()
                assert (await get(address)).status == 200
            # A kept-alive scraper that goes quiet is closed after the idle timeout.
            async with await trio.open_tcp_stream(*address) as stream:
                conn = h11.Connection(h11.CLIENT)
                assert (await exchange(stream, conn, b"GET", b"/metrics")).status == 200
                assert await stream.receive_some(10) == b""
            # Every server-side socket was released.
            while open_fd_count() > baseline:
                await trio.sleep(0.02)
            nursery.cancel_scope.cancel()


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="positive"):
        HttpLimits(request_timeout=0)
    with pytest.raises(ValueError, match="max_connections"):
        HttpLimits(max_connections=0)
