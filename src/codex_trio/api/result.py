"""What a turn gives back, and the bookkeeping that turns cumulative usage into per-turn usage."""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from typing import Any

import attrs

from codex_trio.protocol import ThreadItem, Usage

__all__ = ["TurnResult", "UsageLedger", "default_ledger"]


@attrs.frozen(kw_only=True)
class TurnResult:
    """A finished turn.

    ``usage`` holds this turn's own token figures; ``cumulative_usage`` the thread's totals as
    codex reports them (codex counts per thread, not per turn). ``structured`` is the final
    message decoded as JSON when the turn had an output schema, else None.
    """

    thread_id: str | None
    turn_id: str
    items: Sequence[ThreadItem]
    final_response: str | None
    usage: Usage | None
    cumulative_usage: Usage | None
    structured: Any = None
    failed: bool = False
    error_message: str | None = None


class UsageLedger:
    """The last cumulative usage seen per thread id, so that the next turn's per-turn figures are
    the difference, also when the thread is resumed by another :class:`Thread` object.

    Bounded: the oldest of more than ``max_threads`` threads is forgotten (its next turn then
    reports the cumulative figures as its own, the best that can be known).
    """

    def __init__(self, max_threads: int = 10_000) -> None:
        self._max = max_threads
        self._last: collections.OrderedDict[str, Usage] = collections.OrderedDict()
        self._lock = threading.Lock()

    def per_turn(self, thread_id: str | None, cumulative: Usage) -> Usage:
        """Record ``cumulative`` for ``thread_id`` and return the figures of this turn alone."""
        if thread_id is None:
            return cumulative
        with self._lock:
            previous = self._last.pop(thread_id, None)
            self._last[thread_id] = cumulative
            while len(self._last) > self._max:
                self._last.popitem(last=False)
        return cumulative.minus(previous) if previous is not None else cumulative

    def last(self, thread_id: str) -> Usage | None:
        with self._lock:
            return self._last.get(thread_id)


default_ledger = UsageLedger()
