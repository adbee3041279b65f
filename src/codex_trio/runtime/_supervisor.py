"""Supervisors: start children in order, restart them when they end, stop them in reverse order.

The semantics are OTP's ``supervisor`` (see docs/runtime.md for the whole picture):

* children start one after the other, each waiting for the previous one's
  ``task_status.started()``, so a child may rely on every child before it;
* a child that raises has *failed*; one that returns has *exited normally*. Whether it comes back
  depends on its :class:`~codex_trio.runtime._child_spec.Restart` type, and what else is restarted
  with it on the :class:`Strategy`;
* more than ``max_restarts`` restarts within ``max_seconds`` and the supervisor gives up: it
  terminates all its children and raises
  :class:`~codex_trio.runtime._errors.RestartIntensityExceeded`, which is a failure of the
  supervisor itself when it is the child of another one (escalation);
* stopping terminates the children in reverse start order, each within its ``shutdown`` timeout.

How it maps onto trio: every child runs in its own cancel scope in the supervisor's nursery.
Everything that changes the set of children (reacting to a child's end, ``start_child``,
``terminate_child``, ``stop``...) is done by one task, the supervisor's own, in the order the
requests arrive, as an OTP supervisor process handles its messages one at a time. The other
tasks send it requests and wait for the answer. So an operation never races another one, and
cancelling the task that asked for it does not leave it half done: the supervisor finishes it
and the answer is discarded.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, Self, TypeVar, cast

import attrs
import trio

from codex_trio._intensity import RestartIntensity
from codex_trio._redact import redact
from codex_trio.observe import events
from codex_trio.observe.telemetry import EventName, TelemetryBus, default_bus
from codex_trio.runtime._child_spec import (
    ChildContext,
    ChildCounts,
    ChildInfo,
    ChildSpec,
    ChildState,
    ChildType,
    Restart,
    Shutdown,
    runnable_spec,
)
from codex_trio.runtime._errors import (
    ChildFailure,
    ChildRunning,
    ChildStartError,
    DuplicateChild,
    RestartIntensityExceeded,
    SupervisorError,
    SupervisorNotRunning,
    UnknownChild,
)
from codex_trio.runtime._mailbox import ReplySlot

__all__ = ["BaseSupervisor", "Strategy", "Supervisor", "supervisor_spec"]

T = TypeVar("T")

_names: Final = itertools.count(1)

# Telemetry ``reason`` values for a terminated child.
REASON_SHUTDOWN: Final = "shutdown"  # the supervisor stops (or gave up)
REASON_SIBLING: Final = "sibling_restart"  # a sibling failed and the strategy restarts this one
REASON_REQUESTED: Final = "terminate_child"  # terminate_child() was called


class Strategy(enum.StrEnum):
    """Which children are restarted when one of them ends and must be restarted."""

    ONE_FOR_ONE = "one_for_one"
    """Only that child. For independent children."""
    ONE_FOR_ALL = "one_for_all"
    """All of them: the others are terminated (latest started first), then all are started again
    in order. For children that cannot work without each other."""
    REST_FOR_ONE = "rest_for_one"
    """That child and the ones started after it (which depend on it, start order being dependency
    order): those are terminated latest first, then restarted in order."""


@attrs.define(eq=False)
class _Instance:
    """One start of a child: its task's cancel scope and how it ended."""

    child: _Child
    ctx: ChildContext
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    done: trio.Event = attrs.field(factory=trio.Event)
    terminating: bool = False  # the supervisor is stopping it: its end is expected
    failure: Exception | None = None
    killed: bool = False  # its cancel scope was cancelled (brutal kill or shutdown timeout)


@attrs.define(eq=False)
class _Child:
    spec: ChildSpec
    state: ChildState = ChildState.STOPPED
    restart_count: int = 0
    value: Any = None
    instance: _Instance | None = None


@attrs.frozen(eq=False)
class _ChildExited:
    instance: _Instance


