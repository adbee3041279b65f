"""The supervised runtime: many Codex threads in one long-lived process.

::

    Runtime                          root Supervisor "runtime" (one_for_one)
    ├── app-server:0 ...             app-server process slots (transport="app-server" only:
    │                                app_servers=N of them, 1 by default; _pool.py)
    ├── app-server-samples           per-slot memory and thread counts every 5 s
    ├── threads                      DynamicSupervisor (max_threads)
    │   ├── thread:triage            Supervisor (one_for_one, per-thread restart intensity)
    │   │   └── ThreadActor          owns the thread and its current codex process (and, with
    │   │                            app_servers="per-thread", an app-server of its own)
    │   └── thread:...
    └── metrics                      /metrics HTTP server (after serve_metrics())

Each thread has a supervisor of its own, so a thread whose codex keeps crashing exhausts only its
own restart intensity: that thread stops (its callers get ``ActorStopped``), the others go on.
See ``docs/runtime.md``.
"""

from __future__ import annotations

import functools
import itertools
import os
import signal as signal_module
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, Self

import attrs
import trio

from codex_trio._errors import ConfigurationError
from codex_trio._groups import collapse
from codex_trio._home import CodexHomeSeed, PrivateCodexHome, user_codex_home, with_private_home
from codex_trio._protocol.app_server.server_requests import (
    ApprovalHandler,
    DynamicTool,
    decline_and_log,
)
from codex_trio._protocol.options import CodexOptions, ThreadOptions, exec_env
from codex_trio._transport.discovery import find_codex
from codex_trio._transport.exec import ExecTransport
from codex_trio._turn import ThreadState, TurnRunner, UsageLedger, default_ledger
from codex_trio.observe import telemetry
from codex_trio.observe.telemetry import TelemetryBus, default_bus
from codex_trio.runtime._actor import actor_spec
from codex_trio.runtime._child_spec import (
    ChildContext,
    ChildCounts,
    ChildSpec,
    ChildState,
    Restart,
    runnable_spec,
)
from codex_trio.runtime._dynamic_supervisor import DynamicSupervisor
from codex_trio.runtime._registry import Registry
from codex_trio.runtime._supervisor import Supervisor, supervisor_spec
from codex_trio.runtime._thread_actor import (
    OwnedProcess,
    RetryPolicy,
    RuntimeClosedError,
    ThreadActor,
    ThreadHandle,
)

if TYPE_CHECKING:
    from codex_trio._http import HttpLimits
    from codex_trio._transport.app_server import AppServerStatus, AppServerTransport
    from codex_trio._transport.app_server._pool import AppServerInfo, AppServerPool
    from codex_trio._transport.app_server._rate_limits import RateLimits, RateLimitTracker
    from codex_trio.observe._metrics import Metrics

__all__ = ["Runtime", "RuntimeClosedError", "ShutdownSignal", "ThreadInfo"]


