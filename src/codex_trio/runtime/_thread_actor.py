"""The actor that owns one Codex thread, and the handle users hold on it.

A :class:`ThreadActor` runs its thread's turns one at a time, in mailbox order. The codex process
of the current turn lives inside the actor's task, so stopping or cancelling the actor stops
codex. Each turn's events go to the caller through a bounded channel: a slow consumer holds the
actor, which holds the transport's reader, which holds codex (see ``docs/runtime.md``).

Faults follow OTP. When codex dies mid-turn or writes garbage (:class:`TransportError`,
:class:`ProtocolError`), the turn's caller gets that error and the actor *crashes*: its supervisor
restarts it (same object, same :class:`ThreadState`, so the thread id is kept) and the next turn
resumes the same Codex session with ``exec resume <id>``. Problems that leave the engine sound
(``turn.failed``, a deadline, the caller leaving) are answered without a crash.

Callers do not see the restart itself: a turn submitted while the actor is down waits for it,
and a turn still queued when another one crashed the actor never ran, so it is queued again on
the restarted actor. A caller that leaves (cancelled, or out of ``run_streamed`` early) abandons
its turn: withdrawn if still queued, stopped and reaped before the caller goes on if running.

:class:`ThreadHandle` is what :meth:`Runtime.start_thread` returns: ``run`` / ``run_streamed``
like :class:`~codex_trio.Thread`, with an optional :class:`RetryPolicy` for crashed turns.
"""

from __future__ import annotations

import functools
import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, Self

import attrs
import trio

from codex_trio._errors import CodexError, ProtocolError, TransportError, TurnDeadlineError
from codex_trio._groups import collapse
from codex_trio._protocol import ThreadEvent
from codex_trio._protocol.options import Input, TurnOptions
from codex_trio._turn import (
    StreamedTurn,
    ThreadState,
    TurnResult,
    TurnStream,
    TurnStreamStatistics,
    check_result,
    open_turn,
    turn_options,
)
from codex_trio.observe.telemetry import TelemetryBus
from codex_trio.runtime._actor import Actor, ErrorReply
from codex_trio.runtime._errors import ActorCrashed, ActorStopped
from codex_trio.runtime._mailbox import Overflow

__all__ = [
    "HandleStream",
    "RetryPolicy",
    "RuntimeClosedError",
    "ThreadActor",
    "ThreadHandle",
    "TurnCancelledError",
    "TurnRequest",
]


class TurnCancelledError(CodexError):
    """The turn was abandoned by its caller (it stopped reading, or was cancelled), or cut short
    by the runtime's shutdown once its drain time was over."""


class RuntimeClosedError(CodexError):
    """The runtime is shutting down (or not started) and accepts no new threads or turns."""


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Retry of turns whose codex process crashed (``TransportError`` / ``ProtocolError``).

    Attempt ``n`` (from 1) waits ``min(max_backoff, initial_backoff * multiplier**(n-1))`` seconds
    scaled by a random factor in ``[1 - jitter, 1]``, so restarting threads do not stampede the
    model API together. Only buffered :meth:`ThreadHandle.run` retries: a streamed turn has
    already shown its events to the caller.
    """

    max_attempts: int = 3
    initial_backoff: float = 0.5
    multiplier: float = 2.0
    max_backoff: float = 30.0
    jitter: float = 0.5

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1 or self.initial_backoff < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("invalid RetryPolicy")

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return base * (1 - self.jitter * rand())


@attrs.define(eq=False)
class TurnControl:
    """Lets the caller abandon a turn the actor is running (or has not started).

    ``started`` is set when the actor takes the turn up, ``finished`` when it is done with it
    (codex reaped, whatever the outcome): a caller that leaves waits for ``finished`` only if the
    turn had started, so nobody waits for a turn queued behind others.
    """

    scope: trio.CancelScope | None = None
    abandoned: bool = False
    started: bool = False
    finished: trio.Event = attrs.field(factory=trio.Event)
    pid: int | None = None
    stream: StreamedTurn | None = None
    """The transport's stream of the turn while the actor runs it (for steer / interrupt)."""

    def abandon(self) -> None:
        self.abandoned = True
        if self.scope is not None:
            self.scope.cancel()


