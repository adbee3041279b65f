"""Process models of the supervised runtime on app-server: a pool of N processes, or one process
per thread, with hibernation and recycling (docs/runtime.md, "Process models").

::

    AppServerPool                     what Runtime(transport="app-server") runs turns on
    ├── AppServerSlot 0               one process slot: an AppServerTransport (which restarts its
    ├── AppServerSlot 1               own process, with its own intensity and backoff) opened for
    │   ...                           as long as the slot is awake; a supervised child each
    └── (per-thread) AppServerSlot    one per ThreadActor, run inside the actor's task

A slot lives through *lives*: a life is one ``transport.open()`` block. A process that dies is
restarted within the life by the transport (the threads placed on the slot stay there and
resume on the new process). A life ends on purpose when the slot

* **hibernates**: no turn for ``idle_timeout`` seconds (and more than ``min_app_servers``
  processes are awake): the process stops, the next turn placed on the slot starts one;
* **recycles**: it was given ``max_threads`` threads in this life, or its process grew past
  ``max_rss`` bytes: it is *drained* (no new turn is placed on it, the turns in flight finish),
  then its process is stopped and a fresh one started.

Placement (pool): a thread's first turn goes to the least-loaded slot that is not draining
(fewest threads placed, then fewest turns running, then an awake one, then the lowest index),
and its later turns go to the same slot for as long as that life lasts (sticky). When the life
ends, the thread is placed again at its next turn, and the transport resumes it
(``thread/resume``) on whichever process it lands.

The engine keeps ~1.2 MB per thread it has loaded (docs/app-server.md, "Engine memory"); a
restart frees all of it. Recycling by thread count or RSS therefore bounds the engine's memory
in a daemon that serves thousands of threads a day.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import ClassVar, Literal

import attrs
import trio

from codex_trio._errors import CodexError, TransportError, TurnDeadlineError
from codex_trio._protocol.exec_events import ThreadEvent
from codex_trio._protocol.options import ThreadOptions, TurnOptions
from codex_trio._transport.app_server._client import AppServerClient
from codex_trio._transport.app_server._transport import AppServerTransport
from codex_trio.observe import events as ev
from codex_trio.observe import get_logger, telemetry

__all__ = [
    "AppServerInfo",
    "AppServerPool",
    "AppServerSlot",
    "PooledRunner",
    "read_rss",
]

_log = get_logger("codex_trio._transport.app_server")

PER_THREAD = "per-thread"

_WAKE_BACKOFF_MAX = 30.0


def read_rss(pid: int) -> int | None:
    """The resident set size of ``pid`` in bytes (``VmRSS`` of ``/proc/<pid>/status``), or None
    when it cannot be read (no such process, not Linux)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@attrs.frozen(kw_only=True)
class AppServerInfo:
    """One app-server process slot, as :meth:`Runtime.which_app_servers` reports it."""

    slot: int | None
    """The pool slot (0 to N-1); None for a process of its own (``app_servers="per-thread"``)."""
    thread: str | None
    """The thread that owns the process (``app_servers="per-thread"``), else None."""
    state: str
    """``running``, ``starting``, ``restarting``, ``backoff`` (the transport's states),
    ``draining`` (being recycled: in-flight turns finish, no new ones), ``hibernating`` (no
    process; the next turn starts one), ``stopped``."""
    pid: int | None
    threads_placed: int
    """Threads whose turns go to this slot until its life ends."""
    threads_loaded: int
    """Threads the live process has loaded for this client (started or resumed, not forgotten)."""
    placements: int
    """Threads placed on the slot during its current life (what ``max_threads_per_app_server``
    counts)."""
    turns_running: int
    rss: int | None
    """The process's resident memory in bytes (``/proc``), None without a local process."""
    restarts: int
    """Processes started after one died (the transport's restarts, over every life)."""
    recycles: int
    """Lives ended because of ``max_threads_per_app_server`` or ``max_app_server_rss``."""
    hibernations: int
    """Lives ended because of ``idle_timeout``."""