class ShutdownSignal:
    """The first shutdown signal the runtime caught (see :meth:`Runtime.catch_shutdown_signals`)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._event = trio.Event()

    def _set(self, signum: int) -> None:
        if self.signum is None:
            self.signum = signum
            self._event.set()

    async def wait(self) -> int:
        """Wait for the first signal and return its number."""
        await self._event.wait()
        assert self.signum is not None
        return self.signum


@attrs.frozen(kw_only=True)
class ThreadInfo:
    """One supervised thread, as :meth:`Runtime.which_children` reports it."""

    name: str
    thread_id: str | None
    state: ChildState
    restart_count: int
    pid: int | None
    """exec: the codex process of the turn being run; app-server: the process the thread's turns
    run on (its own with ``app_servers="per-thread"``, its pool slot's), while there is one."""
    queued_turns: int
    turns_completed: int
    app_server: int | None = None
    """The pool slot the thread is placed on (``app_servers=N``), None when it is not placed
    (before its first turn, after its process was recycled or hibernated) or has no pool."""


class Runtime:
    """Runs Codex threads under a supervisor tree (see the module docstring).

    ``async with Runtime(...) as runtime:`` starts the tree; leaving the block (or
    :meth:`aclose`) stops accepting turns, lets in-flight turns finish for ``drain_timeout``
    seconds, then stops every thread (cancelling what is left) and reaps every codex process.

    ``max_concurrent_turns`` caps turns running at once across all threads (the others wait for a
    slot); ``thread_max_restarts`` within ``thread_restart_window`` seconds is each thread's
    restart intensity; ``retry`` (a :class:`RetryPolicy`) retries buffered turns whose codex
    crashed. Options for codex come as a :class:`CodexOptions` or as its fields by keyword.

    With ``transport="app-server"`` and ``url="ws://HOST:PORT"`` (``auth_token=`` if the server
    wants one) the runtime connects to a running ``codex app-server --listen`` instead of
    spawning one; a lost connection is reconnected as a dead process is restarted, and the
    threads resume on the new connection (docs/remote.md).

    Process models on app-server (docs/runtime.md, "Process models"): ``app_servers=N`` runs a
    pool of N processes (default 1), each a supervised child restarting its own process, with
    each thread placed on the least-loaded one and staying there while it lives;
    ``app_servers="per-thread"`` gives every thread's actor a process of its own (pipe-level
    backpressure, a crash touches one thread). ``idle_timeout`` seconds without a turn stop a
    process (hibernation; ``min_app_servers`` stay up), the next turn starts one and resumes
    the thread. ``max_threads_per_app_server`` (threads placed on a process) and
    ``max_app_server_rss`` (bytes of resident memory) recycle a process: drained, stopped,
    replaced, its threads resumed elsewhere at their next turn. :meth:`which_app_servers`
    shows each process.
    """

    def __init__(
        self,
        options: CodexOptions | None = None,
        *,
        transport: Literal["exec", "app-server"] = "exec",
        max_concurrent_turns: int = 8,
        max_threads: int | None = None,
        thread_max_restarts: int = 3,
        thread_restart_window: float = 30.0,
        mailbox_size: int = 16,
        event_buffer: int = 64,
        drain_timeout: float = 30.0,
        thread_shutdown: float = 5.0,
        retry: RetryPolicy | None = None,
        approval_handler: ApprovalHandler | None = None,
        tools: Sequence[DynamicTool] = (),
        ledger: UsageLedger | None = None,
        bus: TelemetryBus | None = None,
        url: str | None = None,
        auth_token: str | None = None,
        codex_home: str | os.PathLike[str] | None = None,
        codex_home_seed: CodexHomeSeed | Sequence[CodexHomeSeed] = (),
        app_servers: int | Literal["per-thread"] = 1,
        idle_timeout: float | None = None,
        min_app_servers: int = 0,
        max_threads_per_app_server: int | None = None,
        max_app_server_rss: int | None = None,
        **option_fields: Any,
    ) -> None:
        if options is None:
            options = CodexOptions(**option_fields)
        elif option_fields:
            options = attrs.evolve(options, **option_fields)
        if max_concurrent_turns < 1:
            raise ConfigurationError("max_concurrent_turns must be at least 1")
        codex_path = find_codex(options.codex_path)
        # A private CODEX_HOME ("isolated" or a path; docs/codex-home.md) reaches every codex
        # process through the options' env; warmed in __aenter__, an isolated one removed at close.
        options, self.codex_home = with_private_home(
            options, codex_home, codex_home_seed, remote=url is not None
        )
        self.options = attrs.evolve(options, codex_path=codex_path)
        self._runner: TurnRunner
        self._app_server: AppServerTransport | None = None
        self._pool: AppServerPool | None = None
        self.rate_limit_tracker: RateLimitTracker | None = None
        """The account's rate limits as the app-server processes last reported them (see
        :attr:`latest_rate_limits`); None on exec, which reports none."""
        if transport == "exec":
            if approval_handler is not None or tools:
                raise ConfigurationError("approval_handler and tools need transport='app-server'")
            if url is not None or auth_token is not None:
                raise ConfigurationError(
                    "url and auth_token need transport='app-server' (a remote codex app-server)"
                )
            pooling = {
                "app_servers": app_servers != 1,
                "idle_timeout": idle_timeout is not None,
                "min_app_servers": min_app_servers != 0,
                "max_threads_per_app_server": max_threads_per_app_server is not None,
                "max_app_server_rss": max_app_server_rss is not None,
            }
            given = [name for name, set_ in pooling.items() if set_]
            if given:
                raise ConfigurationError(
                    f"{', '.join(given)}: app-server process settings; they need "
                    f"transport='app-server' (exec runs one process per turn)"
                )
            self._runner = ExecTransport(
                codex_path=codex_path, options=self.options, event_buffer=event_buffer
            )
        elif transport == "app-server":
            self._pool = self._make_pool(
                approval_handler=approval_handler,
                tools=tools,
                event_buffer=event_buffer,
                url=url,
                auth_token=auth_token,
                app_servers=app_servers,
                idle_timeout=idle_timeout,
                min_app_servers=min_app_servers,
                max_threads=max_threads_per_app_server,
                max_rss=max_app_server_rss,
            )
            if self._pool.slots:
                # The first process (the only one by default): app_server_status reports it.
                self._app_server = self._pool.slots[0].transport
            self._runner = self._pool.runner()  # for its name; each thread gets its own
        else:
            raise ConfigurationError(f"unknown transport {transport!r}")
        self._starts_app_servers_at_once = (
            transport == "app-server" and url is None and app_servers != 1
        )
        self.limiter = trio.CapacityLimiter(max_concurrent_turns)
        self._ledger = ledger if ledger is not None else default_ledger
        self._thread_max_restarts = thread_max_restarts
        self._thread_restart_window = thread_restart_window
        self._mailbox_size = mailbox_size
        self._event_buffer = event_buffer
        self._drain_timeout = drain_timeout
        self._thread_shutdown = thread_shutdown
        self._retry = retry
        self._bus = bus
        self.registry: Registry[ThreadHandle] = Registry()
        self._handles: dict[str, ThreadHandle] = {}
        self._supervisors: dict[str, Supervisor] = {}
        self._names = itertools.count(1)
        self._threads = DynamicSupervisor(max_children=max_threads, name="threads", bus=bus)
        self._root = Supervisor(self._root_children(), name="runtime", bus=bus)
        self._stack: AsyncExitStack | None = None
        self._nursery: trio.Nursery | None = None
        self._shutdown_done: trio.Event | None = None
        self._accepting = False
        self._inflight = 0
        self._idle = trio.Event()
        self._idle.set()
        self.metrics: Metrics | None = None

    def _make_pool(
        self,
        *,
        approval_handler: ApprovalHandler | None,
        tools: Sequence[DynamicTool],
        event_buffer: int,
        url: str | None,
        auth_token: str | None,
        app_servers: int | Literal["per-thread"],
        idle_timeout: float | None,
        min_app_servers: int,
        max_threads: int | None,
        max_rss: int | None,
    ) -> AppServerPool:
        # Imported here: the app-server protocol module is big, and exec users never need it.
        from codex_trio._transport.app_server import AppServerTransport
        from codex_trio._transport.app_server._pool import AppServerPool
        from codex_trio._transport.app_server._rate_limits import RateLimitTracker

        if app_servers != "per-thread" and (
            not isinstance(app_servers, int) or isinstance(app_servers, bool) or app_servers < 1
        ):
            raise ConfigurationError(
                f"app_servers must be a number of processes (at least 1) or 'per-thread', "
                f"not {app_servers!r}"
            )
        if idle_timeout is not None and not idle_timeout > 0:
            raise ConfigurationError("idle_timeout must be a positive number of seconds")
        if min_app_servers < 0 or (isinstance(app_servers, int) and min_app_servers > app_servers):
            raise ConfigurationError(
                f"min_app_servers must be between 0 and app_servers, not {min_app_servers}"
            )
        if max_threads is not None and max_threads < 1:
            raise ConfigurationError("max_threads_per_app_server must be at least 1")
        if max_rss is not None:
            if max_rss < 1:
                raise ConfigurationError("max_app_server_rss must be a positive number of bytes")
            if url is not None:
                raise ConfigurationError(
                    "max_app_server_rss reads a local process's memory; a remote app-server "
                    "(url=...) has none here"
                )
        tracker = self.rate_limit_tracker = RateLimitTracker()
        handler = approval_handler or decline_and_log
        tool_list = tuple(tools)
        buffer = max(event_buffer, 16)

        def make_transport(slot: str, own: bool) -> AppServerTransport:
            transport = AppServerTransport(
                options=self.options,
                approval_handler=handler,
                tools=tool_list,
                event_buffer=buffer,
                url=url,
                auth_token=auth_token,
                slot=slot,
                backpressure=own,
            )
            transport.global_listeners.append(tracker)
            return transport

        return AppServerPool(
            make_transport,
            size=app_servers,
            idle_timeout=idle_timeout,
            min_app_servers=min_app_servers,
            max_threads=max_threads,
            max_rss=max_rss,
        )

    def _root_children(self) -> list[ChildSpec]:
        children = []
        pool = self._pool
        if pool is not None:
            for slot in pool.slots:
                # Each process slot is a child of its own; its transport restarts a dead process
                # (with its own intensity and backoff), so the slot itself does not fail.
                children.append(runnable_spec(slot, id=f"app-server:{slot.index}", shutdown=10.0))
            children.append(runnable_spec(_Sampler(pool), id="app-server-samples", shutdown=1.0))
        children.append(supervisor_spec(self._threads, id="threads"))
        return children

    # --- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("this Runtime is already running")
        if self.codex_home is not None:  # before any concurrency: see docs/codex-home.md
            await self.codex_home.warm(self.options)
        elif self._starts_app_servers_at_once:
            # Several app-server processes starting at once on a home codex has never used fail
            # ("failed to initialize sqlite state runtime", seen with per-thread processes on
            # 0.163): the user's own home is warmed too, once, if it is that fresh.
            home = PrivateCodexHome(path=user_codex_home(exec_env(self.options)), isolated=False)
            if home.path.is_dir() and home.fresh:
                await home.warm(self.options)
        stack = AsyncExitStack()
        try:
            nursery = await stack.enter_async_context(trio.open_nursery())
            await nursery.start(self._root.run)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self._nursery = nursery
        self._shutdown_done = None
        self._accepting = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        # Cancelled (or interrupted): the callers are being cancelled too; stop without draining.
        brutal = exc_type is not None and not issubclass(exc_type, Exception)
        await self._shutdown(drain=not brutal)
        stack, self._stack = self._stack, None
        if stack is None:
            return
        nursery, self._nursery = self._nursery, None
        if nursery is not None:
            nursery.cancel_scope.cancel()  # the tree has stopped; only signal watchers remain
        try:
            with collapse():
                await stack.aclose()
        finally:
            if self.metrics is not None:
                self.metrics.detach()  # the scrape endpoint is gone: stop counting

    async def aclose(self) -> None:
        """Drain, then stop the tree in order (see the class docstring). Idempotent.

        Any task may call it (a signal watcher, an admin endpoint): it returns once the tree has
        stopped and every codex process is reaped. Leaving the ``async with`` block calls it, then
        closes the runtime's nursery (which only that block can do).
        """
        await self._shutdown()

    async def _shutdown(self, *, drain: bool = True) -> None:
        """Stop accepting, drain for ``drain_timeout`` (if ``drain``), cancel what is left, stop
        the tree. Done once; later callers wait for the first one."""
        if self._stack is None:
            return
        done = self._shutdown_done
        if done is not None:
            with trio.CancelScope(shield=True):
                await done.wait()
            return
        done = self._shutdown_done = trio.Event()
        self._accepting = False
        try:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(self._drain_timeout if drain else 0):
                    await self._idle.wait()
                # Drain time is over: what still runs is cancelled, and what is queued refused,
                # rather than waited for again by the threads' own shutdown timeouts.
                for handle in list(self._handles.values()):
                    handle.actor.closing = True
                    handle.actor.abandon_current()
                await self._root.stop()
        finally:
            if self.codex_home is not None:
                self.codex_home.close()  # every codex process is reaped: an isolated home goes
            done.set()

    @property
    def accepting(self) -> bool:
        return self._accepting

    @asynccontextmanager
    async def _admit(self) -> AsyncIterator[None]:
        """Count a turn in flight; refused once shutdown began."""
        if not self._accepting:
            raise RuntimeClosedError("the runtime is shutting down; no new turns")
        self._inflight += 1
        self._idle = trio.Event() if self._inflight == 1 else self._idle
        try:
            yield
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    # --- threads ---------------------------------------------------------------------------------

    async def start_thread(
        self,
        options: ThreadOptions | None = None,
        *,
        name: str | None = None,
        thread_id: str | None = None,
        retry: RetryPolicy | None = None,
        **option_fields: Any,
    ) -> ThreadHandle:
        """Start a supervised thread (a new Codex thread, or ``thread_id`` resumed) and return
        its handle. ``name`` registers it for :meth:`whereis` (``NameTaken`` if in use)."""
        if not self._accepting:
            raise RuntimeClosedError("the runtime is not accepting new threads")
        if options is None:
            options = ThreadOptions(**option_fields)
        elif option_fields:
            options = attrs.evolve(options, **option_fields)
        name = name if name is not None else f"thread-{next(self._names)}"
        runner: TurnRunner = self._runner
        own: OwnedProcess | None = None
        if self._pool is not None:
            if self._pool.per_thread:
                own = self._pool.private_slot(name)  # the actor's own app-server
                runner = own
            else:
                runner = self._pool.runner()  # the thread's placement on the pool
        state = ThreadState(
            runner=runner, options=options, ledger=self._ledger, thread_id=thread_id
        )
        actor = ThreadActor(
            state,
            limiter=self.limiter,
            name=name,
            capacity=self._mailbox_size,
            bus=self._bus,
            process=own,
        )
        handle = ThreadHandle(
            actor,
            name=name,
            event_buffer=self._event_buffer,
            retry=retry if retry is not None else self._retry,
            admit=self._admit,
        )
        supervisor = Supervisor(
            [actor_spec(actor, id="actor", shutdown=self._thread_shutdown)],
            max_restarts=self._thread_max_restarts,
            max_seconds=self._thread_restart_window,
            name=f"thread:{name}",
            bus=self._bus,
        )
        try:
            self.registry.register(name, handle)
        except BaseException:
            _release(runner, None)  # a per-thread slot made for it goes
            raise
        try:
            await self._threads.start_child(
                ChildSpec(
                    id=name,
                    start=functools.partial(self._run_thread, supervisor, handle),
                    restart=Restart.TEMPORARY,
                    shutdown="infinity",
                )
            )
        except BaseException:
            self.registry.unregister(name, handle)
            _release(runner, None)
            raise
        return handle

    async def resume_thread(
        self, thread_id: str, options: ThreadOptions | None = None, **kw: Any
    ) -> ThreadHandle:
        """A supervised thread continuing the Codex thread ``thread_id``."""
        return await self.start_thread(options, thread_id=thread_id, **kw)

    async def _run_thread(
        self,
        supervisor: Supervisor,
        handle: ThreadHandle,
        ctx: ChildContext,
        *,
        task_status: trio.TaskStatus[Any],
    ) -> None:
        self._handles[handle.name] = handle
        self._supervisors[handle.name] = supervisor
        reason = "normal"
        try:
            await supervisor.run(task_status=task_status, stop_requested=ctx.stop_requested)
        except BaseException as exc:
            reason = type(exc).__name__
            raise
        finally:
            self.registry.unregister(handle.name, handle)
            self._handles.pop(handle.name, None)
            self._supervisors.pop(handle.name, None)
            handle.actor.mark_gone()
            # Its records on its app-server's client go (the engine unloads it), its placement too.
            _release(handle.actor.state.runner, handle.id)
            if handle.actor.state.announced:  # thread.start was emitted: keep gauges balanced
                telemetry.execute(
                    ("codex", "thread", "stop"),
                    {"count": 1},
                    {
                        "thread_id": handle.id,
                        "transport": self._runner.name,
                        "name": handle.name,
                        "reason": reason,
                    },
                )

    async def stop_thread(self, name: str) -> None:
        """Stop a thread gracefully (its current turn finishes first, up to its shutdown time)."""
        await self._threads.terminate_child(name)

    def whereis(self, name: str) -> ThreadHandle | None:
        """The running thread registered as ``name``, or None."""
        return self.registry.whereis(name)

    def which_children(self) -> list[ThreadInfo]:
        """A snapshot of every supervised thread: ids, state, restarts, current codex pid."""
        out = []
        for name, handle in list(self._handles.items()):
            supervisor = self._supervisors.get(name)
            children = supervisor.which_children() if supervisor is not None else []
            actor_info = children[0] if children else None
            out.append(
                ThreadInfo(
                    name=name,
                    thread_id=handle.id,
                    state=actor_info.state if actor_info else ChildState.STOPPED,
                    restart_count=actor_info.restart_count if actor_info else 0,
                    pid=handle.actor.pid or _slot_pid(handle.actor.state.runner),
                    queued_turns=handle.actor.mailbox_stats().queue_length,
                    turns_completed=handle.actor.turns,
                    app_server=_slot_index(handle.actor.state.runner),
                )
            )
        return out

    def which_app_servers(self) -> list[AppServerInfo]:
        """A snapshot of every app-server process slot (pool slots in order, then the threads'
        own processes): state, pid, threads placed and loaded, turns running, RSS, restarts,
        recycles, hibernations. Empty on exec."""
        return self._pool.infos() if self._pool is not None else []

    @property
    def latest_rate_limits(self) -> RateLimits | None:
        """The account's rate limits as the engine last reported them (app-server: every model
        request reports them; None before the first report, and always on exec)."""
        tracker = self.rate_limit_tracker
        return tracker.latest if tracker is not None else None

    @property
    def app_server_status(self) -> AppServerStatus | None:
        """The shared app-server's health (state, pid, restarts, last error) on the app-server
        transport; None on exec and with ``app_servers="per-thread"``. It is restarted whenever
        it dies, with backoff while it keeps dying (see
        :class:`~codex_trio._transport.app_server.AppServerTransport`). With a pool, the first
        process's: :meth:`which_app_servers` shows them all."""
        return self._app_server.status if self._app_server is not None else None

    def count_children(self) -> ChildCounts:
        """OTP's count_children for the threads supervisor."""
        return self._threads.count_children()

    # --- metrics and signals ---------------------------------------------------------------------

    async def serve_metrics(
        self, host: str = "127.0.0.1", port: int = 0, *, limits: HttpLimits | None = None
    ) -> tuple[str, int]:
        """Serve Prometheus metrics on ``http://host:port/metrics`` as a supervised child of the
        runtime (not a thread); returns the bound address. Creates :attr:`metrics` (a private
        registry fed by telemetry) on first use. ``limits`` bounds slow clients (request and
        idle timeouts, a connection cap; default ``observe.metrics_server.DEFAULT_LIMITS``)."""
        from codex_trio.observe._metrics import Metrics
        from codex_trio.observe._metrics_server import DEFAULT_LIMITS, serve_metrics

        if self.metrics is None:
            self.metrics = Metrics()
            self.metrics.attach(self._bus if self._bus is not None else default_bus)
        registry = self.metrics.registry

        async def run(ctx: ChildContext, *, task_status: trio.TaskStatus[Any]) -> None:
            async with trio.open_nursery() as nursery:
                address = await nursery.start(
                    functools.partial(
                        serve_metrics,
                        registry,
                        host=host,
                        port=port,
                        limits=limits if limits is not None else DEFAULT_LIMITS,
                    )
                )
                task_status.started(address)
                await ctx.stop_requested.wait()
                nursery.cancel_scope.cancel()

        address: tuple[str, int] = await self._root.start_child(
            ChildSpec(id=f"metrics:{host}:{port}", start=run, shutdown=2.0)
        )
        return address

    async def catch_shutdown_signals(
        self, signals: Iterable[int] = (signal_module.SIGINT, signal_module.SIGTERM)
    ) -> ShutdownSignal:
        """Start catching ``signals`` now and return a :class:`ShutdownSignal` to wait on.

        Returns once the handlers are in place, so a daemon can announce that it is ready
        without a window in which a SIGTERM would still kill it outright. The signals stay caught
        until the runtime has shut down: a second SIGTERM or Ctrl-C during the drain is absorbed
        instead of killing the process before its codex children are reaped. Must be called from
        the main thread (a restriction of signal handling in Python) while the runtime runs.
        """
        nursery = self._nursery
        if nursery is None:
            raise RuntimeClosedError("the runtime is not running")
        caught = ShutdownSignal()

        async def watch(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            # Lives in the runtime's nursery, so the receiver stays open through the drain; it is
            # cancelled once the tree has stopped.
            with trio.open_signal_receiver(*signals) as received:
                task_status.started()
                async for signum in received:
                    caught._set(signum)

        await nursery.start(watch)
        return caught

    async def wait_for_shutdown_signal(
        self, signals: Iterable[int] = (signal_module.SIGINT, signal_module.SIGTERM)
    ) -> int:
        """Wait until the process receives one of ``signals`` (SIGINT, SIGTERM) and return it.

        For daemons::

            async with Runtime() as runtime:
                ...start threads, serve metrics...
                await runtime.wait_for_shutdown_signal()
            # leaving the block drains and stops everything; exit 0

        Same as ``await (await runtime.catch_shutdown_signals(signals)).wait()``; see
        :meth:`catch_shutdown_signals` for what happens to later signals.
        """
        caught = await self.catch_shutdown_signals(signals)
        return await caught.wait()


class _Sampler:
    """The pool's periodic samples (``codex.app_server.sample``) as a supervised child."""

    def __init__(self, pool: AppServerPool) -> None:
        self._pool = pool

    async def run(
        self,
        *,
        task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
        stop_requested: trio.Event | None = None,
    ) -> None:
        await self._pool.run_sampler(task_status=task_status, stop_requested=stop_requested)


def _release(runner: object, thread_id: str | None) -> None:
    """A stopped thread's runner lets go of it (app-server: its records, its placement)."""
    release = getattr(runner, "release", None)
    if release is not None:
        release(thread_id)


def _slot_pid(runner: object) -> int | None:
    """The pid of the pool process a thread is placed on, if any."""
    pid = getattr(getattr(runner, "app_server", None), "pid", None)
    return pid if isinstance(pid, int) else None


def _slot_index(runner: object) -> int | None:
    slot = getattr(runner, "app_server", None)
    index = getattr(slot, "index", None)
    return index if isinstance(index, int) else None
