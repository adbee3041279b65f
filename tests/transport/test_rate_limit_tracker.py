"""RateLimitTracker and the rate-limit gauges, fed by hand (no codex)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from codex_trio import RateLimits, RateLimitTracker
from codex_trio._protocol.app_server.messages import Notification
from codex_trio.observe import Metrics, TelemetryBus, events
from codex_trio.observe._metrics import MAX_LIMIT_IDS


def note(limit_id: str = "codex", **fields: Any) -> Notification:
    snapshot = {"limitId": limit_id, "primary": None, "secondary": None, "credits": None}
    snapshot.update(fields)
    return Notification(method="account/rateLimits/updated", params={"rateLimits": snapshot})


def window(used: float, minutes: int | None = None, resets: int | None = None) -> dict[str, Any]:
    return {"usedPercent": used, "windowDurationMins": minutes, "resetsAt": resets}


def test_a_sparse_update_keeps_what_it_leaves_null() -> None:
    tracker = RateLimitTracker(bus=TelemetryBus())
    tracker(note(primary=window(10, 300, 100), planType="plus"))
    tracker(note(secondary=window(3, 10080)))
    latest = tracker.latest
    assert latest is not None and latest.primary is not None and latest.secondary is not None
    assert (latest.primary.used_percent, latest.secondary.used_percent) == (10, 3)
    assert latest.plan_type == "plus"
    assert latest.primary.resets_at == datetime.fromtimestamp(100, UTC)
    assert tracker.updates == 2


def test_limits_are_kept_per_id_and_bounded() -> None:
    tracker = RateLimitTracker(bus=TelemetryBus(), max_limits=2)
    for limit_id in ("a", "b", "c"):
        tracker(note(limit_id, primary=window(1)))
    assert set(tracker.by_limit_id) == {"b", "c"}
    assert tracker.get("a") is None
    assert tracker.latest is not None and tracker.latest.limit_id == "c"


def test_exhausted_windows_give_the_reset_time() -> None:
    tracker = RateLimitTracker(bus=TelemetryBus())
    tracker(note("codex", primary=window(100, 300, 500), secondary=window(100, 10080, 900)))
    tracker(note("other", primary=window(50, 60, 2000)))
    codex = tracker.get("codex")
    assert codex is not None and codex.exhausted
    assert codex.resets_at == datetime.fromtimestamp(900, UTC)
    assert tracker.resets_at() == datetime.fromtimestamp(900, UTC)


def test_other_notifications_and_malformed_ones_are_ignored() -> None:
    tracker = RateLimitTracker(bus=TelemetryBus())
    tracker(Notification(method="configWarning", params={"summary": "x"}))
    tracker(Notification(method="account/rateLimits/updated", params={"rateLimits": 3}))
    tracker(note(primary={"usedPercent": "lots"}))
    assert tracker.latest is not None and tracker.latest.primary is None
    assert tracker.updates == 1


def test_updates_emit_telemetry_that_the_gauges_follow() -> None:
    bus = TelemetryBus()
    metrics = Metrics()
    metrics.attach(bus)
    seen: list[dict[str, Any]] = []
    bus.attach("t", [events.RATE_LIMITS_UPDATED], lambda _e, m, meta, _c: seen.append(dict(meta)))
    tracker = RateLimitTracker(bus=bus)
    tracker.update(RateLimits.from_wire({"limitId": "codex", "primary": window(61, 300, 7)}))
    tracker(note(primary=window(62)))
    gauges = metrics.snapshot()
    assert gauges['codex_rate_limit_used_percent{limit_id="codex",window="primary"}'] == 62
    assert gauges['codex_rate_limit_window_seconds{limit_id="codex",window="primary"}'] == 18000
    assert seen[-1]["limit_id"] == "codex"


def test_limit_id_labels_are_bounded() -> None:
    bus = TelemetryBus()
    metrics = Metrics()
    metrics.attach(bus)
    tracker = RateLimitTracker(bus=bus, max_limits=1000)
    for n in range(MAX_LIMIT_IDS + 5):
        tracker(note(f"limit_{n}", primary=window(n)))
    tracker(note("Not A Label!", primary=window(1)))
    labels = {
        key.split('limit_id="')[1].split('"')[0]
        for key in metrics.snapshot()
        if key.startswith("codex_rate_limit_used_percent")
    }
    assert len(labels) == MAX_LIMIT_IDS + 1 and "other" in labels
