"""The errors of the cluster layer (on top of the local API's: a remote turn raises the same
``TurnFailedError``, ``TurnDeadlineError`` ... as a local one)."""

from __future__ import annotations

from codex_trio._errors import CodexError

__all__ = [
    "ClusterAuthenticationError",
    "ClusterConnectionError",
    "ClusterError",
    "ResultExpiredError",
    "ThreadOptionsConflict",
    "TurnDeadLettered",
]


class ClusterError(CodexError):
    """Base class of the errors of :mod:`codex_trio.cluster`: Redis refused a command, or the
    cluster's records are not what they should be. The Redis password never appears in it."""


class ClusterConnectionError(ClusterError):
    """Redis could not be reached (refused, reset, timed out) for longer than the
    ``reconnect_timeout`` the client or worker was given. ``url`` is the server's address with
    any password masked."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(f"{message} ({url})")


class ClusterAuthenticationError(ClusterConnectionError):
    """Redis refused the credentials (``AUTH``): a wrong or missing password."""


class ThreadOptionsConflict(ClusterError):
    """Thread options (working directory, sandbox, model ...) travel with the first turn of a
    thread key and stay with the thread; a later turn gave different ones. Override a setting
    for one turn with ``options=TurnOptions(...)``."""


class ResultExpiredError(ClusterError):
    """The turn's result is no longer in Redis (kept ``result_ttl`` seconds after the turn
    ended), or the turn id was never submitted."""


class TurnDeadLettered(ClusterError):
    """The turn failed on every one of its ``deliveries`` (a worker crashed running it, or codex
    did) and was moved to the dead-letter stream instead of being retried forever.

    ``error`` is the last failure's message, ``error_type`` its exception class name (``None``
    when the workers died without reporting one), ``deliveries`` how many times it was tried.
    The thread's state is what its last committed turn left; later turns of the thread run.
    """

    def __init__(
        self,
        message: str,
        *,
        error: str | None,
        error_type: str | None,
        deliveries: int,
        thread_id: str | None = None,
        turn_id: str | None = None,
    ) -> None:
        self.error = error
        self.error_type = error_type
        self.deliveries = deliveries
        detail = f"{error_type}: {error}" if error_type else (error or "no error reported")
        super().__init__(
            f"{message} after {deliveries} deliveries; last error: {detail}",
            thread_id=thread_id,
            turn_id=turn_id,
        )