@attrs.frozen(kw_only=True, eq=False)
class TurnRequest:
    """One turn queued in a ThreadActor's mailbox."""

    input: Input
    options: TurnOptions
    events: trio.MemorySendChannel[ThreadEvent] | None = None
    control: TurnControl = attrs.field(factory=TurnControl)


class OwnedProcess(Protocol):
    """A process an actor owns for its whole life (``app_servers="per-thread"``: the thread's
    own app-server slot), run as a task of the actor's own."""

    async def run(
        self,
        *,
        task_status: trio.TaskStatus[Any] = ...,
        stop_requested: trio.Event | None = None,
    ) -> None: ...

    @property
    def pid(self) -> int | None: ...


class ThreadActor(Actor[TurnRequest, TurnResult, None]):
    """Owns one Codex thread (``state``) and the codex process of its current turn.

    ``limiter`` is the runtime-wide cap on concurrent turns: a turn waits for a slot before codex
    starts, so a hundred threads on two cores queue instead of thrashing.

    ``process`` is a process the actor owns for as long as it runs (its own app-server, with
    ``app_servers="per-thread"``): started with the actor (its slot starts the process at the
    first turn), stopped and reaped when the actor stops or crashes, so a restart of the actor
    gets a fresh process.
    """

    def __init__(
        self,
        state: ThreadState,
        *,
        limiter: trio.CapacityLimiter,
        name: str,
        capacity: int = 16,
        overflow: Overflow = Overflow.WAIT,
        bus: TelemetryBus | None = None,
        process: OwnedProcess | None = None,
    ) -> None:
        super().__init__(name=name, capacity=capacity, overflow=overflow, bus=bus)
        self.state = state
        self.process = process
        self._limiter = limiter
        self.current: TurnControl | None = None
        self.turns = 0
        self.closing = False
        self._crashed = False  # from a crash until the restart's init: calls would fail
        self._gone = False
        self._changed = trio.Event()

    async def run(
        self,
        *,
        task_status: trio.TaskStatus[Self] = trio.TASK_STATUS_IGNORED,
        stop_requested: trio.Event | None = None,
    ) -> None:
        """As :meth:`Actor.run`; with a ``process``, that process's life cycle runs beside the
        mailbox for exactly as long (and is stopped, its codex reaped, whatever ends it)."""
        process = self.process
        if process is None:
            await super().run(task_status=task_status, stop_requested=stop_requested)
            return
        with collapse():
            async with trio.open_nursery() as nursery:
                stop_process = trio.Event()
                await nursery.start(functools.partial(process.run, stop_requested=stop_process))
                try:
                    await super().run(task_status=task_status, stop_requested=stop_requested)
                finally:
                    stop_process.set()

    async def init(self) -> None:
        self._crashed = False
        self._notify()  # a (re)start: wake callers waiting for the actor to come back

    async def handle_call(self, request: TurnRequest) -> TurnResult | ErrorReply:
        control = request.control
        self.current = control
        try:
            if control.abandoned:
                return ErrorReply(
                    TurnCancelledError(
                        "turn abandoned before it started", thread_id=self.state.thread_id
                    )
                )
            if self.closing:
                return ErrorReply(RuntimeClosedError("the runtime is shutting down; no new turns"))
            control.started = True
            with trio.CancelScope() as scope:
                control.scope = scope
                async with self._limiter:
                    result = await self._run_turn(request)
            if scope.cancelled_caught or result is None:
                return ErrorReply(
                    TurnCancelledError(
                        "turn abandoned by its caller", thread_id=self.state.thread_id
                    )
                )
            self.turns += 1
            return result
        except TurnDeadlineError as exc:
            return ErrorReply(exc)  # codex was stopped cleanly; nothing is broken
        except (TransportError, ProtocolError) as exc:
            if getattr(self.state.runner, "recovers_itself", False):
                # A process shared by many threads (the app-server transport) died or misspoke:
                # the transport restarts it and the next turn resumes this thread there. Not
                # this actor's fault, so it must not use up this thread's restart intensity.
                return ErrorReply(exc)
            self._crashed = True
            raise  # codex broke: crash, so the supervisor restarts us with a clean slate
        except CodexError as exc:
            return ErrorReply(exc)
        finally:
            control.scope = None
            self.current = None
            if request.events is not None:
                request.events.close()
            control.finished.set()

    async def _run_turn(self, request: TurnRequest) -> TurnResult | None:
        async with open_turn(self.state, request.input, request.options) as streamed:
            request.control.stream = streamed
            if request.events is None:
                streamed.defer_wakeups()  # a buffered run: woken for the turn's end only
            async for event in streamed:
                request.control.pid = streamed.pid
                if request.events is not None:
                    try:
                        await request.events.send(event)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        return None  # the caller stopped reading: leaving stops codex
        return streamed.result if streamed.done else None

    def abandon_current(self) -> None:
        """Cancel the turn being run, if any (its caller gets :class:`TurnCancelledError`)."""
        if self.current is not None:
            self.current.abandon()

    @property
    def pid(self) -> int | None:
        """The codex process of the turn being run, if any; with a process of its own
        (per-thread app-server), that process while it runs."""
        if self.process is not None:
            return self.process.pid
        return self.current.pid if self.current is not None else None

    @property
    def gone(self) -> bool:
        """True once the actor's supervisor has ended for good: it will not run again."""
        return self._gone

    def mark_gone(self) -> None:
        """Record that no supervisor will run this actor again (callers waiting give up)."""
        self._gone = True
        self._notify()

    async def wait_running(self) -> None:
        """Return once the actor accepts turns; while its supervisor restarts it, wait.

        Raises :class:`ActorStopped` when it will not come back (stopped, or its supervisor gave
        up).
        """
        await trio.lowlevel.checkpoint()
        while not self.running or self._crashed:
            if self._gone:
                raise ActorStopped(actor=self.name, message=f"thread {self.name!r} has stopped")
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