class AppServerSlot:
    """One app-server process slot (see the module docstring): a :class:`TurnRunner` of its own
    for a per-thread process, or one of an :class:`AppServerPool`'s slots.

    :meth:`run` is the slot's life cycle (a supervised child, or a task of the thread's actor);
    it reports ``started`` once the first process is up (``eager``) or at once (lazy: the first
    turn starts the process).
    """

    name: ClassVar[str] = "app-server"

    def __init__(
        self,
        transport: AppServerTransport,
        pool: AppServerPool,
        *,
        index: int | None,
        thread: str | None = None,
        eager: bool = True,
    ) -> None:
        self.transport = transport
        self.index = index
        self.thread = thread
        self._pool = pool
        self._eager = eager
        self.placed: set[PooledRunner] = set()
        self.placements = 0
        self.running = 0
        """Turns reserved on the slot (waiting for its process, or running)."""
        self.turns_in_life = 0
        """Turns ended on the slot during its current life."""
        self.life = 0
        """Counts the slot's lives: a placement is valid for the life it was made in."""
        self.awake = False
        self.draining: str | None = None
        """Why the slot is being recycled (``threads``, ``rss``), or None."""
        self.recycles = 0
        self.hibernations = 0
        self._active = False
        self._ending = False
        self._changed = trio.Event()
        self._last_activity = 0.0
        self._wake_error: CodexError | None = None
        self._wake_failures = 0
        self._wake_retry_at: float | None = None

    def __repr__(self) -> str:
        where = f"slot {self.index}" if self.index is not None else f"thread {self.thread!r}"
        return f"<AppServerSlot {where} {self.state}>"

    # --- the TurnRunner shape (a per-thread process) ---------------------------------------------

    @property
    def recovers_itself(self) -> bool:
        """True while the slot runs: a dead process is restarted (or a hibernated one started)
        here, so a ``TransportError`` of a turn says nothing about the thread."""
        return self._active

    def forget_thread(self, thread_id: str) -> None:
        self.transport.forget_thread(thread_id)

    def release(self, thread_id: str | None) -> None:
        """The thread this slot serves has stopped (per-thread): forget it; the pool drops the
        slot."""
        if thread_id is not None:
            self.forget_thread(thread_id)
        self._pool._drop_private(self)

    def turn(
        self,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions = TurnOptions(),
        *,
        images: Sequence[str] = (),
        resume_thread_id: str | None = None,
    ) -> AbstractAsyncContextManager[AsyncIterator[ThreadEvent]]:
        """One turn on this slot's process, started first if the slot hibernates; as
        ``AppServerTransport.turn`` (the deadline also bounds the wait for the process)."""
        return self._turn(
            prompt, thread, turn, images=images, resume_thread_id=resume_thread_id, reserved=False
        )

    @property
    def app_server(self) -> AppServerSlot:
        return self

    # --- state -----------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        if not self._active:
            return "stopped"
        if not self.awake:
            return "starting" if self.running and self._wake_retry_at is None else "hibernating"
        if self.draining is not None:
            return "draining"
        return self.transport.status.state

    @property
    def pid(self) -> int | None:
        return self.transport.status.pid if self.awake else None

    def rss(self) -> int | None:
        pid = self.pid
        return read_rss(pid) if pid is not None else None

    def threads_loaded(self) -> int:
        client = self.transport.client
        return client.tracked_threads if client is not None and self.awake else 0

    def info(self) -> AppServerInfo:
        return AppServerInfo(
            slot=self.index,
            thread=self.thread,
            state=self.state,
            pid=self.pid,
            threads_placed=len(self.placed),
            threads_loaded=self.threads_loaded(),
            placements=self.placements,
            turns_running=self.running,
            rss=self.rss(),
            restarts=self.transport.restarts,
            recycles=self.recycles,
            hibernations=self.hibernations,
        )

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()
        self._pool._notify()

    def _accepts(self) -> bool:
        """Whether a thread may be placed here now."""
        return (
            self._active
            and not self._ending
            and self.draining is None
            and self._wake_retry_at is None
        )

    # --- the life cycle --------------------------------------------------------------------------

    async def run(
        self,
        *,
        task_status: trio.TaskStatus[AppServerSlot] = trio.TASK_STATUS_IGNORED,
        stop_requested: trio.Event | None = None,
    ) -> None:
        """Run the slot until ``stop_requested`` is set (or cancelled): wake when a turn needs
        the process, hibernate when idle, recycle when full. The first start failing (eager)
        raises its ``TransportError``; a later one fails the turns waiting for it and is
        retried with backoff at the next turn."""
        if self._active:
            raise RuntimeError(f"{self!r} is already running")
        stop = stop_requested if stop_requested is not None else trio.Event()
        self._active = True
        self._ending = False
        self._last_activity = trio.current_time()
        self._wake_failures = 0
        self._wake_retry_at = None
        reported = False
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._relay_stop, stop)
                wake = self._eager
                while not stop.is_set():
                    if not (wake or self._wanted()):
                        if not reported:
                            task_status.started(self)
                            reported = True
                        await self._changed.wait()
                        continue
                    reason = await self._live(stop, None if reported else task_status)
                    reported = True
                    wake = reason in ("threads", "rss")  # recycled: replaced at once
                nursery.cancel_scope.cancel()
        finally:
            self._active = False
            self.awake = False
            self._end_life()
            self._notify()

    async def _relay_stop(self, stop: trio.Event) -> None:
        await stop.wait()
        self._notify()

    def _wanted(self) -> bool:
        """Should a hibernating slot start its process: a turn waits for it, or fewer than
        ``min_app_servers`` processes are awake."""
        if self._wake_retry_at is not None:
            if trio.current_time() < self._wake_retry_at:
                return False
            self._wake_retry_at = None
        return self.running > 0 or self._pool.awake_count() < self._pool.min_app_servers

    async def _live(
        self, stop: trio.Event, task_status: trio.TaskStatus[AppServerSlot] | None
    ) -> str:
        """One life: the process (restarted by the transport when it dies) from wake-up until
        the slot hibernates, is recycled, or stops. Returns why it ended (``failed`` when the
        process could not be started)."""
        reason = "failed"
        try:
            async with self.transport.open():
                self.awake = True
                self._wake_failures = 0
                self._wake_error = None
                self._last_activity = trio.current_time()
                self._notify()
                if task_status is not None:
                    task_status.started(self)
                reason = await self._serve(stop)
                # From here no turn is placed on this life: its threads go elsewhere (or wait
                # for the next process) while this one is being stopped.
                self._ending = True
                self._notify()
                if reason != "stop":
                    self._account(reason)
        except CodexError as exc:
            if task_status is not None:
                raise  # the first start failing is the caller's error
            self._wake_failed(exc)
        finally:
            self.awake = False
            self._end_life()
            self._notify()
        if self._wake_retry_at is not None and not stop.is_set():
            with trio.move_on_at(self._wake_retry_at):
                await stop.wait()
        return reason

    def _wake_failed(self, exc: CodexError) -> None:
        self._wake_error = exc
        self._wake_failures += 1
        delay = min(_WAKE_BACKOFF_MAX, 2.0 ** (self._wake_failures - 1))
        self._wake_retry_at = trio.current_time() + delay
        _log.error(
            "app_server.start_failed", slot=self._label(), retry_in=delay, error=str(exc)[:300]
        )

    def _end_life(self) -> None:
        self.life += 1
        for runner in self.placed:
            runner._unplaced()
        self.placed.clear()
        self.placements = 0
        self.turns_in_life = 0
        self.draining = None
        self._ending = False

    def _account(self, reason: str) -> None:
        if reason == "idle":
            self.hibernations += 1
        else:
            self.recycles += 1
        rss = self.rss()
        measurements: dict[str, float] = {"count": 1, "threads": self.placements}
        if rss is not None:
            measurements["rss_bytes"] = rss
        telemetry.execute(
            ev.APP_SERVER_RECYCLE,
            measurements,
            {"slot": self._label(), "reason": reason, "transport": "app-server"},
        )
        _log.info(
            "app_server.hibernate" if reason == "idle" else "app_server.recycle",
            slot=self._label(),
            reason=reason,
            threads=self.placements,
            rss=rss,
        )

    def _label(self) -> str:
        return str(self.index) if self.index is not None else PER_THREAD

    async def _serve(self, stop: trio.Event) -> str:
        """Wait until this life should end; returns why: ``stop``, ``idle``, ``threads``,
        ``rss``."""
        while True:
            if stop.is_set():
                return "stop"
            if self.draining is not None and self.running == 0:
                return self.draining
            timeout = math.inf
            idle = self._pool.idle_timeout
            if idle is not None and self.running == 0:
                if self._pool.may_hibernate(self):
                    remaining = self._last_activity + idle - trio.current_time()
                    if remaining <= 0:
                        return "idle"
                    timeout = remaining
                else:
                    timeout = idle  # the floor holds it awake for now: look again later
            with trio.move_on_after(timeout):
                await self._changed.wait()

    # --- turns -----------------------------------------------------------------------------------

    def _reserve(self) -> None:
        self.running += 1
        self._notify()

    def _unreserve(self) -> None:
        self.running -= 1
        self.turns_in_life += 1
        self._last_activity = trio.current_time()
        self.check_recycle()
        self._notify()

    def check_recycle(self) -> None:
        """Start draining when the process has had its threads or outgrown its memory."""
        if self.draining is not None or not self.awake or self._ending:
            return
        pool = self._pool
        if pool.max_threads is not None and self.index is not None:
            if self.placements >= pool.max_threads:
                self.draining = "threads"
        if self.draining is None and pool.max_rss is not None and self.turns_in_life:
            # Only a process that has served turns: one over the limit from the start would
            # be replaced for ever without freeing anything.
            rss = self.rss()
            if rss is not None and rss > pool.max_rss:
                self.draining = "rss"
        if self.draining is not None:
            _log.info("app_server.draining", slot=self._label(), reason=self.draining)
            self._notify()

    async def _wait_awake(self) -> None:
        failures = self._wake_failures
        while not (self.awake and not self._ending and self.transport.recovers_itself):
            if not self._active:
                raise TransportError("the app-server is stopped")
            error = self._wake_error
            if error is not None and (self._wake_failures > failures or self._wake_retry_at):
                raise TransportError(
                    f"the app-server could not be started (next attempt in "
                    f"{max(0.0, (self._wake_retry_at or 0) - trio.current_time()):.1f} s): "
                    f"{error}"
                ) from error
            await self._changed.wait()

    @asynccontextmanager
    async def _turn(
        self,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions,
        *,
        images: Sequence[str],
        resume_thread_id: str | None,
        reserved: bool,
    ) -> AsyncIterator[AsyncIterator[ThreadEvent]]:
        """A turn on this slot (``reserved``: :meth:`_reserve` already counted it)."""
        if not reserved:
            self._reserve()
        try:
            deadline = turn.deadline_from(trio.current_time())
            if turn.timeout is not None:
                turn = attrs.evolve(turn, timeout=None, deadline=deadline)
            with trio.CancelScope(deadline=deadline) as scope:
                await self._wait_awake()
            if scope.cancelled_caught:
                raise TurnDeadlineError(
                    "turn deadline passed while its app-server was being started",
                    thread_id=resume_thread_id,
                )
            async with self.transport.turn(
                prompt, thread, turn, images=images, resume_thread_id=resume_thread_id
            ) as events:
                yield events
        finally:
            self._unreserve()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AppServerClient]:
        """The live client (the process started first if the slot hibernates)."""
        self._reserve()
        try:
            await self._wait_awake()
            async with self.transport.session() as client:
                yield client
        finally:
            self._unreserve()


