"""Remote app-servers: the real ``codex app-server --listen ws://127.0.0.1:PORT`` on the mock
model, reached with ``Codex(transport="app-server", url=...)`` / ``Runtime(..., url=...)``, with
and without a capability token, and killed mid-turn."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
import trio

import codex_trio
from codex_trio import AuthenticationError, SlowConsumerError, TransportError, TurnDeadlineError
from codex_trio._protocol.exec_events import TurnCompletedEvent, TurnStartedEvent
from codex_trio._protocol.options import ThreadOptions
from codex_trio.app_server import connect_app_server
from codex_trio.observe._logging import HANDLER_NAME, clear_contextvars, configure_logging
from codex_trio.testing import MockModel, Script, hang, hold, message, response
from tests.remote_server import (
    RemoteServer,
    free_port,
    http_status,
    remote_app_server,
    tcp_proxy,
)

pytestmark = pytest.mark.integration

TOKEN = "capability-token-for-tests-7a41c2"
HANG_GUARD = 120  # seconds: a guard against a hang, not a timing assertion


def thread_options(mock_model: MockModel) -> dict[str, object]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every log record, DEBUG and up, trio-websocket's own included, as JSON lines."""
    root = logging.getLogger()
    level = root.level
    out = io.StringIO()
    configure_logging(json=True, level="DEBUG", stream=out)
    try:
        yield out
    finally:
        for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
            root.removeHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()
        clear_contextvars()


async def wait_until_running(codex: codex_trio.Codex) -> None:
    """Wait (a condition, bounded by the test's hang guard) until the transport is connected."""
    while codex.transport.status.state != "running":  # type: ignore[attr-defined]
        await trio.sleep(0.05)


async def test_buffered_and_streamed_turns_over_the_websocket(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("buffered answer"), message("streamed answer")]
    with trio.fail_after(HANG_GUARD):
        async with remote_app_server(mock_model, tmp_path) as server:
            assert await http_status(server.port, "/healthz") == 200
            async with codex_trio.Codex(transport="app-server", url=server.url) as codex:
                status = codex.transport.status  # type: ignore[attr-defined]
                thread = codex.start_thread(**thread_options(mock_model))
                buffered = await thread.run("first")
                async with thread.run_streamed("second") as stream:
                    events = [event async for event in stream]
    assert buffered.final_response == "buffered answer"
    assert isinstance(events[-1], TurnCompletedEvent)
    assert any(isinstance(e, TurnStartedEvent) for e in events)
    assert status.state == "running" and status.url == server.url and status.pid is None
    # The second turn ran on the same thread: the model saw the first one's history.
    assert "first" in " ".join(mock_model.requests[-1].input_texts())


async def test_one_thread_that_never_reads_does_not_stall_another_over_the_websocket(
    mock_model: MockModel, tmp_path: Path
) -> None:
    # Twelve messages a turn: more item notifications than the 16 a stream buffers.
    mock_model.script = Script.replying(response(*(message(f"m{n}") for n in range(12))))
    with trio.fail_after(HANG_GUARD):
        async with remote_app_server(mock_model, tmp_path) as server:
            async with codex_trio.Codex(
                transport="app-server", url=server.url, event_buffer=16
            ) as codex:
                slow = codex.start_thread(**thread_options(mock_model))
                fast = codex.start_thread(**thread_options(mock_model))
                async with slow.run_streamed("I will not read") as events:
                    await events.__anext__()  # the turn has started; then stop reading
                    answers = [(await fast.run(f"go {n}")).final_response for n in range(3)]
                    with pytest.raises(SlowConsumerError):
                        async for _ in events:
                            pass
                again = await slow.run("now I read")
    assert answers == ["m11"] * 3
    assert again.final_response == "m11"


