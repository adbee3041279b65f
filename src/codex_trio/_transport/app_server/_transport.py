"""The app-server transport behind ``Codex(transport="app-server")``: one shared process,
restarted whenever it dies, with backoff while it keeps dying.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import ClassVar

import attrs
import trio

from codex_trio._errors import (
    CodexError,
    ConfigurationError,
    TransportError,
    TurnDeadlineError,
)
from codex_trio._groups import collapse
from codex_trio._intensity import RestartIntensity
from codex_trio._protocol.app_server.messages import Notification
from codex_trio._protocol.app_server.params import (
    TurnOverrides,
)
from codex_trio._protocol.app_server.server_requests import (
    ApprovalHandler,
    DynamicTool,
    decline_and_log,
)
from codex_trio._protocol.exec_events import (
    ThreadEvent,
)
from codex_trio._protocol.options import (
    CodexOptions,
    LocalImageInput,
    TextInput,
    ThreadOptions,
    TurnOptions,
)
from codex_trio._transport.app_server._client import (
    AppServerClient,
    connect_app_server,
    open_app_server,
)
from codex_trio._transport.app_server._turn import AppServerTurn, ExecEventStream
from codex_trio._transport.process import StopPolicy
from codex_trio.observe import events as ev
from codex_trio.observe import get_logger, telemetry

_log = get_logger("codex_trio._transport.app_server")


_PROCESS_SETTINGS = ("config", "raw_overrides", "base_url", "api_key")


def _check_remote(transport: AppServerTransport, url: str | None) -> None:
    """A remote ``url`` is a ws:// URL, and comes without settings only a spawned process
    takes (they would be silently ignored)."""
    if url is None:
        return
    from codex_trio._transport.websocket import check_url

    check_url(url)
    given = [name for name in _PROCESS_SETTINGS if getattr(transport.options, name)]
    if given:
        raise ConfigurationError(
            f"{', '.join(given)} configure a codex process this SDK starts; a remote app-server "
            f"(url=...) runs with its own settings: set them where it is started"
        )


def _check_token(transport: AppServerTransport, token: str | None) -> None:
    if token is None:
        return
    from codex_trio._transport.websocket import check_auth_token

    check_auth_token(token)  # registers it as a secret first, whatever follows
    if transport.url is None:
        raise ConfigurationError("auth_token is for a remote app-server: give url= too")


@attrs.frozen(kw_only=True)
class AppServerStatus:
    """The shared app-server's health, as :attr:`AppServerTransport.status` reports it.

    ``state`` is ``"starting"`` (the first process is being started), ``"running"``,
    ``"restarting"`` (it died; a new one is being started), ``"backoff"`` (it died more than
    ``max_restarts`` times within ``restart_period``: the next start waits ``retry_in`` seconds,
    and turns fail at once meanwhile) or ``"stopped"``.
    """

    state: str
    pid: int | None
    restarts: int
    """Processes started after the first (one per death)."""
    consecutive_failures: int
    """Deaths within the last ``restart_period`` seconds."""
    retry_in: float | None
    last_error: str | None
    url: str | None = None
    """The remote server's URL when the transport connects to one (``pid`` is then None)."""


