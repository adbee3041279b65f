"""Prometheus collectors for a cluster worker, fed only by its telemetry events
(:mod:`codex_trio.cluster._events`), in the manner of :class:`codex_trio.observe.Metrics`.

Share a registry with the runtime's metrics to serve both on one endpoint::

    metrics = Metrics(); metrics.attach()
    cluster = ClusterMetrics(registry=metrics.registry); cluster.attach()

Labels are bounded (``outcome``, ``direction``); no worker, turn or thread label: each worker
process is its own scrape target.

Why here and not under :mod:`codex_trio.observe` (which DESIGN.md says is the only importer of
prometheus_client): observe is the bottom layer and must not import the cluster, and these
collectors are fed by the cluster's own event names (:mod:`codex_trio.cluster._events`), whose
package pulls in coredis. So they live with the cluster, built the observe way (fed only by
telemetry, bounded labels through observe's ``_label`` / ``_number``), and load prometheus_client
only when used: ``codex_trio.cluster`` exports :class:`ClusterMetrics` lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from codex_trio.cluster import _events as ev
from codex_trio.observe._metrics import OTHER, _label, _number
from codex_trio.observe.telemetry import EventName, Handler, TelemetryBus, default_bus

__all__ = ["ClusterMetrics"]


class ClusterMetrics:
    """``codex_cluster_*`` collectors (see docs/metrics.md's conventions)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = CollectorRegistry() if registry is None else registry
        self.registry = reg
        self._bus: TelemetryBus | None = None
        self._handler_ids: list[str] = []
        self.turns = Counter(
            "codex_cluster_turns_total",
            "Turns this worker took from the queue, by outcome.",
            ["outcome"],
            registry=reg,
        )
        self.queue_depth = Gauge(
            "codex_cluster_queue_depth",
            "Entries in the turns stream (waiting or taken, not acknowledged; last sample).",
            registry=reg,
        )
        self.pending = Gauge(
            "codex_cluster_pending",
            "Entries taken by a worker and not acknowledged (last sample).",
            registry=reg,
        )
        self.running = Gauge(
            "codex_cluster_running_turns", "Turns this worker is running.", registry=reg
        )
        self.reclaimed = Counter(
            "codex_cluster_reclaimed_total",
            "Entries taken over from workers that stopped heartbeating.",
            registry=reg,
        )
        self.lease_conflicts = Counter(
            "codex_cluster_lease_conflicts_total",
            "Turns whose thread lease another worker held.",
            registry=reg,
        )
        self.fenced = Counter(
            "codex_cluster_fenced_uploads_total",
            "Uploads refused because this worker's lease was no longer current.",
            registry=reg,
        )
        self.rollout_bytes = Counter(
            "codex_cluster_rollout_bytes_total",
            "Rollout bytes moved between Redis and this worker.",
            ["direction"],
            registry=reg,
        )
        self.dead_letters = Counter(
            "codex_cluster_dead_letters_total", "Turns dead-lettered.", registry=reg
        )
        self.events_dropped = Counter(
            "codex_cluster_events_dropped_total",
            "Turn events dropped because Redis fell behind the worker's event buffer.",
            registry=reg,
        )

    def _routes(self) -> dict[EventName, Handler]:
        return {
            ev.TURN_STOP: self._on_turn_stop,
            ev.RECLAIMED: self._on_reclaimed,
            ev.LEASE_CONFLICT: self._on_conflict,
            ev.FENCED: self._on_fenced,
            ev.ROLLOUT_MOVED: self._on_rollout,
            ev.DEAD_LETTERED: self._on_dead,
            ev.EVENTS_DROPPED: self._on_events_dropped,
            ev.QUEUE_SAMPLE: self._on_queue,
        }

    def attach(self, bus: TelemetryBus = default_bus) -> None:
        if self._bus is not None:
            raise RuntimeError("ClusterMetrics is already attached to a telemetry bus")
        prefix = f"codex_trio.cluster_metrics.{id(self):x}"
        for name, handler in self._routes().items():
            handler_id = f"{prefix}.{'.'.join(name)}"
            bus.attach(handler_id, [name], handler)
            self._handler_ids.append(handler_id)
        self._bus = bus

    def detach(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            for handler_id in self._handler_ids:
                bus.detach(handler_id)
        self._handler_ids = []

    def snapshot(self) -> dict[str, float]:
        flat: dict[str, float] = {}
        for family in self.registry.collect():
            if not family.name.startswith("codex_cluster"):
                continue
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                flat[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return flat

    def _count(self, m: Mapping[str, float]) -> float:
        return _number(m.get("count")) or 0.0

    def _on_turn_stop(
        self, e: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.turns.labels(_label(meta.get("outcome"), ev.OUTCOME_VALUES)).inc()

    def _on_reclaimed(
        self, e: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.reclaimed.inc(self._count(m))

    def _on_conflict(
        self, e: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.lease_conflicts.inc(self._count(m))

    def _on_fenced(
        self, e: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.fenced.inc(self._count(m))

    def _on_rollout(
        self, e: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        size = _number(m.get("bytes"))
        if size:
            direction = _label(meta.get("direction"), ev.ROLLOUT_DIRECTION_VALUES)
            self.rollout_bytes.labels(direction if direction != OTHER else OTHER).inc(size)

    def _on_dead(
        self, e: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.dead_letters.inc(self._count(m))

    def _on_events_dropped(
        self, e: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.events_dropped.inc(self._count(m))

    def _on_queue(
        self, e: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        for gauge, key in (
            (self.queue_depth, "depth"),
            (self.pending, "pending"),
            (self.running, "running"),
        ):
            value = _number(m.get(key))
            if value is not None:
                gauge.set(value)
