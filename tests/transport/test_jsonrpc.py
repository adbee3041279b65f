"""JSON-RPC client traps, with fake app-servers for the faults (the real binary is exercised in
test_app_server_real_codex.py and test_app_server.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from codex_trio._errors import TransportError
from codex_trio._protocol.app_server import (
    InvalidMessageError,
    InvalidParamsError,
    MethodNotFoundError,
    Notification,
    Request,
    ServerOverloadedError,
)
from codex_trio._transport.jsonrpc import JsonRpcConnection, RequestTimeoutError, open_jsonrpc
from codex_trio._transport.process import StopPolicy, open_codex_process
from tests.fakes import JSONRPC_HELPERS, fake_codex

# Helpers available to every fake server body.
PRELUDE = JSONRPC_HELPERS


@asynccontextmanager
async def fake_server(
    tmp_path: Path,
    body: str,
    *,
    on_request: Callable[[Request], Any] | None = None,
    notifications: list[Notification] | None = None,
    max_server_requests: int = 256,
) -> AsyncIterator[JsonRpcConnection]:
    path = fake_codex(tmp_path, PRELUDE + body)
    received = notifications if notifications is not None else []

    def on_note(note: Notification) -> None:
        received.append(note)

    async def handle(request: Request) -> Any:
        assert on_request is not None
        result = on_request(request)
        if hasattr(result, "__await__"):
            result = await result
        return result

    async with open_codex_process(
        [path], transport="app-server", stop_policy=StopPolicy(exit_grace=1, signal_grace=1)
    ) as proc:
        async with open_jsonrpc(
            proc,
            on_notification=on_note,
            on_request=handle,
            request_timeout=30,
            max_server_requests=max_server_requests,
        ) as conn:
            yield conn


ECHO = """
while True:
    msg = read()
    if "id" in msg and "method" in msg:
        out({"id": msg["id"], "result": {"method": msg["method"], "params": msg.get("params")}})
"""


async def test_call_returns_the_result_matching_its_id(tmp_path: Path) -> None:
    async with fake_server(tmp_path, ECHO) as conn:
        with trio.fail_after(30):
            result = await conn.call("thread/start", {"cwd": "/x"})
    assert result == {"method": "thread/start", "params": {"cwd": "/x"}}


async def test_non_json_stdout_line_is_skipped_and_the_reader_goes_on(tmp_path: Path) -> None:
    body = 'print("this is not json", flush=True)\nprint("[1, 2]", flush=True)\n' + ECHO
    async with fake_server(tmp_path, body) as conn:
        with trio.fail_after(30):
            result = await conn.call("model/list")
        assert result["method"] == "model/list"
        assert conn.skipped_lines == 2


async def test_process_death_fails_every_pending_call_with_exit_code_and_stderr(
    tmp_path: Path,
) -> None:
    body = """
read(); read(); read()
sys.stderr.write("fatal: boom\\n"); sys.stderr.flush()
sys.exit(3)
"""
    errors: list[BaseException] = []
    async with fake_server(tmp_path, body) as conn:

        async def waiter(method: str) -> None:
            try:
                await conn.call(method)
            except TransportError as exc:
                errors.append(exc)

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for method in ("a", "b", "c"):
                    nursery.start_soon(waiter, method)
        assert len(errors) == 3
        assert all(e is errors[0] for e in errors), "one error, delivered to all at once"
        error = errors[0]
        assert isinstance(error, TransportError)
        assert error.exit_code == 3 and "fatal: boom" in error.stderr_tail
        with pytest.raises(TransportError):
            await conn.call("after/death")


async def test_request_without_answer_times_out_and_the_connection_stays_usable(
    tmp_path: Path,
) -> None:
    body = """
while True:
    msg = read()
    if msg.get("method") != "never/answered":
        out({"id": msg["id"], "result": "ok"})
"""
    async with fake_server(tmp_path, body) as conn:
        with trio.fail_after(30):
            with pytest.raises(RequestTimeoutError, match="never/answered"):
                await conn.call("never/answered", time_limit=0.2)
            assert await conn.call("still/works") == "ok"
            assert conn.pending == 0


async def test_lone_surrogate_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    log = tmp_path / "received.jsonl"
    body = f"""
while True:
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    open({str(log)!r}, "a").write(line)
    msg = json.loads(line)
    out({{"id": msg["id"], "result": "ok"}})
