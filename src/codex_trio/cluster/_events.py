"""The telemetry events a :class:`~codex_trio.cluster.ClusterWorker` emits (on the default bus,
or the ``bus`` it was given); :class:`~codex_trio.cluster.ClusterMetrics` counts them.

Metadata holds ids (worker, turn, thread key) and bounded words; never prompts or rollouts.
"""

from __future__ import annotations

from typing import Final

from codex_trio.observe.telemetry import EventName

__all__ = [
    "CLUSTER_EVENTS",
    "DEAD_LETTERED",
    "EVENTS_DROPPED",
    "FENCED",
    "LEASE_CONFLICT",
    "OUTCOME_VALUES",
    "QUEUE_SAMPLE",
    "RECLAIMED",
    "ROLLOUT_DIRECTION_VALUES",
    "ROLLOUT_MOVED",
    "TURN_START",
    "TURN_STOP",
]

TURN_START: Final[EventName] = ("codex", "cluster", "turn", "start")
"""A worker starts running a turn (lease held). Measurements ``count``, ``deliveries``;
metadata ``worker``, ``turn_id``, ``thread_key``, ``token`` (the fencing token)."""

TURN_STOP: Final[EventName] = ("codex", "cluster", "turn", "stop")
"""A worker is done with a turn it took from the queue. Measurements ``count``, ``duration``
(seconds, when it ran); metadata ``worker``, ``turn_id``, ``thread_key``, ``outcome`` (one of
:data:`OUTCOME_VALUES`)."""

OUTCOME_VALUES: Final = frozenset(
    {
        "completed",  # committed with a result (failed turns included: turn.failed is a result)
        "error",  # committed with a final error (deadline, configuration)
        "retry",  # failed, given back for another delivery
        "fenced",  # the lease was lost: nothing written, nothing acknowledged
        "duplicate",  # already committed: acknowledged without running
        "dead_lettered",
        "requeued",  # waited too long for its thread's earlier turns: back of the queue
        "released",  # the worker is shutting down: given back
        "lost",  # another worker owns the entry now
    }
)

RECLAIMED: Final[EventName] = ("codex", "cluster", "reclaimed")
"""Entries taken over from workers that stopped heartbeating (XAUTOCLAIM). ``count``."""

LEASE_CONFLICT: Final[EventName] = ("codex", "cluster", "lease", "conflict")
"""A turn's thread lease was held by another worker; the turn waits. ``count``."""

FENCED: Final[EventName] = ("codex", "cluster", "fenced")
"""A worker's upload (or event) was refused: its lease is no longer current. ``count``;
metadata ``worker``, ``turn_id``, ``stage`` (heartbeat, commit)."""

ROLLOUT_MOVED: Final[EventName] = ("codex", "cluster", "rollout")
"""A rollout file moved. ``bytes``; metadata ``direction`` (download, upload)."""

ROLLOUT_DIRECTION_VALUES: Final = frozenset({"download", "upload"})

DEAD_LETTERED: Final[EventName] = ("codex", "cluster", "dead_lettered")
"""A turn moved to the dead-letter stream. ``count``, ``deliveries``."""

EVENTS_DROPPED: Final[EventName] = ("codex", "cluster", "events", "dropped")
"""A turn's events dropped by the worker because Redis fell behind its event buffer
(``event_buffer``): its readers saw an ``EventsGap`` there. ``count``; metadata ``worker``,
``turn_id``."""

QUEUE_SAMPLE: Final[EventName] = ("codex", "cluster", "queue")
"""Every ``sample_interval``: ``depth`` (entries in the turns stream), ``pending`` (taken, not
acknowledged), ``running`` and ``held`` (this worker's turns running, and entries it holds)."""

CLUSTER_EVENTS: Final = (
    TURN_START,
    TURN_STOP,
    RECLAIMED,
    LEASE_CONFLICT,
    FENCED,
    ROLLOUT_MOVED,
    DEAD_LETTERED,
    EVENTS_DROPPED,
    QUEUE_SAMPLE,
)
