"""Metrics: values fed from telemetry events, exact names and labels, bounded label values."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from codex_trio.observe import events as ev
from codex_trio.observe._metrics import Metrics
from codex_trio.observe.telemetry import TelemetryBus


@pytest.fixture
def bus() -> TelemetryBus:
    return TelemetryBus()


@pytest.fixture
def metrics(bus: TelemetryBus) -> Iterator[Metrics]:
    m = Metrics()
    m.attach(bus)
    yield m
    m.detach()


def value(m: Metrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def run_turn(bus: TelemetryBus, status: str = "completed", transport: str = "exec") -> None:
    meta = {"thread_id": "th_1", "turn_id": "tu_1", "transport": transport, "model": "m"}
    with bus.span(ev.TURN, meta) as span:
        span.metadata["status"] = status
        span.measurements.update(
            input_tokens=100, cached_input_tokens=40, output_tokens=7, reasoning_output_tokens=3
        )


def emit_one_of_each(bus: TelemetryBus) -> None:
    run_turn(bus)
    bus.execute(ev.THREAD_START, {}, {"thread_id": "th_1", "transport": "exec"})
    item = {"thread_id": "th_1", "item_type": "reasoning", "status": "completed"}
    bus.execute(ev.ITEM_COMPLETED, {}, item)
    bus.execute(ev.COMMAND_EXECUTED, {"duration": 0.2}, {"exit_code": 0, "status": "completed"})
    bus.execute(ev.APPROVAL_DECIDED, {"latency": 2.0}, {"kind": "command", "decision": "accept"})
    bus.execute(ev.TOOL_CALL_STOP, {"duration": 0.1}, {"tool": "t", "status": "ok"})
    bus.execute(ev.PROCESS_SPAWN, {}, {"pid": 42, "transport": "exec"})
    bus.execute(ev.PROCESS_EXIT, {"lifetime": 1.0}, {"pid": 41, "reason": "normal"})
    bus.execute(ev.PROTOCOL_ERROR, {}, {"kind": "invalid_json", "transport": "exec"})
    bus.execute(
        ev.SUPERVISOR_CHILD_RESTART, {}, {"supervisor": "s", "child_id": "c", "reason": "x"}
    )
    bus.execute(
        ev.SUPERVISOR_INTENSITY_EXCEEDED, {}, {"supervisor": "s", "restarts": 3, "window": 5}
    )
    bus.execute(ev.CHANNEL_STATS, {"queue_depth": 3, "capacity": 16}, {"channel": "events"})
    bus.execute(ev.CHANNEL_BACKPRESSURE, {"wait": 0.01}, {"channel": "mailbox"})
    bus.execute(
        ev.SUBSCRIPTION_OVERFLOW,
        {"count": 1, "capacity": 4},
        {"thread_id": "th_1", "turn_id": "u", "transport": "app-server"},
    )
    bus.execute(
        ev.APP_SERVER_STATE,
        {"up": 0, "restarts": 1},
        {"state": "restarting", "previous": "running", "transport": "app-server"},
    )
    bus.execute(
        ev.APP_SERVER_RESTART,
        {"count": 1, "restarts": 1},
        {"reason": "TransportError", "transport": "app-server"},
    )
    bus.execute(
        ev.RATE_LIMITS_UPDATED,
        {"primary_used_percent": 42, "primary_window_minutes": 300, "primary_resets_at": 1e9},
        {"limit_id": "codex", "transport": "app-server"},
    )
    bus.execute(
        ev.APP_SERVER_RESTART,
        {"count": 1, "restarts": 1},
        {"reason": "TransportError", "transport": "app-server", "slot": "0"},
    )
    bus.execute(
        ev.APP_SERVER_SAMPLE,
        {"threads_placed": 2, "threads_loaded": 2, "rss_bytes": 2e8, "awake": 1},
        {"slot": "0", "transport": "app-server"},
    )
    bus.execute(
        ev.APP_SERVER_RECYCLE,
        {"count": 1, "threads": 100},
        {"slot": "0", "reason": "threads", "transport": "app-server"},
    )


def test_n_turns_count_n_with_their_durations_and_tokens(
    bus: TelemetryBus, metrics: Metrics
) -> None:
    n = 7
    for _ in range(n):
        run_turn(bus)
    assert value(metrics, "codex_turns_total", status="completed", transport="exec") == n
    assert value(metrics, "codex_turn_duration_seconds_count", transport="exec") == n
    assert value(metrics, "codex_tokens_total", kind="input") == 100 * n
    assert value(metrics, "codex_tokens_total", kind="cached_input") == 40 * n
    assert value(metrics, "codex_tokens_total", kind="output") == 7 * n
    assert value(metrics, "codex_tokens_total", kind="reasoning_output") == 3 * n


def test_turn_status_and_transport_are_separate_series(bus: TelemetryBus, metrics: Metrics) -> None:
    run_turn(bus, "failed", "app-server")
    run_turn(bus, "failed", "app-server")
    run_turn(bus, "cancelled", "exec")
    assert value(metrics, "codex_turns_total", status="failed", transport="app-server") == 2
    assert value(metrics, "codex_turns_total", status="cancelled", transport="exec") == 1
    assert value(metrics, "codex_turns_total", status="completed", transport="exec") is None


def test_turn_exception_counts_as_error_or_cancelled(bus: TelemetryBus, metrics: Metrics) -> None:
    meta = {"transport": "exec"}
    bus.execute(ev.TURN_EXCEPTION, {"duration": 1.0}, {**meta, "kind": "ValueError"})
    bus.execute(ev.TURN_EXCEPTION, {"duration": 1.0}, {**meta, "kind": "Cancelled"})
    assert value(metrics, "codex_turns_total", status="error", transport="exec") == 1
    assert value(metrics, "codex_turns_total", status="cancelled", transport="exec") == 1
    assert value(metrics, "codex_turn_duration_seconds_count", transport="exec") == 2


def test_every_metric_has_its_documented_name_type_and_labels(
    bus: TelemetryBus, metrics: Metrics
) -> None:
    emit_one_of_each(bus)
    text = generate_latest(metrics.registry).decode()
    found: dict[str, tuple[str, set[str]]] = {}
    for family in text_string_to_metric_families(text):
        if family.name.endswith("_created"):
            continue
        labels = {k for s in family.samples for k in s.labels if k != "le"}
        found[family.name] = (family.type, labels)
    assert found == {
        "codex_turns": ("counter", {"status", "transport"}),
        "codex_turn_duration_seconds": ("histogram", {"transport"}),
        "codex_tokens": ("counter", {"kind"}),
        "codex_items": ("counter", {"type", "status"}),
        "codex_commands": ("counter", {"status"}),
        "codex_approvals": ("counter", {"kind", "decision"}),
        "codex_approval_latency_seconds": ("histogram", set()),
        "codex_tool_calls": ("counter", {"status"}),
        "codex_processes_running": ("gauge", set()),
        "codex_process_exits": ("counter", {"reason"}),
        "codex_protocol_errors": ("counter", {"kind"}),
        "codex_supervisor_restarts": ("counter", set()),
        "codex_supervisor_intensity_exceeded": ("counter", set()),
        "codex_threads_active": ("gauge", set()),
        "codex_channel_queue_depth": ("gauge", {"channel"}),
        "codex_backpressure_wait_seconds": ("histogram", {"channel"}),
        "codex_slow_consumer": ("counter", {"transport"}),
        "codex_app_server_up": ("gauge", set()),
        "codex_app_server_state": ("gauge", {"state"}),
        "codex_app_server_restarts": ("counter", set()),
        "codex_app_server_slot_restarts": ("counter", {"slot"}),
        "codex_app_server_threads_loaded": ("gauge", {"slot"}),
        "codex_app_server_threads_placed": ("gauge", {"slot"}),
        "codex_app_server_rss_bytes": ("gauge", {"slot"}),
        "codex_app_server_recycles": ("counter", {"slot", "reason"}),
        "codex_rate_limit_used_percent": ("gauge", {"limit_id", "window"}),
        "codex_rate_limit_window_seconds": ("gauge", {"limit_id", "window"}),
        "codex_rate_limit_resets_at_timestamp_seconds": ("gauge", {"limit_id", "window"}),
    }
    assert "codex_turns_total{" in text  # counters are exposed with the _total suffix


def test_each_event_feeds_its_metric(bus: TelemetryBus, metrics: Metrics) -> None:
    emit_one_of_each(bus)
    assert value(metrics, "codex_items_total", type="reasoning", status="completed") == 1
    assert value(metrics, "codex_commands_total", status="completed") == 1
    assert value(metrics, "codex_approvals_total", kind="command", decision="accept") == 1
    assert value(metrics, "codex_approval_latency_seconds_sum") == 2.0
    assert value(metrics, "codex_tool_calls_total", status="ok") == 1
    assert value(metrics, "codex_process_exits_total", reason="normal") == 1
    assert value(metrics, "codex_protocol_errors_total", kind="invalid_json") == 1
    assert value(metrics, "codex_supervisor_restarts_total") == 1
    assert value(metrics, "codex_supervisor_intensity_exceeded_total") == 1
    assert value(metrics, "codex_channel_queue_depth", channel="events") == 3
    assert value(metrics, "codex_backpressure_wait_seconds_count", channel="mailbox") == 1
    assert value(metrics, "codex_slow_consumer_total", transport="app-server") == 1
    assert value(metrics, "codex_app_server_up") == 0
    assert value(metrics, "codex_app_server_state", state="restarting") == 1
    assert value(metrics, "codex_app_server_state", state="running") == 0
    assert value(metrics, "codex_app_server_restarts_total") == 2
    assert value(metrics, "codex_app_server_slot_restarts_total", slot="0") == 1
    assert value(metrics, "codex_app_server_threads_loaded", slot="0") == 2
    assert value(metrics, "codex_app_server_rss_bytes", slot="0") == 2e8
    assert value(metrics, "codex_app_server_recycles_total", slot="0", reason="threads") == 1


def test_gauges_follow_starts_and_stops(bus: TelemetryBus, metrics: Metrics) -> None:
    for pid in (1, 2, 3):
        bus.execute(ev.PROCESS_SPAWN, {}, {"pid": pid, "transport": "exec"})
    bus.execute(ev.PROCESS_EXIT, {"lifetime": 1.0}, {"pid": 2, "reason": "signal"})
    bus.execute(ev.THREAD_START, {}, {"thread_id": "a"})
    bus.execute(ev.THREAD_START, {}, {"thread_id": "b"})
    bus.execute(ev.THREAD_STOP, {}, {"thread_id": "a"})
    bus.execute(ev.CHANNEL_STATS, {"queue_depth": 9, "capacity": 16}, {"channel": "events"})
    bus.execute(ev.CHANNEL_STATS, {"queue_depth": 2, "capacity": 16}, {"channel": "events"})
    assert value(metrics, "codex_processes_running") == 2
    assert value(metrics, "codex_process_exits_total", reason="signal") == 1
    assert value(metrics, "codex_threads_active") == 1
    assert value(metrics, "codex_channel_queue_depth", channel="events") == 2


def test_tool_call_exception_counts_as_error(bus: TelemetryBus, metrics: Metrics) -> None:
    with pytest.raises(KeyError), bus.span(ev.TOOL_CALL, {"thread_id": "t", "tool": "x"}):
        raise KeyError("boom")
    assert value(metrics, "codex_tool_calls_total", status="error") == 1


def test_unexpected_label_values_are_recorded_as_other(bus: TelemetryBus, metrics: Metrics) -> None:
    bus.execute(ev.ITEM_COMPLETED, {}, {"item_type": "thread_0193abc", "status": None})
    bus.execute(ev.PROTOCOL_ERROR, {}, {"kind": "line 17 of /tmp/x"})
    run_turn(bus, status="th_secret_thread_id", transport="ssh")
    assert value(metrics, "codex_items_total", type="other", status="other") == 1
    assert value(metrics, "codex_protocol_errors_total", kind="other") == 1
    assert value(metrics, "codex_turns_total", status="other", transport="other") == 1
    text = generate_latest(metrics.registry).decode()
    assert "thread_0193abc" not in text
    assert "th_secret_thread_id" not in text
    assert "th_1" not in text  # thread ids from metadata are never labels


LABELLED_EVENTS = [
    (ev.ITEM_COMPLETED, "item_type"),
    (ev.ITEM_COMPLETED, "status"),
    (ev.COMMAND_EXECUTED, "status"),
    (ev.APPROVAL_DECIDED, "kind"),
    (ev.APPROVAL_DECIDED, "decision"),
    (ev.TOOL_CALL_STOP, "status"),
    (ev.PROCESS_EXIT, "reason"),
    (ev.PROTOCOL_ERROR, "kind"),
    (ev.TURN_STOP, "status"),
    (ev.TURN_STOP, "transport"),
    (ev.CHANNEL_BACKPRESSURE, "channel"),
]
ALLOWED = {
    "type": ev.ITEM_TYPE_VALUES,
    "status": ev.TURN_STATUS_VALUES
    | ev.ITEM_STATUS_VALUES
    | ev.COMMAND_STATUS_VALUES
    | ev.TOOL_STATUS_VALUES,
    "kind": ev.APPROVAL_KIND_VALUES
    | ev.PROTOCOL_ERROR_KIND_VALUES
    | {"input", "cached_input", "output", "reasoning_output"},
    "decision": ev.APPROVAL_DECISION_VALUES,
    "reason": ev.PROCESS_EXIT_REASON_VALUES,
    "transport": ev.TRANSPORT_VALUES,
    "channel": ev.CHANNEL_VALUES,
}


@given(st.lists(st.tuples(st.sampled_from(LABELLED_EVENTS), st.text(max_size=20)), max_size=40))
def test_label_values_stay_within_the_allow_lists(
    emissions: list[tuple[tuple[tuple[str, ...], str], str]],
) -> None:
    bus = TelemetryBus()
    metrics = Metrics()
    metrics.attach(bus)
    for (event, key), text in emissions:
        bus.execute(event, {"duration": 1.0, "wait": 0.1, "latency": 1.0}, {key: text})
    for family in metrics.registry.collect():
        for sample in family.samples:
            for label, label_value in sample.labels.items():
                if label != "le":
                    assert label_value in ALLOWED[label] | {"other"}, (label, label_value)


def test_malformed_measurements_are_ignored_and_the_handler_stays_attached(
    bus: TelemetryBus, metrics: Metrics
) -> None:
    bad = {"duration": "slow", "input_tokens": -5, "output_tokens": float("nan")}
    meta = {"status": "completed", "transport": "exec"}
    bus.execute(ev.TURN_STOP, bad, meta)  # type: ignore[arg-type]
    bus.execute(ev.TURN_STOP, {"duration": 1.0, "output_tokens": 2}, meta)
    assert value(metrics, "codex_turns_total", status="completed", transport="exec") == 2
    assert value(metrics, "codex_turn_duration_seconds_count", transport="exec") == 1
    assert value(metrics, "codex_tokens_total", kind="input") is None
    assert value(metrics, "codex_tokens_total", kind="output") == 2


def test_metrics_use_a_private_registry_by_default() -> None:
    first, second = Metrics(), Metrics()  # no "Duplicated timeseries" error
    assert first.registry is not second.registry
    assert first.registry is not REGISTRY
    assert REGISTRY.get_sample_value("codex_threads_active") is None


def test_metrics_register_in_a_given_registry() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    assert metrics.registry is registry
    assert registry.get_sample_value("codex_processes_running") == 0


def test_nothing_is_counted_before_attach_or_after_detach(bus: TelemetryBus) -> None:
    metrics = Metrics()
    run_turn(bus)
    metrics.attach(bus)
    run_turn(bus)
    metrics.detach()
    run_turn(bus)
    assert value(metrics, "codex_turns_total", status="completed", transport="exec") == 1
    assert bus.handlers() == []


def test_attaching_twice_raises_runtime_error(bus: TelemetryBus, metrics: Metrics) -> None:
    with pytest.raises(RuntimeError, match="already attached"):
        metrics.attach(TelemetryBus())


def test_snapshot_is_a_flat_summary_without_buckets(bus: TelemetryBus, metrics: Metrics) -> None:
    run_turn(bus)
    run_turn(bus)
    snap = metrics.snapshot()
    assert snap['codex_turns_total{status="completed",transport="exec"}'] == 2
    assert snap['codex_turn_duration_seconds_count{transport="exec"}'] == 2
    assert snap['codex_tokens_total{kind="input"}'] == 200
    assert snap["codex_threads_active"] == 0
    assert not [key for key in snap if "_bucket" in key or "_created" in key]
