"""A thread's notifications for one consumer: bounded, and never blocking the shared reader."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

import attrs
import trio

from codex_trio._errors import (
    SlowConsumerError,
)
from codex_trio._protocol.app_server.messages import (
    Notification,
)

DELTA_METHODS: frozenset[str] = frozenset(
    {
        "item/agentMessage/delta",
        "item/plan/delta",
        "item/commandExecution/outputDelta",
        "item/fileChange/outputDelta",
        "item/reasoning/summaryTextDelta",
        "item/reasoning/textDelta",
    }
)
"""Notifications whose ``delta`` texts concatenate: two in a row for the same item (all other
params equal) say exactly what one with both texts says, so a full subscription merges them."""

MAX_COALESCED_DELTA = 1 << 20
"""Characters one merged delta may reach; past it the subscription overflows instead."""


@attrs.frozen(kw_only=True)
class SubscriptionStatistics:
    """A :class:`Subscription`'s state, in the manner of ``trio.MemoryChannelStatistics``."""

    current_buffer_used: int
    max_buffer_size: int
    coalesced: int
    """Delta notifications merged into the one before them because the buffer was full."""
    overflowed: bool
    """True once a notification could be neither buffered nor merged (the consumer then gets
    :class:`SlowConsumerError` after the buffered notifications)."""


class Subscription:
    """One consumer's notifications of one thread: bounded, and never blocking the reader.

    The reader :meth:`offer` s each notification: it is buffered if there is room, merged into
    the previous one if both are deltas of the same item (see :data:`DELTA_METHODS`), and
    otherwise the subscription *overflows*: it takes nothing more, ``on_overflow`` is told (the
    client interrupts the turn), and :meth:`receive` returns what was buffered, then raises
    :class:`SlowConsumerError`. When the connection dies, :meth:`receive` returns what was
    buffered, then raises ``trio.EndOfChannel``; after :meth:`close`, ``trio.ClosedResourceError``.
    """

    def __init__(
        self,
        thread_id: str,
        capacity: int,
        on_overflow: Callable[[Subscription], None] | None = None,
        *,
        blocking: bool = False,
    ) -> None:
        if capacity < 1:
            raise ValueError("a subscription needs a capacity of at least 1")
        self.thread_id = thread_id
        self.capacity = capacity
        self.blocking = blocking
        """The reader waits for room here (:meth:`wait_for_room`) instead of overflowing: only
        on a connection private to one thread, where holding the reader holds nobody else."""
        self._on_overflow = on_overflow
        self._queue: collections.deque[Notification] = collections.deque()
        # When each buffered notification was offered (time.monotonic()), in step with _queue.
        self._times: collections.deque[float] = collections.deque()
        self.last_received: float | None = None
        """When the notification :meth:`receive` returned last was read off the connection
        (``time.monotonic()``): item durations are measured with it, so they stay right when
        the consumer takes several notifications at once (:attr:`wake_on`)."""
        self._lot = trio.lowlevel.ParkingLot()
        self._room = trio.lowlevel.ParkingLot()
        self._ended = False
        self._closed = False
        self.overflowed = False
        self.coalesced = 0
        self.methods: frozenset[str] | None = None
        """When set, only these notification methods are buffered; the others are taken and
        dropped at once, waking nobody (an exec-style stream sets the few it maps)."""
        self.dropped = 0
        """Notifications dropped because :attr:`methods` leaves them out."""
        self.wake_on: frozenset[str] | None = None
        """When set, the consumer is woken only by these methods (and when the buffer is half
        full, overflows or ends), not by every notification: for a consumer that only wants
        the turn's end, such as a buffered ``run()``, which then takes the rest in one go."""

    def offer(self, note: Notification) -> bool:
        """Take ``note`` without blocking; False if it was not taken (overflowed, ended)."""
        if self._ended or self._closed or self.overflowed:
            return False
        if self.methods is not None and note.method not in self.methods:
            self.dropped += 1
            return True
        if len(self._queue) < self.capacity:
            self._queue.append(note)
            self._times.append(time.monotonic())
            wake_on = self.wake_on
            if wake_on is None or note.method in wake_on or 2 * len(self._queue) >= self.capacity:
                self._lot.unpark_all()
            return True
        if self._merge(note):
            self.coalesced += 1
            self._times[-1] = time.monotonic()
            self._lot.unpark_all()
            return True
        self.overflowed = True
        self._lot.unpark_all()
        if self._on_overflow is not None:
            self._on_overflow(self)
        return False

    def _merge(self, note: Notification) -> bool:
        last = self._queue[-1]
        if note.method != last.method or note.method not in DELTA_METHODS:
            return False
        old, new = last.params.get("delta"), note.params.get("delta")
        if not isinstance(old, str) or not isinstance(new, str):
            return False
        if len(old) + len(new) > MAX_COALESCED_DELTA:
            return False
        if len(last.params) != len(note.params) or any(
            last.params.get(k) != v for k, v in note.params.items() if k != "delta"
        ):
            return False
        merged = {**note.params, "delta": old + new}
        self._queue[-1] = Notification(method=note.method, params=merged)
        return True

    @property
    def full(self) -> bool:
        """True while the buffer holds :attr:`capacity` notifications."""
        return len(self._queue) >= self.capacity

    async def wait_for_room(self) -> None:
        """Wait until a notification fits (or the consumer or the connection is gone): what
        the reader of a :attr:`blocking` subscription does before offering the next one."""
        while len(self._queue) >= self.capacity and not (self._ended or self._closed):
            await self._room.park()

    def end(self) -> None:
        """The sending side is done (the connection died): receivers drain, then EndOfChannel."""
        self._ended = True
        self._lot.unpark_all()
        self._room.unpark_all()

    def close(self) -> None:
        """The consumer is done: drop what is buffered; receivers get ClosedResourceError."""
        self._closed = True
        self._queue.clear()
        self._times.clear()
        self._lot.unpark_all()
        self._room.unpark_all()

    def _next(self) -> Notification | None:
        if self._closed:
            raise trio.ClosedResourceError("subscription closed")
        if self._queue:
            note = self._queue.popleft()
            self.last_received = self._times.popleft()
            if self.blocking:
                self._room.unpark_all()
            return note
        if self.overflowed:
            raise SlowConsumerError(
                f"the consumer of thread {self.thread_id} fell behind: its {self.capacity} "
                "buffered notifications were full, so its turn was interrupted rather than "
                "stall every thread of this app-server",
                capacity=self.capacity,
                thread_id=self.thread_id,
            )
        if self._ended:
            raise trio.EndOfChannel
        return None

    def receive_nowait(self) -> Notification:
        note = self._next()
        if note is None:
            raise trio.WouldBlock
        return note

    async def receive(self) -> Notification:
        await trio.lowlevel.checkpoint_if_cancelled()
        note = self._next()
        if note is not None:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return note
        while True:
            # Parking was this call's checkpoint: what woke it is returned without yielding
            # again (as trio's memory channels do), one scheduler pass per notification, not two.
            await self._lot.park()
            note = self._next()
            if note is not None:
                return note

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Notification:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    def statistics(self) -> SubscriptionStatistics:
        return SubscriptionStatistics(
            current_buffer_used=len(self._queue),
            max_buffer_size=self.capacity,
            coalesced=self.coalesced,
            overflowed=self.overflowed,
        )
