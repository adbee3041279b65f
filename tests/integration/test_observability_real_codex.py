"""Telemetry, metrics and logs of real turns: the real binary on the mock model."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import trio
from prometheus_client.parser import text_string_to_metric_families

import codex_trio
from codex_trio.observe import (
    Metrics,
    TelemetryBus,
    attach_log_handler,
    configure_logging,
    detach,
    events,
    telemetry,
)
from codex_trio.testing import MockModel, Script, exec_command, message
from tests.conftest import AppServerSetup

Event = tuple[tuple[str, ...], dict[str, float], dict[str, Any]]


def recorder(out: list[Event]) -> Any:
    def handle(
        name: tuple[str, ...], meas: Mapping[str, float], meta: Mapping[str, Any], _c: Any
    ) -> None:
        out.append((name, dict(meas), dict(meta)))

    return handle


async def test_a_real_turn_emits_the_documented_events_in_order(mock_model: MockModel) -> None:
    mock_model.script = [exec_command("echo hi", login=False), message("done")]
    seen: list[Event] = []
    telemetry.attach("order-test", events.ALL_EVENTS, recorder(seen))
    try:
        codex = codex_trio.Codex(env=mock_model.env)
        thread = codex.start_thread(
            working_directory=str(mock_model.workdir), skip_git_repo_check=True
        )
        await thread.run("run it")
    finally:
        telemetry.detach("order-test")
    names = [".".join(name[1:]) for name, _, _ in seen if name[1] != "channel"]
    assert names == [
        "turn.start",
        "process.spawn",
        "thread.start",
        "item.completed",
        "command.executed",
        "item.completed",
        "process.exit",
        "turn.stop",
    ]
    by_name = {".".join(name[1:]): (meas, meta) for name, meas, meta in seen}
    meas, meta = by_name["turn.stop"]
    assert meta["thread_id"] == thread.id and meta["status"] == "completed"
    assert meta["transport"] == "exec" and meta["turn_id"].startswith("turn_")
    assert meas["duration"] > 0 and meas["input_tokens"] > 0
    assert by_name["command.executed"][1]["exit_code"] == 0
    assert by_name["process.exit"][1]["reason"] == "normal"
    assert by_name["item.completed"][1]["item_type"] == "agent_message"


async def test_metrics_after_n_turns_equal_n_and_a_scrape_during_the_run_parses(
    mock_model: MockModel,
) -> None:
    n = 3
    mock_model.script = Script.replying(lambda _r: message("ok"))
    bus = telemetry.default_bus
    metrics = Metrics()
    metrics.attach(bus)
    try:
        async with codex_trio.Runtime(env=mock_model.env, max_concurrent_turns=2) as runtime:
            host, port = await runtime.serve_metrics()
            handle = await runtime.start_thread(
                working_directory=str(mock_model.workdir), skip_git_repo_check=True
            )
            for _ in range(n):
                await handle.run("again", timeout=60)
            scraped = await _scrape(host, port)
    finally:
        metrics.detach()
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(scraped)
        for s in f.samples
    }
    key = ("codex_turns_total", (("status", "completed"), ("transport", "exec")))
    assert values[key] == n
    assert metrics.snapshot()['codex_turns_total{status="completed",transport="exec"}'] == n
    assert values[("codex_processes_running", ())] == 0


async def _scrape(host: str, port: int) -> str:
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        await stream.send_all(
            f"GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        )
        chunks = []
        while data := await stream.receive_some(65536):
            chunks.append(data)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    return body.decode()


async def test_logs_carry_thread_and_turn_ids(mock_model: MockModel) -> None:
    mock_model.script = [message("logged")]
    stream = io.StringIO()
    configure_logging(json=True, level="INFO", stream=stream)
    handler_id = attach_log_handler()
    try:
        codex = codex_trio.Codex(env=mock_model.env)
        thread = codex.start_thread(
            working_directory=str(mock_model.workdir), skip_git_repo_check=True
        )
        result = await thread.run("log me")
    finally:
        detach(handler_id)
    records = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    stops = [r for r in records if r.get("event") == "turn.stop"]
    assert stops, records
    assert stops[0]["thread_id"] == thread.id
    assert stops[0]["turn_id"] == result.turn_id


def test_isolated_bus_sees_nothing_from_the_default_bus() -> None:
    bus = TelemetryBus()
    seen: list[Event] = []
    bus.attach("x", [events.TURN_STOP], recorder(seen))
    telemetry.execute(events.TURN_STOP, {"duration": 1.0}, {})
    assert seen == []


async def test_items_and_commands_are_reported_alike_on_the_app_server_transport(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    mock_model.script = [exec_command("echo hi", login=False), message("done")]
    seen: list[Event] = []
    telemetry.attach(
        "app-server-items", [events.ITEM_COMPLETED, events.COMMAND_EXECUTED], recorder(seen)
    )
    try:
        async with app_server_setup.codex(thread={"sandbox_mode": "workspace-write"}) as (
            _,
            thread,
        ):
            await thread.run("run it")
    finally:
        telemetry.detach("app-server-items")
    kinds = [
        (".".join(name[1:]), meta.get("item_type"), meta["thread_id"]) for name, _, meta in seen
    ]
    assert ("command.executed", None, thread.id) in kinds
    assert ("item.completed", "command_execution", thread.id) in kinds
    assert ("item.completed", "agent_message", thread.id) in kinds
    command = next(meta for name, _, meta in seen if name == events.COMMAND_EXECUTED)
    assert command["exit_code"] == 0 and command["status"] == "completed"


async def test_thread_start_and_stop_events_stay_balanced_in_the_runtime(
    mock_model: MockModel,
) -> None:
    mock_model.script = [message("hello")]
    seen: list[Event] = []
    telemetry.attach("balance", [events.THREAD_START, events.THREAD_STOP], recorder(seen))
    try:
        async with codex_trio.Runtime(env=mock_model.env) as runtime:
            # A resumed thread that never runs a turn was never announced: no stop either.
            await runtime.resume_thread("01a20000-0000-7000-8000-000000000000", name="idle")
            await runtime.stop_thread("idle")
            busy = await runtime.start_thread(
                working_directory=str(mock_model.workdir), skip_git_repo_check=True
            )
            await busy.run("hi", timeout=60)
    finally:
        telemetry.detach("balance")
    names = [name[-1] for name, _, _ in seen]
    assert names == ["start", "stop"]
    assert seen[0][2]["thread_id"] == seen[1][2]["thread_id"] == busy.id


async def test_item_durations_of_a_buffered_app_server_run_are_the_items_own(
    app_server_setup: AppServerSetup,
) -> None:
    # A buffered run() on app-server wakes its consumer for the turn's end only and takes the
    # events in one go; a command's duration still spans its own run (measured from when each
    # notification arrived), not the ~0 s between two events read back to back.
    app_server_setup.mock_model.script = [
        exec_command("sleep 0.4", login=False),
        message("done"),
    ]
    seen: list[Event] = []
    telemetry.attach("durations", [events.COMMAND_EXECUTED], recorder(seen))
    try:
        async with app_server_setup.codex(thread={"sandbox_mode": "danger-full-access"}) as (
            _codex,
            thread,
        ):
            result = await thread.run("sleep a bit")
    finally:
        telemetry.detach("durations")
    assert result.final_response == "done"
    [(_, meas, meta)] = seen
    assert meta["exit_code"] == 0
    # The command sleeps 0.4 s; codex reports its start ~0.15 s late (the same without the
    # deferral). Read back to back at the turn's end, the two events would be < 1 ms apart. A
    # lower bound only: a slower machine makes it longer, never shorter.
    assert meas["duration"] >= 0.15