@attrs.frozen(eq=False)
class _Command:
    action: Callable[[], Awaitable[Any]]
    reply: ReplySlot[Any]


class _StopRequest:
    pass


_Message = _ChildExited | _Command | _StopRequest


class _GiveUp(Exception):
    def __init__(self, error: RestartIntensityExceeded) -> None:
        self.error = error


class _StartProbe:
    """Passes ``started()`` on to trio, remembering that it was called."""

    def __init__(self, inner: trio.TaskStatus[Any]) -> None:
        self._inner = inner
        self.called = False

    def started(self, value: Any = None) -> None:
        self.called = True
        self._inner.started(value)


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "normal"
    text = redact(str(exc))
    text = text if len(text) <= 200 else text[:200] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class BaseSupervisor:
    """What :class:`Supervisor` and :class:`~codex_trio.runtime.DynamicSupervisor` share.

    Not meant to be instantiated; use one of the two. Useful as a type ("any supervisor").
    """

    def __init__(
        self,
        *,
        max_restarts: int,
        max_seconds: float,
        name: str | None,
        bus: TelemetryBus | None,
    ) -> None:
        if max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, not {max_restarts}")
        if not max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0, not {max_seconds}")
        self.name: str = name if name is not None else f"{type(self).__name__}-{next(_names)}"
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds
        self._bus = default_bus if bus is None else bus
        self._children: list[_Child] = []
        self._by_id: dict[str, _Child] = {}
        self._running = False
        self._accepting = False
        self._stop_sent = False
        self._finished: trio.Event | None = None
        self._nursery: trio.Nursery | None = None
        self._inbox: trio.MemorySendChannel[_Message] | None = None
        self._intensity = RestartIntensity(max_restarts, max_seconds)
        self._failures: deque[ChildFailure] = deque(maxlen=max_restarts + 1)

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return f"<{type(self).__name__} {self.name!r} {state}, {len(self._children)} children>"

    # --- the hooks the two kinds of supervisor differ by -----------------------------------------

    def _initial_specs(self) -> Iterable[ChildSpec]:
        return ()

    def _restart_group(self, failed: _Child) -> list[_Child]:
        """The children to restart with ``failed``, in start order, ``failed`` included."""
        return [failed]

    def _forget_when_stopped(self, spec: ChildSpec) -> bool:
        """Whether a child that stopped for good is removed (rather than kept as stopped)."""
        return spec.restart is Restart.TEMPORARY

    def _check_can_add(self, spec: ChildSpec) -> None:
        return None

    async def _terminate_all(self, reason: str) -> None:
        """Terminate every running child, latest started first, one at a time."""
        for child in reversed(self._children):
            if child.instance is not None:
                await self._terminate(child.instance, reason)

    # --- running ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True from the start of :meth:`run` until its end (starting and stopping included)."""
        return self._running

    async def run(
        self,
        *,
        task_status: trio.TaskStatus[Self] = trio.TASK_STATUS_IGNORED,
        stop_requested: trio.Event | None = None,
    ) -> None:
        """Start the children in order, report ``started(self)``, then supervise until stopped.

        Use it as ``sup = await nursery.start(supervisor.run)``, or host it in another
        supervisor with :func:`supervisor_spec`. It returns after :meth:`stop` (or once
        ``stop_requested`` is set), all children having been terminated in reverse start order.

        Raises, after all children have been terminated:

        * :class:`~codex_trio.runtime._errors.ChildStartError` before ``started`` when an initial
          child fails to start;
        * :class:`~codex_trio.runtime._errors.RestartIntensityExceeded` when children end too
          often.

        Cancelling ``run`` cancels every child at once (a brutal kill of the whole subtree, no
        ordered shutdown): stop gracefully with :meth:`stop`. A supervisor runs once at a time
        (``RuntimeError`` otherwise) but can run again after it ended, starting from its
        initial children with a clean restart history: that is what a parent supervisor does
        when it restarts it.
        """
        if self._running:
            raise RuntimeError(f"supervisor {self.name!r} is already running")
        self._running = True
        finished = self._finished = trio.Event()
        self._stop_sent = False
        self._intensity.reset()
        self._failures.clear()
        self._children = [_Child(spec) for spec in self._initial_specs()]
        self._by_id = {child.spec.id: child for child in self._children}
        send, receive = trio.open_memory_channel[_Message](math.inf)
        # Unbounded, yet bounded in practice: it holds at most one end per running child plus
        # one request per task waiting for an answer.
        self._inbox = send
        self._accepting = True
        error: SupervisorError | None = None
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if stop_requested is not None:
                    nursery.start_soon(self._relay_stop, stop_requested)
                error = await self._start_initial()
                if error is None:
                    task_status.started(self)
                    error = await self._serve(receive)
                nursery.cancel_scope.cancel()  # only the stop relay can be left
        finally:
            self._accepting = False
            self._nursery = None
            self._drain(receive)
            for child in self._children:
                child.instance = None
                child.value = None
                child.state = ChildState.STOPPED
            self._running = False
            finished.set()
        if error is not None:
            raise error

    async def stop(self) -> None:
        """Stop the supervisor: terminate the children in reverse start order, end :meth:`run`.

        Each child gets its ``stop_requested`` set and up to its ``shutdown`` timeout to return
        before it is cancelled (at once for ``"brutal_kill"``, never for ``"infinity"``). Returns
        when :meth:`run` has ended. Does nothing if the supervisor is not running. If the
        supervisor is busy (starting a child, waiting for one to stop), the stop is handled
        after that. Cancelling ``stop`` only stops the waiting; the shutdown goes on.
        """
        finished = self._finished
        if not self._running or finished is None:
            await trio.lowlevel.checkpoint()
            return
        self._request_stop()
        await finished.wait()

    def request_stop(self) -> None:
        """Ask for the shutdown :meth:`stop` performs, without waiting for it.

        The way for a child to stop its own supervisor: ``stop`` would wait for the shutdown,
        which waits for that very child (forever, with ``shutdown="infinity"``).
        """
        self._request_stop()

    # --- inspecting ------------------------------------------------------------------------------

    def which_children(self) -> list[ChildInfo]:
        """A snapshot of every child, in start order."""
        return [
            ChildInfo(
                id=c.spec.id,
                state=c.state,
                restart_count=c.restart_count,
                value=c.value,
                restart=c.spec.restart,
                type=c.spec.type,
            )
            for c in self._children
        ]

    def count_children(self) -> ChildCounts:
        """How many children there are, running, and of each type (OTP's ``count_children``)."""
        supervisors = sum(1 for c in self._children if c.spec.type is ChildType.SUPERVISOR)
        return ChildCounts(
            specs=len(self._children),
            active=sum(1 for c in self._children if c.instance is not None),
            supervisors=supervisors,
            workers=len(self._children) - supervisors,
        )

    # --- operations (run by the supervisor's task) -----------------------------------------------

    async def start_child(self, spec: ChildSpec) -> Any:
        """Add a child after the existing ones and start it; return what it passed to ``started``.

        Raises ``DuplicateChild`` if the id is taken, ``ChildStartError`` if it fails to start
        (it is then not kept), ``SupervisorNotRunning``.
        """

        async def action() -> Any:
            if spec.id in self._by_id:
                raise DuplicateChild(supervisor=self.name, child_id=spec.id)
            self._check_can_add(spec)
            child = _Child(spec)
            self._children.append(child)
            self._by_id[spec.id] = child
            try:
                return await self._start_instance(child, restarting=False)
            except ChildStartError:
                self._remove(child)
                raise

        return await self._submit(action)

    async def terminate_child(self, child_id: str) -> None:
        """Stop a child as a shutdown would (``stop_requested``, timeout, cancel); no restart.

        A supervisor keeps a stopped child's spec (``restart_child`` starts it again), except a
        temporary one; a dynamic supervisor forgets it. Terminating a stopped child does
        nothing. ``UnknownChild``, ``SupervisorNotRunning``.
        """

        async def action() -> None:
            child = self._get(child_id)
            if child.instance is not None:
                await self._terminate(child.instance, REASON_REQUESTED)
            if self._forget_when_stopped(child.spec):
                self._remove(child)

        await self._submit(action)

    # --- internals -------------------------------------------------------------------------------

    def _get(self, child_id: str) -> _Child:
        child = self._by_id.get(child_id)
        if child is None:
            raise UnknownChild(supervisor=self.name, child_id=child_id)
        return child

    def _remove(self, child: _Child) -> None:
        self._children.remove(child)
        del self._by_id[child.spec.id]

    def _emit(self, event: EventName, **metadata: Any) -> None:
        self._bus.execute(event, {}, {"supervisor": self.name, **metadata})

    async def _submit(self, action: Callable[[], Awaitable[T]]) -> T:
        if not self._accepting or self._inbox is None:
            raise SupervisorNotRunning(supervisor=self.name)
        reply: ReplySlot[Any] = ReplySlot()
        self._inbox.send_nowait(_Command(action, reply))
        return cast(T, await reply.wait())

    def _request_stop(self) -> None:
        if self._accepting and self._inbox is not None and not self._stop_sent:
            self._stop_sent = True
            self._inbox.send_nowait(_StopRequest())

    async def _relay_stop(self, stop_requested: trio.Event) -> None:
        await stop_requested.wait()
        self._request_stop()

    def _drain(self, receive: trio.MemoryReceiveChannel[_Message]) -> None:
        """Answer the requests nobody will handle now: the supervisor has ended."""
        while True:
            try:
                message = receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            if isinstance(message, _Command):
                message.reply.set_error(SupervisorNotRunning(supervisor=self.name))
        receive.close()
        if self._inbox is not None:
            self._inbox.close()
            self._inbox = None

    async def _start_initial(self) -> ChildStartError | None:
        for child in list(self._children):
            try:
                await self._start_instance(child, restarting=False)
            except ChildStartError as exc:
                await self._terminate_all(REASON_SHUTDOWN)
                return exc
        return None

    async def _serve(self, receive: trio.MemoryReceiveChannel[_Message]) -> SupervisorError | None:
        """Handle child ends and requests one at a time until stopped or giving up."""
        async for message in receive:
            if isinstance(message, _ChildExited):
                try:
                    await self._on_exit(message.instance)
                except _GiveUp as give_up:
                    await self._terminate_all(REASON_SHUTDOWN)
                    return give_up.error
            elif isinstance(message, _Command):
                try:
                    result = await message.action()
                except Exception as exc:
                    message.reply.set_error(exc)
                else:
                    message.reply.set_value(result)
                finally:
                    # Only if cancelled half-way: the supervisor is being torn down.
                    message.reply.set_error(SupervisorNotRunning(supervisor=self.name))
            else:
                await self._terminate_all(REASON_SHUTDOWN)
                return None
        return None  # not reached: the supervisor holds the send side open

    async def _start_instance(self, child: _Child, *, restarting: bool) -> Any:
        """Start one child and wait for its ``started``; ``ChildStartError`` if it fails first."""
        assert self._nursery is not None
        ctx = ChildContext(
            id=child.spec.id, supervisor=self.name, restart_count=child.restart_count
        )
        instance = _Instance(child=child, ctx=ctx)
        child.instance = instance
        child.state = ChildState.STARTING
        try:
            value = await self._nursery.start(self._host, instance)
        except Exception as exc:
            child.instance = None
            child.state = ChildState.STOPPED
            raise ChildStartError(supervisor=self.name, child_id=child.spec.id, reason=exc) from exc
        child.value = value
        child.state = ChildState.RUNNING
        self._emit(
            events.SUPERVISOR_CHILD_START,
            child_id=child.spec.id,
            reason="restart" if restarting else "start",
        )
        return value

    async def _host(self, instance: _Instance, *, task_status: trio.TaskStatus[Any]) -> None:
        """The task a child runs in: its own cancel scope, and a report to the supervisor."""
        probe = _StartProbe(task_status)
        try:
            try:
                with instance.scope:
                    await instance.child.spec.start(instance.ctx, task_status=probe)
            except Exception as exc:
                if not probe.called:
                    raise  # nursery.start() raises it in the supervisor's task: a start failure
                instance.failure = exc
            instance.killed = instance.scope.cancelled_caught
            if not probe.called:
                raise RuntimeError("the child returned without calling task_status.started()")
        finally:
            instance.done.set()
        if self._inbox is not None:
            self._inbox.send_nowait(_ChildExited(instance))

    async def _on_exit(self, instance: _Instance) -> None:
        child = instance.child
        if instance.terminating or child.instance is not instance:
            return  # expected (the supervisor stopped it) or stale
        child.instance = None
        child.value = None
        failure = instance.failure
        restart = child.spec.restart
        if restart is Restart.TEMPORARY or (restart is Restart.TRANSIENT and failure is None):
            child.state = ChildState.STOPPED
            if self._forget_when_stopped(child.spec):
                self._remove(child)
            return
        child.state = ChildState.RESTARTING
        self._count_restart(child, failure)
        group = self._restart_group(child)
        siblings: list[_Child] = []
        for other in reversed(group):
            if other is child or other.instance is None:
                continue
            await self._terminate(other.instance, REASON_SIBLING)
            if other.spec.restart is Restart.TEMPORARY:
                self._remove(other)  # never restarted, not even for a sibling (OTP)
            else:
                other.state = ChildState.RESTARTING
                siblings.append(other)
        await self._restart_in_order(
            [c for c in group if c is child or c in siblings], child, failure
        )

    def _count_restart(self, child: _Child, failure: BaseException | None) -> None:
        """Record a restart about to happen; ``_GiveUp`` if it is one too many."""
        self._failures.append(ChildFailure(child.spec.id, failure))
        if self._intensity.allow(trio.current_time()):
            return
        self._emit(
            events.SUPERVISOR_INTENSITY_EXCEEDED,
            restarts=self.max_restarts,
            window=self.max_seconds,
        )
        raise _GiveUp(
            RestartIntensityExceeded(
                supervisor=self.name,
                max_restarts=self.max_restarts,
                max_seconds=self.max_seconds,
                failures=tuple(self._failures),
            )
        )

    async def _restart_in_order(
        self, members: list[_Child], failed: _Child, failure: BaseException | None
    ) -> None:
        """Start ``members`` in order. A member that fails to start is retried, each attempt
        counting as a restart, until it starts or the intensity is exceeded; the members before
        it, which do not depend on it, stay up."""
        reasons = {id(failed): _reason(failure)}
        for child in members:
            while True:
                child.restart_count += 1
                self._emit(
                    events.SUPERVISOR_CHILD_RESTART,
                    child_id=child.spec.id,
                    reason=reasons.get(id(child), REASON_SIBLING),
                    failed_child=failed.spec.id,
                )
                try:
                    await self._start_instance(child, restarting=True)
                    break
                except ChildStartError as err:
                    child.state = ChildState.RESTARTING
                    reasons[id(child)] = _reason(err.reason)
                    self._count_restart(child, err.reason)

    async def _terminate(self, instance: _Instance, reason: str) -> None:
        """Stop one child: ``stop_requested``, wait up to its shutdown timeout, then cancel."""
        instance.terminating = True
        child = instance.child
        child.state = ChildState.STOPPING
        self._emit(events.SUPERVISOR_CHILD_TERMINATE, child_id=child.spec.id, reason=reason)
        if not instance.done.is_set():
            shutdown: Shutdown = child.spec.shutdown
            if shutdown == "brutal_kill":
                instance.scope.cancel()
            else:
                instance.ctx.stop_requested.set()
                if not isinstance(shutdown, str):
                    with trio.move_on_after(shutdown):
                        await instance.done.wait()
                    instance.scope.cancel()  # nothing happens if it already returned
            # After a cancel the child may still be running its (shielded) cleanup: wait for it.
            await instance.done.wait()
        if child.instance is instance:
            child.instance = None
        child.value = None
        child.state = ChildState.STOPPED


