"""The account's rate limits as the engine last reported them: :class:`RateLimitTracker`.

How codex learns them: every Responses API answer (a 429 too) carries ``x-codex-*`` headers
(``x-codex-primary-used-percent``, ``-window-minutes``, ``-reset-at`` in Unix seconds, the same
for ``secondary``, ``x-codex-credits-*``, and other limit families as ``x-<id>-primary-...``).
The app-server turns them into the ``account/rateLimits/updated`` notification, once per model
request of a turn, naming no thread; ``codex exec --json`` reports nothing of them.

Observed with codex 0.163: ``usedPercent`` arrives rounded to an integer (42.5 -> 43); a
response without headers still gives an update for ``codex`` with both windows null; when
several families come in one response, only the last one is notified. The notification is
*sparse* ("merge available values into the most recent snapshot", says the schema): a null
window, credits or plan here keeps the value seen before, which is what the tracker does.

A tracker is a ``global_listeners`` entry of an app-server client or transport (called on the
reader with each notification naming no thread; it never blocks and never raises). It keeps the
latest snapshot per limit id, emits ``("codex", "rate_limits", "updated")`` telemetry (which
:class:`~codex_trio.observe.Metrics` exports as gauges) and can be read at any time.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from codex_trio._protocol.app_server.messages import Notification
from codex_trio.observe import events as ev
from codex_trio.observe import get_logger
from codex_trio.observe.telemetry import TelemetryBus, default_bus

__all__ = [
    "RATE_LIMITS_UPDATED_METHOD",
    "RateLimitCredits",
    "RateLimitTracker",
    "RateLimitWindow",
    "RateLimits",
]

_log = get_logger("codex_trio._transport.app_server")

RATE_LIMITS_UPDATED_METHOD = "account/rateLimits/updated"


def _timestamp(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


@attrs.frozen(kw_only=True)
class RateLimitWindow:
    """One window of a limit: ``used_percent`` of it is spent; it spans ``window_minutes`` and
    resets at ``resets_at`` (aware UTC), each ``None`` when the engine did not say."""

    used_percent: float
    window_minutes: int | None = None
    resets_at: datetime | None = None

    @property
    def exhausted(self) -> bool:
        """True when the window is used up (100 % or more)."""
        return self.used_percent >= 100

    @classmethod
    def from_wire(cls, raw: object) -> RateLimitWindow | None:
        """From the app-server's ``{usedPercent, windowDurationMins, resetsAt}``."""
        if not isinstance(raw, Mapping):
            return None
        used = raw.get("usedPercent")
        if isinstance(used, bool) or not isinstance(used, int | float):
            return None
        return cls(
            used_percent=float(used),
            window_minutes=_int(raw.get("windowDurationMins")),
            resets_at=_timestamp(raw.get("resetsAt")),
        )


@attrs.frozen(kw_only=True)
class RateLimitCredits:
    """The account's credits: whether it has any, whether they are unlimited, the balance as the
    backend writes it (a string)."""

    has_credits: bool
    unlimited: bool
    balance: str | None = None

    @classmethod
    def from_wire(cls, raw: object) -> RateLimitCredits | None:
        if not isinstance(raw, Mapping):
            return None
        return cls(
            has_credits=bool(raw.get("hasCredits")),
            unlimited=bool(raw.get("unlimited")),
            balance=_str(raw.get("balance")),
        )


@attrs.frozen(kw_only=True)
class RateLimits:
    """The latest known state of one rate limit (``limit_id``, e.g. ``"codex"``).

    ``primary`` is the short window (5 hours for ChatGPT plans), ``secondary`` the long one (a
    week); ``updated_at`` is when this process last heard of it (aware UTC).
    """

    limit_id: str
    limit_name: str | None = None
    primary: RateLimitWindow | None = None
    secondary: RateLimitWindow | None = None
    credits: RateLimitCredits | None = None
    plan_type: str | None = None
    rate_limit_reached_type: str | None = None
    updated_at: datetime = attrs.field(factory=lambda: datetime.now(UTC))

    @property
    def exhausted(self) -> bool:
        """True when a window is used up: turns fail with ``UsageLimitError`` until it resets."""
        return any(w is not None and w.exhausted for w in (self.primary, self.secondary))

    @property
    def resets_at(self) -> datetime | None:
        """When the limit allows turns again: the latest reset of the exhausted windows (None
        when none is exhausted, or the engine did not say)."""
        times = [
            w.resets_at
            for w in (self.primary, self.secondary)
            if w is not None and w.exhausted and w.resets_at is not None
        ]
        return max(times) if times else None

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> RateLimits:
        """From an app-server ``RateLimitSnapshot`` (``rateLimits`` of the notification, or of
        ``account/rateLimits/read``)."""
        return cls(
            limit_id=_str(raw.get("limitId")) or "codex",
            limit_name=_str(raw.get("limitName")),
            primary=RateLimitWindow.from_wire(raw.get("primary")),
            secondary=RateLimitWindow.from_wire(raw.get("secondary")),
            credits=RateLimitCredits.from_wire(raw.get("credits")),
            plan_type=_str(raw.get("planType")),
            rate_limit_reached_type=_str(raw.get("rateLimitReachedType")),
        )

    def merged_into(self, previous: RateLimits | None) -> RateLimits:
        """This (sparse) update on top of ``previous``: what it leaves null keeps the value
        ``previous`` had."""
        if previous is None:
            return self
        return attrs.evolve(
            self,
            limit_name=self.limit_name or previous.limit_name,
            primary=self.primary or previous.primary,
            secondary=self.secondary or previous.secondary,
            credits=self.credits or previous.credits,
            plan_type=self.plan_type or previous.plan_type,
            rate_limit_reached_type=self.rate_limit_reached_type
            or previous.rate_limit_reached_type,
        )


