"""One trio event loop on a background thread, driven from blocking or asyncio code.

The front doors (:mod:`codex_trio.sync`, :mod:`codex_trio.aio`) own one :class:`Bridge` per
``Codex``/``Runtime`` object: its trio loop starts on first use, on a daemon thread of its own,
and stops when the object is closed (or, for one never closed, when it is garbage-collected or
the interpreter exits: a :func:`weakref.finalize` registered at start). One loop per object keeps
objects independent (closing one never touches another's turns) and its cost is one idle thread.

Everything the core does runs on that loop, as a :class:`Job`: a task in the bridge's nursery
inside a cancel scope of its own, whose outcome is handed back to the caller's thread.
:meth:`Job.cancel` cancels that scope from any thread (what Ctrl-C in a blocking call and a
cancelled asyncio task do), and the caller then waits for the job to finish: the core's own
cancellation (interrupt the turn, stop and reap codex) has run by the time the caller sees
``KeyboardInterrupt`` or ``CancelledError``.

An async context manager of the core (``Codex`` on app-server, ``Runtime``, a turn stream) must
be entered and left in one trio task: :meth:`Bridge.hold` keeps it in a host task until
released. A turn stream crosses the boundary through :class:`Handoff`: the host task iterates
the core's stream and sends each event into a bounded trio memory channel the caller receives
from, so a consumer that stops reading stops the host, then the core's bounded channel, then
codex.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypeVar

import outcome
import trio

from codex_trio._protocol.exec_events import ThreadEvent
from codex_trio._turn import TurnResult, TurnStream, TurnStreamStatistics

__all__ = ["Bridge", "BridgeClosedError", "Handoff", "Held", "Job", "JobCancelled"]

T = TypeVar("T")


class BridgeClosedError(RuntimeError):
    """The front door was closed (or its loop stopped) while a call was running or waiting."""


class JobCancelled(BaseException):
    """The outcome of a job cancelled by :meth:`Job.cancel` (never raised to users: the front
    door raises ``KeyboardInterrupt`` or ``asyncio.CancelledError`` instead)."""


class Job(Generic[T]):
    """A call running on the bridge's loop; its :attr:`outcome` once :attr:`done` is set."""

    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge
        self._scope: trio.CancelScope | None = None
        self._cancel_requested = False
        self.cancelled = False
        self.done = threading.Event()
        self.outcome: outcome.Outcome[T] | None = None
        self._callbacks: list[Callable[[Job[T]], None]] = []
        self._lock = threading.Lock()
        self.delegate: Job[Any] | None = None
        """The job that really runs (for an ``entered`` job of a host task): cancelling this
        one cancels it, and waiting after a cancel waits for it."""

    @property
    def target(self) -> Job[Any]:
        return self.delegate if self.delegate is not None else self

    def add_done_callback(self, callback: Callable[[Job[T]], None]) -> None:
        """Call ``callback(job)`` once done (on the bridge's thread, or here if it is done)."""
        with self._lock:
            if not self.done.is_set():
                self._callbacks.append(callback)
                return
        callback(self)

    def cancel(self) -> None:
        """Cancel the job's scope (from any thread); its outcome then says so."""
        self.cancelled = True
        if self.delegate is not None:
            self.delegate.cancel()
            return

        def cancel() -> None:
            self._cancel_requested = True
            if self._scope is not None:
                self._scope.cancel()

        try:
            self._bridge._run_sync_soon(cancel)
        except (trio.RunFinishedError, BridgeClosedError):
            pass

    def _finish(self, result: outcome.Outcome[T]) -> None:
        with self._lock:
            self.outcome = result
            self.done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def result(self) -> T:
        """The value, or raise the error (only once :attr:`done`)."""
        assert self.outcome is not None
        return self.outcome.unwrap()

    def wait(self) -> T:
        """Block until done and return the value (or raise). Ctrl-C (``KeyboardInterrupt``)
        while waiting cancels the job, waits for it to end, and raises ``KeyboardInterrupt``."""
        try:
            self.done.wait()
        except KeyboardInterrupt:
            self.cancel()
            self.wait_uninterrupted()
            raise
        return self.result()

    def wait_uninterrupted(self) -> None:
        """Block until done, through further Ctrl-C presses (the cleanup they would cut short
        is what stops codex)."""
        while True:
            try:
                self.target.done.wait()
                return
            except KeyboardInterrupt:
                continue

    async def _run(self, fn: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> None:
        result: outcome.Outcome[T] | None = None
        try:
            with trio.CancelScope() as scope:
                self._scope = scope
                if self._cancel_requested:
                    scope.cancel()
                try:
                    result = outcome.Value(await fn(*args))
                except BaseException as exc:
                    # A trio Cancelled (or a group of them, from the core's nurseries) never
                    # reaches the caller: it means our cancel, or the loop stopping.
                    if _only_cancelled(exc):
                        result = outcome.Error(
                            JobCancelled()
                            if self._cancel_requested
                            else BridgeClosedError("the front door's loop stopped")
                        )
                    else:
                        result = outcome.Error(_without_cancelled(exc))
        finally:
            self._scope = None
            if result is None:  # pragma: no cover - the loop's nursery cancelled us first
                result = outcome.Error(BridgeClosedError("the front door's loop stopped"))
            self._finish(result)


def _without_cancelled(exc: BaseException) -> BaseException:
    """``exc`` without the Cancelled of a group (the errors that happened while cancelling)."""
    if isinstance(exc, BaseExceptionGroup):
        rest = exc.split(trio.Cancelled)[1]
        if rest is not None:
            return rest.exceptions[0] if len(rest.exceptions) == 1 else rest
    return exc


def _only_cancelled(exc: BaseException) -> bool:
    if isinstance(exc, trio.Cancelled):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(trio.Cancelled)[1] is None
    return False


class Bridge:
    """A trio loop on a daemon thread; see the module docstring."""

    def __init__(self, name: str = "codex-trio-bridge") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._stop: trio.Event | None = None
        self._closed = False
        self._failure: BaseException | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _start(self) -> None:
        with self._lock:
            if self._closed:
                raise BridgeClosedError("this front door is closed")
            if self._thread is not None:
                return
            ready = threading.Event()

            async def main() -> None:
                self._stop = trio.Event()
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    self._token = trio.lowlevel.current_trio_token()
                    ready.set()
                    await self._stop.wait()
                    nursery.cancel_scope.cancel()

            def run() -> None:
                try:
                    trio.run(main)
                except BaseException as exc:  # pragma: no cover - the loop itself failing
                    self._failure = exc
                finally:
                    self._token = None
                    ready.set()

            thread = threading.Thread(target=run, name=self._name, daemon=True)
            thread.start()
            ready.wait()
            if self._token is None:  # pragma: no cover
                raise BridgeClosedError(f"the front door's loop failed: {self._failure!r}")
            self._thread = thread
            assert self._stop is not None
            self._finalizer = weakref.finalize(self, _stop_loop, self._token, self._stop, thread)

    def _run_sync_soon(self, fn: Callable[[], None]) -> None:
        token = self._token
        if token is None:
            raise BridgeClosedError("this front door's loop is not running")
        token.run_sync_soon(fn)

    def spawn(self, fn: Callable[..., Awaitable[T]], *args: Any) -> Job[T]:
        """Start ``await fn(*args)`` on the loop (starting the loop if needed)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "a codex_trio.sync/aio call from the front door's own trio thread would "
                "deadlock; use the trio API there"
            )
        self._start()
        job: Job[T] = Job(self)
        nursery = self._nursery
        assert nursery is not None

        def start() -> None:
            nursery.start_soon(job._run, fn, args)

        self._run_sync_soon(start)
        return job

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``await fn(*args)`` on the loop and block for its result (Ctrl-C: see
        :meth:`Job.wait`)."""
        return self.spawn(fn, *args).wait()

    def hold(self, cm: Callable[[], AbstractAsyncContextManager[T]]) -> Held[T]:
        """Enter ``cm()`` in a host task that keeps it entered until :meth:`Held.release`."""
        return Held(self, cm)

    def close(self) -> None:
        """Stop the loop (cancelling what still runs on it) and join its thread. Idempotent."""
        with self._lock:
            self._closed = True
            finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer()


def _stop_loop(token: trio.lowlevel.TrioToken, stop: trio.Event, thread: threading.Thread) -> None:
    try:
        token.run_sync_soon(stop.set)
    except trio.RunFinishedError:
        pass
    if thread is not threading.current_thread():
        thread.join()


class Held(Generic[T]):
    """An async context manager entered in a host task on the bridge's loop.

    :meth:`start` returns a job whose value is what ``__aenter__`` gave; :meth:`release` lets
    the host leave the context (passing nothing: the caller's exception stays the caller's),
    and :attr:`host` is the host task's job (its outcome: what leaving raised)."""

    def __init__(self, bridge: Bridge, cm: Callable[[], AbstractAsyncContextManager[T]]) -> None:
        self._bridge = bridge
        self._cm = cm
        self._release: trio.Event | None = None
        self.entered: Job[T] = Job(bridge)
        self.host: Job[None] | None = None

    def start(self) -> Job[T]:
        self.host = self._bridge.spawn(self._host)
        self.entered.delegate = self.host
        # Entering failed, or the host was cancelled before entering: the host's outcome says.
        self.host.add_done_callback(self._host_done)
        return self.entered

    def _host_done(self, host: Job[None]) -> None:
        if not self.entered.done.is_set():
            failure = host.outcome
            error = (
                failure.error
                if isinstance(failure, outcome.Error)
                else BridgeClosedError("the context ended before entering")
            )
            self.entered._finish(outcome.Error(error))

    async def _host(self) -> None:
        self._release = trio.Event()
        async with self._cm() as value:
            self.entered._finish(outcome.Value(value))
            await self._release.wait()

    def release(self) -> None:
        """Let the host leave the context (from any thread)."""

        def set_release() -> None:
            if self._release is not None:
                self._release.set()

        try:
            self._bridge._run_sync_soon(set_release)
        except (trio.RunFinishedError, BridgeClosedError):
            pass


class Handoff:
    """A core turn stream carried across the thread boundary.

    A host task on the loop enters the stream's context, iterates it and puts each event into
    a bounded buffer of ``capacity`` events shared with the caller's thread: while the buffer
    is full the host waits (so it stops reading the core's bounded channel, and codex stops);
    the caller takes events with :meth:`get` (blocking) or :meth:`aget` (asyncio). Taking an
    event the host put is a lock and a deque operation, no hop to the loop; only a side that
    found the buffer full (host) or empty (caller) is woken from the other thread.

    :attr:`stream` is the core's :class:`~codex_trio.TurnStream` once entered; :attr:`host` is
    the host task's job: its outcome is what the turn raised, once the buffer has ended."""

    def __init__(
        self,
        bridge: Bridge,
        cm: Callable[[], AbstractAsyncContextManager[Any]],
        capacity: int,
    ) -> None:
        if capacity < 1:
            raise ValueError("a hand-off's capacity must be at least 1")
        self._bridge = bridge
        self._cm = cm
        self.capacity = capacity
        self._items: deque[ThreadEvent] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self._space: trio.Event | None = None  # the host waits for room
        self._wake_caller: Callable[[], None] | None = None  # the caller waits for an event
        self.entered: Job[Any] = Job(bridge)
        self.host: Job[None] | None = None
        self.max_held = 0
        """The most events the hand-off held at once (never more than :attr:`capacity`)."""

    def start(self) -> Job[Any]:
        self.host = self._bridge.spawn(self._pump)
        self.entered.delegate = self.host

        def host_done(host: Job[None]) -> None:
            if not self.entered.done.is_set():
                assert host.outcome is not None
                error = host.outcome
                if isinstance(error, outcome.Value):  # pragma: no cover
                    error = outcome.Error(BridgeClosedError("the stream ended before entering"))
                self.entered._finish(error)

        self.host.add_done_callback(host_done)
        return self.entered

    async def _put(self, event: ThreadEvent) -> None:
        while True:
            with self._lock:
                if len(self._items) < self.capacity:
                    self._items.append(event)
                    held = len(self._items)
                    if held > self.max_held:
                        self.max_held = held
                    wake, self._wake_caller = self._wake_caller, None
                    break
                space = self._space = trio.Event()
            await space.wait()
        if wake is not None:
            wake()

    async def _pump(self) -> None:
        try:
            async with self._cm() as stream:
                self.entered._finish(outcome.Value(stream))
                events: AsyncIterator[ThreadEvent] = aiter(stream)
                async for event in events:
                    await self._put(event)
        finally:
            with self._lock:
                self._closed = True
                wake, self._wake_caller = self._wake_caller, None
            if wake is not None:
                wake()

    def _take(self) -> tuple[bool, ThreadEvent | None]:
        """(True, event or None at the end) if there is something to take; else (False, None)
        -- called with the lock held."""
        if self._items:
            event = self._items.popleft()
            space, self._space = self._space, None
            if space is not None:
                try:
                    self._bridge._run_sync_soon(space.set)
                except (trio.RunFinishedError, BridgeClosedError):  # pragma: no cover
                    pass
            return True, event
        if self._closed:
            return True, None
        return False, None

    def get(self) -> ThreadEvent | None:
        """The next event, blocking (None once the host has ended). Ctrl-C raises here."""
        while True:
            ready = threading.Event()
            with self._lock:
                got, event = self._take()
                if got:
                    return event
                self._wake_caller = ready.set
            ready.wait()

    async def aget(self) -> ThreadEvent | None:
        """The next event, for asyncio (None once the host has ended)."""
        import asyncio

        loop = asyncio.get_running_loop()
        while True:
            ready = asyncio.Event()
            with self._lock:
                got, event = self._take()
                if got:
                    return event

                def wake(ready: asyncio.Event = ready) -> None:
                    try:
                        loop.call_soon_threadsafe(ready.set)
                    except RuntimeError:  # pragma: no cover - the caller's loop is closed
                        pass

                self._wake_caller = wake
            await ready.wait()

    def held(self) -> int:
        """Events in the hand-off now."""
        with self._lock:
            return len(self._items)


async def await_concurrent(fut: Any) -> Any:
    """Await a :class:`concurrent.futures.Future` from trio without a worker thread; a trio
    cancellation cancels the future."""
    event = trio.Event()
    token = trio.lowlevel.current_trio_token()

    def wake(_: Any) -> None:
        try:
            token.run_sync_soon(event.set)
        except trio.RunFinishedError:  # pragma: no cover
            pass

    fut.add_done_callback(wake)
    try:
        await event.wait()
    except trio.Cancelled:
        fut.cancel()
        raise
    return fut.result()


class StreamView:
    """What a front door's turn stream says about itself, the same in both worlds: the core
    stream's result, pid and buffer, and the hand-off's fill. Subclasses set ``_stream`` and
    ``_handoff``."""

    _stream: TurnStream
    _handoff: Handoff

    @property
    def result(self) -> TurnResult:
        """The :class:`~codex_trio.TurnResult`, once the iteration has ended."""
        return self._stream.result

    @property
    def pid(self) -> int | None:
        return self._stream.pid

    def statistics(self) -> TurnStreamStatistics:
        """The core stream's buffer (see :meth:`codex_trio.TurnStream.statistics`)."""
        return self._stream.statistics()

    @property
    def handoff_capacity(self) -> int:
        return self._handoff.capacity

    def handoff_held(self) -> int:
        """Events waiting in the hand-off now (<= its capacity)."""
        return self._handoff.held()

    @property
    def handoff_max_held(self) -> int:
        """The most events the hand-off held at once (<= its capacity)."""
        return self._handoff.max_held


class FrontProxy:
    """What both front doors' proxies share: attribute look-up on the wrapped trio object.
    A coroutine method comes back in the caller's kind (:meth:`_lift`), a plain method with its
    result wrapped (:meth:`_wrap`: a core ``Thread`` becomes the front door's), anything else
    as it is. Subclasses set ``_inner`` and define both hooks."""

    _inner: Any

    def _wrap(self, value: Any) -> Any:
        raise NotImplementedError

    def _lift(self, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._inner, name)
        if inspect.iscoroutinefunction(attr):
            return self._lift(attr)
        if callable(attr) and not isinstance(attr, type):

            @functools.wraps(attr)
            def plain(*args: Any, **kwargs: Any) -> Any:
                return self._wrap(attr(*args, **kwargs))

            return plain
        return attr
