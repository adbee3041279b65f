"""Where the cluster keeps what in Redis: every key of a deployment starts with its prefix.

::

    {p}:turns                     stream  the queue of turns (consumer group "workers"); an entry
                                          is XDELed once acknowledged, so XLEN is the backlog
    {p}:dead                      stream  dead-lettered turns (turn, thread, error, deliveries)
    {p}:thread:{key}              hash    a thread's committed state: options, thread_id,
                                          rollout_name, rollout (bytes), fence, version, worker
    {p}:thread:{key}:queue        list    the thread's turn ids not yet ended, in submit order
    {p}:thread:{key}:done         set     client turn ids committed into the thread's rollout
    {p}:lease:{key}               string  "<fencing token>:<worker>:<nonce>", with a PX expiry
    {p}:fence:{key}               string  the fencing counter (INCR per lease taken)
    {p}:turn:{id}                 hash    one turn: thread key, payload, status, result/error,
                                          deliveries, seq (last event published), worker
    {p}:events:{id}               stream  the turn's events (capped; seq, kind, data)
    {p}:worker:{name}             hash    a worker's health and counters (expires unless renewed)

Thread keys are the caller's names: any string; they are used inside key names as they are
(Redis keys are binary safe).
"""

from __future__ import annotations

import attrs

__all__ = ["GROUP", "Keys"]

GROUP = "workers"
"""The consumer group every worker of a deployment reads the turns stream in."""


@attrs.frozen
class Keys:
    prefix: str = "codex-trio"

    @property
    def turns(self) -> str:
        return f"{self.prefix}:turns"

    @property
    def dead(self) -> str:
        return f"{self.prefix}:dead"

    def thread(self, key: str) -> str:
        return f"{self.prefix}:thread:{key}"

    def queue(self, key: str) -> str:
        return f"{self.prefix}:thread:{key}:queue"

    def done(self, key: str) -> str:
        return f"{self.prefix}:thread:{key}:done"

    def lease(self, key: str) -> str:
        return f"{self.prefix}:lease:{key}"

    def fence(self, key: str) -> str:
        return f"{self.prefix}:fence:{key}"

    def turn(self, turn_id: str) -> str:
        return f"{self.prefix}:turn:{turn_id}"

    def events(self, turn_id: str) -> str:
        return f"{self.prefix}:events:{turn_id}"

    def worker(self, name: str) -> str:
        return f"{self.prefix}:worker:{name}"

    @property
    def workers_pattern(self) -> str:
        return f"{self.prefix}:worker:*"
