"""codex_trio.cluster: many daemons on many machines sharing Codex turns through Redis Streams.

A :class:`ClusterClient` submits turns of named threads to one queue; any
:class:`ClusterWorker` (``codex-trio worker --redis URL``) takes them, runs them on its own
local :class:`~codex_trio.Runtime`, and moves the thread's rollout file (its whole state) through
Redis, so a thread continues on whichever machine runs its next turn. See the docstrings of
:mod:`codex_trio.cluster._worker` (the protocol) and :mod:`codex_trio.cluster._keys` (the Redis
key layout). Needs the ``cluster`` extra (``pip install codex-trio[cluster]``: coredis).

Prompts, results and rollouts are stored in Redis; API keys never are (workers hold their own).
"""

from typing import TYPE_CHECKING, Any

from codex_trio.cluster._client import (
    ClusterClient,
    EventsGap,
    QueueStats,
    RemoteEvent,
    ThreadRecord,
    TurnHandle,
    TurnRestarted,
)
from codex_trio.cluster._errors import (
    ClusterAuthenticationError,
    ClusterConnectionError,
    ClusterError,
    ResultExpiredError,
    ThreadOptionsConflict,
    TurnDeadLettered,
)
from codex_trio.cluster._keys import Keys
from codex_trio.cluster._worker import ClusterTurnInfo, ClusterWorker, WorkerStatus

if TYPE_CHECKING:
    from codex_trio.cluster._metrics import ClusterMetrics


def __getattr__(name: str) -> Any:
    # Loaded on first use (PEP 562), as codex_trio.observe.Metrics: prometheus_client is needed
    # only to count, not to run a worker or a client.
    if name == "ClusterMetrics":
        from codex_trio.cluster._metrics import ClusterMetrics

        globals()[name] = ClusterMetrics
        return ClusterMetrics
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ClusterAuthenticationError",
    "ClusterClient",
    "ClusterConnectionError",
    "ClusterError",
    "ClusterMetrics",
    "ClusterTurnInfo",
    "ClusterWorker",
    "EventsGap",
    "Keys",
    "QueueStats",
    "RemoteEvent",
    "ResultExpiredError",
    "ThreadOptionsConflict",
    "ThreadRecord",
    "TurnDeadLettered",
    "TurnHandle",
    "TurnRestarted",
    "WorkerStatus",
]
