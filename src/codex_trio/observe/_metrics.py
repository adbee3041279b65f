"""Prometheus metrics for codex-trio, fed only from telemetry events.

No code in codex-trio touches a collector: the runtime emits telemetry events
(:mod:`codex_trio.observe.events`) and :class:`Metrics` turns them into counters, gauges and
histograms when it is attached to a bus. So metrics cost nothing in a process that never creates
a :class:`Metrics`, and every number on the dashboard can be traced to one documented event
(docs/metrics.md says which).

Label values are bounded: each label has an allow-list (the ``*_VALUES`` sets of
:mod:`~codex_trio.observe.events`) and anything else is recorded as ``"other"``. Ids (thread,
turn, pid) are never labels; an unbounded label would grow Prometheus's memory with every thread.

What can go wrong:

* Gauges (``codex_threads_active``, ``codex_processes_running``) count starts minus stops seen
  while attached. Attach before the runtime starts, or they can go below zero.
* Two :class:`Metrics` cannot share one registry (``ValueError`` from prometheus_client: the
  names would collide). Each gets a new private registry unless you pass one.
* A malformed measurement (a string, a negative count) is ignored rather than raised, so one bad
  emitter does not get the handler detached and silence every later event of that name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final, TypeVar, cast

import attrs
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from codex_trio.observe import events as ev
from codex_trio.observe.telemetry import EventName, Handler, TelemetryBus, default_bus

__all__ = [
    "APPROVAL_LATENCY_BUCKETS",
    "BACKPRESSURE_WAIT_BUCKETS",
    "MAX_LIMIT_IDS",
    "TURN_DURATION_BUCKETS",
    "Metrics",
]

OTHER: Final = "other"

MAX_LIMIT_IDS: Final = 16
"""Distinct ``limit_id`` label values the rate-limit gauges take; later ids count as "other"."""
_LIMIT_ID: Final = re.compile(r"[a-z0-9_]{1,64}")

TURN_DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0,
)  # fmt: skip
"""Seconds: a trivial turn takes ~0.3 s on a local mock, an agentic one minutes; 30 min tops."""

APPROVAL_LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0,
)  # fmt: skip
"""Seconds: from an automatic policy (milliseconds) to a human answering (minutes, hours)."""

BACKPRESSURE_WAIT_BUCKETS: Final[tuple[float, ...]] = (
    0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0,
)  # fmt: skip
"""Seconds a sender waited on a full channel: sub-millisecond hiccups to a stalled consumer."""

_TOKEN_KINDS: Final = (
    ("input", "input_tokens"),
    ("cached_input", "cached_input_tokens"),
    ("output", "output_tokens"),
    ("reasoning_output", "reasoning_output_tokens"),
)


_M = TypeVar("_M", bound=MetricWrapperBase)

# Which of several app-server processes' states the health gauges show: the worst.
_STATE_SEVERITY: Final = {
    "stopped": 0,
    "running": 1,
    "starting": 2,
    "restarting": 3,
    "backoff": 4,
    OTHER: 2,
}


def _label(value: object, allowed: frozenset[str]) -> str:
    """``value`` if it is an allowed label value, else ``"other"``."""
    return value if isinstance(value, str) and value in allowed else OTHER


def _number(value: object) -> float | None:
    """A finite, non-negative float, or None for anything else (None, strings, NaN, -1...)."""
    kind = type(value)
    if kind is not float and kind is not int:  # exact types first: this runs on every event
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
    number = float(cast(float, value))
    return number if 0 <= number < math.inf else None  # NaN fails both comparisons


@attrs.define(eq=False, init=False)
class Metrics:
    """The codex-trio collectors, in their own registry, fed by telemetry handlers.

    ``Metrics()`` registers its collectors in a new private :class:`CollectorRegistry` (never
    prometheus_client's global one, so tests and several runtimes in one process don't collide);
    pass ``registry`` to share one with your own collectors. Nothing is counted until
    :meth:`attach`.
    """

    registry: CollectorRegistry
    turns: Counter
    turn_duration: Histogram
    tokens: Counter
    items: Counter
    commands: Counter
    approvals: Counter
    approval_latency: Histogram
    tool_calls: Counter
    processes_running: Gauge
    process_exits: Counter
    protocol_errors: Counter
    supervisor_restarts: Counter
    supervisor_intensity_exceeded: Counter
    threads_active: Gauge
    channel_queue_depth: Gauge
    backpressure_wait: Histogram
    slow_consumers: Counter
    app_server_up: Gauge
    app_server_state: Gauge
    app_server_restarts: Counter
    app_server_threads_loaded: Gauge
    app_server_threads_placed: Gauge
    app_server_rss: Gauge
    app_server_slot_restarts: Counter
    app_server_recycles: Counter
    rate_limit_used_percent: Gauge
    rate_limit_window: Gauge
    rate_limit_resets_at: Gauge
    _bus: TelemetryBus | None
    _limit_ids: set[str]
    _pool_states: dict[object, str]
    _handler_ids: list[str]
    # prometheus_client's labels() validates and locks (~1 us); children are cached here instead.
    # The cache is bounded because label values are (allow-lists).
    _children: dict[tuple[int, tuple[str, ...]], MetricWrapperBase]

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = CollectorRegistry() if registry is None else registry
        self.registry = reg
        self._bus = None
        self._handler_ids = []
        self._children = {}
        self._limit_ids = set()
        self._pool_states = {}
        self.turns = Counter(
            "codex_turns_total", "Turns ended, by status.", ["status", "transport"], registry=reg
        )
        self.turn_duration = Histogram(
            "codex_turn_duration_seconds",
            "Wall time of a turn.",
            ["transport"],
            buckets=TURN_DURATION_BUCKETS,
            registry=reg,
        )
        self.tokens = Counter(
            "codex_tokens_total", "Model tokens used by turns, by kind.", ["kind"], registry=reg
        )
        self.items = Counter(
            "codex_items_total", "Turn items completed.", ["type", "status"], registry=reg
        )
        self.commands = Counter(
            "codex_commands_total", "Shell commands run by codex.", ["status"], registry=reg
        )
        self.approvals = Counter(
            "codex_approvals_total", "Approvals answered.", ["kind", "decision"], registry=reg
        )
        self.approval_latency = Histogram(
            "codex_approval_latency_seconds",
            "Time from an approval request to its answer.",
            buckets=APPROVAL_LATENCY_BUCKETS,
            registry=reg,
        )
        self.tool_calls = Counter(
            "codex_tool_calls_total", "Client-side tool calls.", ["status"], registry=reg
        )
        self.processes_running = Gauge(
            "codex_processes_running", "codex processes alive.", registry=reg
        )
        self.process_exits = Counter(
            "codex_process_exits_total", "codex processes reaped.", ["reason"], registry=reg
        )
        self.protocol_errors = Counter(
            "codex_protocol_errors_total", "Protocol violations by codex.", ["kind"], registry=reg
        )
        self.supervisor_restarts = Counter(
            "codex_supervisor_restarts_total", "Children restarted by supervisors.", registry=reg
        )
        self.supervisor_intensity_exceeded = Counter(
            "codex_supervisor_intensity_exceeded_total",
            "Supervisors that gave up after too many restarts.",
            registry=reg,
        )
        self.threads_active = Gauge(
            "codex_threads_active", "Codex threads with a running actor.", registry=reg
        )
        self.channel_queue_depth = Gauge(
            "codex_channel_queue_depth",
            "Items waiting in a bounded channel (last sample).",
            ["channel"],
            registry=reg,
        )
        self.backpressure_wait = Histogram(
            "codex_backpressure_wait_seconds",
            "Time a sender waited on a full channel.",
            ["channel"],
            buckets=BACKPRESSURE_WAIT_BUCKETS,
            registry=reg,
        )
        self.slow_consumers = Counter(
            "codex_slow_consumer_total",
            "Turns ended with SlowConsumerError: their consumer fell behind on a shared "
            "app-server.",
            ["transport"],
            registry=reg,
        )
        self.app_server_up = Gauge(
            "codex_app_server_up",
            "1 while the shared app-server is running, 0 while it restarts or backs off.",
            registry=reg,
        )
        self.app_server_state = Gauge(
            "codex_app_server_state",
            "The shared app-server's state: 1 for the current state, 0 for the others.",
            ["state"],
            registry=reg,
        )
        self.app_server_restarts = Counter(
            "codex_app_server_restarts_total",
            "Shared app-server processes started after one died.",
            registry=reg,
        )
        self.app_server_threads_loaded = Gauge(
            "codex_app_server_threads_loaded",
            "Threads loaded on a pooled app-server process (last sample).",
            ["slot"],
            registry=reg,
        )
        self.app_server_threads_placed = Gauge(
            "codex_app_server_threads_placed",
            "Threads placed on a pooled app-server process (last sample).",
            ["slot"],
            registry=reg,
        )
        self.app_server_rss = Gauge(
            "codex_app_server_rss_bytes",
            "Resident memory of a pooled app-server process (last sample).",
            ["slot"],
            registry=reg,
        )
        self.app_server_slot_restarts = Counter(
            "codex_app_server_slot_restarts",
            "Pooled app-server processes started after one died, by slot.",
            ["slot"],
            registry=reg,
        )
        self.app_server_recycles = Counter(
            "codex_app_server_recycles",
            "Pooled app-server processes stopped on purpose (recycled, or hibernated).",
            ["slot", "reason"],
            registry=reg,
        )
        rate_labels = ["limit_id", "window"]
        self.rate_limit_used_percent = Gauge(
            "codex_rate_limit_used_percent",
            "Share of a rate-limit window used, in percent (100: turns fail until it resets).",
            rate_labels,
            registry=reg,
        )
        self.rate_limit_window = Gauge(
            "codex_rate_limit_window_seconds",
            "Length of a rate-limit window.",
            rate_labels,
            registry=reg,
        )
        self.rate_limit_resets_at = Gauge(
            "codex_rate_limit_resets_at_timestamp_seconds",
            "When a rate-limit window resets (Unix time).",
            rate_labels,
            registry=reg,
        )

    # --- attaching -------------------------------------------------------------------------------

    def _routes(self) -> dict[EventName, Handler]:
        return {
            ev.THREAD_START: self._on_thread_start,
            ev.THREAD_STOP: self._on_thread_stop,
            ev.TURN_STOP: self._on_turn_stop,
            ev.TURN_EXCEPTION: self._on_turn_exception,
            ev.ITEM_COMPLETED: self._on_item_completed,
            ev.COMMAND_EXECUTED: self._on_command_executed,
            ev.APPROVAL_DECIDED: self._on_approval_decided,
            ev.SUBSCRIPTION_OVERFLOW: self._on_subscription_overflow,
            ev.APP_SERVER_STATE: self._on_app_server_state,
            ev.APP_SERVER_RESTART: self._on_app_server_restart,
            ev.APP_SERVER_SAMPLE: self._on_app_server_sample,
            ev.APP_SERVER_RECYCLE: self._on_app_server_recycle,
            ev.RATE_LIMITS_UPDATED: self._on_rate_limits_updated,
            ev.TOOL_CALL_STOP: self._on_tool_call_stop,
            ev.TOOL_CALL_EXCEPTION: self._on_tool_call_exception,
            ev.PROCESS_SPAWN: self._on_process_spawn,
            ev.PROCESS_EXIT: self._on_process_exit,
            ev.PROTOCOL_ERROR: self._on_protocol_error,
            ev.SUPERVISOR_CHILD_RESTART: self._on_supervisor_restart,
            ev.SUPERVISOR_INTENSITY_EXCEEDED: self._on_intensity_exceeded,
            ev.CHANNEL_STATS: self._on_channel_stats,
            ev.CHANNEL_BACKPRESSURE: self._on_backpressure,
        }

    def attach(self, bus: TelemetryBus = default_bus) -> None:
        """Start counting the events emitted on ``bus`` (one handler per event name).

        ``RuntimeError`` if already attached (to this or another bus): counting the same events
        twice would double every figure.
        """
        if self._bus is not None:
            raise RuntimeError("Metrics is already attached to a telemetry bus")
        prefix = f"codex_trio.metrics.{id(self):x}"
        attached: list[str] = []
        try:
            for name, handler in self._routes().items():
                handler_id = f"{prefix}.{'.'.join(name)}"
                bus.attach(handler_id, [name], handler)
                attached.append(handler_id)
        except BaseException:
            for handler_id in attached:
                bus.detach(handler_id)
            raise
        self._bus = bus
        self._handler_ids = attached

    def detach(self) -> None:
        """Stop counting; the collected values stay in the registry. A no-op if not attached."""
        bus, self._bus = self._bus, None
        if bus is not None:
            for handler_id in self._handler_ids:
                bus.detach(handler_id)
        self._handler_ids = []

    # --- reading ---------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, float]:
        """A flat ``{'name{label="value"}': value}`` view for printing (a demo, a test).

        Histograms appear as their ``_count`` and ``_sum`` only, and ``_created`` timestamps are
        left out. Series with no observation yet are absent. For scraping use the registry.
        """
        flat: dict[str, float] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name.endswith(("_created", "_bucket")):
                    continue
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                flat[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return flat

    def _child(self, metric: _M, *labels: str) -> _M:
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return cast(_M, child)

    # --- handlers (synchronous, in the emitter's task; keep them cheap) ---------------------------

    def _on_thread_start(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.threads_active.inc()

    def _on_thread_stop(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.threads_active.dec()

    def _turn_ended(self, status: str, m: Mapping[str, float], meta: Mapping[str, Any]) -> None:
        transport = _label(meta.get("transport"), ev.TRANSPORT_VALUES)
        self._child(self.turns, status, transport).inc()
        duration = _number(m.get("duration"))
        if duration is not None:
            self._child(self.turn_duration, transport).observe(duration)

    def _on_turn_stop(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self._turn_ended(_label(meta.get("status"), ev.TURN_STATUS_VALUES), m, meta)
        for kind, key in _TOKEN_KINDS:
            count = _number(m.get(key))
            if count:
                self._child(self.tokens, kind).inc(count)

    def _on_turn_exception(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        status = "cancelled" if meta.get("kind") == "Cancelled" else "error"
        self._turn_ended(status, m, meta)

    def _on_item_completed(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self._child(
            self.items,
            _label(meta.get("item_type"), ev.ITEM_TYPE_VALUES),
            _label(meta.get("status"), ev.ITEM_STATUS_VALUES),
        ).inc()

    def _on_command_executed(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self._child(self.commands, _label(meta.get("status"), ev.COMMAND_STATUS_VALUES)).inc()

    def _on_approval_decided(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self._child(
            self.approvals,
            _label(meta.get("kind"), ev.APPROVAL_KIND_VALUES),
            _label(meta.get("decision"), ev.APPROVAL_DECISION_VALUES),
        ).inc()
        latency = _number(m.get("latency"))
        if latency is not None:
            self.approval_latency.observe(latency)

    def _on_tool_call_stop(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self._child(self.tool_calls, _label(meta.get("status"), ev.TOOL_STATUS_VALUES)).inc()

    def _on_tool_call_exception(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self._child(self.tool_calls, "error").inc()

    def _on_process_spawn(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.processes_running.inc()

    def _on_process_exit(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.processes_running.dec()
        self._child(
            self.process_exits, _label(meta.get("reason"), ev.PROCESS_EXIT_REASON_VALUES)
        ).inc()

    def _on_protocol_error(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self._child(
            self.protocol_errors, _label(meta.get("kind"), ev.PROTOCOL_ERROR_KIND_VALUES)
        ).inc()

    def _on_supervisor_restart(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.supervisor_restarts.inc()

    def _on_intensity_exceeded(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.supervisor_intensity_exceeded.inc()

    def _on_channel_stats(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        depth = _number(m.get("queue_depth"))
        if depth is not None:
            self._child(
                self.channel_queue_depth, _label(meta.get("channel"), ev.CHANNEL_VALUES)
            ).set(depth)

    def _on_backpressure(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        wait = _number(m.get("wait"))
        if wait is not None:
            self._child(
                self.backpressure_wait, _label(meta.get("channel"), ev.CHANNEL_VALUES)
            ).observe(wait)

    def _on_subscription_overflow(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self._child(self.slow_consumers, _label(meta.get("transport"), ev.TRANSPORT_VALUES)).inc()

    def _on_app_server_state(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        state = _label(meta.get("state"), ev.APP_SERVER_STATE_VALUES)
        if meta.get("slot") is not None:
            # One of a runtime's processes (a pool, or one per thread): the gauges show the
            # worst state among the processes that are not stopped (hibernating is stopped),
            # so up is 1 while every live process runs, and 0 when none is live.
            instance = meta.get("instance", meta.get("slot"))
            if state == "stopped":
                self._pool_states.pop(instance, None)
            else:
                self._pool_states[instance] = state
            live = self._pool_states.values()
            state = max(live, key=_STATE_SEVERITY.__getitem__, default="stopped")
        self.app_server_up.set(1 if state == "running" else 0)
        for value in ev.APP_SERVER_STATE_VALUES:
            self._child(self.app_server_state, value).set(1 if value == state else 0)

    def _on_app_server_restart(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self.app_server_restarts.inc()
        slot = meta.get("slot")
        if slot is not None:
            self._child(
                self.app_server_slot_restarts, _label(slot, ev.APP_SERVER_SLOT_VALUES)
            ).inc()

    def _on_app_server_sample(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        slot = _label(meta.get("slot"), ev.APP_SERVER_SLOT_VALUES)
        for gauge, key in (
            (self.app_server_threads_loaded, "threads_loaded"),
            (self.app_server_threads_placed, "threads_placed"),
            (self.app_server_rss, "rss_bytes"),
        ):
            value = _number(m.get(key))
            if value is not None:
                self._child(gauge, slot).set(value)

    def _on_app_server_recycle(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        self._child(
            self.app_server_recycles,
            _label(meta.get("slot"), ev.APP_SERVER_SLOT_VALUES),
            _label(meta.get("reason"), ev.APP_SERVER_RECYCLE_REASON_VALUES),
        ).inc()

    def _limit_label(self, value: object) -> str:
        """A limit id as a label: the engine's ids are not a fixed set, so the first
        :data:`MAX_LIMIT_IDS` well-formed ids seen are kept and any other is ``"other"``."""
        if not isinstance(value, str) or not _LIMIT_ID.fullmatch(value):
            return OTHER
        if value not in self._limit_ids:
            if len(self._limit_ids) >= MAX_LIMIT_IDS:
                return OTHER
            self._limit_ids.add(value)
        return value

    def _on_rate_limits_updated(
        self, event: EventName, m: Mapping[str, float], meta: Mapping[str, Any], _: Any
    ) -> None:
        limit_id = self._limit_label(meta.get("limit_id"))
        for window in ("primary", "secondary"):
            used = _number(m.get(f"{window}_used_percent"))
            if used is not None:
                self._child(self.rate_limit_used_percent, limit_id, window).set(used)
            minutes = _number(m.get(f"{window}_window_minutes"))
            if minutes is not None:
                self._child(self.rate_limit_window, limit_id, window).set(minutes * 60)
            resets_at = _number(m.get(f"{window}_resets_at"))
            if resets_at is not None:
                self._child(self.rate_limit_resets_at, limit_id, window).set(resets_at)
