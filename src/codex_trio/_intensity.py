"""Restart intensity: how many restarts a supervisor allows within a sliding window of time.

OTP calls the pair ``intensity`` / ``period``; here they are ``max_restarts`` / ``max_seconds``.
A supervisor that restarts a child more than ``max_restarts`` times within ``max_seconds`` stops
trying: a child that crashes as soon as it starts would otherwise be restarted in a tight loop
forever, and the failure is better handed to the parent supervisor, which may restart a larger
part of the tree (or give up in turn).

This module is pure (no trio, no clock): the caller passes the current time, which makes it
testable with any sequence of times and lets the supervisor use ``trio.current_time()`` (and so
``trio.testing.MockClock`` in tests).
"""

from __future__ import annotations

from collections import deque

import attrs

__all__ = ["RestartIntensity"]


@attrs.define
class RestartIntensity:
    """A sliding window of the times of the restarts that were allowed.

    A restart at time ``now`` is allowed when, counting it, at most ``max_restarts`` allowed
    restarts fall within the closed window ``[now - max_seconds, now]`` (a restart exactly
    ``max_seconds`` ago still counts, as in OTP). Consequences, which the tests check:

    * no closed interval of length ``max_seconds`` ever contains more than ``max_restarts``
      allowed restarts;
    * a refusal is never spurious: ``max_restarts`` allowed restarts lie within the window;
    * once ``max_seconds`` have passed since the latest allowed restart, the next one is allowed.

    ``max_restarts = 0`` allows no restart at all. Refused restarts are not recorded (a
    supervisor that is refused gives up, so they never happen). Times must not go backwards:
    ``ValueError`` otherwise, because a clock jumping back would silently widen the window.
    Memory is bounded by ``max_restarts`` entries.
    """

    max_restarts: int = attrs.field(validator=attrs.validators.ge(0))
    max_seconds: float = attrs.field(validator=attrs.validators.gt(0.0))
    _times: deque[float] = attrs.field(init=False, factory=deque)
    _last: float | None = attrs.field(init=False, default=None)

    def allow(self, now: float) -> bool:
        """Record a restart at ``now`` and return True, or return False if it would be too many."""
        if self._last is not None and now < self._last:
            raise ValueError(f"time went backwards: {now} < {self._last}")
        self._last = now
        self._expire(now)
        if len(self._times) >= self.max_restarts:
            return False
        self._times.append(now)
        return True

    def restarts_in_window(self, now: float) -> int:
        """How many allowed restarts lie within ``[now - max_seconds, now]``."""
        return sum(1 for t in self._times if now - t <= self.max_seconds)

    def reset(self) -> None:
        """Forget every restart (a supervisor that runs again starts with a clean slate)."""
        self._times.clear()
        self._last = None

    def _expire(self, now: float) -> None:
        while self._times and now - self._times[0] > self.max_seconds:
            self._times.popleft()