class Supervisor(BaseSupervisor):
    """A supervisor of a fixed list of children (more can be added with ``start_child``).

    ``children`` are started in the order given, and stopped in the reverse order. ``strategy``
    says which children restart together; more than ``max_restarts`` restarts within
    ``max_seconds`` and the supervisor gives up (see :meth:`run`). ``name`` appears in errors
    and telemetry (metadata ``supervisor``); ``bus`` is the telemetry bus to emit on (the
    process-wide default when None; tests pass their own). Duplicate ids: ``DuplicateChild``.

    Telemetry: ``("codex", "supervisor", "child", "start" | "restart" | "terminate")`` with
    metadata ``supervisor``, ``child_id``, ``reason``, and
    ``("codex", "supervisor", "intensity_exceeded")`` with ``restarts`` and ``window``.
    """

    def __init__(
        self,
        children: Iterable[ChildSpec] = (),
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        name: str | None = None,
        bus: TelemetryBus | None = None,
    ) -> None:
        super().__init__(max_restarts=max_restarts, max_seconds=max_seconds, name=name, bus=bus)
        self.strategy = Strategy(strategy)
        self._specs = tuple(children)
        seen: set[str] = set()
        for spec in self._specs:
            if spec.id in seen:
                raise DuplicateChild(supervisor=self.name, child_id=spec.id)
            seen.add(spec.id)
        self._children = [_Child(spec) for spec in self._specs]
        self._by_id = {child.spec.id: child for child in self._children}

    def _initial_specs(self) -> Iterable[ChildSpec]:
        return self._specs

    def _restart_group(self, failed: _Child) -> list[_Child]:
        if self.strategy is Strategy.ONE_FOR_ALL:
            return list(self._children)
        if self.strategy is Strategy.REST_FOR_ONE:
            return self._children[self._children.index(failed) :]
        return [failed]

    async def restart_child(self, child_id: str) -> Any:
        """Start a stopped child again (its spec was kept); return what it passed to ``started``.

        Does not count towards the restart intensity nor the child's ``restart_count``: it is
        asked for, not a reaction to a failure. ``UnknownChild``, ``ChildRunning``,
        ``ChildStartError``, ``SupervisorNotRunning``.
        """

        async def action() -> Any:
            child = self._get(child_id)
            if child.instance is not None:
                raise ChildRunning(supervisor=self.name, child_id=child_id)
            return await self._start_instance(child, restarting=False)

        return await self._submit(action)

    async def delete_child(self, child_id: str) -> None:
        """Forget a stopped child's spec. ``UnknownChild``, ``ChildRunning``."""

        async def action() -> None:
            child = self._get(child_id)
            if child.instance is not None:
                raise ChildRunning(supervisor=self.name, child_id=child_id)
            self._remove(child)

        await self._submit(action)


def supervisor_spec(
    supervisor: BaseSupervisor,
    *,
    id: str | None = None,
    restart: Restart = Restart.PERMANENT,
    shutdown: Shutdown = "infinity",
) -> ChildSpec:
    """A :class:`ChildSpec` hosting ``supervisor`` in another supervisor (a subtree).

    ``id`` defaults to the supervisor's name. ``shutdown`` defaults to ``"infinity"`` (OTP's
    advice for supervisors): the subtree gets the time its own children's timeouts need. When
    the parent restarts it, the supervisor runs again from its initial children.
    """
    return runnable_spec(
        supervisor,
        id=supervisor.name if id is None else id,
        restart=restart,
        shutdown=shutdown,
        type=ChildType.SUPERVISOR,
    )
