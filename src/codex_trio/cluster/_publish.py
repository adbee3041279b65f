"""A turn's events on their way to Redis: a small bounded buffer flushed by one task.

The worker's turn never waits for Redis to take an event: :meth:`EventPublisher.offer` numbers
the event (the turn's sequence numbers, in order) and appends it to the buffer, and one flusher
task sends what has gathered as one ``PUBLISH`` script call (up to :data:`BATCH_EVENTS`
events or :data:`BATCH_BYTES` bytes), so while one batch is on its way the next gathers; after
an idle buffer's first event it waits ``linger`` seconds, so a burst goes together
(:meth:`drain` cuts the wait short). A buffer that
is full (``capacity`` events, or ``max_bytes``: Redis is slower than codex) drops the event
*but keeps its number*: the reader sees the hole as an ``EventsGap``, exactly as it sees events
trimmed from the capped stream, and the worker's memory stays bounded whatever Redis does. The
result never goes through here (the commit stores it), so it is always complete.

Before the commit, :meth:`EventPublisher.finish` waits for the batch on its way and hands what
is left to the worker, whose commit script appends it (one round trip instead of a last
``PUBLISH`` and the commit) and moves the turn's sequence past events dropped at the tail (so
the ``end`` event follows the hole and the reader sees it); :meth:`EventPublisher.drain` instead
flushes it all itself. A batch refused because the lease is lost marks the publisher *fenced* and
cancels the run; a Redis failure (reconnection gave up) is kept and raised by :meth:`drain`.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from codex_trio.cluster import _scripts as scripts
from codex_trio.cluster._errors import ClusterError

if TYPE_CHECKING:
    from codex_trio.cluster._keys import Keys
    from codex_trio.cluster._redis import Connection

__all__ = ["BATCH_BYTES", "BATCH_EVENTS", "EventPublisher"]

BATCH_EVENTS = 64
"""At most this many events in one script call."""
BATCH_BYTES = 1 << 20
"""And at most about this many bytes of event data (one event may be bigger: it goes alone)."""


class EventPublisher:
    """One turn's events (see the module docstring). ``seq`` is the turn's last published
    sequence number when the run starts (a redelivery goes on from the previous run's)."""

    def __init__(
        self,
        conn: Connection,
        keys: Keys,
        *,
        turn_id: str,
        thread_key: str,
        lease: str,
        seq: int,
        maxlen: int,
        capacity: int,
        max_bytes: int,
        linger: float = 0.0,
        on_failed: Callable[[], None],
    ) -> None:
        self._conn = conn
        self._script_keys = [keys.events(turn_id), keys.turn(turn_id), keys.lease(thread_key)]
        self._lease = lease
        self._maxlen = maxlen
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.linger = linger
        self._on_failed = on_failed
        self.seq = seq
        """The last sequence number given out."""
        self.published = seq
        """The highest sequence number Redis has (published, or passed over as dropped)."""
        self.dropped = 0
        self.batches = 0
        self.fenced = False
        self.error: ClusterError | None = None
        self._queue: collections.deque[tuple[int, str, bytes]] = collections.deque()
        self._bytes = 0
        self._wake = trio.Event()
        self._closed = False
        self._handover = False
        self._closing = trio.Event()
        self._done = trio.Event()
        self._scope = trio.CancelScope()

    def offer(self, kind: str, data: str | bytes) -> bool:
        """Number the event and buffer it; False when the buffer is full and it was dropped
        (its number is kept: a gap for the reader). Never waits."""
        self.seq += 1
        raw = data.encode() if isinstance(data, str) else data
        if self._closed or self.fenced or self.error is not None:
            return False  # the run is being cut short: nobody will read these
        if len(self._queue) >= self.capacity or (
            self._queue and self._bytes + len(raw) > self.max_bytes
        ):
            self.dropped += 1
            return False
        self._queue.append((self.seq, kind, raw))
        self._bytes += len(raw)
        self._wake.set()
        return True

    async def run(self) -> None:
        """The flusher task: send batches until :meth:`drain` (or :meth:`cancel`)."""
        try:
            with self._scope:
                while not self.fenced and not self._handover:
                    if not self._queue:
                        if self._closed:
                            if self.published < self.seq:  # the last events were dropped
                                await self._send([])
                            return
                        await self._wake.wait()
                        self._wake = trio.Event()
                        if self.linger > 0:  # let a burst gather into one batch
                            with trio.move_on_after(self.linger):
                                await self._closing.wait()
                        continue
                    await self._send(self._take())
        except ClusterError as exc:
            self.error = exc
            self._on_failed()  # the run cannot go on without its events: give it back
        finally:
            if not self._handover or self.fenced or self.error is not None:
                self._queue.clear()
                self._bytes = 0
            self._done.set()

    def _take(self) -> list[tuple[int, str, bytes]]:
        batch: list[tuple[int, str, bytes]] = []
        size = 0
        queue = self._queue
        while queue and len(batch) < BATCH_EVENTS:
            length = len(queue[0][2])
            if batch and size + length > BATCH_BYTES:
                break
            batch.append(queue.popleft())
            size += length
        self._bytes -= size
        return batch

    async def _send(self, batch: list[tuple[int, str, bytes]]) -> None:
        # Past the batch's last event when nothing is queued behind it: the events dropped
        # after it are passed over now (a later batch would pass over them anyway).
        upto = self.seq if not self._queue else batch[-1][0]
        args: list[str | bytes | int | float] = [self._lease, self._maxlen, upto]
        for seq, kind, data in batch:
            args.extend((seq, kind, data))
        ok = await self._conn.script(scripts.PUBLISH, self._script_keys, args)
        self.batches += 1
        if not ok:
            self.fenced = True
            self._on_failed()
            return
        self.published = max(self.published, upto)

    async def drain(self) -> None:
        """Flush what is buffered and wait for it; raises the flusher's Redis error."""
        self._closed = True
        self._closing.set()
        self._wake.set()
        await self._done.wait()
        if self.error is not None:
            raise self.error

    async def finish(self) -> tuple[int, list[tuple[int, str, bytes]]]:
        """Stop the flusher once the batch on its way (if any) is in Redis, and hand over what
        is left: ``(upto, events)``, for the commit script to append in the same round trip
        (``upto``: the last number given out, so events dropped at the tail are passed over).
        Raises the flusher's Redis error; a fenced publisher hands over nothing (the commit
        is refused anyway)."""
        self._handover = True
        self._closed = True
        self._closing.set()
        self._wake.set()
        await self._done.wait()
        if self.error is not None:
            raise self.error
        rest = list(self._queue)
        self._queue.clear()
        self._bytes = 0
        if not self.fenced:
            self.published = self.seq
        return self.seq, rest

    def cancel(self) -> None:
        """Stop the flusher (the run failed, or was cut short): what is buffered is dropped."""
        self._closed = True
        self._closing.set()
        self._scope.cancel()