class PooledRunner:
    """A thread's view of an :class:`AppServerPool` (its ``ThreadState.runner``): remembers the
    slot the thread is placed on, for as long as that slot's life lasts."""

    name: ClassVar[str] = "app-server"

    def __init__(self, pool: AppServerPool) -> None:
        self._pool = pool
        self.slot: AppServerSlot | None = None
        self.life = -1

    @property
    def recovers_itself(self) -> bool:
        return self._pool.active

    @property
    def app_server(self) -> AppServerSlot | None:
        """The slot the thread is placed on, if its placement is still valid."""
        slot = self.slot
        return slot if slot is not None and slot.life == self.life else None

    def _unplaced(self) -> None:
        self.slot = None
        self.life = -1

    def _unplace(self) -> None:
        slot = self.slot
        if slot is not None:
            slot.placed.discard(self)
        self._unplaced()

    def forget_thread(self, thread_id: str) -> None:
        slot = self.app_server
        if slot is not None:
            slot.forget_thread(thread_id)

    def release(self, thread_id: str | None) -> None:
        """The thread has stopped: its records on the process are dropped (the engine unloads
        it) and it no longer counts as placed."""
        if thread_id is not None:
            self.forget_thread(thread_id)
        self._unplace()
        self._pool._notify()

    def turn(
        self,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions = TurnOptions(),
        *,
        images: Sequence[str] = (),
        resume_thread_id: str | None = None,
    ) -> AbstractAsyncContextManager[AsyncIterator[ThreadEvent]]:
        return self._pool._turn(
            self, prompt, thread, turn, images=images, resume_thread_id=resume_thread_id
        )


