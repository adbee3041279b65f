"""Actors: a task that owns some state and serves requests from a bounded mailbox, one at a time.

This is OTP's ``gen_server`` on trio. Subclass :class:`Actor` and override
:meth:`~Actor.handle_call` (request, reply) and/or :meth:`~Actor.handle_cast` (fire and forget),
optionally :meth:`~Actor.init` and :meth:`~Actor.terminate`. Run it under a supervisor with
:func:`actor_spec`, or directly with ``await nursery.start(actor.run)``. Clients ``await
actor.call(request)`` and ``await actor.cast(message)``.

Because one task handles the messages in order, the actor's state needs no lock. Because the
mailbox is bounded, a slow actor pushes back on its clients (see
:mod:`~codex_trio.runtime._mailbox`) instead of queueing without bound.

Failure follows OTP: **an exception in a handler crashes the actor**. Its ``run`` re-raises the
exception, so its supervisor sees a failure and restarts it (with fresh state from ``init``).
Nobody is left hanging: the caller whose request raised gets
:class:`~codex_trio.runtime._errors.ActorCrashed` (its ``reason`` and ``__cause__`` being the
handler's exception), so does every caller whose request was still queued, and calls made while
the actor is down get :class:`~codex_trio.runtime._errors.ActorStopped` at once. A handler that
wants to refuse one request *without* crashing returns :class:`ErrorReply`: the caller gets its
exception and the actor carries on.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from typing import Any, Final, Generic, Self, TypeVar

import attrs
import trio

from codex_trio.observe.telemetry import TelemetryBus
from codex_trio.runtime._child_spec import ChildSpec, Restart, Shutdown, runnable_spec
from codex_trio.runtime._errors import (
    ActorCrashed,
    ActorStopped,
    CallTimeout,
    MailboxClosed,
)
from codex_trio.runtime._mailbox import Mailbox, MailboxStats, Overflow, ReplySlot
from codex_trio.runtime._registry import Registry

__all__ = ["Actor", "ErrorReply", "actor_spec"]

RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")
CastT = TypeVar("CastT")

_names: Final = itertools.count(1)


@attrs.frozen
class ErrorReply:
    """Returned by :meth:`Actor.handle_call` to make the caller raise ``exception``.

    Unlike raising in the handler, this does not crash the actor: use it for a request that is
    wrong ("no such item"), not for a broken actor.
    """

    exception: Exception


@attrs.define(eq=False)
class _Call(Generic[RequestT, ReplyT]):
    request: RequestT
    reply: ReplySlot[ReplyT] = attrs.field(factory=ReplySlot)
    abandoned: bool = False  # the caller gave up (timeout, cancellation): skip if not started


@attrs.frozen(eq=False)
class _Cast(Generic[CastT]):
    message: CastT


class Actor(Generic[RequestT, ReplyT, CastT]):
    """Base class of actors; ``RequestT``/``ReplyT`` type calls, ``CastT`` casts.

    ``capacity`` bounds the mailbox and ``overflow`` says what a sender does when it is full
    (``Overflow.WAIT`` blocks it: backpressure; ``Overflow.FAIL`` raises ``MailboxFull``).
    ``name`` appears in errors and telemetry; with a ``registry`` the actor registers under it
    while it runs (``NameTaken`` then fails its start) and the name is released however it
    stops. ``bus`` receives the mailbox telemetry (the default bus when None).

    Each :meth:`run` is a fresh life: a new mailbox, ``init`` again. A subclass defining
    ``__init__`` must call ``super().__init__(...)``.
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        capacity: int = 64,
        overflow: Overflow = Overflow.WAIT,
        registry: Registry[Any] | None = None,
        bus: TelemetryBus | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"an actor's mailbox needs a capacity of at least 1, not {capacity}")
        self.name: str = name if name is not None else f"{type(self).__name__}-{next(_names)}"
        self.capacity = capacity
        self.overflow = Overflow(overflow)
        self._registry = registry
        self._bus = bus
        self._mailbox: Mailbox[_Call[RequestT, ReplyT] | _Cast[CastT]] | None = None
        self._stopping = False
        self._idle: trio.CancelScope | None = None
        self._done: trio.Event | None = None
        self._last_crash: Exception | None = None
        self._dropped_casts = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {'running' if self.running else 'stopped'}>"

    # --- to override -----------------------------------------------------------------------------

    async def init(self) -> None:
        """Set up the actor's state; runs at every (re)start, before ``started`` is reported.

        Raising here is a start failure (``terminate`` is then not called). Requests that arrive
        meanwhile wait in the mailbox.
        """

    async def handle_call(self, request: RequestT) -> ReplyT | ErrorReply:
        """Answer one request. Raising crashes the actor (see the module docs)."""
        raise NotImplementedError(f"{type(self).__name__} does not handle calls")

    async def handle_cast(self, message: CastT) -> None:
        """Handle one message that needs no answer. Raising crashes the actor."""
        raise NotImplementedError(f"{type(self).__name__} does not handle casts")

    async def terminate(self, reason: Exception | None) -> None:
        """Clean up after the last message: ``reason`` is None on a graceful stop, the exception
        on a crash.

        Not called when the actor is cancelled (a brutal kill, or its shutdown timeout ran out,
        which may also happen *during* ``terminate``): resources that must be released whatever
        happens belong in ``try/finally`` or ``async with`` blocks, as always with trio.
        """

    # --- running ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the actor accepts messages (from the start of ``run`` until it stops)."""
        return self._mailbox is not None and not self._mailbox.closed and not self._stopping

    async def run(
        self,
        *,
        task_status: trio.TaskStatus[Self] = trio.TASK_STATUS_IGNORED,
        stop_requested: trio.Event | None = None,
    ) -> None:
        """Register, ``init``, report ``started(self)``, then handle messages until stopped.

        Returns after a graceful stop (:meth:`stop`, or ``stop_requested`` set): the message
        being handled is finished, the queued ones are not (their callers get
        ``ActorStopped``), then ``terminate(None)`` runs. Re-raises a handler's exception after
        failing every pending caller and running ``terminate(exc)``. Cancelled, it stops at once
        and fails the pending callers with ``ActorStopped``. ``RuntimeError`` if already running.
        """
        if self._mailbox is not None:
            raise RuntimeError(f"actor {self.name!r} is already running")
        mailbox: Mailbox[_Call[RequestT, ReplyT] | _Cast[CastT]] = Mailbox(
            self.capacity, overflow=self.overflow, owner=self.name, bus=self._bus
        )
        self._mailbox = mailbox
        self._stopping = False
        self._last_crash = None
        done = self._done = trio.Event()
        crash: Exception | None = None
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self._registry is not None:
                    await stack.enter_async_context(self._registry.registered(self.name, self))
                initialized, crash = await self._serve(mailbox, task_status, stop_requested)
                self._last_crash = crash
                self._fail_queued(mailbox, crash)
                if initialized:
                    await self.terminate(crash)
        finally:
            self._fail_queued(mailbox, None)  # if cancelled; nothing left otherwise
            self._idle = None
            self._mailbox = None
            done.set()
        if crash is not None:
            raise crash

    def request_stop(self) -> None:
        """Ask the actor to stop gracefully, without waiting (see :meth:`stop`).

        Usable from a handler (``stop`` there would wait for the handler itself). Does nothing
        if the actor is not running.
        """
        if self._mailbox is None:
            return
        self._stopping = True
        if self._idle is not None:
            self._idle.cancel()

    async def stop(self) -> None:
        """Stop gracefully and wait until :meth:`run` has ended; nothing if not running.

        The message being handled is finished first, so this waits as long as that takes;
        bound it with ``trio.move_on_after`` and cancel the actor's task if needed.
        """
        done = self._done
        if self._mailbox is None or done is None:
            await trio.lowlevel.checkpoint()
            return
        self.request_stop()
        await done.wait()

    def mailbox_stats(self) -> MailboxStats:
        """Queue length, capacity, senders blocked for room; all zero (closed) when not running."""
        if self._mailbox is None:
            return MailboxStats(
                queue_length=0, capacity=self.capacity, waiting_senders=0, closed=True
            )
        return self._mailbox.stats()

    @property
    def dropped_casts(self) -> int:
        """Casts that were queued but never handled because the actor stopped (all lives)."""
        return self._dropped_casts

    # --- the client side -------------------------------------------------------------------------

    # A timeout parameter rather than the caller's own cancel scope (ASYNC109): like OTP's
    # gen_server:call, a call has a default deadline, a typed CallTimeout, and a request that
    # is abandoned (skipped if not started) when the deadline passes.
    async def call(self, request: RequestT, *, timeout: float | None = 5.0) -> ReplyT:  # noqa: ASYNC109
        """Send ``request`` and wait for the reply; ``timeout`` seconds at most (None: no limit).

        The timeout covers the wait for mailbox room as well as the handling. Raises
        ``CallTimeout``; ``MailboxFull`` (overflow ``FAIL``); ``ActorStopped`` when the actor is
        not running or stops before replying; ``ActorCrashed`` when it crashes before replying
        (also when this very request crashed it); whatever the handler put in an ``ErrorReply``.
        Cancelling a call is safe: if the actor has not started on it yet, it never will.
        """
        mailbox = self._accepting_mailbox()
        envelope: _Call[RequestT, ReplyT] = _Call(request)
        try:
            with trio.move_on_after(math.inf if timeout is None else timeout):
                try:
                    await mailbox.put(envelope)
                except MailboxClosed:
                    raise self._stopped_error(self._last_crash) from None
                return await envelope.reply.wait()
        finally:
            if not envelope.reply.resolved:
                envelope.abandoned = True
        raise CallTimeout(actor=self.name, timeout=math.inf if timeout is None else timeout)

    async def cast(self, message: CastT) -> None:
        """Queue ``message`` for the actor; returns once it is queued, not handled.

        Raises ``MailboxFull`` (overflow ``FAIL``) or ``ActorStopped``. Waits for room under
        overflow ``WAIT``; bound the wait with ``trio.move_on_after`` if needed. A cast queued
        when the actor stops is never handled (counted in :attr:`dropped_casts`).
        """
        mailbox = self._accepting_mailbox()
        try:
            await mailbox.put(_Cast(message))
        except MailboxClosed:
            raise self._stopped_error(self._last_crash) from None

    # --- internals -------------------------------------------------------------------------------

    def _accepting_mailbox(self) -> Mailbox[_Call[RequestT, ReplyT] | _Cast[CastT]]:
        mailbox = self._mailbox
        if mailbox is None or mailbox.closed or self._stopping:
            raise self._stopped_error(self._last_crash)
        return mailbox

    def _stopped_error(self, crash: Exception | None) -> ActorStopped:
        if crash is not None:
            return ActorCrashed(actor=self.name, reason=crash)
        return ActorStopped(actor=self.name)

    def _fail_queued(
        self, mailbox: Mailbox[_Call[RequestT, ReplyT] | _Cast[CastT]], crash: Exception | None
    ) -> None:
        for envelope in mailbox.close():
            if isinstance(envelope, _Call):
                envelope.reply.set_error(self._stopped_error(crash))
            else:
                self._dropped_casts += 1

    async def _relay_stop(self, stop_requested: trio.Event) -> None:
        await stop_requested.wait()
        self.request_stop()

    async def _serve(
        self,
        mailbox: Mailbox[_Call[RequestT, ReplyT] | _Cast[CastT]],
        task_status: trio.TaskStatus[Self],
        stop_requested: trio.Event | None,
    ) -> tuple[bool, Exception | None]:
        """Init, then the message loop. Returns (initialized, the exception that crashed it)."""
        initialized = False
        crash: Exception | None = None
        async with trio.open_nursery() as nursery:
            if stop_requested is not None:
                nursery.start_soon(self._relay_stop, stop_requested)
            try:
                await self.init()
            except Exception as exc:
                crash = exc
            else:
                initialized = True
                task_status.started(self)
                crash = await self._loop(mailbox)
            nursery.cancel_scope.cancel()  # only the stop relay can be left
        return initialized, crash

    async def _loop(
        self, mailbox: Mailbox[_Call[RequestT, ReplyT] | _Cast[CastT]]
    ) -> Exception | None:
        while not self._stopping:
            envelope: _Call[RequestT, ReplyT] | _Cast[CastT] | None = None
            with trio.CancelScope() as idle:
                # Only request_stop() cancels this scope, and only while the actor is idle, so
                # a stop never interrupts a handler. A cancelled get() takes no message.
                self._idle = idle
                envelope = await mailbox.get()
            self._idle = None
            if envelope is None:
                continue
            try:
                await self._dispatch(envelope)
            except Exception as exc:
                return exc
        return None

    async def _dispatch(self, envelope: _Call[RequestT, ReplyT] | _Cast[CastT]) -> None:
        if isinstance(envelope, _Cast):
            await self.handle_cast(envelope.message)
            return
        if envelope.abandoned:
            return
        try:
            result = await self.handle_call(envelope.request)
            if isinstance(result, ErrorReply):
                envelope.reply.set_error(result.exception)
            else:
                envelope.reply.set_value(result)
        except Exception as exc:
            envelope.reply.set_error(ActorCrashed(actor=self.name, reason=exc))
            raise
        finally:
            # Reached unanswered only when cancelled mid-handler (the error, with its redacted
            # message, is only built then: not once per call).
            if not envelope.reply.resolved:
                envelope.reply.set_error(
                    ActorStopped(
                        actor=self.name, message=f"actor {self.name!r} was stopped during the call"
                    )
                )


def actor_spec(
    actor: Actor[Any, Any, Any],
    *,
    id: str | None = None,
    restart: Restart = Restart.PERMANENT,
    shutdown: Shutdown = 5.0,
) -> ChildSpec:
    """A :class:`ChildSpec` running ``actor`` under a supervisor (``id`` defaults to its name).

    A graceful shutdown lets the actor finish the message in hand (up to ``shutdown`` seconds)
    and run ``terminate``; a restart runs it again on the same object, so clients holding a
    reference reach the new life.
    """
    return runnable_spec(
        actor, id=actor.name if id is None else id, restart=restart, shutdown=shutdown
    )
