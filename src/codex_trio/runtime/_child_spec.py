"""What a supervisor needs to know about a child, and what it tells the child.

A :class:`ChildSpec` says how to start a child (an async function that reports readiness through
trio's ``task_status.started(value)``), when to restart it (:class:`Restart`) and how long to wait
for it to stop (``shutdown``). A :class:`ChildContext` is what the child receives: its id, how many
times it was restarted, and the ``stop_requested`` event that asks it to finish.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from typing import Any, Literal, Protocol

import attrs
import trio

__all__ = [
    "ChildContext",
    "ChildCounts",
    "ChildInfo",
    "ChildSpec",
    "ChildState",
    "ChildType",
    "Restart",
    "Runnable",
    "Shutdown",
    "StartFunction",
    "runnable_spec",
]


class Restart(enum.StrEnum):
    """When a child that ended is started again (OTP's restart types)."""

    PERMANENT = "permanent"
    """Always: whether it raised or returned. A service that must be up."""
    TRANSIENT = "transient"
    """Only if it raised. A job that should finish, and be retried until it does."""
    TEMPORARY = "temporary"
    """Never, not even when a sibling's failure makes the strategy terminate it. Forgotten as soon
    as it ends (its spec is removed, as in OTP)."""


class ChildType(enum.StrEnum):
    """Whether the child is a worker or a supervisor (only ``count_children`` tells them apart)."""

    WORKER = "worker"
    SUPERVISOR = "supervisor"


class ChildState(enum.StrEnum):
    """Where a child is in its life, as ``which_children`` reports it."""

    STARTING = "starting"
    """Its start function runs but has not called ``task_status.started()`` yet."""
    RUNNING = "running"
    STOPPING = "stopping"
    """The supervisor asked it to stop and waits for it (up to its shutdown timeout)."""
    RESTARTING = "restarting"
    """It ended (or was terminated because a sibling failed) and will be started again."""
    STOPPED = "stopped"
    """Not running, and not about to be: ended without restart, or terminated."""


Shutdown = float | Literal["brutal_kill", "infinity"]
"""How a child is stopped: seconds to wait after setting ``stop_requested`` before cancelling it;
``"brutal_kill"`` to cancel it at once; ``"infinity"`` to wait as long as it takes (the right
choice for a child that is itself a supervisor: it needs the time to stop its own children)."""


@attrs.define(kw_only=True, eq=False)
class ChildContext:
    """What a running child gets from its supervisor; one per start (a restart gets a new one).

    A child that can stop cleanly should watch :attr:`stop_requested` and return soon after it is
    set: it is set when the supervisor shuts down, when a sibling's failure makes the strategy
    restart this child too, and on ``terminate_child``. A child that ignores it is cancelled (its
    cancel scope, the trio form of OTP's kill) once its ``shutdown`` timeout has passed.
    """

    id: str
    """The child's id in its supervisor."""
    supervisor: str
    """The supervisor's name."""
    restart_count: int
    """How many times the supervisor restarted this child before this start (0 the first time)."""
    stop_requested: trio.Event = attrs.field(factory=trio.Event)
    """Set when the supervisor wants the child to finish and return."""


class StartFunction(Protocol):
    """``async def start(ctx, *, task_status) -> None``: runs the child until it is finished.

    It must call ``task_status.started(value)`` once it is ready to serve: the supervisor waits for
    that before it starts the next child (so a child may rely on the children before it), and
    ``value`` is what ``start_child`` returns and ``which_children`` shows (an actor passes
    itself). Raising before ``started`` is a start failure; returning before it is one too.
    After ``started``, raising is a failure and returning is a normal exit.
    """

    def __call__(
        self, ctx: ChildContext, /, *, task_status: trio.TaskStatus[Any]
    ) -> Awaitable[None]: ...


def _check_shutdown(instance: Any, attribute: Any, value: Shutdown) -> None:
    if isinstance(value, str):
        if value not in ("brutal_kill", "infinity"):
            raise ValueError(f"shutdown must be seconds, 'brutal_kill' or 'infinity': {value!r}")
    elif not value >= 0:
        raise ValueError(f"shutdown timeout must be >= 0 seconds: {value!r}")


def _check_id(instance: Any, attribute: Any, value: str) -> None:
    if not value:
        raise ValueError("a child id must be a non-empty string")


@attrs.frozen(kw_only=True)
class ChildSpec:
    """How to start, restart and stop one child of a supervisor.

    ``shutdown`` defaults to 5 seconds: the child gets ``stop_requested`` and that long to return
    before it is cancelled. Cancellation is not negotiable in trio unless the child shields
    itself; a child that shields its cleanup can make its supervisor's shutdown wait for it.
    """

    id: str = attrs.field(validator=_check_id)
    start: StartFunction
    restart: Restart = Restart.PERMANENT
    shutdown: Shutdown = attrs.field(default=5.0, validator=_check_shutdown)
    type: ChildType = ChildType.WORKER


@attrs.frozen(kw_only=True)
class ChildInfo:
    """One child, as ``which_children`` reports it (a snapshot; it does not change)."""

    id: str
    state: ChildState
    restart_count: int
    """How many times the supervisor restarted it (a restart the user asked for does not count)."""
    value: Any
    """What the running child passed to ``task_status.started()``; ``None`` when not running."""
    restart: Restart
    type: ChildType


@attrs.frozen(kw_only=True)
class ChildCounts:
    """``count_children``, as in OTP: ``specs`` children known, ``active`` of them running,
    ``supervisors`` and ``workers`` by type (running or not)."""

    specs: int
    active: int
    supervisors: int
    workers: int


class Runnable(Protocol):
    """Something with a ``run`` method that a supervisor can host: a supervisor or an actor.

    ``run`` reports readiness through ``task_status`` and finishes gracefully soon after
    ``stop_requested`` is set.
    """

    async def run(
        self,
        *,
        task_status: trio.TaskStatus[Any] = ...,
        stop_requested: trio.Event | None = None,
    ) -> None: ...


def runnable_spec(
    runnable: Runnable,
    *,
    id: str,
    restart: Restart = Restart.PERMANENT,
    shutdown: Shutdown = 5.0,
    type: ChildType = ChildType.WORKER,
) -> ChildSpec:
    """A :class:`ChildSpec` that runs ``runnable.run()`` and stops it through ``stop_requested``.

    Every (re)start calls ``run`` again on the same object, so the object must be able to run
    more than once (one run at a time); supervisors and actors can.
    """

    async def start(ctx: ChildContext, *, task_status: trio.TaskStatus[Any]) -> None:
        await runnable.run(task_status=task_status, stop_requested=ctx.stop_requested)

    return ChildSpec(id=id, start=start, restart=restart, shutdown=shutdown, type=type)
