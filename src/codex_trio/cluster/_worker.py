"""The worker's side: :class:`ClusterWorker` takes turns from the queue and runs them on a local
:class:`~codex_trio.Runtime`.

For each entry of the turns stream (read in the consumer group, or reclaimed with XAUTOCLAIM
from a worker that stopped heartbeating for ``claim_idle_ms``):

1. a turn already ended (committed, dead-lettered) is acknowledged and dropped: redelivery is
   at least once, and a thread's history holds each turn once;
2. the turn waits until it is the head of its thread's FIFO (turn ids in submit order), so two
   turns of a thread run in order even on two workers; then it takes the thread's lease
   (``SET NX PX`` and a fencing token from ``INCR``, in one script);
3. the thread's rollout file is written into this worker's own CODEX_HOME under
   ``sessions/YYYY/MM/DD/`` with its exact file name (codex finds a thread by it; codex's SQLite
   files never leave the machine), the thread is resumed by its codex thread id on the local
   runtime and the turn run, its events published to the turn's capped events stream;
4. codex is reaped (the runtime's thread stopped), then the rollout is uploaded, the result
   stored, the turn removed from the thread's FIFO, the entry acknowledged, all in one script
   that first checks that the lease still holds this worker's token: a worker that was paused
   or cut off past its lease is *fenced off* and writes nothing.

While a turn runs (or waits for its thread) the worker heartbeats: it renews the lease and
resets the entry's idle time (XCLAIM JUSTID to itself), so nobody reclaims it. A turn that
fails (codex crashed, the thread could not be resumed...) is given back at once for another
delivery; after ``max_deliveries`` it is dead-lettered with its last error (a turn given back
because its worker was shutting down does not count: the delivery is counted once per claim,
and taken back then). What a user's side
effects see: a turn cut short by a crash may run again, as with the local ``RetryPolicy``.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import orjson
import trio

from codex_trio._errors import (
    CodexError,
    ConfigurationError,
    StructuredOutputError,
    TurnDeadlineError,
)
from codex_trio._home import user_codex_home
from codex_trio._protocol import encode_event
from codex_trio.cluster import _events as ev
from codex_trio.cluster import _scripts as scripts
from codex_trio.cluster._codec import (
    decode_input,
    decode_thread_options,
    decode_turn_options,
    encode_error,
    encode_result,
)
from codex_trio.cluster._errors import ClusterError
from codex_trio.cluster._keys import GROUP, Keys
from codex_trio.cluster._publish import EventPublisher
from codex_trio.cluster._redis import Connection
from codex_trio.observe import get_logger
from codex_trio.observe.telemetry import TelemetryBus, default_bus

if TYPE_CHECKING:
    from codex_trio.runtime import Runtime

__all__ = ["ClusterTurnInfo", "ClusterWorker", "WorkerStatus"]

_log = get_logger("codex_trio.cluster")
_FINAL = frozenset({b"done", b"error", b"dead"})
_INLINE_OUTCOME = 64 << 10
"""An outcome up to this size rides on the end event too (the caller reads no hash then)."""


@attrs.define(kw_only=True, eq=False)
class _Held:
    entry_id: bytes
    turn_id: str
    thread_key: str
    reclaimed: bool
    since: float
    state: str = "waiting"
    token: int | None = None
    lease_value: str | None = None
    deliveries: int = 0
    lost: bool = False
    finished: bool = False
    run_scope: trio.CancelScope | None = None
    nursery: trio.Nursery | None = None
    publisher: EventPublisher | None = None


@attrs.frozen(kw_only=True)
class ClusterTurnInfo:
    """One entry a worker holds, as :meth:`ClusterWorker.which_children` reports it."""

    turn_id: str
    thread_key: str
    entry_id: str
    state: str
    """``"waiting"`` (for its thread's earlier turns, or the lease) or ``"running"``."""
    token: int | None
    deliveries: int
    reclaimed: bool
    seconds: float


@attrs.frozen(kw_only=True)
class WorkerStatus:
    """A worker's health (:attr:`ClusterWorker.status`); the same figures are in Redis under
    ``{prefix}:worker:{name}`` while the worker lives."""

    name: str
    state: str
    """``"starting"``, ``"running"``, ``"draining"``, ``"stopped"``."""
    running: int
    held: int
    counters: Mapping[str, int]
    """turns (ended here, any outcome), completed, failed_deliveries, reclaimed,
    lease_conflicts, fenced, dead_lettered, duplicates, requeued, events_dropped,
    rollout_bytes_in, rollout_bytes_out."""


class _Fenced(Exception):
    def __init__(self, stage: str) -> None:
        self.stage = stage


_COUNTERS = (
    "turns",
    "completed",
    "failed_deliveries",
    "reclaimed",
    "lease_conflicts",
    "fenced",
    "dead_lettered",
    "duplicates",
    "requeued",
    "events_dropped",
    "rollout_bytes_in",
    "rollout_bytes_out",
)


class ClusterWorker:
    """Runs turns from a deployment's queue on ``runtime`` (see the module docstring).

    ``async with ClusterWorker(url, runtime=Runtime(...)) as worker:`` starts it (the runtime is
    entered too when it is not running yet, and closed with the worker); or ``await
    worker.run()`` until cancelled or :meth:`aclose`. Leaving stops taking turns, lets running
    ones finish for ``drain_timeout`` seconds, then gives the rest back (claimable at once).

    ``concurrency`` turns run at once; ``prefetch`` more entries may be held waiting for their
    thread (default: as many). ``lease_ms`` is the thread lease's time to live (renewed every
    third of it), ``claim_idle_ms`` how long an entry may go without a heartbeat before another
    worker reclaims it (keep it above ``lease_ms``); ``max_deliveries`` bounds the runs of a
    turn that keeps failing. ``events_maxlen`` caps each turn's events stream; results and
    events are kept ``result_ttl`` seconds after the turn ends. A turn's events go to Redis in
    batches through a buffer of ``event_buffer`` events (and ``event_buffer_bytes``): when
    Redis falls that far behind, later events are dropped and the reader sees an ``EventsGap``
    (the result is always complete). ``event_linger`` seconds let a burst of events gather
    into one batch. A turn waiting
    ``requeue_after`` seconds for its thread goes to the back of the queue. After a turn, the
    rollout is uploaded once codex has written the whole turn into it (waiting up to
    ``rollout_settle_timeout`` seconds: on app-server the writer outlives the turn's events).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        runtime: Runtime,
        password: str | None = None,
        prefix: str = "codex-trio",
        name: str | None = None,
        concurrency: int = 4,
        prefetch: int | None = None,
        lease_ms: int = 30_000,
        claim_idle_ms: int = 60_000,
        max_deliveries: int = 5,
        block_ms: int = 2000,
        result_ttl: float = 86_400.0,
        events_maxlen: int = 1000,
        requeue_after: float = 30.0,
        drain_timeout: float = 30.0,
        reconnect_timeout: float = 60.0,
        sample_interval: float = 5.0,
        rollout_settle_timeout: float = 10.0,
        event_buffer: int = 256,
        event_buffer_bytes: int = 8 << 20,
        event_linger: float = 0.005,
        bus: TelemetryBus | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        if lease_ms < 100 or claim_idle_ms < 100:
            raise ConfigurationError("lease_ms and claim_idle_ms must be at least 100")
        if max_deliveries < 1:
            raise ConfigurationError("max_deliveries must be at least 1")
        if events_maxlen < 1:
            raise ConfigurationError("events_maxlen must be at least 1")
        if event_buffer < 1 or event_buffer_bytes < 1:
            raise ConfigurationError("event_buffer and event_buffer_bytes must be at least 1")
        self.runtime = runtime
        self.keys = Keys(prefix)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        if ":" in self.name or not self.name.strip():
            raise ConfigurationError("a worker name must be non-empty and hold no ':'")
        self.concurrency = concurrency
        self.prefetch = concurrency if prefetch is None else prefetch
        self.lease_ms = lease_ms
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self.block_ms = block_ms
        self.result_ttl_ms = int(result_ttl * 1000)
        self.events_maxlen = events_maxlen
        self.requeue_after = requeue_after
        self.drain_timeout = drain_timeout
        self.sample_interval = sample_interval
        self.rollout_settle_timeout = rollout_settle_timeout
        self.event_buffer = event_buffer
        self.event_buffer_bytes = event_buffer_bytes
        self.event_linger = event_linger
        self._bus = bus if bus is not None else default_bus
        self._conn = Connection(redis_url, password=password, reconnect_timeout=reconnect_timeout)
        self._intake = trio.Semaphore(concurrency + self.prefetch)
        self._running = trio.CapacityLimiter(concurrency)
        self._held: dict[bytes, _Held] = {}
        self._counters = dict.fromkeys(_COUNTERS, 0)
        self._state = "starting"
        self._stop = trio.Event()
        self._changed = trio.Event()  # set (and replaced) whenever a held entry is let go
        self._stopped = trio.Event()
        self._stack: AsyncExitStack | None = None

    def __repr__(self) -> str:
        return f"<ClusterWorker {self.name} {self._conn.url} state={self._state}>"

    @property
    def url(self) -> str:
        return self._conn.url

    @property
    def codex_home(self) -> Path:
        """The CODEX_HOME codex runs in on this worker (the runtime's private one, else the
        environment's): rollouts are downloaded into its ``sessions/``."""
        home = self.runtime.codex_home
        if home is not None:
            return home.path
        return user_codex_home(self.runtime.options.env)

    # --- health ------------------------------------------------------------------------------

    @property
    def status(self) -> WorkerStatus:
        return WorkerStatus(
            name=self.name,
            state=self._state,
            running=sum(1 for h in self._held.values() if h.state == "running"),
            held=len(self._held),
            counters=dict(self._counters),
        )

    def which_children(self) -> list[ClusterTurnInfo]:
        """The entries this worker holds: waiting for their thread, or running."""
        now = trio.current_time()
        return [
            ClusterTurnInfo(
                turn_id=h.turn_id,
                thread_key=h.thread_key,
                entry_id=h.entry_id.decode(),
                state=h.state,
                token=h.token,
                deliveries=h.deliveries,
                reclaimed=h.reclaimed,
                seconds=now - h.since,
            )
            for h in list(self._held.values())
        ]

    def _emit(self, name: Any, measurements: dict[str, float], **metadata: Any) -> None:
        self._bus.execute(name, measurements, {"worker": self.name, **metadata})

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> ClusterWorker:
        if self._stack is not None or self._state != "starting":
            raise RuntimeError("a ClusterWorker runs once")
        stack = AsyncExitStack()
        try:
            if not self.runtime.accepting:
                await stack.enter_async_context(self.runtime)
            await stack.enter_async_context(self._conn)
            await self._ensure_group()
            nursery = await stack.enter_async_context(trio.open_nursery())
            await nursery.start(self._serve)
        except BaseException:
            self._stop.set()
            self._state = "stopped"
            self._stopped.set()
            await stack.aclose()  # not shielded: see Connection.__aexit__
            raise
        self._stack = stack
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def aclose(self) -> None:
        """Stop taking turns, drain (``drain_timeout``), give the rest back; returns once the
        worker has stopped."""
        self._stop.set()
        with trio.CancelScope(shield=True):
            await self._stopped.wait()

    async def run(
        self, *, task_status: trio.TaskStatus[ClusterWorker] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run until :meth:`aclose` (or cancellation); see the class docstring."""
        async with self:
            task_status.started(self)
            await self._stopped.wait()

    async def _serve(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            self._state = "running"
            _log.info("cluster.worker.started", worker=self.name, url=self.url)
            async with trio.open_nursery() as turns:
                async with trio.open_nursery() as loops:
                    loops.start_soon(self._read_loop, turns)
                    loops.start_soon(self._claim_loop, turns)
                    loops.start_soon(self._sample_loop)
                    task_status.started()
                    await self._stop.wait()
                    loops.cancel_scope.cancel()
                self._state = "draining"
                with trio.move_on_after(self.drain_timeout):
                    while any(h.state == "running" for h in self._held.values()):
                        await self._changed.wait()
                turns.cancel_scope.cancel()  # what is left gives its entry back
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                try:
                    await self._conn.call(
                        lambda r: r.delete([self.keys.worker(self.name)]), give_up_after=2
                    )
                except ClusterError:
                    pass
        finally:
            self._state = "stopped"
            self._stopped.set()
            _log.info("cluster.worker.stopped", worker=self.name)

    async def _ensure_group(self) -> None:
        import coredis.exceptions

        async def create(r: Any) -> None:
            try:
                await r.xgroup_create(self.keys.turns, GROUP, "0", mkstream=True)
            except coredis.exceptions.StreamDuplicateConsumerGroupError:
                pass

        await self._conn.call(create)

    # --- taking entries ----------------------------------------------------------------------

    async def _read_loop(self, turns: trio.Nursery) -> None:
        keys = self.keys
        while True:
            await self._intake.acquire()
            try:
                reply = await self._conn.call(
                    lambda r: r.xreadgroup(
                        GROUP, self.name, {keys.turns: ">"}, count=1, block=self.block_ms
                    )
                )
            except ClusterError as exc:
                self._intake.release()
                if "NOGROUP" in str(exc):  # the server lost its data: start again
                    await self._ensure_group()
                    continue
                _log.warning("cluster.read.failed", worker=self.name, error=str(exc))
                await trio.sleep(1.0)
                continue
            except BaseException:
                self._intake.release()
                raise
            entries = next(iter(reply.values()), ()) if reply else ()
            if not entries:
                self._intake.release()
                continue
            self._start(turns, entries[0], reclaimed=False)

    async def _claim_loop(self, turns: trio.Nursery) -> None:
        keys = self.keys
        interval = max(0.05, min(self.claim_idle_ms / 4000, 5.0))
        while True:
            await trio.sleep(interval)
            free = self._intake.value
            if free == 0:
                continue
            try:
                reply: Any = await self._conn.call(
                    lambda r: r.xautoclaim(
                        keys.turns,
                        GROUP,
                        self.name,
                        self.claim_idle_ms,
                        "0-0",
                        count=free,  # noqa: B023
                    )
                )
            except ClusterError as exc:
                _log.warning("cluster.claim.failed", worker=self.name, error=str(exc))
                continue
            entries = reply[1]
            taken = 0
            for entry in entries:
                if bytes(entry.identifier) in self._held or entry.field_values is None:
                    continue
                try:
                    self._intake.acquire_nowait()
                except trio.WouldBlock:
                    break  # it stays pending on us; someone reclaims it again later
                taken += 1
                self._start(turns, entry, reclaimed=True)
            if taken:
                self._counters["reclaimed"] += taken
                self._emit(ev.RECLAIMED, {"count": taken})

    def _start(self, turns: trio.Nursery, entry: Any, *, reclaimed: bool) -> None:
        values = entry.field_values
        held = _Held(
            entry_id=bytes(entry.identifier),
            turn_id=values[b"turn"].decode(),
            thread_key=values[b"thread"].decode(),
            reclaimed=reclaimed,
            since=trio.current_time(),
        )
        self._held[held.entry_id] = held
        turns.start_soon(self._handle, held)

    # --- one entry ---------------------------------------------------------------------------

    async def _handle(self, held: _Held) -> None:
        began = trio.current_time()
        outcome = "lost"
        try:
            async with trio.open_nursery() as nursery:
                held.nursery = nursery
                nursery.start_soon(self._heartbeat, held)
                try:
                    outcome = await self._process(held)
                finally:
                    held.finished = True
                    nursery.cancel_scope.cancel()
        except BaseException:
            outcome = "released"  # the worker is stopping: not the turn's fault
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await self._give_back(held, error=None, shutdown=True)
            raise
        finally:
            del self._held[held.entry_id]
            self._intake.release()
            self._changed.set()
            self._changed = trio.Event()
            self._counters["turns"] += 1
            self._emit(
                ev.TURN_STOP,
                {"count": 1, "duration": trio.current_time() - began},
                turn_id=held.turn_id,
                thread_key=held.thread_key,
                outcome=outcome,
            )
            _log.info("cluster.turn.done", worker=self.name, turn_id=held.turn_id, outcome=outcome)

    async def _heartbeat(self, held: _Held) -> None:
        keys = self.keys
        interval = min(self.lease_ms, self.claim_idle_ms) / 3000
        while True:
            await trio.sleep(interval)
            lease = held.lease_value
            try:
                if lease is not None:
                    ok = await self._conn.script(
                        scripts.HEARTBEAT,
                        [keys.lease(held.thread_key), keys.turns],
                        [lease, self.lease_ms, GROUP, self.name, held.entry_id],
                    )
                else:
                    ok = await self._conn.script(
                        scripts.TOUCH, [keys.turns], [GROUP, self.name, held.entry_id]
                    )
            except ClusterError:
                ok = 0
            if held.finished:
                return
            if not ok:
                held.lost = True
                if held.run_scope is not None:
                    held.run_scope.cancel()
                return

    async def _give_back(self, held: _Held, *, error: bytes | None, shutdown: bool = False) -> None:
        keys = self.keys
        try:
            await self._conn.script(
                scripts.RELEASE,
                [keys.lease(held.thread_key), keys.turns, keys.turn(held.turn_id)],
                [
                    held.lease_value or "",
                    GROUP,
                    self.name,
                    held.entry_id,
                    self.claim_idle_ms,
                    error or b"",
                    "1" if shutdown else "0",
                ],
            )
        except ClusterError as exc:
            _log.warning("cluster.release.failed", worker=self.name, error=str(exc))

    async def _process(self, held: _Held) -> str:
        keys, conn = self.keys, self._conn
        turn_key = keys.turn(held.turn_id)
        delay = 0.02
        conflicted = False
        while True:
            if held.lost:
                return "lost"
            async with self._running:
                nonce = uuid.uuid4().hex[:12]
                reply = await conn.script(
                    scripts.TAKE,
                    [
                        turn_key,
                        keys.queue(held.thread_key),
                        keys.lease(held.thread_key),
                        keys.fence(held.thread_key),
                        keys.thread(held.thread_key),
                        keys.events(held.turn_id),
                        keys.turns,
                    ],
                    [
                        held.turn_id,
                        self.name,
                        nonce,
                        self.lease_ms,
                        self.max_deliveries,
                        GROUP,
                        held.entry_id,
                        self.events_maxlen,
                    ],
                )
                verdict = reply[0]
                if verdict == b"ended":  # ended already (or expired): at least once, not twice
                    self._counters["duplicates"] += 1
                    return "duplicate"
                if verdict in (b"run", b"dead"):
                    held.token = int(reply[1])
                    held.lease_value = f"{held.token}:{self.name}:{nonce}"
                    return await self._run(held, reply)
            if verdict == b"held" and not conflicted:
                conflicted = True
                self._counters["lease_conflicts"] += 1
                self._emit(ev.LEASE_CONFLICT, {"count": 1}, turn_id=held.turn_id)
            if trio.current_time() - held.since > self.requeue_after:
                await conn.script(
                    scripts.REQUEUE,
                    [keys.turns],
                    [GROUP, self.name, held.entry_id, held.turn_id, held.thread_key],
                )
                self._counters["requeued"] += 1
                return "requeued"
            # Polled (another worker's commit wakes nobody here); an entry this worker lets go
            # (its thread's earlier turn, committed) wakes the wait at once.
            changed = self._changed
            with trio.move_on_after(delay):
                await changed.wait()
            delay = min(delay * 2, 0.25)

    async def _run(self, held: _Held, reply: list[Any]) -> str:
        keys, conn = self.keys, self._conn
        turn_key = keys.turn(held.turn_id)
        lease = held.lease_value
        assert lease is not None
        held.state = "running"
        deliveries = held.deliveries = int(reply[2])
        if reply[0] == b"dead":
            done = await conn.script(
                scripts.DEAD_LETTER,
                [
                    keys.queue(held.thread_key),
                    turn_key,
                    keys.events(held.turn_id),
                    keys.lease(held.thread_key),
                    keys.turns,
                    keys.dead,
                ],
                [
                    lease,
                    held.turn_id,
                    held.thread_key,
                    deliveries - 1,
                    self.result_ttl_ms,
                    GROUP,
                    held.entry_id,
                    self.events_maxlen,
                ],
            )
            if not done:
                return self._fenced(held, "dead_letter")
            self._counters["dead_lettered"] += 1
            self._emit(ev.DEAD_LETTERED, {"count": 1, "deliveries": deliveries - 1})
            _log.warning(
                "cluster.turn.dead_lettered",
                worker=self.name,
                turn_id=held.turn_id,
                deliveries=deliveries - 1,
            )
            return "dead_lettered"
        attempt, seq, raw_payload = int(reply[3]), int(reply[4]), reply[5]
        fields = reply[6:]
        thread: dict[bytes, bytes] = dict(zip(fields[::2], fields[1::2], strict=True))
        self._emit(
            ev.TURN_START,
            {"count": 1, "deliveries": deliveries},
            turn_id=held.turn_id,
            thread_key=held.thread_key,
            token=held.token,
        )
        try:
            with trio.CancelScope() as scope:
                held.run_scope = scope
                outcome = await self._run_turn(held, attempt, seq, raw_payload, thread)
            if scope.cancelled_caught:
                publisher = held.publisher
                if publisher is not None and publisher.error is not None:
                    raise publisher.error  # Redis gave up on the events: another delivery
                stage = "publish" if publisher is not None and publisher.fenced else "heartbeat"
                return self._fenced(held, stage)
        except _Fenced as fenced:
            return self._fenced(held, fenced.stage)
        except Exception as exc:  # codex crashed, the thread did not resume, Redis gave up...
            self._counters["failed_deliveries"] += 1
            _log.warning(
                "cluster.turn.failed",
                worker=self.name,
                turn_id=held.turn_id,
                deliveries=deliveries,
                error=f"{type(exc).__name__}: {exc}",
            )
            await self._give_back(held, error=encode_error(exc))
            return "retry"
        finally:
            held.run_scope = None
        (status, data, thread_id, rollout_name, rollout), (upto, rest) = outcome
        inline = "1" if len(data) <= _INLINE_OUTCOME else "0"
        events: list[str | bytes | int | float] = [upto, inline]
        for number, kind, event in rest:
            events.extend((number, kind, event))
        committed = await conn.script(
            scripts.COMMIT,
            [
                keys.thread(held.thread_key),
                keys.done(held.thread_key),
                keys.queue(held.thread_key),
                turn_key,
                keys.events(held.turn_id),
                keys.lease(held.thread_key),
                keys.turns,
            ],
            [
                lease,
                held.turn_id,
                held.token or 0,
                self.name,
                thread_id or "",
                rollout_name or "",
                rollout or b"",
                status,
                data,
                self.result_ttl_ms,
                GROUP,
                held.entry_id,
                self.events_maxlen,
                *events,
            ],
        )
        if committed == 0:
            return self._fenced(held, "commit")
        if committed == 2:
            self._counters["duplicates"] += 1
            return "duplicate"
        if rollout:
            self._counters["rollout_bytes_out"] += len(rollout)
            self._emit(ev.ROLLOUT_MOVED, {"bytes": len(rollout)}, direction="upload")
        self._counters["completed"] += 1
        return "completed" if status == "done" else "error"

    def _fenced(self, held: _Held, stage: str) -> str:
        self._counters["fenced"] += 1
        self._emit(ev.FENCED, {"count": 1}, turn_id=held.turn_id, stage=stage)
        _log.warning("cluster.upload.fenced", worker=self.name, turn_id=held.turn_id, stage=stage)
        return "fenced"

    async def _run_turn(
        self, held: _Held, attempt: int, seq: int, raw_payload: bytes, thread: dict[bytes, bytes]
    ) -> tuple[
        tuple[str, bytes, str | None, str | None, bytes | None],
        tuple[int, list[tuple[int, str, bytes]]],
    ]:
        """Download, run, reap, read back: ``(status, outcome, thread id, rollout name,
        rollout bytes)``, and the events the commit appends (``(upto, events)``, see
        :meth:`EventPublisher.finish`); raises for a failure worth another delivery. ``seq``
        is the turn's last event number (TAKE appended the attempt), ``thread`` the thread's
        hash as TAKE read it."""
        keys, conn = self.keys, self._conn
        payload = orjson.loads(raw_payload or b"{}")
        lease = held.lease_value
        assert lease is not None

        scope = held.run_scope
        publisher = EventPublisher(
            conn,
            keys,
            turn_id=held.turn_id,
            thread_key=held.thread_key,
            lease=lease,
            seq=seq,
            maxlen=self.events_maxlen,
            capacity=self.event_buffer,
            max_bytes=self.event_buffer_bytes,
            linger=self.event_linger,
            on_failed=scope.cancel if scope is not None else lambda: None,
        )
        held.publisher = publisher
        assert held.nursery is not None
        held.nursery.start_soon(publisher.run)
        try:
            found = await self._run_codex(held, attempt, thread, payload, publisher)
            tail = await publisher.finish()  # the rest goes in the commit, in order
        finally:
            publisher.cancel()
            if publisher.dropped:
                self._counters["events_dropped"] += publisher.dropped
                self._emit(ev.EVENTS_DROPPED, {"count": publisher.dropped}, turn_id=held.turn_id)
        return found, tail

    async def _run_codex(
        self,
        held: _Held,
        attempt: int,
        thread: dict[bytes, bytes],
        payload: Any,
        publisher: EventPublisher,
    ) -> tuple[str, bytes, str | None, str | None, bytes | None]:
        thread_id = _text(thread.get(b"thread_id"))
        sessions = self.codex_home / "sessions"
        rollout = thread.get(b"rollout")
        name = _text(thread.get(b"rollout_name"))
        if thread_id is not None and rollout and name:
            await trio.to_thread.run_sync(_write_rollout, sessions, name, thread_id, rollout)
            self._counters["rollout_bytes_in"] += len(rollout)
            self._emit(ev.ROLLOUT_MOVED, {"bytes": len(rollout)}, direction="download")
        options = decode_thread_options(orjson.loads(thread.get(b"options") or b"{}"))
        turn_options = decode_turn_options(payload.get("options", {}))
        prompt = decode_input(payload.get("input", ""))
        runtime = self.runtime
        local = f"cluster:{held.turn_id}:{attempt}"
        handle = await runtime.start_thread(options, name=local, thread_id=thread_id)
        try:
            try:
                async with handle.run_streamed(prompt, turn_options) as stream:
                    async for event in stream:
                        publisher.offer("event", encode_event(event))
                result = stream.result
                status, data = "done", encode_result(result)
                thread_id = result.thread_id or handle.id or thread_id
            except (TurnDeadlineError, ConfigurationError, StructuredOutputError) as exc:
                # The caller's own limits, or settings codex refused: the same on any worker.
                status, data = "error", encode_error(exc)
                thread_id = handle.id or thread_id
        finally:
            with trio.CancelScope(shield=True):
                try:
                    await runtime.stop_thread(local)  # codex reaped before the upload
                except CodexError:
                    pass
        found: tuple[str, bytes] | None = None
        if thread_id is not None:
            found = await self._take_rollout(sessions, thread_id, ended=status == "done")
        if found is None:
            return status, data, thread_id, None, None
        return status, data, thread_id, found[0], found[1]

    async def _take_rollout(
        self, sessions: Path, thread_id: str, *, ended: bool
    ) -> tuple[str, bytes] | None:
        """The thread's rollout once codex has written the whole turn into it, read and the
        local copy removed.

        The thread is stopped first, but that need not end the writer: on the app-server
        transport the process lives on (shared, or until its unload completes) and codex's
        rollout recorder writes in a task of its own, so the file may still be catching up
        when the turn's last event has been read. A rollout is complete when it ends with a
        newline and every ``task_started`` in it has its ``task_complete`` (or
        ``turn_aborted``). A turn that ended with a result (``ended``) waits for that, up to
        ``rollout_settle_timeout``; one cut short (a deadline: on exec its codex was killed)
        waits only for the file to stop growing. Either way it is read when it stops changing.
        """
        deadline = trio.current_time() + self.rollout_settle_timeout
        last: int | None = None
        while True:
            size, complete, taken = await trio.to_thread.run_sync(
                _rollout_state_or_take, sessions, thread_id
            )
            if taken is not None:
                return taken  # complete at first look: read and removed in one thread call
            if size is None:
                return None
            if complete or trio.current_time() >= deadline or (not ended and size == last):
                if not complete:
                    _log.warning(
                        "cluster.rollout.incomplete", worker=self.name, thread_id=thread_id
                    )
                break
            last = size
            await trio.sleep(0.01)
        return await trio.to_thread.run_sync(_take_rollout, sessions, thread_id)

    # --- samples -----------------------------------------------------------------------------

    async def _sample_loop(self) -> None:
        while True:
            try:
                await self._sample()
            except (ClusterError, ValueError) as exc:
                _log.warning("cluster.sample.failed", worker=self.name, error=str(exc))
            await trio.sleep(self.sample_interval)

    async def _sample(self) -> None:
        """Queue depth and pending as telemetry; this worker's health record in Redis."""
        keys = self.keys
        ttl = int(max(3 * self.sample_interval, 10.0) * 1000)
        depth = await self._conn.call(lambda r: r.xlen(keys.turns), give_up_after=5)
        groups: Any = await self._conn.call(lambda r: r.xinfo_groups(keys.turns), give_up_after=5)
        group: dict[bytes, Any] = next((g for g in groups if g.get(b"name") == GROUP.encode()), {})
        status = self.status
        self._emit(
            ev.QUEUE_SAMPLE,
            {
                "depth": depth,
                "pending": int(group.get(b"pending", 0)),
                "running": status.running,
                "held": status.held,
            },
        )
        record: dict[str, str | int] = {
            "name": self.name,
            "state": status.state,
            "running": status.running,
            "held": status.held,
            "heartbeat_ms": int(time.time() * 1000),
            **status.counters,
        }
        worker_key = keys.worker(self.name)
        await self._conn.call(lambda r: r.hset(worker_key, record), give_up_after=5)
        await self._conn.call(lambda r: r.pexpire(worker_key, ttl), give_up_after=5)


def _text(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None


def _rollouts(sessions: Path, thread_id: str) -> list[Path]:
    return sorted(sessions.glob(f"*/*/*/rollout-*-{thread_id}.jsonl"))


def _write_rollout(sessions: Path, name: str, thread_id: str, data: bytes) -> None:
    """Put the thread's rollout at ``sessions/<name>`` (its exact relative path and file name:
    codex finds a thread by it), replacing any stale copy of it; mode 0600."""
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts or len(relative.parts) != 4:
        raise ClusterError(f"refusing a rollout name that is not YYYY/MM/DD/<file>: {name!r}")
    if not relative.name.endswith(f"-{thread_id}.jsonl"):
        raise ClusterError(f"rollout {name!r} is not thread {thread_id}'s")
    for stale in _rollouts(sessions, thread_id):
        stale.unlink()
    target = sessions / relative
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_name(f".{target.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


_TASK_ENDED = frozenset({"task_complete", "turn_aborted"})


def _rollout_state(sessions: Path, thread_id: str) -> tuple[int | None, bool]:
    """``(size, complete)`` of the thread's newest local rollout (``(None, False)``: none)."""
    found = _rollouts(sessions, thread_id)
    if not found:
        return None, False
    data = max(found, key=lambda p: p.stat().st_mtime).read_bytes()
    if not data.endswith(b"\n"):
        return len(data), False  # a line is being written
    started = ended = 0
    for line in data.splitlines():
        if b'"event_msg"' not in line or (b'"task_' not in line and b'"turn_abort' not in line):
            continue  # most lines: decoded only when they may be a turn's start or end
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            return len(data), False
        if not isinstance(record, dict) or record.get("type") != "event_msg":
            continue
        payload = record.get("payload")
        kind = payload.get("type") if isinstance(payload, dict) else None
        if kind == "task_started":
            started += 1
        elif kind in _TASK_ENDED:
            ended += 1
    return len(data), started > 0 and started == ended


def _rollout_state_or_take(
    sessions: Path, thread_id: str
) -> tuple[int | None, bool, tuple[str, bytes] | None]:
    """:func:`_rollout_state`, and when the rollout is complete, :func:`_take_rollout` too."""
    size, complete = _rollout_state(sessions, thread_id)
    return size, complete, _take_rollout(sessions, thread_id) if complete else None


def _take_rollout(sessions: Path, thread_id: str) -> tuple[str, bytes] | None:
    """Read the thread's rollout back (``(relative name, bytes)``) and remove the local copy:
    the worker keeps no thread state; Redis has it."""
    found = _rollouts(sessions, thread_id)
    if not found:
        return None
    path = max(found, key=lambda p: p.stat().st_mtime)
    data = path.read_bytes()
    for copy in found:
        copy.unlink()
    return path.relative_to(sessions).as_posix(), data