async def test_two_threads_run_concurrently_on_one_remote_server(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = Script.replying(message("done"))
    results: dict[str, str | None] = {}
    with trio.fail_after(HANG_GUARD):
        async with remote_app_server(mock_model, tmp_path) as server:
            async with codex_trio.Codex(transport="app-server", url=server.url) as codex:

                async def run(name: str) -> None:
                    thread = codex.start_thread(**thread_options(mock_model))
                    results[name] = (await thread.run(f"task {name}")).final_response

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(run, "a")
                    nursery.start_soon(run, "b")
    assert results == {"a": "done", "b": "done"}


async def test_a_token_server_takes_the_right_token_and_refuses_a_wrong_or_missing_one(
    mock_model: MockModel, tmp_path: Path, logs: io.StringIO
) -> None:
    mock_model.script = [message("authenticated")]
    wrong = "not-the-token-31337"
    with trio.fail_after(HANG_GUARD):
        async with remote_app_server(mock_model, tmp_path, token=TOKEN) as server:
            with pytest.raises(AuthenticationError) as refused:
                async with codex_trio.Codex(
                    transport="app-server", url=server.url, auth_token=wrong
                ):
                    pass
            with pytest.raises(AuthenticationError) as missing:
                async with codex_trio.Codex(transport="app-server", url=server.url):
                    pass
            async with codex_trio.Codex(
                transport="app-server", url=server.url, auth_token=TOKEN
            ) as codex:
                result = await codex.start_thread(**thread_options(mock_model)).run("hello")
                transport_repr = repr(codex.transport)
            argv = server.argv
    assert result.final_response == "authenticated"
    assert refused.value.status_code == 401 and missing.value.status_code == 401
    assert "check auth_token" in str(refused.value)
    assert "needs an auth_token" in str(missing.value)
    # The token is nowhere: not in errors, reprs, logs (trio-websocket's debug records included),
    # nor on the server's command line (it reads it from a 0600 file).
    texts = [str(refused.value), repr(refused.value), str(missing.value), transport_repr]
    for text in texts:
        assert TOKEN not in text and wrong not in text
    logged = logs.getvalue()
    assert logged, "nothing was logged: the check would prove nothing"
    assert any(json.loads(line)["event"] == "app_server.connected" for line in logged.splitlines())
    assert TOKEN not in logged and wrong not in logged
    assert TOKEN not in " ".join(argv)
    token_file = Path(argv[argv.index("--ws-token-file") + 1])
    assert token_file.stat().st_mode & 0o777 == 0o600


async def test_an_unreachable_server_is_a_transport_error_at_connect(
    mock_model: MockModel,
) -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    with trio.fail_after(HANG_GUARD):
        with pytest.raises(TransportError) as info:
            async with codex_trio.Codex(transport="app-server", url=url):
                pass
    assert not isinstance(info.value, AuthenticationError)
    assert url in str(info.value)


async def test_a_server_killed_mid_turn_fails_the_turn_and_the_thread_resumes_on_its_successor(
    mock_model: MockModel, tmp_path: Path, logs: io.StringIO
) -> None:
    mock_model.script = [message("one"), hold(message("never")), message("after restart")]
    port = free_port()

    async def serve(*, task_status: trio.TaskStatus[RemoteServer]) -> None:
        async with remote_app_server(mock_model, tmp_path, token=TOKEN, port=port) as server:
            task_status.started(server)
            await trio.sleep_forever()

    with trio.fail_after(HANG_GUARD):
        async with trio.open_nursery() as servers:
            first: RemoteServer = await servers.start(serve)
            async with codex_trio.Codex(
                transport="app-server", url=first.url, auth_token=TOKEN
            ) as codex:
                thread = codex.start_thread(**thread_options(mock_model))
                one = await thread.run("first")
                with pytest.raises(TransportError) as killed:
                    async with thread.run_streamed("second") as stream:
                        async for event in stream:
                            if isinstance(event, TurnStartedEvent):
                                await mock_model.server.wait_for_held()
                                first.kill()
                # A new server on the same port and CODEX_HOME; the transport reconnects.
                second: RemoteServer = await servers.start(serve)
                await wait_until_running(codex)
                three = await thread.run("third")
                status = codex.transport.status  # type: ignore[attr-defined]
            servers.cancel_scope.cancel()
    assert one.final_response == "one" and three.final_response == "after restart"
    assert three.thread_id == one.thread_id
    assert not isinstance(killed.value, AuthenticationError)
    assert "1006" in str(killed.value) and killed.value.thread_id == one.thread_id
    assert first.pid != second.pid and status.restarts >= 1 and status.state == "running"
    # The successor resumed the thread from its rollout: the model saw the whole history.
    texts = " ".join(mock_model.requests[-1].input_texts())
    assert "first" in texts and "third" in texts
    logged = logs.getvalue()
    events = [json.loads(line)["event"] for line in logged.splitlines()]
    assert "app_server.reconnecting" in events or "app_server.backoff" in events
    assert TOKEN not in logged and TOKEN not in str(killed.value)


async def test_the_runtime_runs_turns_on_a_remote_server(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("supervised"), message("again")]
    with trio.fail_after(HANG_GUARD):
        async with remote_app_server(mock_model, tmp_path, token=TOKEN) as server:
            async with codex_trio.Runtime(
                transport="app-server", url=server.url, auth_token=TOKEN
            ) as runtime:
                handle = await runtime.start_thread(**thread_options(mock_model))
                first = await handle.run("one")
                second = await handle.run("two")
                status = runtime.app_server_status
    assert (first.final_response, second.final_response) == ("supervised", "again")
    assert status is not None and status.url == server.url and status.pid is None


async def test_the_low_level_client_reports_no_pid_and_the_server_outlives_it(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("hi"), message("still here")]
    with trio.fail_after(HANG_GUARD):
        async with remote_app_server(mock_model, tmp_path) as server:
            # Pinged every 50 ms: codex answers the pings, and the connection stays up.
            async with connect_app_server(
                server.url, ping_interval=0.05, ping_timeout=10
            ) as client:
                await trio.sleep(0.5)
                thread_id = (
                    await client.thread_start(ThreadOptions(**thread_options(mock_model)))
                ).thread.id
                first = await client.run_turn(thread_id, "one")
                pid, url = client.pid, client.url
                assert client.initialize_response is not None
                home = client.initialize_response.codex_home
            # Leaving the block closed the connection, not the server: a new connection resumes
            # the thread there (the server unloaded it when its last subscriber left, as
            # thread_unload_delay_secs=0 says) and runs a turn on it.
            async with connect_app_server(server.url) as client:
                await client.thread_resume(thread_id, ThreadOptions(**thread_options(mock_model)))
                second = await client.run_turn(thread_id, "two")
            alive = server.process.returncode is None
    assert pid is None and url == server.url
    assert home == str(mock_model.home.path)
    assert (first.final_response, second.final_response) == ("hi", "still here")
    assert alive


async def test_a_turn_deadline_over_the_websocket_is_a_turn_deadline_error_without_a_pid(
    mock_model: MockModel, tmp_path: Path
) -> None:
    # By prompt, not by order: the deadline may pass before the model was asked anything.
    slow = "this waits for a model that never answers"
    mock_model.script = Script.replying(
        lambda request: hang() if request.last_user_text() == slow else message("next turn")
    )
    with trio.fail_after(HANG_GUARD):
        async with remote_app_server(mock_model, tmp_path) as server:
            async with codex_trio.Codex(transport="app-server", url=server.url) as codex:
                thread = codex.start_thread(**thread_options(mock_model))
                with pytest.raises(TurnDeadlineError) as info:
                    await thread.run(slow, timeout=2)
                after = await thread.run("and this one runs")
    assert info.value.pid is None and info.value.stderr_tail == ""
    assert info.value.thread_id == thread.id
    assert after.final_response == "next turn"


async def test_a_lost_connection_to_a_live_server_fails_the_turn_and_the_thread_goes_on(
    mock_model: MockModel, tmp_path: Path
) -> None:
    # The network between client and server is cut mid-turn; the server lives on, and so does
    # the turn there. The transport reconnects; the thread's next turn resumes it, the orphaned
    # turn is interrupted first (else the engine would take the new prompt as more input for
    # it) and the new turn runs on its own.
    mock_model.script = [message("one"), hold(message("never")), message("three")]
    with trio.fail_after(HANG_GUARD):
        async with remote_app_server(mock_model, tmp_path) as server:
            async with tcp_proxy(server.port) as proxy:
                async with codex_trio.Codex(transport="app-server", url=proxy.url) as codex:
                    thread = codex.start_thread(**thread_options(mock_model))
                    one = await thread.run("first")
                    with pytest.raises(TransportError) as lost:
                        async with thread.run_streamed("second") as stream:
                            async for event in stream:
                                if isinstance(event, TurnStartedEvent):
                                    await mock_model.server.wait_for_held()
                                    await proxy.cut()
                    await wait_until_running(codex)
                    three = await thread.run("third")
            alive = server.process.returncode is None
    assert one.final_response == "one"
    assert "1006" in str(lost.value)
    assert three.final_response == "three" and three.thread_id == one.thread_id
    assert alive and proxy.cuts == 1
    texts = mock_model.requests[-1].input_texts()
    assert "third" in texts and any("turn_aborted" in t for t in texts)