class AppServerPool:
    """The app-server processes of a runtime: ``size`` slots, or one per thread
    (``size="per-thread"``); see the module docstring.

    ``make_transport(slot_label)`` builds each slot's :class:`AppServerTransport` (the runtime's
    options, approval handler, tools and listeners). Pool slots are run by the runtime as
    supervised children (:attr:`slots`, :meth:`AppServerSlot.run`); a per-thread slot is made by
    :meth:`private_slot` and run by its thread's actor.
    """

    def __init__(
        self,
        make_transport: Callable[[str, bool], AppServerTransport],
        *,
        size: int | Literal["per-thread"] = 1,
        idle_timeout: float | None = None,
        min_app_servers: int = 0,
        max_threads: int | None = None,
        max_rss: int | None = None,
        sample_interval: float = 5.0,
    ) -> None:
        self._make_transport = make_transport
        self.per_thread = size == PER_THREAD
        self.idle_timeout = idle_timeout
        self.min_app_servers = min_app_servers
        self.max_threads = max_threads
        self.max_rss = max_rss
        self.sample_interval = sample_interval
        self.slots: list[AppServerSlot] = []
        if not self.per_thread:
            assert isinstance(size, int)
            self.slots = [
                AppServerSlot(make_transport(str(n), False), self, index=n) for n in range(size)
            ]
        self._private: dict[int, AppServerSlot] = {}
        self._changed = trio.Event()

    # --- threads ---------------------------------------------------------------------------------

    def runner(self) -> PooledRunner:
        """A new thread's runner (pool mode)."""
        return PooledRunner(self)

    def private_slot(self, thread: str) -> AppServerSlot:
        """A new thread's own process slot (per-thread mode), started at its first turn."""
        slot = AppServerSlot(
            self._make_transport(PER_THREAD, True), self, index=None, thread=thread, eager=False
        )
        self._private[id(slot)] = slot
        return slot

    def _drop_private(self, slot: AppServerSlot) -> None:
        self._private.pop(id(slot), None)

    @property
    def active(self) -> bool:
        return any(slot._active for slot in self.slots)

    def all_slots(self) -> list[AppServerSlot]:
        return [*self.slots, *self._private.values()]

    def awake_count(self) -> int:
        return sum(1 for slot in self.all_slots() if slot.awake and not slot._ending)

    def may_hibernate(self, slot: AppServerSlot) -> bool:
        """Would ``slot`` hibernating leave at least ``min_app_servers`` processes awake."""
        others = sum(1 for s in self.all_slots() if s is not slot and s.awake and not s._ending)
        return others >= self.min_app_servers

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def infos(self) -> list[AppServerInfo]:
        return [slot.info() for slot in self.all_slots()]

    # --- placement -------------------------------------------------------------------------------

    def _pick(self) -> AppServerSlot | None:
        candidates = [slot for slot in self.slots if slot._accepts()]
        if not candidates:
            return None
        return min(
            candidates,
            key=lambda s: (len(s.placed), s.running, not s.awake, s.index or 0),
        )

    async def _place(self, runner: PooledRunner, thread_id: str | None = None) -> AppServerSlot:
        """The slot for ``runner``'s next turn (sticky while its life lasts), reserved."""
        while True:
            slot = runner.app_server
            if slot is not None and slot._accepts():
                slot._reserve()
                return slot
            if slot is not None and thread_id is not None and slot.draining is not None:
                # Moving off a process being drained: let it unload the thread now, so that
                # the resume elsewhere does not wait for it to exit ("already has an active
                # writer" until then; the client retries that).
                slot.forget_thread(thread_id)
            runner._unplace()
            slot = self._pick()
            if slot is not None:
                slot.placed.add(runner)
                slot.placements += 1
                runner.slot, runner.life = slot, slot.life
                slot._reserve()
                if self.max_threads is not None and slot.placements >= self.max_threads:
                    # Full: the turns placed so far finish there, then it is replaced.
                    slot.draining = "threads"
                    _log.info("app_server.draining", slot=slot._label(), reason="threads")
                return slot
            if not self.active:
                raise TransportError("the app-server pool is stopped")
            backing_off = [s for s in self.slots if s._wake_retry_at is not None]
            if backing_off and len(backing_off) == sum(1 for s in self.slots if s._active):
                error = backing_off[0]._wake_error
                raise TransportError(
                    f"no app-server of the pool can be started (last error: {error})"
                )
            await self._changed.wait()

    @asynccontextmanager
    async def _turn(
        self,
        runner: PooledRunner,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions,
        *,
        images: Sequence[str],
        resume_thread_id: str | None,
    ) -> AsyncIterator[AsyncIterator[ThreadEvent]]:
        deadline = turn.deadline_from(trio.current_time())
        if turn.timeout is not None:
            turn = attrs.evolve(turn, timeout=None, deadline=deadline)
        with trio.CancelScope(deadline=deadline) as scope:
            slot = await self._place(runner, resume_thread_id)
        if scope.cancelled_caught:
            raise TurnDeadlineError(
                "turn deadline passed while waiting for an app-server of the pool",
                thread_id=resume_thread_id,
            )
        async with slot._turn(
            prompt, thread, turn, images=images, resume_thread_id=resume_thread_id, reserved=True
        ) as events:
            yield events

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AppServerClient]:
        """A client for requests outside turns: an awake slot's (the least busy), or the first
        one woken."""
        while True:
            awake = [s for s in self.slots if s._accepts() and s.awake]
            slot = min(awake, key=lambda s: s.running) if awake else self._pick()
            if slot is not None:
                break
            if not self.active:
                raise TransportError("the app-server pool is stopped")
            await self._changed.wait()
        async with slot.session() as client:
            yield client

    # --- samples ---------------------------------------------------------------------------------

    def sample(self) -> None:
        """Emit ``("codex", "app_server", "sample")`` for each pool slot (or one for all the
        per-thread processes), and start draining a process past ``max_rss``."""
        for slot in self.all_slots():
            if slot.running == 0:
                slot.check_recycle()
        groups: list[tuple[str, list[AppServerSlot]]] = [
            (slot._label(), [slot]) for slot in self.slots
        ]
        if self.per_thread:
            groups.append((PER_THREAD, list(self._private.values())))
        for label, slots in groups:
            rss = [r for r in (s.rss() for s in slots) if r is not None]
            measurements: dict[str, float] = {
                "threads_placed": sum(len(s.placed) for s in slots)
                + (len(slots) if label == PER_THREAD else 0),
                "threads_loaded": sum(s.threads_loaded() for s in slots),
                "turns_running": sum(s.running for s in slots),
                "awake": sum(1 for s in slots if s.awake),
                "rss_bytes": sum(rss),
            }
            telemetry.execute(
                ev.APP_SERVER_SAMPLE, measurements, {"slot": label, "transport": "app-server"}
            )

    async def run_sampler(
        self,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
        stop_requested: trio.Event | None = None,
    ) -> None:
        """Sample every :attr:`sample_interval` seconds until ``stop_requested``."""
        stop = stop_requested if stop_requested is not None else trio.Event()
        task_status.started()
        while not stop.is_set():
            self.sample()
            with trio.move_on_after(self.sample_interval):
                await stop.wait()
