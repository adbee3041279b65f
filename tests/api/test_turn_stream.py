"""One public turn-stream type: ``Thread.run_streamed`` and ``ThreadHandle.run_streamed`` yield a
``codex_trio.TurnStream`` on both transports, with steer and interrupt where the engine can."""

from __future__ import annotations

import pytest
import trio

import codex_trio
from codex_trio._errors import ConfigurationError
from codex_trio._protocol.exec_events import TurnCompletedEvent, TurnFailedEvent
from codex_trio.testing import MockModel, hold, message


def is_turn_stream(stream: object) -> bool:
    """What codex_trio.TurnStream promises, checked on the class (a static protocol)."""
    members = ("__aiter__", "__anext__", "result", "pid", "statistics", "steer", "interrupt")
    return all(hasattr(type(stream), name) for name in members)


def options(mock_model: MockModel) -> dict[str, object]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}


async def test_thread_streams_are_turn_streams_on_both_transports(mock_model: MockModel) -> None:
    mock_model.script = [message("exec"), message("app-server")]
    seen = []
    with trio.fail_after(60):
        thread = codex_trio.Codex(env=mock_model.env).start_thread(**options(mock_model))
        async with thread.run_streamed("hi") as stream:
            assert is_turn_stream(stream)
            events = [e async for e in stream]
            stats = stream.statistics()
        seen.append((stream.result.final_response, type(stats)))
        async with codex_trio.Codex(transport="app-server", env=mock_model.env) as codex:
            thread = codex.start_thread(**options(mock_model))
            async with thread.run_streamed("hi") as stream:
                assert is_turn_stream(stream)
                events += [e async for e in stream]
                stats = stream.statistics()
            seen.append((stream.result.final_response, type(stats)))
    assert seen == [
        ("exec", codex_trio.TurnStreamStatistics),
        ("app-server", codex_trio.TurnStreamStatistics),
    ]
    assert sum(isinstance(e, TurnCompletedEvent) for e in events) == 2


async def test_steer_and_interrupt_on_an_app_server_thread_stream(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("first")), message("steered"), hold(message("never"))]
    with trio.fail_after(60):
        async with codex_trio.Codex(transport="app-server", env=mock_model.env) as codex:
            thread = codex.start_thread(**options(mock_model))
            async with thread.run_streamed("start") as stream:
                await mock_model.server.wait_for_held(1)
                await stream.steer("and this too")
                mock_model.server.release()
                events = [e async for e in stream]
            async with thread.run_streamed("stop me") as stopped:
                await mock_model.server.wait_for_held(2)
                await stopped.interrupt()
                last = [e async for e in stopped][-1]
    assert isinstance(events[-1], TurnCompletedEvent)
    assert any("and this too" in " ".join(r.input_texts()) for r in mock_model.requests)
    assert isinstance(last, TurnFailedEvent) and last.extra.get("status") == "interrupted"
    # Stopped on purpose: the result says interrupted, not failed (as the official SDK's does).
    assert stopped.result.status == "interrupted" and stopped.result.interrupted
    assert not stopped.result.failed


async def test_steer_and_interrupt_on_a_supervised_app_server_thread(mock_model: MockModel) -> None:
    mock_model.script = [hold(message("first")), message("steered"), hold(message("never"))]
    with trio.fail_after(60):
        async with codex_trio.Runtime(transport="app-server", env=mock_model.env) as runtime:
            handle = await runtime.start_thread(**options(mock_model))
            async with handle.run_streamed("start") as stream:
                assert is_turn_stream(stream)
                await mock_model.server.wait_for_held(1)
                await stream.steer("steer via the runtime")
                mock_model.server.release()
                events = [e async for e in stream]
            async with handle.run_streamed("stop me") as stopped:
                await mock_model.server.wait_for_held(2)
                await stopped.interrupt()
                last = [e async for e in stopped][-1]
            stats = stopped.statistics()
    assert isinstance(events[-1], TurnCompletedEvent)
    assert any("steer via the runtime" in " ".join(r.input_texts()) for r in mock_model.requests)
    assert isinstance(last, TurnFailedEvent) and last.extra.get("status") == "interrupted"
    assert isinstance(stats, codex_trio.TurnStreamStatistics)


async def test_exec_streams_refuse_steer_and_interrupt_naming_the_transport(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("ok")]
    thread = codex_trio.Codex(env=mock_model.env).start_thread(**options(mock_model))
    with trio.fail_after(60):
        async with thread.run_streamed("hi") as stream:
            with pytest.raises(ConfigurationError, match=r"app-server.*'exec'"):
                await stream.steer("more")
            with pytest.raises(ConfigurationError, match="app-server"):
                await stream.interrupt()
            async for _ in stream:
                pass
    assert stream.result.final_response == "ok"
