"""A bounded mailbox: the queue in front of an actor, and the one-shot slot a reply comes back in.

The mailbox is where backpressure happens. It holds at most ``capacity`` messages; what happens
to a sender when it is full is the *overflow policy*:

* ``Overflow.WAIT``: the sender blocks until there is room. A slow actor slows its clients down
  instead of letting a queue grow without bound; this is the backpressure. Every such wait is
  reported as a ``("codex", "channel", "backpressure")`` telemetry event.
* ``Overflow.FAIL``: the sender gets :class:`~codex_trio.runtime._errors.MailboxFull` at once and
  can shed the load (answer "busy", drop, retry later).

After each put and get the mailbox emits ``("codex", "channel", "stats")`` with its
``queue_depth`` and ``capacity``. Both events carry ``channel="mailbox"`` and ``owner``.

Closing a mailbox hands back every message still in it, including those of senders that were
blocked waiting for room (their ``put`` then returns normally): the owner decides what to tell
their senders, and nothing is dropped silently.
"""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

import attrs
import trio

from codex_trio.observe import events
from codex_trio.observe.telemetry import TelemetryBus, default_bus
from codex_trio.runtime._errors import MailboxClosed, MailboxFull

__all__ = ["Mailbox", "MailboxStats", "Overflow", "ReplySlot"]

T = TypeVar("T")


class Overflow(enum.StrEnum):
    """What a sender does when the mailbox is full."""

    WAIT = "wait"
    """Block until there is room (backpressure)."""
    FAIL = "fail"
    """Raise ``MailboxFull`` at once."""


@attrs.frozen(kw_only=True)
class MailboxStats:
    """A snapshot of a mailbox's fill, in the manner of ``trio.MemoryChannelStatistics``."""

    queue_length: int
    """Messages waiting to be taken."""
    capacity: int
    waiting_senders: int
    """Tasks blocked in ``put`` because the mailbox is full (always 0 under ``Overflow.FAIL``)."""
    closed: bool


class Mailbox(Generic[T]):
    """A bounded FIFO of messages with one consumer (its owner) and any number of senders.

    Built on a trio memory channel of ``capacity`` (at least 1) slots. ``owner`` names the actor
    in errors and telemetry. Cancelling a blocked ``put`` leaves the mailbox as it was: the
    message is not queued.
    """

    def __init__(
        self,
        capacity: int,
        *,
        overflow: Overflow = Overflow.WAIT,
        owner: str = "mailbox",
        bus: TelemetryBus | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"a mailbox needs a capacity of at least 1, not {capacity}")
        self.capacity = capacity
        self.overflow = Overflow(overflow)
        self.owner = owner
        self._bus = default_bus if bus is None else bus
        self._send, self._receive = trio.open_memory_channel[T](capacity)
        self._closed = False

    async def put(self, message: T) -> None:
        """Queue ``message``, waiting for room or failing as the overflow policy says.

        Raises ``MailboxFull`` (policy ``FAIL``) or ``MailboxClosed`` (also when the mailbox is
        closed while this sender waits: its message is then *not* queued).
        """
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            if self.overflow is Overflow.FAIL:
                raise MailboxFull(owner=self.owner, capacity=self.capacity) from None
            began = trio.current_time()
            try:
                await self._send.send(message)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                raise MailboxClosed(owner=self.owner) from None
            self._bus.execute(
                events.CHANNEL_BACKPRESSURE,
                {"wait": trio.current_time() - began},
                {"channel": "mailbox", "owner": self.owner},
            )
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise MailboxClosed(owner=self.owner) from None
        else:
            # send_nowait is not a checkpoint; keep put() one, as trio's conventions ask.
            await trio.lowlevel.checkpoint()
        self._emit_stats()

    def put_nowait(self, message: T) -> None:
        """Queue ``message`` or raise ``MailboxFull`` whatever the policy; ``MailboxClosed``."""
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            raise MailboxFull(owner=self.owner, capacity=self.capacity) from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise MailboxClosed(owner=self.owner) from None
        self._emit_stats()

    async def get(self) -> T:
        """Take the oldest message, waiting for one; ``MailboxClosed`` once closed.

        Cancellation-safe: a cancelled ``get`` takes nothing.
        """
        try:
            message = await self._receive.receive()
        except (trio.ClosedResourceError, trio.EndOfChannel):
            raise MailboxClosed(owner=self.owner) from None
        self._emit_stats()
        return message

    def close(self) -> list[T]:
        """Close the mailbox and return the messages that were never taken, oldest first.

        Senders blocked for room have their message included (and their ``put`` returns); later
        ``put`` and ``get`` calls raise ``MailboxClosed``. Idempotent: a second call returns [].
        Synchronous and not a checkpoint, so it can be used in a cancelled task's cleanup.
        """
        if self._closed:
            return []
        self._closed = True
        left: list[T] = []
        while True:
            try:
                # Also pulls in the messages of senders blocked on a full buffer.
                left.append(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        self._receive.close()
        self._send.close()
        self._emit_stats(depth=0)
        return left

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> MailboxStats:
        s = self._send.statistics()
        return MailboxStats(
            queue_length=s.current_buffer_used,
            capacity=self.capacity,
            waiting_senders=s.tasks_waiting_send,
            closed=self._closed,
        )

    def _emit_stats(self, depth: int | None = None) -> None:
        if depth is None:
            depth = self._send.statistics().current_buffer_used
        self._bus.execute(
            events.CHANNEL_STATS,
            {"queue_depth": depth, "capacity": self.capacity},
            {"channel": "mailbox", "owner": self.owner},
        )


class ReplySlot(Generic[T]):
    """A one-shot place for one answer (a value or an exception), and an event to wait for it.

    The first :meth:`set_value` or :meth:`set_error` wins; later ones return False and change
    nothing, so several parties (the handler, the crash cleanup, a cancelled actor) can all try
    to answer without checking who was first.
    """

    __slots__ = ("_error", "_event", "_value")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    @property
    def resolved(self) -> bool:
        return self._event.is_set()

    def set_value(self, value: T) -> bool:
        if self._event.is_set():
            return False
        self._value = value
        self._event.set()
        return True

    def set_error(self, error: BaseException) -> bool:
        if self._event.is_set():
            return False
        self._error = error
        self._event.set()
        return True

    async def wait(self) -> T:
        """Wait for the answer: return the value or raise the error."""
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set_value stored a T
