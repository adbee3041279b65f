"""Metrics of a runtime's several app-server processes: per-slot series with bounded labels, and
the health gauges showing the worst live process."""

from __future__ import annotations

import pytest

from codex_trio.observe import Metrics
from codex_trio.observe import events as ev
from codex_trio.observe.telemetry import TelemetryBus


@pytest.fixture
def bus() -> TelemetryBus:
    return TelemetryBus()


@pytest.fixture
def metrics(bus: TelemetryBus) -> Metrics:
    m = Metrics()
    m.attach(bus)
    return m


def state(bus: TelemetryBus, slot: str, instance: int, value: str) -> None:
    bus.execute(
        ev.APP_SERVER_STATE,
        {"up": 1 if value == "running" else 0, "restarts": 0},
        {"state": value, "transport": "app-server", "slot": slot, "instance": instance},
    )


def test_health_gauges_show_the_worst_live_process(bus: TelemetryBus, metrics: Metrics) -> None:
    snap = metrics.snapshot
    state(bus, "0", 1, "running")
    state(bus, "1", 2, "running")
    assert snap()["codex_app_server_up"] == 1
    state(bus, "1", 2, "restarting")  # one of two dies: not healthy
    assert snap()["codex_app_server_up"] == 0
    assert snap()['codex_app_server_state{state="restarting"}'] == 1
    state(bus, "1", 2, "backoff")
    assert snap()['codex_app_server_state{state="backoff"}'] == 1
    state(bus, "1", 2, "stopped")  # hibernated (or shut down): no longer counted
    assert snap()["codex_app_server_up"] == 1
    assert snap()['codex_app_server_state{state="running"}'] == 1
    state(bus, "0", 1, "stopped")  # nothing live
    assert snap()["codex_app_server_up"] == 0
    assert snap()['codex_app_server_state{state="stopped"}'] == 1


def test_per_thread_processes_are_told_apart_by_instance(
    bus: TelemetryBus, metrics: Metrics
) -> None:
    for instance in (10, 11, 12):
        state(bus, "per-thread", instance, "running")
    state(bus, "per-thread", 11, "stopped")
    assert metrics.snapshot()["codex_app_server_up"] == 1
    state(bus, "per-thread", 12, "restarting")
    assert metrics.snapshot()["codex_app_server_up"] == 0


def test_slot_labels_are_bounded(bus: TelemetryBus, metrics: Metrics) -> None:
    for slot in ("0", "63", "64", "4242", None, "per-thread"):
        bus.execute(
            ev.APP_SERVER_SAMPLE,
            {"threads_loaded": 1, "threads_placed": 1, "rss_bytes": 1e8},
            {"slot": slot, "transport": "app-server"},
        )
        bus.execute(
            ev.APP_SERVER_RECYCLE,
            {"count": 1},
            {"slot": slot, "reason": "moon-phase", "transport": "app-server"},
        )
    slots = {
        key.split('slot="')[1].split('"')[0]
        for key in metrics.snapshot()
        if key.startswith("codex_app_server_threads_loaded")
    }
    reasons = {
        key.split('reason="')[1].split('"')[0]
        for key in metrics.snapshot()
        if key.startswith("codex_app_server_recycles_total")
    }
    assert slots == {"0", "63", "other", "per-thread"}
    assert reasons == {"other"}