@attrs.define(kw_only=True)
class AppServerTransport:
    """The app-server transport behind ``Codex(transport="app-server")``.

    Inside ``async with transport.open():`` one long-lived app-server process serves every
    thread and turn (the intended use); without it, each turn starts a private one.
    :meth:`turn` has the same shape as ``ExecTransport.turn`` and yields exec-style events
    only: ``ThreadStartedEvent`` first, then what the turn did, ending with
    ``TurnCompletedEvent`` or ``TurnFailedEvent``.

    The shared process is restarted whenever it dies, for as long as the block lives: at once
    for the first ``max_restarts`` deaths within ``restart_period`` seconds, then with an
    exponential backoff (``initial_backoff`` doubling up to ``max_backoff``) while it keeps
    dying; it recovers as soon as a process stays up. :attr:`status` tells which state it is in.

    With ``url`` (``ws://HOST:PORT`` of a running ``codex app-server --listen``) nothing is
    spawned: the transport connects to that server (``auth_token`` as its bearer token), and a
    dead connection is reconnected by the same rules (states, intensity and backoff are those of
    a restarted process). See docs/remote.md.
    """

    name: ClassVar[str] = "app-server"

    options: CodexOptions = attrs.field(factory=CodexOptions)
    approval_handler: ApprovalHandler = decline_and_log
    tools: Sequence[DynamicTool] = ()
    event_buffer: int = 256
    request_timeout: float = 60.0
    stop_policy: StopPolicy = StopPolicy()
    max_restarts: int = 3
    """Deaths within ``restart_period`` seconds restarted at once; past it, with backoff."""
    restart_period: float = 60.0
    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    max_threads: int = 10_000
    """Per-thread records the client keeps (see :class:`AppServerClient`)."""
    write_timeout: float = 30.0
    """Bound of one write to the shared process's stdin; past it the connection fails and the
    process is restarted."""
    global_listeners: list[Callable[[Notification], None]] = attrs.field(factory=list)
    """Given to every client this transport opens (see ``AppServerClient.global_listeners``):
    called on the reader with each notification that names no thread."""
    url: str | None = attrs.field(default=None, validator=lambda i, a, v: _check_remote(i, v))
    """A running app-server's ``ws://``/``wss://`` URL: connect to it instead of spawning one
    (the process options ``config``, ``raw_overrides``, ``base_url`` and ``api_key`` are then
    refused: the server runs with its own)."""
    auth_token: str | None = attrs.field(
        default=None, repr=False, validator=lambda i, a, v: _check_token(i, v)
    )
    """The remote server's bearer token (``--ws-auth capability-token``); registered as a secret,
    sent only in the ``Authorization`` header, never shown in a repr, error or log."""
    connect_timeout: float = 10.0
    """Bound of one connection attempt to a remote server (TCP, websocket upgrade)."""
    slot: str | None = None
    """The process's place in a pool (``"0"``, ``"1"``...; ``"per-thread"``), added to its
    telemetry as ``slot`` (a bounded label); None for a transport of its own."""
    backpressure: bool = False
    """Hold the connection's reader while a turn's consumer is behind instead of ending the
    turn (see ``AppServerClient.backpressure``): only for a process serving one thread."""
    client: AppServerClient | None = attrs.field(init=False, default=None)
    """The live client of the shared process (inside :meth:`open`, while one runs)."""
    restarts: int = attrs.field(init=False, default=0)
    """How many times the shared process was restarted after dying."""
    _opened: bool = attrs.field(init=False, default=False)
    _changed: trio.Event = attrs.field(init=False, factory=trio.Event)
    _state: str = attrs.field(init=False, default="stopped")
    _intensity: RestartIntensity = attrs.field(init=False)
    _refused: int = attrs.field(init=False, default=0)  # deaths in a row past the intensity
    _retry_at: float | None = attrs.field(init=False, default=None)
    _last_error: CodexError | None = attrs.field(init=False, default=None)

    @_intensity.default
    def _new_intensity(self) -> RestartIntensity:
        return RestartIntensity(max_restarts=self.max_restarts, max_seconds=self.restart_period)

    @property
    def recovers_itself(self) -> bool:
        """True inside :meth:`open`: a dead shared process is restarted here, and the threads
        that were on it resume on the next one, so a ``TransportError`` of a turn says nothing
        about the thread (a :class:`~codex_trio.runtime.ThreadActor` then does not crash)."""
        return self._opened

    @property
    def status(self) -> AppServerStatus:
        client = self.client
        retry_in = (
            max(0.0, self._retry_at - trio.current_time())
            if self._retry_at is not None and self._state == "backoff"
            else None
        )
        return AppServerStatus(
            state=self._state,
            pid=client.pid if client is not None and client.error is None else None,
            restarts=self.restarts,
            consecutive_failures=self._intensity.restarts_in_window(trio.current_time())
            + self._refused,
            retry_in=retry_in,
            last_error=str(self._last_error) if self._last_error is not None else None,
            url=self.url,
        )

    @asynccontextmanager
    async def _open_client(self) -> AsyncIterator[AppServerClient]:
        async with self._spawn_client() as client:
            client.global_listeners.extend(self.global_listeners)
            client.backpressure = self.backpressure
            yield client

    def _spawn_client(self) -> AbstractAsyncContextManager[AppServerClient]:
        if self.url is not None:
            return connect_app_server(
                self.url,
                auth_token=self.auth_token,
                approval_handler=self.approval_handler,
                request_timeout=self.request_timeout,
                connect_timeout=self.connect_timeout,
                event_buffer=self.event_buffer,
                max_threads=self.max_threads,
                write_timeout=self.write_timeout,
            )
        return open_app_server(
            self.options,
            approval_handler=self.approval_handler,
            request_timeout=self.request_timeout,
            event_buffer=self.event_buffer,
            stop_policy=self.stop_policy,
            max_threads=self.max_threads,
            write_timeout=self.write_timeout,
        )

    @asynccontextmanager
    async def open(self) -> AsyncIterator[AppServerTransport]:
        """Run the shared app-server for the block's extent (every turn then reuses it).

        If the process dies, turns in flight fail with ``TransportError``; it is restarted (see
        the class docstring) and the next turn of a thread resumes it by id (``thread/resume``)
        on the new process. A failure to start the first process raises its ``TransportError``
        here.
        """
        if self._opened:
            raise ConfigurationError("AppServerTransport.open() is already active")
        self._opened = True
        self._intensity.reset()
        self._refused = 0
        self._last_error = None
        try:
            with collapse():
                async with trio.open_nursery() as nursery:
                    await nursery.start(self._keep_running)
                    try:
                        yield self
                    finally:
                        nursery.cancel_scope.cancel()
        finally:
            self._opened = False
            self.client = None
            self._set_state("stopped")

    def _set_state(self, state: str) -> None:
        """Record the state and wake turns waiting for a live client."""
        if state != self._state:
            previous, self._state = self._state, state
            telemetry.execute(
                ev.APP_SERVER_STATE,
                {"restarts": self.restarts, "up": 1 if state == "running" else 0},
                {
                    "state": state,
                    "previous": previous,
                    "transport": "app-server",
                    "slot": self.slot,
                    "instance": id(self),
                },
            )
        self._changed.set()
        self._changed = trio.Event()

    def forget_thread(self, thread_id: str) -> None:
        """Drop what the live client keeps about ``thread_id`` (see
        :meth:`AppServerClient.forget_thread`); its next turn resumes it."""
        if self.client is not None:
            self.client.forget_thread(thread_id)

    async def _keep_running(self, *, task_status: trio.TaskStatus[None]) -> None:
        started = False
        self._set_state("starting")
        while True:
            error: CodexError | None = None
            try:
                async with self._open_client() as client:
                    self.client = client
                    self._set_state("running")
                    if not started:
                        started = True
                        task_status.started()
                    await client.wait_closed()
                    self.client = None
                    error = client.error
                    self._set_state("restarting")  # while the dead process is being reaped
            except CodexError as exc:
                if not started:
                    raise  # the first start failing is the caller's error
                self.client = None
                error = exc
            self._last_error = error
            now = trio.current_time()
            if self._intensity.allow(now):
                self._refused = 0
            else:
                self._refused += 1
            self.restarts += 1
            telemetry.execute(
                ev.APP_SERVER_RESTART,
                {"count": 1, "restarts": self.restarts},
                {"reason": type(error).__name__, "transport": "app-server", "slot": self.slot},
            )
            if self._refused:
                delay = min(self.max_backoff, self.initial_backoff * 2 ** (self._refused - 1))
                self._retry_at = now + delay
                self._set_state("backoff")
                _log.error(
                    "app_server.backoff",
                    deaths=self.status.consecutive_failures,
                    period=self.restart_period,
                    retry_in=delay,
                    error=str(error)[:300],
                    url=self.url,
                )
                await trio.sleep(delay)
                self._retry_at = None
            else:
                _log.warning(
                    "app_server.reconnecting" if self.url else "app_server.restarting",
                    error=str(error)[:300],
                    restarts=self.restarts,
                    url=self.url,
                )
            self._set_state("restarting")

    async def _shared_client(self) -> AppServerClient:
        """The live shared client, waiting while a dead one is being replaced; in backoff (the
        process keeps dying) raises at once rather than hold the caller."""
        while True:
            client = self.client
            if client is not None and client.error is None:
                return client
            if self._state == "backoff":
                status = self.status
                raise TransportError(
                    f"the shared app-server is down: it died {status.consecutive_failures} "
                    f"times in {self.restart_period:g} s; next start in "
                    f"{status.retry_in or 0:.1f} s (last error: {status.last_error})"
                )
            if not self._opened:
                raise TransportError("the app-server transport is closed")
            await self._changed.wait()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AppServerClient]:
        """A client for requests outside turns (thread management, engine services): inside
        :meth:`open` the shared one (waiting while a dead process is replaced), otherwise a
        private app-server started for the block and stopped after it."""
        if self._opened:
            yield await self._shared_client()
            return
        async with self._open_client() as client:
            yield client

    def turn(
        self,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions = TurnOptions(),
        *,
        images: Sequence[str] = (),
        resume_thread_id: str | None = None,
    ) -> AbstractAsyncContextManager[AsyncIterator[ThreadEvent]]:
        """One turn, as ``ExecTransport.turn``. Inside :meth:`open` it runs on the shared
        process; outside, on a private app-server started and stopped for this turn.

        The turn's deadline (``timeout=`` / ``deadline=``) bounds all of it: waiting for a
        restarting process, ``thread/start`` or ``thread/resume``, ``turn/start`` and the events;
        past it the turn is interrupted and :class:`TurnDeadlineError` raised."""
        return self._turn(prompt, thread, turn, images=images, resume_thread_id=resume_thread_id)

    @asynccontextmanager
    async def _turn(
        self,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions,
        *,
        images: Sequence[str],
        resume_thread_id: str | None,
    ) -> AsyncIterator[AsyncIterator[ThreadEvent]]:
        deadline = turn.deadline_from(trio.current_time())
        client: AppServerClient | None = None
        running: AppServerTurn | None = None
        thread_id = resume_thread_id
        with trio.CancelScope(deadline=deadline) as scope:
            async with AsyncExitStack() as stack:
                if self._opened:
                    client = await self._shared_client()
                else:
                    # Not opened: a private app-server for this one turn (about a second of
                    # start-up; the thread lives on in CODEX_HOME and resumes by id next time).
                    client = await stack.enter_async_context(self._open_client())
                import contextlib

                from codex_trio._protocol.app_server.params import (
                    default_effort,
                    engine_thread_settings,
                    turn_overrides,
                )
                from codex_trio._protocol.options import InputPart

                settings: dict[str, object] | None = None
                if resume_thread_id is None:
                    started = await client.thread_start(thread, tools=self.tools)
                    thread_id = started.thread.id
                    settings = engine_thread_settings(started)
                elif not client.is_loaded(resume_thread_id):
                    resumed = await client.thread_resume(resume_thread_id, thread, tools=self.tools)
                    settings = engine_thread_settings(resumed)
                assert thread_id is not None
                if turn.effort is not None and not (settings or {}).get("effort"):
                    # codex reports no effort for a thread that sets none; the model's default
                    # is what the thread goes back to after this turn.
                    effort = None
                    model = (settings or {}).get("model", thread.model)
                    with contextlib.suppress(CodexError):
                        models = await client.request("model/list", {}, time_limit=5)
                        effort = default_effort(models, model if isinstance(model, str) else None)
                    if effort is not None:
                        settings = {**(settings or {}), "effort": effort}

                parts: list[InputPart] = [TextInput(prompt)]
                parts += [LocalImageInput(p) for p in (*turn.images, *images)]
                parts += turn.attachments
                overrides: TurnOverrides = turn_overrides(turn, thread)
                try:
                    async with client.turn(
                        thread_id, parts, overrides, deadline=deadline
                    ) as running:
                        events = ExecEventStream(thread_id, running)
                        # What codex says the thread runs with, for open_turn to send back
                        # after a turn that overrode it (see ThreadState.restore).
                        setattr(events, "thread_settings", settings)  # noqa: B010
                        yield events
                finally:
                    if turn.summary is not None and self._opened:
                        # codex 0.163 keeps turn/start overrides for the thread's later turns
                        # and reports no summary setting to send back; a resume resets it, so
                        # the thread is unloaded and its next turn resumes it.
                        client.forget_thread(thread_id)
        if scope.cancelled_caught:
            # Leaving client.turn above already sent turn/interrupt.
            raise TurnDeadlineError(
                "turn deadline passed; the turn was interrupted"
                if running is not None
                else "turn deadline passed before the turn started",
                thread_id=thread_id,
                turn_id=running.turn_id if running is not None else None,
                pid=client.pid if client is not None else None,
                stderr_tail=(client.connection.process.stderr.tail() if client is not None else ""),
            )