"""
    async with fake_server(tmp_path, body) as conn:
        with trio.fail_after(30):
            with pytest.raises(InvalidMessageError, match="surrogate"):
                await conn.call("turn/start", {"text": "bad \ud800 text"})
            with pytest.raises(InvalidMessageError):
                await conn.call("turn/start", {"n": float("nan")})
            assert await conn.call("next/call") == "ok"
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and "next/call" in lines[0]


async def test_server_requests_run_in_their_own_tasks_so_a_slow_one_blocks_nothing(
    tmp_path: Path,
) -> None:
    # The server asks "slow" (id 0) then "fast" (id 1), then, once "fast" is answered, sends a
    # notification; the slow handler finishes only after that notification was received by
    # the reader. Finally it reports the order in which the answers arrived.
    body = """
out({"id": 0, "method": "slow", "params": {}})
out({"id": 1, "method": "fast", "params": {}})
answers = []
msg = read(); answers.append(msg["id"])
out({"method": "fast/answered", "params": {}})
msg = read(); answers.append(msg["id"])
out({"method": "order", "params": {"answers": answers}})
read()
"""
    notifications: list[Notification] = []
    proceed = trio.Event()

    async def handler(request: Request) -> Any:
        if request.method == "slow":
            while not any(n.method == "fast/answered" for n in notifications):
                await trio.sleep(0.01)
            return "slow-done"
        return "fast-done"

    async with fake_server(tmp_path, body, on_request=handler, notifications=notifications) as conn:
        with trio.fail_after(30):
            while not any(n.method == "order" for n in notifications):
                await trio.sleep(0.01)
        proceed.set()
        assert conn.requests_answered == 2
    order = next(n for n in notifications if n.method == "order")
    assert order.params["answers"] == [1, 0]


async def test_server_request_ids_that_collide_with_ours_are_routed_by_method(
    tmp_path: Path,
) -> None:
    body = """
msg = read()
out({"id": msg["id"], "method": "server/asks", "params": {}})
reply = read()
out({"id": msg["id"], "result": {"client_answer": reply.get("result")}})
read()
"""
    async with fake_server(tmp_path, body, on_request=lambda r: "answer") as conn:
        with trio.fail_after(30):
            result = await conn.call("client/asks")
    assert result == {"client_answer": "answer"}


@pytest.mark.parametrize(
    ("raised", "code"),
    [(MethodNotFoundError("no handler for weird/thing"), -32601), (RuntimeError("bug"), -32603)],
)
async def test_failing_server_request_handler_still_sends_a_json_rpc_error(
    tmp_path: Path, raised: Exception, code: int
) -> None:
    body = """
out({"id": 0, "method": "weird/thing", "params": {}})
reply = read()
out({"method": "reply", "params": reply})
read()
"""
    notifications: list[Notification] = []

    def handler(request: Request) -> Any:
        raise raised

    async with fake_server(tmp_path, body, on_request=handler, notifications=notifications):
        with trio.fail_after(30):
            while not notifications:
                await trio.sleep(0.01)
    reply = notifications[0].params
    assert reply["id"] == 0 and "result" not in reply
    assert reply["error"]["code"] == code


async def test_error_response_raises_the_typed_error_for_its_code(tmp_path: Path) -> None:
    body = """
while True:
    msg = read()
    out({"id": msg["id"], "error": {"code": -32602, "message": "bad cwd", "data": {"k": 1}}})
"""
    async with fake_server(tmp_path, body) as conn:
        with trio.fail_after(30), pytest.raises(InvalidParamsError) as info:
            await conn.call("thread/start", {"cwd": 1})
    assert info.value.data == {"k": 1} and info.value.method == "thread/start"


async def test_overloaded_server_is_retried_with_backoff_until_it_answers(tmp_path: Path) -> None:
    body = """
attempts = 0
while True:
    msg = read()
    attempts += 1
    if msg["method"] == "always" or attempts < 3:
        out({"id": msg["id"], "error": {"code": -32001, "message": "overloaded"}})
    else:
        out({"id": msg["id"], "result": attempts})
"""
    async with fake_server(tmp_path, body) as conn:
        with trio.fail_after(30):
            assert await conn.call_with_retry("x", initial_backoff=0.001) == 3
            with pytest.raises(ServerOverloadedError):
                await conn.call_with_retry("always", attempts=2, initial_backoff=0.001)


async def test_leaving_the_block_fails_pending_calls_instead_of_hanging(tmp_path: Path) -> None:
    body = """
while True:
    read()