class RateLimitTracker:
    """The latest :class:`RateLimits` per limit id, fed by ``account/rateLimits/updated``.

    Call it with a notification (it is a ``global_listeners`` entry) or give it a snapshot with
    :meth:`update` (e.g. from ``account/rateLimits/read``). Each update emits
    :data:`~codex_trio.observe.events.RATE_LIMITS_UPDATED` on ``bus``. At most ``max_limits``
    limit ids are kept (the least recently updated is forgotten). Not thread-safe: feed it from
    one trio loop (reading it from elsewhere is fine).
    """

    def __init__(
        self,
        *,
        bus: TelemetryBus = default_bus,
        transport: str = "app-server",
        max_limits: int = 64,
    ) -> None:
        self._bus = bus
        self._transport = transport
        self._max = max(1, max_limits)
        self._limits: collections.OrderedDict[str, RateLimits] = collections.OrderedDict()
        self.updates = 0
        """How many updates were taken in."""

    def __call__(self, note: Notification) -> None:
        """The listener: takes ``account/rateLimits/updated``, ignores other notifications."""
        if note.method != RATE_LIMITS_UPDATED_METHOD:
            return
        raw = note.params.get("rateLimits")
        if not isinstance(raw, Mapping):
            _log.warning("rate_limits.undecodable", method=note.method)
            return
        self.update(raw)

    def update(self, snapshot: RateLimits | Mapping[str, Any]) -> RateLimits:
        """Take in one snapshot (a :class:`RateLimits` or the wire mapping) and return the
        merged state of its limit."""
        fresh = snapshot if isinstance(snapshot, RateLimits) else RateLimits.from_wire(snapshot)
        merged = fresh.merged_into(self._limits.pop(fresh.limit_id, None))
        self._limits[merged.limit_id] = merged
        while len(self._limits) > self._max:
            self._limits.popitem(last=False)
        self.updates += 1
        self._emit(merged)
        return merged

    def _emit(self, limits: RateLimits) -> None:
        measurements: dict[str, float] = {}
        for name, window in (("primary", limits.primary), ("secondary", limits.secondary)):
            if window is None:
                continue
            measurements[f"{name}_used_percent"] = window.used_percent
            if window.window_minutes is not None:
                measurements[f"{name}_window_minutes"] = window.window_minutes
            if window.resets_at is not None:
                measurements[f"{name}_resets_at"] = window.resets_at.timestamp()
        self._bus.execute(
            ev.RATE_LIMITS_UPDATED,
            measurements,
            {
                "limit_id": limits.limit_id,
                "limit_name": limits.limit_name,
                "plan_type": limits.plan_type,
                "exhausted": limits.exhausted,
                "transport": self._transport,
            },
        )

    @property
    def latest(self) -> RateLimits | None:
        """The limit updated most recently (``None`` before the first update)."""
        return next(reversed(self._limits.values()), None)

    def get(self, limit_id: str = "codex") -> RateLimits | None:
        """The latest state of ``limit_id``."""
        return self._limits.get(limit_id)

    @property
    def by_limit_id(self) -> dict[str, RateLimits]:
        """Every limit known, by id (a copy)."""
        return dict(self._limits)

    def resets_at(self) -> datetime | None:
        """When every exhausted limit allows turns again (None if none is exhausted)."""
        times = [t for t in (limits.resets_at for limits in self._limits.values()) if t]
        return max(times) if times else None
