"""The mock server over real HTTP, talked to by a small h11 client (no codex)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import trio
import trio.testing

from codex_trio.testing import (
    HttpLimits,
    MockResponsesServer,
    MockUsage,
    RecordedRequest,
    Script,
    Step,
    delay,
    disconnect,
    exec_command,
    hang,
    hold,
    http_error,
    message,
    reasoning,
    response,
    response_failed,
)
from tests.testing.http_client import HttpClient, post_once, user_body
from tests.testing.slow_clients import slow_clients

GUARD = 30  # seconds; a hang guard only, never an assertion


async def test_base_url_names_the_loopback_port_and_v1() -> None:
    async with MockResponsesServer() as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"


async def test_stream_frames_events_and_ends_with_completed_usage() -> None:
    script = Script(
        [
            response(
                reasoning("r"),
                message("hi"),
                usage=MockUsage(
                    input_tokens=7,
                    cached_input_tokens=3,
                    output_tokens=2,
                    reasoning_output_tokens=1,
                ),
            )
        ]
    )
    async with MockResponsesServer(script) as server:
        with trio.fail_after(GUARD):
            result = await post_once(server.port, user_body("hello"))
    assert result.status == 200 and result.complete
    assert result.headers["content-type"] == "text/event-stream"
    events = result.sse()
    assert [t for t, _ in events] == [
        "response.created",
        "response.output_item.added",
        "response.output_item.done",
        "response.output_item.added",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[4][1]["item"]["content"][0]["text"] == "hi"
    assert events[-1][1]["response"]["usage"] == {
        "input_tokens": 7,
        "input_tokens_details": {"cached_tokens": 3, "cache_write_tokens": 0},
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 1},
        "total_tokens": 9,
    }


async def test_message_deltas_stream_before_the_item_is_done() -> None:
    async with MockResponsesServer([message("a b", deltas=True)]) as server:
        with trio.fail_after(GUARD):
            events = (await post_once(server.port, user_body("x"))).sse()
    types = [t for t, _ in events]
    assert types == [
        "response.created",
        "response.output_item.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_item.done",
        "response.completed",
    ]
    assert "".join(d["delta"] for t, d in events if t == "response.output_text.delta") == "a b"


async def test_every_item_gets_a_fresh_id_and_call_id_across_requests() -> None:
    async with MockResponsesServer([exec_command("ls"), exec_command("ls")]) as server:
        with trio.fail_after(GUARD):
            first = (await post_once(server.port, user_body("x"))).sse()
            second = (await post_once(server.port, user_body("x"))).sse()
    items = [d["item"] for t, d in first + second if t == "response.output_item.done"]
    assert len({i["call_id"] for i in items}) == 2
    assert len({i["id"] for i in items}) == 2
    response_ids = {d["response"]["id"] for t, d in first + second if t == "response.created"}
    assert len(response_ids) == 2


async def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    async with MockResponsesServer([message("1"), message("2")]) as server:
        with trio.fail_after(GUARD):
            client = await HttpClient.connect(server.port)
            first = await client.post(user_body("a"))
            second = await client.post(user_body("b"))
            await client.aclose()
        stats = server.statistics()
    assert first.complete and second.complete
    assert stats.connections_total == 1
    assert [r.last_user_text() for r in server.requests] == ["a", "b"]


async def test_http_error_answers_status_and_openai_error_body() -> None:
    async with MockResponsesServer([http_error(401, "bad key", code="invalid_api_key")]) as srv:
        with trio.fail_after(GUARD):
            result = await post_once(srv.port, user_body("x"))
    assert result.status == 401
    assert result.json()["error"]["message"] == "bad key"
    assert result.json()["error"]["code"] == "invalid_api_key"


async def test_exhausted_script_answers_an_error_saying_so_and_counts_it() -> None:
    async with MockResponsesServer([message("only one")]) as server:
        with trio.fail_after(GUARD):
            await post_once(server.port, user_body("x"))
            result = await post_once(server.port, user_body("y"))
    assert result.status == 503
    assert "mock script exhausted" in result.json()["error"]["message"]
    assert server.exhausted == 1


async def test_script_default_callable_that_raises_is_answered_and_kept() -> None:
    def broken(_: RecordedRequest) -> Step:
        raise LookupError("no answer")

    async with MockResponsesServer(Script(default=broken)) as server:
        with trio.fail_after(GUARD):
            result = await post_once(server.port, user_body("x"))
    assert result.status >= 500
    assert isinstance(server.errors[0], LookupError)


async def test_unknown_paths_get_404_and_are_not_responses_requests() -> None:
    async with MockResponsesServer([message("x")]) as server:
        with trio.fail_after(GUARD):
            client = await HttpClient.connect(server.port)
            result = await client.request("GET", "/v1/models")
            await client.aclose()
    assert result.status == 404
    assert server.requests == []
    assert [r.path for r in server.all_requests] == ["/v1/models"]
    assert server.script.remaining == 1


async def test_disconnect_closes_the_connection_after_n_events() -> None:
    async with MockResponsesServer([disconnect(message("x"), after_events=2)]) as server:
        with trio.fail_after(GUARD):
            result = await post_once(server.port, user_body("x"))
    assert not result.complete
    assert [t for t, _ in result.sse()] == ["response.created", "response.output_item.added"]


async def test_response_failed_ends_the_stream_with_the_error() -> None:
    async with MockResponsesServer([response_failed("melted")]) as server:
        with trio.fail_after(GUARD):
            events = (await post_once(server.port, user_body("x"))).sse()
    assert [t for t, _ in events] == ["response.created", "response.failed"]
    assert events[-1][1]["response"]["error"]["message"] == "melted"


async def test_hold_pauses_after_created_until_release() -> None:
    results = []
    async with MockResponsesServer([hold(message("after release"))]) as server:
        with trio.fail_after(GUARD):
            async with trio.open_nursery() as nursery:

                async def client() -> None:
                    results.append(await post_once(server.port, user_body("x")))

                nursery.start_soon(client)
                await server.wait_for_held()
                assert server.statistics().held == 1
                assert results == []
                server.release()
        assert server.statistics().held == 0
    events = results[0].sse()
    assert events[0][0] == "response.created" and events[-1][0] == "response.completed"


async def test_release_from_another_thread_lets_the_held_stream_go_on() -> None:
    async with MockResponsesServer([hold(message("x"))]) as server:
        with trio.fail_after(GUARD):
            async with trio.open_nursery() as nursery:
                result = []

                async def client() -> None:
                    result.append(await post_once(server.port, user_body("x")))

                nursery.start_soon(client)
                await server.wait_for_held()
                await trio.to_thread.run_sync(server.release)
    assert result[0].complete


async def test_a_client_leaving_a_held_stream_does_not_break_the_server() -> None:
    async with MockResponsesServer([hold(message("never")), message("next")]) as server:
        with trio.fail_after(GUARD):
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            body = json.dumps(user_body("hold")).encode()
            await stream.send_all(
                b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await server.wait_for_held()
            await stream.aclose()  # the client goes away mid-stream (codex killed, say)
            while server.statistics().held:
                await trio.sleep(0.01)
            after = await post_once(server.port, user_body("next"))
    assert after.complete and after.sse()[-1][0] == "response.completed"


async def test_hang_never_answers_and_server_exit_closes_the_connection() -> None:
    outcome = []
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            async with MockResponsesServer([hang()]) as server:

                async def client() -> None:
                    outcome.append(await post_once(server.port, user_body("x")))

                nursery.start_soon(client)
                await server.wait_for_requests(1)
                await trio.testing.wait_all_tasks_blocked()
                assert outcome == []
            # Leaving the server closed the hung connection: the client sees no response.
    assert outcome[0].status == 0 and not outcome[0].complete
    assert server.statistics().connections_open == 0


async def test_delayed_response_is_not_sent_before_its_delay() -> None:
    outcome = []
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            async with MockResponsesServer([delay(3600, message("late"))]) as server:

                async def client() -> None:
                    outcome.append(await post_once(server.port, user_body("x")))

                nursery.start_soon(client)
                await server.wait_for_requests(1)
                await trio.testing.wait_all_tasks_blocked()
    assert outcome[0].body == b""


async def test_short_delay_still_delivers_the_full_response() -> None:
    async with MockResponsesServer([delay(0.01, message("late"))]) as server:
        with trio.fail_after(GUARD):
            result = await post_once(server.port, user_body("x"))
    assert result.complete and result.sse()[-1][0] == "response.completed"


async def test_serves_64_concurrent_connections_routed_by_conversation_key() -> None:
    n = 64
    script = Script.by_key(
        lambda r: r.first_user_text(), {f"conv-{i}": [message(f"answer-{i}")] for i in range(n)}
    )
    answers: dict[int, str] = {}
    async with MockResponsesServer(script) as server:
        with trio.fail_after(GUARD):
            async with trio.open_nursery() as nursery:
                for i in range(n):

                    async def one(i: int = i) -> None:
                        events = (await post_once(server.port, user_body(f"conv-{i}"))).sse()
                        answers[i] = events[-2][1]["item"]["content"][0]["text"]

                    nursery.start_soon(one)
        assert server.statistics().connections_total == n
    assert answers == {i: f"answer-{i}" for i in range(n)}


async def test_requests_record_body_headers_and_hide_authorization() -> None:
    async with MockResponsesServer([message("x")]) as server:
        with trio.fail_after(GUARD):
            await post_once(
                server.port,
                user_body("hello"),
                headers=[("authorization", "Bearer sk-test-1234567890")],
            )
    req = server.requests[0]
    assert req.body["input"][0]["content"][0]["text"] == "hello"
    assert req.headers["content-type"] == "application/json"
    assert "sk-test" not in repr(req) and "sk-test" not in json.dumps(dict(req.headers))
    assert req.authorization() == "Bearer sk-test-1234567890"


async def test_garbage_on_one_connection_does_not_stop_the_server() -> None:
    async with MockResponsesServer([message("still here")]) as server:
        with trio.fail_after(GUARD):
            bad = await trio.open_tcp_stream("127.0.0.1", server.port)
            await bad.send_all(b"NOT HTTP AT ALL\r\n\r\n")
            await bad.receive_some(1000)
            await bad.aclose()
            result = await post_once(server.port, user_body("x"))
    assert result.complete


async def test_exit_closes_listener_so_the_port_refuses_connections() -> None:
    async with MockResponsesServer() as server:
        port = server.port
    with trio.fail_after(GUARD):
        try:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
        except OSError:
            return
        await stream.aclose()
    raise AssertionError("the port still accepted a connection after the server stopped")


async def test_an_error_in_the_body_propagates_unwrapped() -> None:
    with pytest.raises(KeyError):
        async with MockResponsesServer([hang()]) as server:
            with trio.fail_after(GUARD):
                async with await trio.open_tcp_stream("127.0.0.1", server.port) as stream:
                    await stream.send_all(
                        b"POST /v1/responses HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}"
                    )
                    await server.wait_for_requests(1)
                    raise KeyError("from the test body")


# --- slow clients (slowloris) --------------------------------------------------------------------


def open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_requests_get_through_200_slow_connections_beyond_the_cap() -> None:
    # Timeouts far away: only the connection cap closes anything here.
    limits = HttpLimits(request_timeout=600, idle_timeout=600, max_connections=16)
    held: list[Any] = []
    with trio.fail_after(4 * GUARD):
        async with MockResponsesServer(
            [hold(message("held")), message("one"), message("two")], limits=limits
        ) as server:
            async with trio.open_nursery() as nursery:

                async def held_client() -> None:
                    held.append(await post_once(server.port, user_body("hold")))

                nursery.start_soon(held_client)
                await server.wait_for_held()
                async with slow_clients(server.port, 200) as slow:
                    first = await post_once(server.port, user_body("one"))
                    # Each connection beyond the cap closed the oldest one still waiting for
                    # its request; the held response is being answered, so it stays.
                    await slow.wait_closed(at_least=200 - 16)
                    while server.statistics().connections_open > 16:
                        await trio.sleep(0.02)
                    assert server.statistics().held == 1
                    second = await post_once(server.port, user_body("two"))
                server.release()
    assert [r.complete for r in (first, second, *held)] == [True, True, True]
    assert [e[1]["item"]["content"][0]["text"] for r in (first, second) for e in r.sse()[2:3]] == [
        "one",
        "two",
    ]


async def test_slow_and_idle_connections_are_closed_after_the_timeouts() -> None:
    limits = HttpLimits(request_timeout=0.5, idle_timeout=0.5, max_connections=256)
    with trio.fail_after(4 * GUARD):
        async with MockResponsesServer(Script.replying(message("ok")), limits=limits) as server:
            assert (await post_once(server.port, user_body("warm up"))).complete
            await server.wait_for_idle()
            baseline = open_fd_count()
            async with slow_clients(server.port, 200, gap=0.1) as slow:
                # Half send nothing, half trickle a header line every 0.1 s (faster than the
                # idle timeout): the server closes every one of them, and serves meanwhile.
                assert (await post_once(server.port, user_body("during"))).complete
                await slow.wait_closed()
            await server.wait_for_idle()
            # A kept-alive client that goes quiet is closed after the idle timeout.
            client = await HttpClient.connect(server.port)
            try:
                assert (await client.post(user_body("then idle"))).complete
                assert await client.stream.receive_some(10) == b""
            finally:
                await client.aclose()
            await server.wait_for_idle()
            while open_fd_count() > baseline:  # every server-side socket was released
                await trio.sleep(0.02)
            assert server.statistics().connections_total == 203
