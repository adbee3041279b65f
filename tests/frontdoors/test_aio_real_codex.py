"""codex_trio.aio on the real binary and the mock model: plain asyncio programs."""

from __future__ import annotations

import asyncio

import pytest

import codex_trio
from codex_trio import aio
from codex_trio.testing import (
    Script,
    exec_command,
    function_call,
    hold,
    message,
    reasoning,
    response,
)
from tests.fakes import pid_alive

from .conftest import Mock, bridge_threads

pytestmark = pytest.mark.integration


async def until(predicate: object) -> None:
    """Wait (off the event loop's thread) until ``predicate()`` is true."""
    assert callable(predicate)
    while not await asyncio.to_thread(predicate):
        await asyncio.sleep(0.02)


def test_an_asyncio_server_runs_concurrent_turns_and_a_cancelled_one_is_reaped(
    mock: Mock,
) -> None:
    # The first request is held: the turn of the task we cancel. The rest answer "ok".
    mock.server.set_script(Script([hold(message("never"))], default=message("ok")))

    async def main() -> None:
        async with aio.Codex(env=mock.env) as codex:

            async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                prompt = (await reader.readline()).decode().strip()
                result = await codex.start_thread(**mock.thread_options()).run(prompt)
                writer.write(f"{result.final_response}\n".encode())
                await writer.drain()
                writer.close()
                await writer.wait_closed()

            server = await asyncio.start_server(serve, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]

            pids: list[int] = []

            async def held_turn() -> None:
                thread = codex.start_thread(**mock.thread_options())
                async with thread.run_streamed("wait") as events:
                    async for _ in events:
                        if events.pid is not None and not pids:
                            pids.append(events.pid)

            doomed = asyncio.create_task(held_turn())
            await until(lambda: mock.held() == 1 and bool(pids))

            async def client(i: int) -> str:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(f"request {i}\n".encode())
                await writer.drain()
                answer = (await reader.readline()).decode().strip()
                writer.close()
                await writer.wait_closed()
                return answer

            answers = await asyncio.gather(*(client(i) for i in range(4)))
            assert answers == ["ok"] * 4
            assert pid_alive(pids[0])  # still inside its turn
            doomed.cancel()
            with pytest.raises(asyncio.CancelledError):
                await doomed
            # The trio side finished before the task saw CancelledError: codex is gone.
            assert not pid_alive(pids[0])
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    assert bridge_threads() == []


def test_asyncio_timeout_interrupts_an_app_server_turn_and_the_thread_goes_on(
    mock: Mock,
) -> None:
    mock.server.set_script([hold(message("never")), message("after")])

    async def main() -> None:
        async with aio.Codex(transport="app-server", env=mock.env) as codex:
            thread = codex.start_thread(**mock.thread_options())

            async def expire_once_held(scope: asyncio.Timeout) -> None:
                await until(lambda: mock.held() == 1)
                scope.reschedule(asyncio.get_running_loop().time())  # the timeout fires now

            with pytest.raises(TimeoutError):
                async with asyncio.timeout(None) as scope:
                    watcher = asyncio.create_task(expire_once_held(scope))
                    await thread.run("wait")
            await watcher
            # The interrupted turn let go of the model's stream, and the thread runs again.
            await until(lambda: mock.held() == 0)
            assert (await thread.run("again")).final_response == "after"

    asyncio.run(main())


def test_a_slow_asyncio_consumer_is_bounded_by_the_hand_off(mock: Mock) -> None:
    mock.server.set_script([response(*[reasoning(f"step {i}") for i in range(40)], message("end"))])

    async def main() -> None:
        async with aio.Codex(transport="app-server", env=mock.env, handoff=3) as codex:
            thread = codex.start_thread(**mock.thread_options())
            count = 0
            async with thread.run_streamed("talk") as events:
                async for _ in events:
                    count += 1
                    if count == 1:
                        await until(lambda: events.handoff_held() == 3)
                    assert events.handoff_held() <= 3
            assert count > 40
            assert events.handoff_max_held == 3
            assert events.result.final_response == "end"

    asyncio.run(main())


def test_coroutine_handlers_and_tools_run_on_the_callers_asyncio_loop(mock: Mock) -> None:
    mock.server.set_script(
        [
            function_call("lookup_ticket", {"ticket_id": "7"}),
            exec_command("touch made.txt", escalated=True, justification="make it"),
            message("done"),
        ]
    )
    loops: list[asyncio.AbstractEventLoop] = []

    @aio.tool
    async def lookup_ticket(ticket_id: str) -> str:
        """Fetch a ticket."""
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return f"ticket {ticket_id}"

    async def approve(request: codex_trio.ApprovalRequest) -> codex_trio.ApprovalDecision:
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return codex_trio.ApprovalDecision.ACCEPT

    async def main() -> asyncio.AbstractEventLoop:
        async with aio.Codex(
            transport="app-server", env=mock.env, approval_handler=approve, tools=[lookup_ticket]
        ) as codex:
            thread = codex.start_thread(**mock.thread_options(approval_policy="on-request"))
            result = await thread.run("go")
        assert result.final_response == "done"
        assert [a.decision for a in result.approvals] == [codex_trio.ApprovalDecision.ACCEPT]
        return asyncio.get_running_loop()

    loop = asyncio.run(main())
    assert loops == [loop, loop]
    assert mock.server.requests[1].function_call_outputs() == {"call_1": "ticket 7"}
    assert (mock.workdir / "made.txt").exists()


def test_the_runtime_in_asyncio_form(mock: Mock) -> None:
    mock.server.set_script([message("one"), message("two")])

    async def main() -> None:
        async with aio.Runtime(env=mock.env, max_concurrent_turns=2) as runtime:
            handle = await runtime.start_thread(name="a", **mock.thread_options())
            assert isinstance(handle, aio.ThreadHandle) and handle.name == "a"
            assert (await handle.run("first")).final_response == "one"
            async with handle.run_streamed("second") as events:
                kinds = [type(e) async for e in events]
            assert kinds[-1] is codex_trio.TurnCompletedEvent
            assert events.result.final_response == "two"
            assert [c.name for c in runtime.which_children()] == ["a"]

    asyncio.run(main())


def test_steer_and_interrupt_from_asyncio(mock: Mock) -> None:
    """A streamed app-server turn steered and another interrupted from asyncio code: the steer
    reaches the model, the interrupted turn's result says so, and the thread goes on."""
    mock.server.set_script(
        [hold(message("first")), message("steered"), hold(message("never")), message("after")]
    )

    async def main() -> None:
        async with aio.Codex(transport="app-server", env=mock.env) as codex:
            thread = codex.start_thread(**mock.thread_options())
            async with thread.run_streamed("start") as stream:
                await until(lambda: mock.held() == 1)
                await stream.steer("and this too")
                mock.server.release()
                events = [e async for e in stream]
            async with thread.run_streamed("stop me") as stopped:
                await until(lambda: mock.held() == 1)
                await stopped.interrupt()
                last = [e async for e in stopped][-1]
            assert isinstance(events[-1], codex_trio.TurnCompletedEvent)
            assert isinstance(last, codex_trio.TurnFailedEvent)
            assert stopped.result.status == "interrupted" and not stopped.result.failed
            await until(lambda: mock.held() == 0)
            assert (await thread.run("again")).final_response == "after"

    asyncio.run(main())
    texts = [" ".join(r.input_texts()) for r in mock.server.requests]
    assert any("and this too" in t for t in texts)