"""
    errors: list[BaseException] = []
    async with fake_server(tmp_path, body) as conn:

        async def waiter() -> None:
            try:
                await conn.call("never")
            except TransportError as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            while conn.pending == 0:
                await trio.sleep(0.01)
            conn._close(TransportError("closing"))
    assert len(errors) == 1


# Server requests are capped (issue 8 item 4). The fake sends a flood of requests and collects
# the answers on a thread of its own (as codex reads its stdin while it writes its stdout).
FLOOD = """
import threading
N = %(n)d
answers = {}
duplicates = 0
lock = threading.Condition()
def collect():
    global duplicates
    while True:
        msg = read()
        with lock:
            if "method" in msg:
                answers.setdefault("__notes__", []).append(msg["method"])
            elif msg["id"] in answers:
                duplicates += 1
            else:
                answers[msg["id"]] = msg
            lock.notify_all()
threading.Thread(target=collect, daemon=True).start()
for i in range(N):
    sys.stdout.write(json.dumps({"id": i, "method": "%(method)s", "params": {"n": i}}) + "\\n")
sys.stdout.flush()
def counts():
    got = [m for k, m in answers.items() if k != "__notes__"]
    return {
        "answered": len(got),
        "results": sum(1 for m in got if "result" in m),
        "overloaded": sum(1 for m in got if m.get("error", {}).get("code") == -32001),
        "other_errors": sum(1 for m in got if "error" in m and m["error"].get("code") != -32001),
        "duplicates": duplicates,
    }
with lock:
    lock.wait_for(lambda: counts()["overloaded"] >= %(refused)d or counts()["answered"] >= N)
    out({"method": "report/refused", "params": counts()})
    lock.wait_for(lambda: "done" in answers.get("__notes__", []))
    out({"method": "report/final", "params": counts()})
read()
"""


async def _report(notifications: list[Notification], method: str) -> dict[str, Any]:
    while not any(n.method == method for n in notifications):
        await trio.sleep(0.01)
    return next(dict(n.params) for n in notifications if n.method == method)


async def test_server_requests_over_the_cap_are_refused_at_once_and_the_rest_answered(
    tmp_path: Path,
) -> None:
    release = trio.Event()
    running = peak = 0

    async def handler(request: Request) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await release.wait()
        finally:
            running -= 1
        return {"n": request.params["n"]}

    notifications: list[Notification] = []
    body = FLOOD % {"n": 1000, "method": "item/tool/call", "refused": 990}
    with trio.fail_after(60):
        async with fake_server(
            tmp_path,
            body,
            on_request=handler,
            notifications=notifications,
            max_server_requests=10,
        ) as conn:
            early = await _report(notifications, "report/refused")
            # Reported by the server before any handler was released.
            assert not release.is_set() and running == 10
            release.set()
            while conn.requests_answered < 10:
                await trio.sleep(0.01)
            await conn.notify("done")
            final = await _report(notifications, "report/final")
            refused = conn.requests_refused
    assert peak == 10
    assert early == {
        "answered": 990,
        "results": 0,
        "overloaded": 990,
        "other_errors": 0,
        "duplicates": 0,
    }
    assert final == {
        "answered": 1000,
        "results": 10,
        "overloaded": 990,
        "other_errors": 0,
        "duplicates": 0,
    }
    assert refused == 990


async def test_a_flood_of_unknown_server_requests_does_not_spawn_a_task_each(
    tmp_path: Path,
) -> None:
    import tracemalloc

    running = peak = 0

    async def handler(request: Request) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await trio.lowlevel.checkpoint()
            await trio.lowlevel.checkpoint()
        finally:
            running -= 1
        raise MethodNotFoundError("no handler", method=request.method)

    notifications: list[Notification] = []
    body = FLOOD % {"n": 20_000, "method": "brand/unknown", "refused": 20_000}
    tracemalloc.start()
    try:
        with trio.fail_after(120):
            async with fake_server(
                tmp_path, body, on_request=handler, notifications=notifications
            ) as conn:
                early = await _report(notifications, "report/refused")
                await conn.notify("done")
                final = await _report(notifications, "report/final")
                answered, refused = conn.requests_answered, conn.requests_refused
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert early["answered"] == 20_000
    assert final["answered"] == 20_000 and final["duplicates"] == 0
    assert final["results"] == 0
    assert answered + refused == 20_000
    assert 1 <= peak <= 256  # the default max_server_requests, not 20,000 tasks
    # Loose: 20,000 tasks took about 92 MB before the cap.
    assert peak_bytes < 60 * 2**20, peak_bytes
    print(f"peak handlers {peak}, refused {refused}, peak traced {peak_bytes / 2**20:.1f} MiB")
