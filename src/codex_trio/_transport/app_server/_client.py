"""A connected, initialized ``codex app-server`` (:class:`AppServerClient`);
:func:`open_app_server`, which spawns one for the extent of an ``async with`` block, and
:func:`connect_app_server`, which connects to one already running (``codex app-server --listen
ws://IP:PORT``) over a websocket. Both give the same client after the same handshake.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from codex_trio._errors import (
    NO_ROLLOUT,
    CodexError,
    CodexVersionError,
    ConfigurationError,
    ProtocolError,
    ThreadNotFoundError,
    TransportError,
    TurnDeadlineError,
)
from codex_trio._groups import collapse
from codex_trio._protocol.app_server import _generated as g
from codex_trio._protocol.app_server.messages import (
    InvalidRequestError,
    Notification,
    Request,
    decode_params,
    encode_params,
)
from codex_trio._protocol.app_server.params import (
    TurnOverrides,
    UserInput,
    app_server_argv,
    thread_params,
    user_input,
)
from codex_trio._protocol.app_server.server_requests import (
    ApprovalHandler,
    DynamicTool,
    decline_and_log,
)
from codex_trio._protocol.app_server.thread_list import PageCursor, decode_cursor, take_page
from codex_trio._protocol.exec_events import (
    ItemCompletedEvent,
    TurnFailedEvent,
)
from codex_trio._protocol.exec_items import AgentMessageItem, ThreadItem
from codex_trio._protocol.options import (
    CodexOptions,
    ThreadOptions,
    exec_env,
)
from codex_trio._transport.app_server._dispatch import (
    ServerRequests,
    ThreadRecord,
    UserInputHandler,
)
from codex_trio._transport.app_server._requests_generated import GeneratedRequests
from codex_trio._transport.app_server._subscription import Subscription
from codex_trio._transport.app_server._turn import AppServerTurn, AppServerTurnResult
from codex_trio._transport.discovery import (
    SUPPORTED_VERSIONS,
    check_version,
    find_codex,
    parse_version,
)
from codex_trio._transport.jsonrpc import JsonRpcConnection, RequestTimeoutError, open_jsonrpc
from codex_trio._transport.lines import DEFAULT_MAX_LINE_BYTES
from codex_trio._transport.process import StopPolicy, open_codex_process
from codex_trio.observe import events as ev
from codex_trio.observe import get_logger, telemetry

if TYPE_CHECKING:
    import ssl

_log = get_logger("codex_trio._transport.app_server")
_T = TypeVar("_T")
_DEFAULT_THREAD = ThreadOptions()
_DEFAULT_CODEX = CodexOptions()
_NO_OVERRIDES = TurnOverrides()


class AppServerClient(GeneratedRequests):
    """A connected, initialized ``codex app-server``. Obtain one from :func:`open_app_server`.

    Typed wrappers return the generated response classes of
    :mod:`codex_trio._protocol.app_server.types`; :meth:`request` reaches any method untyped.
    """

    def __init__(
        self,
        connection: JsonRpcConnection,
        *,
        approval_handler: ApprovalHandler,
        event_buffer: int,
        max_threads: int = 10_000,
    ) -> None:
        if max_threads < 1:
            raise ConfigurationError("max_threads must be at least 1")
        self.connection = connection
        self.event_buffer = event_buffer
        self.max_threads = max_threads
        """How many threads' records (tools, handler, usage, loaded) are kept at most."""
        self.initialize_response: g.InitializeResponse | None = None
        self._subs: dict[str, list[Subscription]] = {}
        self._threads: collections.OrderedDict[str, ThreadRecord] = collections.OrderedDict()
        self._turns: dict[str, AppServerTurn] = {}  # thread id -> running turn
        self.server_requests = ServerRequests(
            approval_handler=approval_handler, threads=self._threads, turns=self._turns
        )
        """Answers the server's requests (approvals, tools, user input)."""
        # Threads whose turn/start got no answer before the turn's deadline: if the turn starts
        # after all, it is interrupted as soon as its turn/started arrives.
        self._abandoned: collections.OrderedDict[str, None] = collections.OrderedDict()
        # Threads unsubscribed from and not yet reported closed by the engine.
        self._closing: collections.OrderedDict[str, trio.Event] = collections.OrderedDict()
        self.dropped_notifications = 0
        self.slow_consumers = 0
        """Subscriptions that overflowed (their turns were interrupted)."""
        self._closed = trio.Event()
        self.global_listeners: list[Callable[[Notification], None]] = []
        """Called on the reader (must not block) with every notification that names no thread,
        e.g. ``account/rateLimits/updated``; one that raises is logged and skipped."""
        self.backpressure = False
        """Hold the reader while a turn's subscription is full instead of ending that turn
        (:class:`SlowConsumerError`): the pipe then fills and codex waits, as on exec. Only for a
        process serving one thread (``Runtime(app_servers="per-thread")``): on a shared process
        it would stall every thread behind one slow consumer."""
        self.overload_attempts = 4
        """How many times a request is sent while the server answers "overloaded" (-32001);
        the server processes nothing it answers so, which makes every request safe to retry."""

    @property
    def approval_handler(self) -> ApprovalHandler:
        """The default approval handler (a thread's own, if registered, comes first)."""
        return self.server_requests.approval_handler

    @approval_handler.setter
    def approval_handler(self, handler: ApprovalHandler) -> None:
        self.server_requests.approval_handler = handler

    @property
    def user_input_handler(self) -> UserInputHandler | None:
        """Answers the model's ``request_user_input`` questions: gets the generated
        ``ToolRequestUserInputParams``, returns ``{question id: [answers]}``. Without one, the
        questions are answered with no answers (and logged)."""
        return self.server_requests.user_input_handler

    @user_input_handler.setter
    def user_input_handler(self, handler: UserInputHandler | None) -> None:
        self.server_requests.user_input_handler = handler

    @property
    def error(self) -> TransportError | None:
        """Why the connection died, once it has."""
        return self.connection.error

    @property
    def pid(self) -> int | None:
        """The app-server process's pid; None for a remote server (:func:`connect_app_server`)."""
        return self.connection.channel.pid

    @property
    def url(self) -> str | None:
        """The remote server's URL (:func:`connect_app_server`); None for a spawned process."""
        url = getattr(self.connection.channel, "url", None)
        return url if isinstance(url, str) else None

    # ------------------------------------------------------------------- plumbing

    async def request(
        self, method: str, params: Any = None, *, time_limit: float | None = None
    ) -> Any:
        """Call any method with raw (or generated-class) params; returns the raw result.

        Retried with backoff while the server is overloaded; raises the typed
        :class:`~codex_trio._protocol.app_server.JsonRpcError` subclasses, ``RequestTimeoutError``
        after ``time_limit`` (default: the client's request timeout) and ``TransportError``."""
        return await self.connection.call_with_retry(
            method, encode_params(params), attempts=self.overload_attempts, time_limit=time_limit
        )

    async def _typed(
        self, method: str, params: Any, response: type[_T], *, time_limit: float | None = None
    ) -> _T:
        result = await self.request(method, params, time_limit=time_limit)
        decoded: _T = decode_params(response, result if result is not None else {}, method=method)
        return decoded

    def decode_notification(self, note: Notification) -> Any:
        """The generated params class of a notification (raw mapping if the method is unknown)."""
        cls = g.SERVER_NOTIFICATIONS.get(note.method)
        if cls is None:
            return note.params
        try:
            return decode_params(cls, note.params, method=note.method)
        except RecursionError:
            raise ProtocolError(
                f"{note.method}: params nested too deeply to decode", line=repr(note.params)[:200]
            ) from None

    @asynccontextmanager
    async def subscribe(self, thread_id: str) -> AsyncIterator[Subscription]:
        """Receive every notification of ``thread_id`` for the block's extent, through a
        :class:`Subscription` of :attr:`event_buffer` (see the module docstring: a consumer that
        falls behind gets :class:`SlowConsumerError`, it never stalls the reader)."""
        sub = self._subscribe(thread_id)
        try:
            yield sub
        finally:
            self._unsubscribe(sub)

    def _subscribe(self, thread_id: str) -> Subscription:
        sub = Subscription(
            thread_id, self.event_buffer, self._on_overflow, blocking=self.backpressure
        )
        if self.error is not None:
            sub.end()
        else:
            self._subs.setdefault(thread_id, []).append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.thread_id, [])
        if sub in subs:
            subs.remove(sub)
        if not subs:
            self._subs.pop(sub.thread_id, None)
        sub.close()

    def _on_overflow(self, sub: Subscription) -> None:
        """A subscriber fell behind: interrupt its turn (in the background: the reader never
        waits), report it, and let its consumer find :class:`SlowConsumerError`."""
        self.slow_consumers += 1
        turn = self._turns.get(sub.thread_id)
        turn_id = turn.turn_id if turn is not None and turn._sub is sub else None
        telemetry.execute(
            ev.SUBSCRIPTION_OVERFLOW,
            {"count": 1, "capacity": sub.capacity},
            {"thread_id": sub.thread_id, "turn_id": turn_id, "transport": "app-server"},
        )
        _log.warning(
            "subscription.overflow",
            thread_id=sub.thread_id,
            turn_id=turn_id,
            capacity=sub.capacity,
        )
        if turn is not None and turn._sub is sub and turn_id is not None:
            turn._interrupt_sent = True
            self.connection.start_soon(self._interrupt_quietly, sub.thread_id, turn_id)

    async def _interrupt_quietly(self, thread_id: str, turn_id: str) -> None:
        """``turn/interrupt``, bounded to 5 s; a failure is logged, not raised."""
        with trio.move_on_after(5):
            try:
                await self.turn_interrupt(thread_id, turn_id)
            except CodexError as exc:
                _log.warning("turn.interrupt_failed", error=str(exc)[:200], thread_id=thread_id)

    def _on_notification(self, note: Notification) -> bool | Awaitable[None]:
        """Called on the reader for every notification: never blocks. True when a subscriber's
        buffer is half full or more (the reader then yields, so its consumer can catch up); with
        :attr:`backpressure`, an awaitable when a subscription is full (the reader awaits it)."""
        thread_id = note.params.get("threadId")
        if thread_id is None and isinstance(note.params.get("thread"), dict):
            thread_id = note.params["thread"].get("id")
        if not isinstance(thread_id, str):
            if not self.global_listeners:
                self.dropped_notifications += 1
            for listener in self.global_listeners:
                try:
                    listener(note)
                except Exception as exc:  # a listener's bug must not stop the reader
                    _log.warning(
                        "notification.listener_failed", method=note.method, error=str(exc)[:200]
                    )
            return False
        if note.method == "thread/tokenUsage/updated":
            self._record_usage(thread_id, note.params)
        elif note.method == "thread/closed":
            closing = self._closing.pop(thread_id, None)
            if closing is not None:
                closing.set()
        elif note.method == "turn/started" and thread_id in self._abandoned:
            self._interrupt_abandoned(thread_id, note.params)
        subs = self._subs.get(thread_id)
        if not subs:
            self.dropped_notifications += 1
            return False
        if self.backpressure and any(sub.blocking and sub.full for sub in subs):
            return self._offer_when_room(list(subs), note)  # the reader waits (see backpressure)
        filling = False
        for sub in subs:
            sub.offer(note)
            filling = filling or 2 * len(sub._queue) >= sub.capacity
        return filling

    async def _offer_when_room(self, subs: list[Subscription], note: Notification) -> None:
        for sub in subs:
            if sub.blocking:
                await sub.wait_for_room()
            sub.offer(note)

    def _interrupt_abandoned(self, thread_id: str, params: Mapping[str, Any]) -> None:
        turn = params.get("turn")
        turn_id = turn.get("id") if isinstance(turn, Mapping) else None
        running = self._turns.get(thread_id)
        if isinstance(turn_id, str) and (running is None or running.turn_id != turn_id):
            del self._abandoned[thread_id]
            _log.info("turn.interrupt_abandoned", thread_id=thread_id, turn_id=turn_id)
            self.connection.start_soon(self._interrupt_quietly, thread_id, turn_id)

    def _record_usage(self, thread_id: str, params: Mapping[str, Any]) -> None:
        record = self._threads.get(thread_id)
        if record is not None:
            record.note_usage(params)

    # ------------------------------------------------------------- per-thread state

    def _record(self, thread_id: str) -> ThreadRecord:
        """The thread's record, created if needed and marked most recently used."""
        record = self._threads.pop(thread_id, None) or ThreadRecord()
        self._threads[thread_id] = record
        while len(self._threads) > self.max_threads:
            forgotten, old = self._threads.popitem(last=False)
            _log.debug("thread.forgotten", thread_id=forgotten, reason="max_threads")
            self._release(forgotten, old)
        return record

    def _release(self, thread_id: str, record: ThreadRecord) -> None:
        """Let the engine unload a thread this client no longer keeps (``thread/unsubscribe``,
        in the background; with ``thread_unload_delay_secs=0`` it unloads at once)."""
        if record.loaded and self.error is None and thread_id not in self._turns:
            self._closing[thread_id] = trio.Event()
            while len(self._closing) > self.max_threads:
                _, stale = self._closing.popitem(last=False)
                stale.set()
            self.connection.start_soon(self._unsubscribe_quietly, thread_id)

    async def _unsubscribe_quietly(self, thread_id: str) -> None:
        unloading = False
        with trio.move_on_after(10):
            try:
                reply = await self.thread_unsubscribe(thread_id)
                unloading = reply.status == "unsubscribed"
            except CodexError as exc:
                _log.debug("thread.unsubscribe_failed", thread_id=thread_id, error=str(exc)[:200])
        if not unloading:  # nothing will be closed: nobody should wait for thread/closed
            closing = self._closing.pop(thread_id, None)
            if closing is not None:
                closing.set()

    def is_loaded(self, thread_id: str) -> bool:
        """True if this client started or resumed ``thread_id`` on its process (and has not
        forgotten it since): turns can run on it without ``thread/resume``."""
        record = self._threads.get(thread_id)
        return record is not None and record.loaded

    @property
    def tracked_threads(self) -> int:
        """How many threads this client keeps a record of (at most :attr:`max_threads`)."""
        return len(self._threads)

    async def wait_closed(self) -> None:
        """Return once the connection is dead (the process exited or the block ended);
        :attr:`error` then says why."""
        await self._closed.wait()

    def _on_closed(self, error: TransportError) -> None:
        self._closed.set()
        for subs in self._subs.values():
            for sub in subs:
                sub.end()

    async def _on_request(self, request: Request) -> Any:
        return await self.server_requests(request)

    # ------------------------------------------------------------------- threads

    def _register(
        self,
        thread_id: str,
        tools: Iterable[DynamicTool],
        approval_handler: ApprovalHandler | None,
    ) -> None:
        record = self._record(thread_id)
        record.loaded = True
        registered = {t.name: t for t in tools}
        if registered:
            record.tools = registered
        if approval_handler is not None:
            record.handler = approval_handler

    async def thread_start(
        self,
        options: ThreadOptions = _DEFAULT_THREAD,
        *,
        tools: Sequence[DynamicTool] = (),
        approval_handler: ApprovalHandler | None = None,
        approval_policy: str | Mapping[str, Any] | None = None,
        developer_instructions: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> g.ThreadStartResponse:
        """Start a thread. ``tools`` are offered to the model (experimental API, enabled at
        ``initialize``); ``approval_handler`` answers this thread's approvals (default: the
        client's). ``approval_policy`` overrides ``options.approval_policy`` and accepts the
        app-server-only ``"untrusted"`` and granular forms."""
        params = thread_params(options)
        if approval_policy is not None:
            params["approvalPolicy"] = approval_policy
        if tools:
            params["dynamicTools"] = [t.spec() for t in tools]
        if developer_instructions is not None:
            params["developerInstructions"] = developer_instructions
        params.update(extra_params or {})
        response = await self._typed("thread/start", params, g.ThreadStartResponse)
        self._register(response.thread.id, tools, approval_handler)
        return response

    async def thread_resume(
        self,
        thread_id: str,
        options: ThreadOptions = _DEFAULT_THREAD,
        *,
        tools: Sequence[DynamicTool] = (),
        approval_handler: ApprovalHandler | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> g.ThreadResumeResponse:
        """Load a stored thread into this process so turns can run on it (e.g. after a
        restart). Dynamic tools are not stored with the thread: pass them again."""
        params = thread_params(options)
        params.pop("ephemeral", None)
        params["threadId"] = thread_id
        params.update(extra_params or {})
        closing = self._closing.get(thread_id)
        if closing is not None:
            # Just forgotten: the engine is unloading it and refuses a resume until it is
            # closed ("thread ... is closing"); a resume racing the unload can leave the thread
            # unable to start turns. Wait for thread/closed (milliseconds), bounded.
            with trio.move_on_after(5):
                await closing.wait()
            self._closing.pop(thread_id, None)
        # Listening from before the resume: a turn still running there ends on this feed.
        watch = Subscription(thread_id, 1024, lambda sub: None)
        self._subs.setdefault(thread_id, []).append(watch)
        try:
            try:
                response = await self._resume_when_closed(thread_id, params)
            except InvalidRequestError as exc:
                if NO_ROLLOUT not in exc.message:
                    raise
                raise ThreadNotFoundError(
                    f"thread {thread_id} not found: codex has no rollout for it in this CODEX_HOME",
                    thread_id=thread_id,
                ) from exc
            await self._end_orphaned_turns(thread_id, response, watch)
        finally:
            self._unsubscribe(watch)
        self._register(thread_id, tools, approval_handler)
        return response

    async def _end_orphaned_turns(
        self, thread_id: str, response: g.ThreadResumeResponse, watch: Subscription
    ) -> None:
        """Interrupt the turns of a resumed thread that are still running on the server, and
        wait (at most 10 s) for them to end.

        That happens on a remote server that lived on while this client's connection was lost:
        the turn's caller already got its ``TransportError``, as when a process dies with its
        turns, but the server runs the turn on; a ``turn/start`` would then join that turn (the
        engine takes it as more input for it) instead of starting one."""
        running = {t.id for t in response.thread.turns if t.status == "inProgress"}
        if not running:
            return
        _log.info("thread.orphaned_turns", thread_id=thread_id, turns=sorted(running))
        for turn_id in running:
            await self._interrupt_quietly(thread_id, turn_id)
        with trio.move_on_after(10):
            try:
                async for note in watch:
                    turn = note.params.get("turn")
                    if note.method == "turn/completed" and isinstance(turn, Mapping):
                        running.discard(turn.get("id"))
                        if not running:
                            return
            except (CodexError, trio.ClosedResourceError):
                return

    async def _resume_when_closed(
        self, thread_id: str, params: Mapping[str, Any]
    ) -> g.ThreadResumeResponse:
        """``thread/resume``, retried while the engine says the thread "is closing" (-32600:
        "retry thread/resume after the thread is closed"). That happens when another connection
        to the same server, or this client's previous one, left the thread just before: the
        server unloads a thread whose last subscriber is gone (at once with
        ``thread_unload_delay_secs=0``). Retried for at most about 5 s, then raised.

        Also retried, for at most about 30 s (the turn's deadline bounds it too): "already has an
        active writer" (-32600), the engine's answer while another process on the same
        CODEX_HOME still holds the thread, e.g. a pool process being drained for recycling that
        is finishing its last turns before it stops (observed on 0.163.0 in the 500-thread
        recycling test: a thread moved off a draining process raced its exit)."""
        delay, waited = 0.02, 0.0
        while True:
            try:
                return await self._typed("thread/resume", params, g.ThreadResumeResponse)
            except InvalidRequestError as exc:
                closing = "is closing" in exc.message and waited < 5.0
                held = "already has an active writer" in exc.message and waited < 30.0
                if not (closing or held):
                    raise
                _log.debug(
                    "thread.resume_retry",
                    thread_id=thread_id,
                    retry_in=delay,
                    reason="closing" if closing else "held elsewhere",
                )
            await trio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.5)

    async def thread_fork(
        self, thread_id: str, *, extra_params: Mapping[str, Any] | None = None
    ) -> g.ThreadForkResponse:
        """A new thread holding a copy of ``thread_id``'s history."""
        params = {"threadId": thread_id, **(extra_params or {})}
        response = await self._typed("thread/fork", params, g.ThreadForkResponse)
        parent = self._threads.get(thread_id)
        self._register(
            response.thread.id,
            parent.tools.values() if parent is not None else (),
            parent.handler if parent is not None else None,
        )
        return response

    async def thread_archive(self, thread_id: str) -> g.ThreadArchiveResponse:
        """Archive a thread; this client forgets its tools and handler (see
        :meth:`forget_thread`)."""
        response = await self._typed(
            "thread/archive", {"threadId": thread_id}, g.ThreadArchiveResponse
        )
        self.forget_thread(thread_id)
        return response

    def forget_thread(self, thread_id: str) -> None:
        """Drop what this client keeps about a thread (tools, approval handler, last usage,
        loaded), and let the engine unload it (``thread/unsubscribe`` in the background: the
        engine's ~1.2 MB per loaded thread is freed). The records are bounded anyway
        (:attr:`max_threads`, least recently used first, released the same way), but a client
        serving many threads should forget those it is done with. The thread lives on in
        CODEX_HOME: :meth:`thread_resume` (with the tools again) brings it back."""
        record = self._threads.pop(thread_id, None)
        self._abandoned.pop(thread_id, None)
        if record is not None:
            self._release(thread_id, record)

    async def thread_unsubscribe(self, thread_id: str) -> g.ThreadUnsubscribeResponse:
        """Stop receiving a thread's notifications; the engine then unloads it (at once on a
        process started by :func:`open_app_server`, see :data:`UNLOAD_DELAY_OVERRIDE`)."""
        return await self._typed(
            "thread/unsubscribe", {"threadId": thread_id}, g.ThreadUnsubscribeResponse
        )

    async def loaded_threads(self) -> list[str]:
        """The ids of every thread loaded in the engine's memory (``thread/loaded/list``)."""
        ids: list[str] = []
        cursor: str | None = None
        while True:
            params = {"cursor": cursor} if cursor else {}
            page = await self._typed("thread/loaded/list", params, g.ThreadLoadedListResponse)
            ids.extend(page.data)
            cursor = page.next_cursor
            if not cursor or not page.data:
                return ids

    def iter_threads(
        self, *, page_size: int = 50, archived: bool | None = None, **filters: Any
    ) -> ThreadPages:
        """Every stored thread, page after page (``async for thread in client.iter_threads()``).
        ``filters`` are :meth:`thread_list`'s other keywords (``source_kinds``, ``cwd``,
        ``search_term``, ``sort_key``...); the engine's default sources leave out threads
        ``codex exec`` started (``source_kinds=("exec", ...)`` includes them)."""
        if page_size < 1:
            raise ConfigurationError("page_size must be at least 1")
        return ThreadPages(self, page_size=page_size, filters={"archived": archived, **filters})

    # --------------------------------------------------------------------- turns

    async def turn_start(
        self, thread_id: str, prompt: UserInput, overrides: TurnOverrides = _NO_OVERRIDES
    ) -> g.TurnStartResponse:
        """Start a turn without following it (see :meth:`turn` for a stream)."""
        params = {"threadId": thread_id, "input": user_input(prompt), **overrides.params()}
        return await self._typed("turn/start", params, g.TurnStartResponse)

    async def turn_steer(
        self, thread_id: str, turn_id: str, prompt: UserInput
    ) -> g.TurnSteerResponse:
        """Add input to the running turn ``turn_id``."""
        params = {"threadId": thread_id, "expectedTurnId": turn_id, "input": user_input(prompt)}
        return await self._typed("turn/steer", params, g.TurnSteerResponse)

    async def turn_interrupt(self, thread_id: str, turn_id: str) -> g.TurnInterruptResponse:
        return await self._typed(
            "turn/interrupt", {"threadId": thread_id, "turnId": turn_id}, g.TurnInterruptResponse
        )

    @asynccontextmanager
    async def turn(
        self,
        thread_id: str,
        prompt: UserInput,
        overrides: TurnOverrides = _NO_OVERRIDES,
        *,
        deadline: float | None = None,
    ) -> AsyncIterator[AppServerTurn]:
        """Start a turn and stream its events (exec-style classes plus the richer app-server
        ones). Leaving the block before the turn ended sends ``turn/interrupt`` (shielded,
        bounded), so an abandoned turn stops spending tokens.

        ``deadline`` (``trio.current_time()`` based) bounds ``turn/start`` too: if it passes
        before the engine answered, :class:`TurnDeadlineError` is raised, and should the turn
        start after all, it is interrupted as soon as the engine says so."""
        if thread_id in self._turns:
            raise ConfigurationError(f"thread {thread_id} already has a turn streaming here")
        sub = self._subscribe(thread_id)
        record = self._threads.get(thread_id)
        turn = AppServerTurn(self, thread_id, sub, record.usage if record is not None else None)
        self._turns[thread_id] = turn
        self._abandoned.pop(thread_id, None)
        limit = self.connection.request_timeout
        if deadline is not None:
            limit = max(0.0, min(limit, deadline - trio.current_time()))
        try:
            # Shielded (the call has its own bound): once turn/start is sent the engine runs the
            # turn, so we must learn its id to be able to interrupt it if we are cancelled.
            with trio.CancelScope(shield=True):
                try:
                    started = await self._typed(
                        "turn/start",
                        {"threadId": thread_id, "input": user_input(prompt), **overrides.params()},
                        g.TurnStartResponse,
                        time_limit=limit,
                    )
                except RequestTimeoutError:
                    if deadline is None or trio.current_time() < deadline:
                        raise
                    self._abandoned[thread_id] = None
                    while len(self._abandoned) > self.max_threads:
                        self._abandoned.popitem(last=False)
                    raise TurnDeadlineError(
                        "turn deadline passed before the engine answered turn/start",
                        thread_id=thread_id,
                        pid=self.pid,
                        stderr_tail=self.connection.process.stderr.tail(),
                    ) from None
            turn.turn_id = started.turn.id
            if sub.overflowed and not turn._interrupt_sent:
                turn._interrupt_sent = True
                self.connection.start_soon(self._interrupt_quietly, thread_id, turn.turn_id)
            await trio.lowlevel.checkpoint_if_cancelled()
            yield turn
        finally:
            if self._turns.get(thread_id) is turn:
                del self._turns[thread_id]
            self._unsubscribe(sub)
            if (
                turn.turn_id is not None
                and not turn._mapper.finished
                and not turn._interrupt_sent
                and self.error is None
            ):
                with trio.CancelScope(shield=True):
                    await self._interrupt_quietly(thread_id, turn.turn_id)

    async def run_turn(
        self,
        thread_id: str,
        prompt: UserInput,
        overrides: TurnOverrides = _NO_OVERRIDES,
    ) -> AppServerTurnResult:
        """Run a turn to its end and return what it produced (see :meth:`turn` to stream)."""
        items: list[ThreadItem] = []
        error_message: str | None = None
        async with self.turn(thread_id, prompt, overrides) as turn:
            async for event in turn:
                if isinstance(event, ItemCompletedEvent):
                    items.append(event.item)
                elif isinstance(event, TurnFailedEvent):
                    error_message = event.message
        assert turn.turn_id is not None
        messages = [i.text for i in items if isinstance(i, AgentMessageItem)]
        return AppServerTurnResult(
            thread_id=thread_id,
            turn_id=turn.turn_id,
            status=turn.status or "completed",
            items=tuple(items),
            final_response=messages[-1] if messages else None,
            usage=turn.usage,
            approvals=tuple(turn.approvals),
            error_message=error_message,
        )

    # ------------------------------------------------------------- account, models

    async def login_api_key(self, api_key: str) -> Any:
        """Log in with an API key (``account/login/start`` type ``apiKey``); the key is never
        logged. Returns the raw response."""
        from codex_trio._redact import register_secret

        register_secret(api_key)
        return await self.request("account/login/start", {"type": "apiKey", "apiKey": api_key})


_Serve = Callable[
    [
        Callable[[Notification], bool | Awaitable[None]],
        Callable[[Request], Awaitable[Any]],
        Callable[[TransportError], None],
    ],
    AbstractAsyncContextManager[JsonRpcConnection],
]
"""Opens the JSON-RPC connection given the client's three callbacks (notification, request,
closed): over a spawned process (:func:`_serve`) or a websocket (:func:`_serve_remote`)."""


@asynccontextmanager
async def open_app_server(
    options: CodexOptions = _DEFAULT_CODEX,
    *,
    codex_path: str | None = None,
    approval_handler: ApprovalHandler = decline_and_log,
    request_timeout: float = 60.0,
    event_buffer: int = 256,
    client_name: str = "codex_trio",
    client_version: str = "0.1.0",
    experimental_api: bool = True,
    stop_policy: StopPolicy = StopPolicy(),
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    cwd: str | None = None,
    check: bool = True,
    write_timeout: float = 30.0,
    max_server_requests: int = 256,
    max_threads: int = 10_000,
) -> AsyncIterator[AppServerClient]:
    """Spawn ``codex app-server``, initialize it, yield a client; stop and reap it on exit.

    ``experimental_api`` (default on) is needed for dynamic tools. A failed handshake raises
    :class:`TransportError` or :class:`~codex_trio._protocol.app_server.JsonRpcError`.
    ``event_buffer`` bounds each subscription (see the module docstring), ``write_timeout``
    each write to codex's stdin (past it the connection fails), ``max_server_requests`` the
    server requests handled at once, ``max_threads`` the per-thread records the client keeps.
    """
    path = find_codex(codex_path or options.codex_path)
    if check:
        await check_version(path)
    argv = app_server_argv(path, options)

    def serve(
        on_notification: Callable[[Notification], bool | Awaitable[None]],
        on_request: Callable[[Request], Awaitable[Any]],
        on_closed: Callable[[TransportError], None],
    ) -> AbstractAsyncContextManager[JsonRpcConnection]:
        return _serve(
            argv,
            options,
            cwd,
            max_line_bytes,
            stop_policy,
            on_notification,
            on_request,
            on_closed,
            request_timeout,
            write_timeout,
            max_server_requests,
        )

    async with _client_over(
        serve,
        approval_handler=approval_handler,
        event_buffer=event_buffer,
        max_threads=max_threads,
        client_name=client_name,
        client_version=client_version,
        experimental_api=experimental_api,
        check_server_version=False,
    ) as client:
        yield client


@asynccontextmanager
async def connect_app_server(
    url: str,
    *,
    auth_token: str | None = None,
    approval_handler: ApprovalHandler = decline_and_log,
    request_timeout: float = 60.0,
    connect_timeout: float = 10.0,
    event_buffer: int = 256,
    client_name: str = "codex_trio",
    client_version: str = "0.1.0",
    experimental_api: bool = True,
    max_message_bytes: int = DEFAULT_MAX_LINE_BYTES,
    check: bool = True,
    write_timeout: float = 30.0,
    max_server_requests: int = 256,
    max_threads: int = 10_000,
    ssl_context: ssl.SSLContext | None = None,
    ping_interval: float | None = 20.0,
    ping_timeout: float = 20.0,
) -> AsyncIterator[AppServerClient]:
    """Connect to a running ``codex app-server --listen ws://IP:PORT`` at ``url``, initialize,
    and yield the same client :func:`open_app_server` gives; leaving the block closes the
    connection (the server runs on).

    ``auth_token`` is sent as ``Authorization: Bearer <token>`` (a server started with
    ``--ws-auth capability-token`` checks it before any JSON-RPC) and registered as a secret, so
    no error or log shows it. Raises :class:`~codex_trio._errors.AuthenticationError` when the
    server refuses the token or wants one, :class:`TransportError` when it cannot be reached
    within ``connect_timeout`` seconds or refuses the connection otherwise,
    :class:`ConfigurationError` for a ``url`` that is not ``ws://``/``wss://``, and (``check``)
    :class:`~codex_trio._errors.CodexVersionError` when the server's version, from its
    ``initialize`` answer, is not a supported one. ``max_message_bytes`` bounds one incoming
    message; a larger one closes the connection (see :mod:`codex_trio._transport.websocket`).
    The server is pinged every ``ping_interval`` seconds (None: never); no pong within
    ``ping_timeout`` drops the connection, so a half-open one fails everyone on it at once.
    The rest is as for :func:`open_app_server`; see docs/remote.md for what differs from a
    spawned process (no pid, no stderr tail, the server's own CODEX_HOME and config).
    """
    # Checked (and the token registered as a secret) before anything is attempted.
    from codex_trio._transport.websocket import check_auth_token, check_url

    check_url(url)
    check_auth_token(auth_token)

    def serve(
        on_notification: Callable[[Notification], bool | Awaitable[None]],
        on_request: Callable[[Request], Awaitable[Any]],
        on_closed: Callable[[TransportError], None],
    ) -> AbstractAsyncContextManager[JsonRpcConnection]:
        return _serve_remote(
            url,
            auth_token,
            connect_timeout,
            max_message_bytes,
            ssl_context,
            (ping_interval, ping_timeout),
            on_notification,
            on_request,
            on_closed,
            request_timeout,
            write_timeout,
            max_server_requests,
        )

    async with _client_over(
        serve,
        approval_handler=approval_handler,
        event_buffer=event_buffer,
        max_threads=max_threads,
        client_name=client_name,
        client_version=client_version,
        experimental_api=experimental_api,
        check_server_version=check,
    ) as client:
        yield client


@asynccontextmanager
async def _client_over(
    serve: _Serve,
    *,
    approval_handler: ApprovalHandler,
    event_buffer: int,
    max_threads: int,
    client_name: str,
    client_version: str,
    experimental_api: bool,
    check_server_version: bool,
) -> AsyncIterator[AppServerClient]:
    """A client over the connection ``serve`` opens, after the ``initialize`` / ``initialized``
    handshake: what :func:`open_app_server` and :func:`connect_app_server` share."""
    client: AppServerClient | None = None

    def on_notification(note: Notification) -> bool | Awaitable[None]:
        return client._on_notification(note) if client is not None else False

    async def on_request(request: Request) -> Any:
        assert client is not None
        return await client._on_request(request)

    def on_closed(error: TransportError) -> None:
        if client is not None:
            client._on_closed(error)

    with collapse():
        async with serve(on_notification, on_request, on_closed) as connection:
            client = AppServerClient(
                connection,
                approval_handler=approval_handler,
                event_buffer=event_buffer,
                max_threads=max_threads,
            )
            client.experimental_api = experimental_api
            init = await connection.call(
                "initialize",
                {
                    "clientInfo": {
                        "name": client_name,
                        "title": client_name,
                        "version": client_version,
                    },
                    "capabilities": {"experimentalApi": experimental_api},
                },
            )
            client.initialize_response = decode_params(
                g.InitializeResponse, init or {}, method="initialize"
            )
            if check_server_version:
                _check_server_version(client.initialize_response, client.url or "")
            await connection.notify("initialized")
            yield client
            connection.process.expect_exit = True


def _check_server_version(init: g.InitializeResponse, where: str) -> None:
    """A remote server's version, read from its ``initialize`` answer (``userAgent`` is
    ``<client name>/<codex version> (<platform>)``), must be one this SDK supports."""
    _, _, rest = init.user_agent.partition("/")
    version = parse_version(rest.split(" ", 1)[0])
    low, high = SUPPORTED_VERSIONS
    if version is None or not low <= version < high:
        shown = ".".join(map(str, version)) if version is not None else None
        bounds = tuple(".".join(map(str, v)) for v in SUPPORTED_VERSIONS)
        raise CodexVersionError(
            f"the app-server at {where} runs codex {shown or '(unknown version)'}, "
            f"not a supported version (need >= {bounds[0]}, < {bounds[1]}; "
            f"userAgent {init.user_agent[:100]!r})",
            path=where,
            version=shown,
        )


@asynccontextmanager
async def _serve(
    argv: list[str],
    options: CodexOptions,
    cwd: str | None,
    max_line_bytes: int,
    stop_policy: StopPolicy,
    on_notification: Callable[[Notification], bool | Awaitable[None]],
    on_request: Callable[[Request], Awaitable[Any]],
    on_closed: Callable[[TransportError], None],
    request_timeout: float,
    write_timeout: float,
    max_server_requests: int,
) -> AsyncIterator[JsonRpcConnection]:
    async with open_codex_process(
        argv,
        env=exec_env(options),
        cwd=cwd,
        max_line_bytes=max_line_bytes,
        stop_policy=stop_policy,
        transport="app-server",
    ) as process:
        async with open_jsonrpc(
            process,
            on_notification=on_notification,
            on_request=on_request,
            on_closed=on_closed,
            request_timeout=request_timeout,
            write_timeout=write_timeout,
            max_server_requests=max_server_requests,
        ) as connection:
            yield connection


@asynccontextmanager
async def _serve_remote(
    url: str,
    auth_token: str | None,
    connect_timeout: float,
    max_message_bytes: int,
    ssl_context: ssl.SSLContext | None,
    ping: tuple[float | None, float],
    on_notification: Callable[[Notification], bool | Awaitable[None]],
    on_request: Callable[[Request], Awaitable[Any]],
    on_closed: Callable[[TransportError], None],
    request_timeout: float,
    write_timeout: float,
    max_server_requests: int,
) -> AsyncIterator[JsonRpcConnection]:
    from codex_trio._transport.websocket import open_websocket_channel

    async with open_websocket_channel(
        url,
        auth_token=auth_token,
        connect_timeout=connect_timeout,
        max_message_bytes=max_message_bytes,
        ssl_context=ssl_context,
        ping_interval=ping[0],
        ping_timeout=ping[1],
    ) as channel:
        async with open_jsonrpc(
            channel,
            on_notification=on_notification,
            on_request=on_request,
            on_closed=on_closed,
            request_timeout=request_timeout,
            write_timeout=write_timeout,
            max_server_requests=max_server_requests,
        ) as connection:
            yield connection


class ThreadPages:
    """Every stored thread, fetched a page (``thread/list``) at a time as the iteration needs
    them: what :meth:`AppServerClient.iter_threads` returns. An iterator object, not an async
    generator, so a consumer that stops early leaves nothing suspended behind. Threads created
    in the same second are all listed, which the engine's own cursor does not do (see
    :mod:`codex_trio._protocol.app_server.thread_list`)."""

    def __init__(
        self, client: AppServerClient, *, page_size: int, filters: Mapping[str, Any]
    ) -> None:
        self._client = client
        self._page_size = page_size
        self._filters = dict(filters)
        self._page: collections.deque[g.Thread] = collections.deque()
        self._cursor = PageCursor()
        self._last_page = False

    def __aiter__(self) -> ThreadPages:
        return self

    async def __anext__(self) -> g.Thread:
        while not self._page:
            if self._last_page:
                raise StopAsyncIteration
            page = await self._client.thread_list(
                cursor=self._cursor.request(self._filters),
                limit=self._page_size + len(self._cursor.seen),
                **self._filters,
            )
            rows, next_cursor = take_page(
                page.data, page.next_cursor, self._cursor, self._page_size, self._filters
            )
            self._page.extend(rows)
            self._last_page = next_cursor is None
            if next_cursor is not None:
                self._cursor = decode_cursor(next_cursor)
        return self._page.popleft()