class HandleStream:
    """A :class:`~codex_trio.TurnStream` over a turn run by a ThreadActor; iterate with
    ``async for``.

    After the iteration ends, :attr:`result` is the :class:`TurnResult` (``turn.failed`` included,
    as an event and as ``result.failed``); a crash of codex raises its ``TransportError`` from
    the iteration. :meth:`steer` and :meth:`interrupt` reach the running turn (app-server).
    """

    def __init__(self, receive: trio.MemoryReceiveChannel[ThreadEvent], control: TurnControl):
        self._receive = receive
        self._control = control
        self._result: TurnResult | None = None
        self._error: BaseException | None = None
        self._finished = trio.Event()

    @property
    def pid(self) -> int | None:
        """The codex process of the turn while it runs."""
        return self._control.pid

    def statistics(self) -> TurnStreamStatistics:
        """The event channel's state: ``current_buffer_used`` never exceeds
        ``max_buffer_size``; ``tasks_waiting_send`` is 1 while the actor waits for the reader."""
        return TurnStreamStatistics.of(self._receive.statistics())

    async def steer(self, input: Input) -> None:
        """Add input to the running turn (app-server); see :meth:`TurnStream.steer`."""
        await self._running().steer(input)

    async def interrupt(self) -> None:
        """Stop the running turn (app-server); see :meth:`TurnStream.interrupt`."""
        await self._running().interrupt()

    def _running(self) -> StreamedTurn:
        stream = self._control.stream
        if stream is None or self._control.finished.is_set():
            raise CodexError("the turn is not running (queued, or already over)")
        return stream

    def __aiter__(self) -> HandleStream:
        return self

    async def __anext__(self) -> ThreadEvent:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            await self._finished.wait()
            if self._error is not None:
                raise self._error from None
            raise StopAsyncIteration from None

    @property
    def result(self) -> TurnResult:
        if self._result is None:
            raise CodexError("the turn has not ended yet")
        return self._result


def _unwrap(exc: BaseException) -> BaseException:
    """A crash reaches callers as ActorCrashed; give them codex's own error instead."""
    if isinstance(exc, ActorCrashed) and isinstance(exc.__cause__, CodexError):
        return exc.__cause__
    return exc


class ThreadHandle:
    """A supervised Codex thread, as :meth:`Runtime.start_thread` returns it.

    ``run`` and ``run_streamed`` behave like :class:`~codex_trio.Thread`'s; turns queue in the
    actor's mailbox (bounded: a full mailbox makes callers wait). ``id`` is the Codex thread id
    (None until the first turn starts), ``name`` the runtime's name for it.

    Errors: codex's own ``TransportError`` / ``ProtocolError`` when it crashed during this turn
    (the thread is restarted and stays usable), ``ActorStopped`` once the thread has stopped
    (``stop_thread``, shutdown, or its supervisor gave up), ``RuntimeClosedError`` once the
    runtime shuts down, ``TurnCancelledError`` when the shutdown cut the turn short, and the
    errors of :meth:`Thread.run` (``TurnFailedError``, ``TurnDeadlineError`` ...).
    """

    def __init__(
        self,
        actor: ThreadActor,
        *,
        name: str,
        event_buffer: int,
        retry: RetryPolicy | None,
        admit: Callable[[], AbstractAsyncContextManager[None]],
    ) -> None:
        self.actor = actor
        self.name = name
        self._event_buffer = event_buffer
        self._retry = retry
        self._admit = admit

    @property
    def id(self) -> str | None:
        return self.actor.state.thread_id

    @asynccontextmanager
    async def run_streamed(
        self, input: Input, options: TurnOptions | None = None, **turn_options_: Any
    ) -> AsyncIterator[TurnStream]:
        """Queue a turn and yield its events as the actor produces them.

        Leaving the block before the end abandons the turn: if it was running, codex is stopped
        and reaped before the block exits; if it was still queued, it is skipped.
        """
        opts = turn_options(options, turn_options_)
        async with self._admit():
            send, receive = trio.open_memory_channel[ThreadEvent](self._event_buffer)
            request = TurnRequest(input=input, options=opts, events=send)
            stream = HandleStream(receive, request.control)

            async def call() -> None:
                try:
                    stream._result = await self._call(request)
                except CodexError as exc:
                    stream._error = _unwrap(exc)
                finally:
                    send.close()
                    stream._finished.set()

            with collapse():
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(call)
                    try:
                        yield stream
                    finally:
                        receive.close()
                        if not stream._finished.is_set():
                            request.control.abandon()
                            if not request.control.started:
                                nursery.cancel_scope.cancel()  # queued: just withdraw it

    async def run(
        self, input: Input, options: TurnOptions | None = None, **turn_options_: Any
    ) -> TurnResult:
        """Run a turn to its end; raises as :meth:`Thread.run` does. With a retry policy, a
        turn whose codex crashed is tried again (on the restarted actor, or the restarted shared
        app-server, resuming the thread). A passed deadline is not retried."""
        opts = turn_options(options, turn_options_)
        attempts = self._retry.max_attempts if self._retry is not None else 1
        for attempt in range(1, attempts + 1):
            try:
                async with self._admit():
                    result = await self._call(TurnRequest(input=input, options=opts))
                return check_result(result, opts)
            except (ActorCrashed, TransportError, ProtocolError) as exc:
                error = _unwrap(exc)
                retriable = isinstance(exc, ActorCrashed) or not isinstance(exc, TurnDeadlineError)
                if not retriable or self._retry is None or attempt == attempts:
                    raise error from None
                await trio.sleep(self._retry.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call(self, request: TurnRequest) -> TurnResult:
        """Hand ``request`` to the actor and wait for its result.

        A turn that was still queued when another turn crashed the actor never ran: it is queued
        again on the restarted actor rather than failed. Leaving early (cancelled) abandons the
        turn and, if it had started, waits until codex is reaped.
        """
        control = request.control
        try:
            while True:
                await self.actor.wait_running()
                try:
                    return await self.actor.call(request, timeout=None)
                except ActorCrashed:
                    if control.started:
                        raise
        finally:
            if not control.finished.is_set():
                control.abandon()
                if control.started:
                    with trio.CancelScope(shield=True):
                        await control.finished.wait()

    def __repr__(self) -> str:
        return f"<ThreadHandle {self.name!r} id={self.id}>"
