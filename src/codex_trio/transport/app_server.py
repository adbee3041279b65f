"""``codex app-server``: one long-lived process serving many threads over JSON-RPC.

:func:`open_app_server` spawns ``codex app-server``, performs the ``initialize`` /
``initialized`` handshake, and yields an :class:`AppServerClient` for the extent of an ``async
with`` block; leaving it stops and reaps the process (and the shell commands it started).

Isolation. One reader task (see :mod:`codex_trio.transport.jsonrpc`) receives everything and
never waits for a subscriber: a notification carrying a ``threadId`` is *offered* to the
subscribers of that thread (a streamed turn is one), each a :class:`Subscription` with its own
bound (``event_buffer``). When a subscription is full, a delta notification (agent message,
reasoning, command output ...) is merged into the delta queued before it for the same item,
which loses nothing; anything else overflows the subscription: its turn is interrupted
(``turn/interrupt``) and its consumer gets the events buffered so far, then
:class:`~codex_trio.errors.SlowConsumerError`. Telemetry ``codex.subscription.overflow`` and the
``codex_slow_consumer_total`` metric count it. Every other thread on the process goes on at full
speed. (Pipe-level backpressure, where a slow consumer just makes codex wait, is the exec
transport's, and a process of one's own.) Notifications without a thread, or for a thread
nobody listens to, are dropped after telemetry.

Server requests run in their own tasks (at most ``max_server_requests`` at once): approvals go to
the approval handler registered for the thread (or the client's default, which DECLINES and
logs); an approval whose params do not decode is declined; ``item/tool/call`` goes to the
thread's dynamic tools; anything else gets a JSON-RPC "method not found" error. Every decision
is recorded on the turn that asked (:attr:`AppServerTurn.approvals`).

Failure. If the process dies, every pending call and every open turn stream fails at once with
:class:`~codex_trio.errors.TransportError` (exit code, stderr tail). Leaving a streamed turn early
(break, exception, cancellation) sends ``turn/interrupt`` so the engine stops spending tokens.
A ``deadline`` bounds the whole turn, ``turn/start`` included.

State. What the client keeps per thread (tools, approval handler, last usage, whether it is
loaded in this process) is one record per thread, at most ``max_threads`` of them (the least
recently used is forgotten: its next turn resumes it); :meth:`AppServerClient.forget_thread`
drops one at once.
"""

from __future__ import annotations

import collections
import copy
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, ClassVar, TypeVar, cast

import attrs
import trio

from codex_trio._groups import collapse
from codex_trio.errors import (
    CodexError,
    ConfigurationError,
    ProtocolError,
    SlowConsumerError,
    TransportError,
    TurnDeadlineError,
)
from codex_trio.observe import events as ev
from codex_trio.observe import get_logger, telemetry
from codex_trio.protocol.app_server import _generated as g
from codex_trio.protocol.app_server.mapping import (
    AppServerEvent,
    AppServerNotificationEvent,
    TurnEventMapper,
    usage_from_breakdown,
)
from codex_trio.protocol.app_server.messages import (
    MethodNotFoundError,
    Notification,
    Request,
    decode_params,
    encode_params,
)
from codex_trio.protocol.app_server.server_requests import (
    APPROVAL_METHODS,
    ApprovalDecision,
    ApprovalKind,
    ApprovalRecord,
    ApprovalRequest,
    DynamicTool,
    ToolCall,
    ToolResult,
    approval_request,
    approval_response,
    tool_response,
)
from codex_trio.protocol.exec_events import (
    ItemCompletedEvent,
    ThreadEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnError,
    TurnFailedEvent,
    Usage,
)
from codex_trio.protocol.exec_items import AgentMessageItem, ThreadItem
from codex_trio.protocol.options import (
    CodexOptions,
    LocalImageInput,
    TextInput,
    ThreadOptions,
    TurnOptions,
    config_override_args,
    exec_env,
)
from codex_trio.redact import redact
from codex_trio.transport.discovery import check_version, find_codex
from codex_trio.transport.jsonrpc import JsonRpcConnection, RequestTimeoutError, open_jsonrpc
from codex_trio.transport.lines import DEFAULT_MAX_LINE_BYTES
from codex_trio.transport.process import StopPolicy, open_codex_process

__all__ = [
    "AppServerClient",
    "AppServerStatus",
    "AppServerTransport",
    "AppServerTurn",
    "AppServerTurnResult",
    "ApprovalHandler",
    "Subscription",
    "SubscriptionStatistics",
    "TurnOverrides",
    "app_server_argv",
    "open_app_server",
]

_log = get_logger("codex_trio.transport.app_server")

ApprovalHandler = Callable[[ApprovalRequest], Awaitable[ApprovalDecision]]
UserInputHandler = Callable[[g.ToolRequestUserInputParams], Awaitable[Mapping[str, Sequence[str]]]]
_T = TypeVar("_T")
UserInput = str | Sequence[TextInput | LocalImageInput | Mapping[str, Any]]
_DEFAULT_THREAD = ThreadOptions()
_DEFAULT_CODEX = CodexOptions()


async def decline_and_log(request: ApprovalRequest) -> ApprovalDecision:
    """The default approval handler: never silently accept."""
    _log.warning(
        "approval.declined_by_default",
        kind=request.kind.value,
        thread_id=request.thread_id,
        command=request.command,
    )
    return ApprovalDecision.DECLINE


UNLOAD_DELAY_OVERRIDE = ("-c", "thread_unload_delay_secs=0")
"""Put first on every app-server's command line (the user's ``config`` can override it): a thread
the client unsubscribed from is unloaded at once, instead of after codex 0.163's default of about
30 minutes, so a long-lived process does not keep ~1.2 MB for every thread it ever served. The
client stays subscribed to every thread it uses, so nothing else unloads (see docs/app-server.md,
"Engine memory")."""


def app_server_argv(codex_path: str, options: CodexOptions) -> list[str]:
    """``codex app-server`` with the ``-c`` overrides of ``options``."""
    return [codex_path, "app-server", *UNLOAD_DELAY_OVERRIDE, *config_override_args(options)]


def user_input(value: UserInput) -> list[dict[str, Any]]:
    """``UserInput`` wire objects for a prompt (text, or parts with local images)."""
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    out: list[dict[str, Any]] = []
    for part in value:
        if isinstance(part, TextInput):
            out.append({"type": "text", "text": part.text})
        elif isinstance(part, LocalImageInput):
            out.append({"type": "localImage", "path": part.path})
        elif isinstance(part, Mapping):
            kind = part.get("type")
            if kind == "local_image":
                out.append({"type": "localImage", "path": str(part["path"])})
            else:
                out.append(dict(part))
        else:
            raise ConfigurationError(f"unsupported input part {part!r}")
    return out


@attrs.frozen(kw_only=True)
class TurnOverrides:
    """Per-turn settings (``turn/start``); ``None`` keeps the thread's.

    ``sandbox_policy`` is a v2 ``SandboxPolicy`` object, e.g. ``{"type": "readOnly"}`` or
    ``{"type": "workspaceWrite", "writableRoots": [...], "networkAccess": False}``;
    ``approval_policy`` one of ``"untrusted"``, ``"on-request"``, ``"never"`` or the granular
    object. ``output_schema`` is a JSON schema the final message must follow.
    """

    model: str | None = None
    effort: str | None = None
    summary: str | None = None
    cwd: str | None = None
    sandbox_policy: Mapping[str, Any] | None = None
    approval_policy: str | Mapping[str, Any] | None = None
    output_schema: Mapping[str, Any] | None = None
    personality: str | None = None

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (
            ("model", self.model),
            ("effort", self.effort),
            ("summary", self.summary),
            ("cwd", self.cwd),
            ("sandboxPolicy", self.sandbox_policy),
            ("approvalPolicy", self.approval_policy),
            ("outputSchema", self.output_schema),
            ("personality", self.personality),
        ):
            if value is not None:
                out[key] = dict(value) if isinstance(value, Mapping) else value
        return out


def thread_params(options: ThreadOptions) -> dict[str, Any]:
    """``thread/start`` params for the exec-style :class:`ThreadOptions`."""
    params: dict[str, Any] = {}
    config: dict[str, Any] = {}
    if options.model is not None:
        params["model"] = options.model
    if options.working_directory is not None:
        params["cwd"] = options.working_directory
    if options.sandbox_mode is not None:
        params["sandbox"] = options.sandbox_mode.value
    if options.approval_policy is not None:
        params["approvalPolicy"] = options.approval_policy.value
    if options.ephemeral:
        params["ephemeral"] = True
    if options.model_reasoning_effort is not None:
        config["model_reasoning_effort"] = options.model_reasoning_effort.value
    if options.network_access_enabled is not None:
        config["sandbox_workspace_write.network_access"] = options.network_access_enabled
    if options.web_search_mode is not None:
        config["web_search"] = options.web_search_mode.value
    if options.additional_directories:
        config["sandbox_workspace_write.writable_roots"] = list(options.additional_directories)
    if options.profile is not None:
        config["profile"] = options.profile
    if config:
        params["config"] = config
    return params


DELTA_METHODS: frozenset[str] = frozenset(
    {
        "item/agentMessage/delta",
        "item/plan/delta",
        "item/commandExecution/outputDelta",
        "item/fileChange/outputDelta",
        "item/reasoning/summaryTextDelta",
        "item/reasoning/textDelta",
    }
)
"""Notifications whose ``delta`` texts concatenate: two in a row for the same item (all other
params equal) say exactly what one with both texts says, so a full subscription merges them."""

MAX_COALESCED_DELTA = 1 << 20
"""Characters one merged delta may reach; past it the subscription overflows instead."""


@attrs.frozen(kw_only=True)
class SubscriptionStatistics:
    """A :class:`Subscription`'s state, in the manner of ``trio.MemoryChannelStatistics``."""

    current_buffer_used: int
    max_buffer_size: int
    coalesced: int
    """Delta notifications merged into the one before them because the buffer was full."""
    overflowed: bool
    """True once a notification could be neither buffered nor merged (the consumer then gets
    :class:`SlowConsumerError` after the buffered notifications)."""


class Subscription:
    """One consumer's notifications of one thread: bounded, and never blocking the reader.

    The reader :meth:`offer` s each notification: it is buffered if there is room, merged into
    the previous one if both are deltas of the same item (see :data:`DELTA_METHODS`), and
    otherwise the subscription *overflows*: it takes nothing more, ``on_overflow`` is told (the
    client interrupts the turn), and :meth:`receive` returns what was buffered, then raises
    :class:`SlowConsumerError`. When the connection dies, :meth:`receive` returns what was
    buffered, then raises ``trio.EndOfChannel``; after :meth:`close`, ``trio.ClosedResourceError``.
    """

    def __init__(
        self,
        thread_id: str,
        capacity: int,
        on_overflow: Callable[[Subscription], None] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("a subscription needs a capacity of at least 1")
        self.thread_id = thread_id
        self.capacity = capacity
        self._on_overflow = on_overflow
        self._queue: collections.deque[Notification] = collections.deque()
        self._lot = trio.lowlevel.ParkingLot()
        self._ended = False
        self._closed = False
        self.overflowed = False
        self.coalesced = 0

    def offer(self, note: Notification) -> bool:
        """Take ``note`` without blocking; False if it was not taken (overflowed, ended)."""
        if self._ended or self._closed or self.overflowed:
            return False
        if len(self._queue) < self.capacity:
            self._queue.append(note)
            self._lot.unpark_all()
            return True
        if self._merge(note):
            self.coalesced += 1
            return True
        self.overflowed = True
        self._lot.unpark_all()
        if self._on_overflow is not None:
            self._on_overflow(self)
        return False

    def _merge(self, note: Notification) -> bool:
        last = self._queue[-1]
        if note.method != last.method or note.method not in DELTA_METHODS:
            return False
        old, new = last.params.get("delta"), note.params.get("delta")
        if not isinstance(old, str) or not isinstance(new, str):
            return False
        if len(old) + len(new) > MAX_COALESCED_DELTA:
            return False
        if len(last.params) != len(note.params) or any(
            last.params.get(k) != v for k, v in note.params.items() if k != "delta"
        ):
            return False
        merged = {**note.params, "delta": old + new}
        self._queue[-1] = Notification(method=note.method, params=merged)
        return True

    def end(self) -> None:
        """The sending side is done (the connection died): receivers drain, then EndOfChannel."""
        self._ended = True
        self._lot.unpark_all()

    def close(self) -> None:
        """The consumer is done: drop what is buffered; receivers get ClosedResourceError."""
        self._closed = True
        self._queue.clear()
        self._lot.unpark_all()

    def _next(self) -> Notification | None:
        if self._closed:
            raise trio.ClosedResourceError("subscription closed")
        if self._queue:
            return self._queue.popleft()
        if self.overflowed:
            raise SlowConsumerError(
                f"the consumer of thread {self.thread_id} fell behind: its {self.capacity} "
                "buffered notifications were full, so its turn was interrupted rather than "
                "stall every thread of this app-server",
                capacity=self.capacity,
                thread_id=self.thread_id,
            )
        if self._ended:
            raise trio.EndOfChannel
        return None

    def receive_nowait(self) -> Notification:
        note = self._next()
        if note is None:
            raise trio.WouldBlock
        return note

    async def receive(self) -> Notification:
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            note = self._next()
            if note is not None:
                await trio.lowlevel.cancel_shielded_checkpoint()
                return note
            await self._lot.park()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Notification:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    def statistics(self) -> SubscriptionStatistics:
        return SubscriptionStatistics(
            current_buffer_used=len(self._queue),
            max_buffer_size=self.capacity,
            coalesced=self.coalesced,
            overflowed=self.overflowed,
        )


@attrs.define(eq=False)
class _ThreadRecord:
    """What a client keeps about one thread."""

    tools: dict[str, DynamicTool] = attrs.field(factory=dict)
    handler: ApprovalHandler | None = None
    usage: Usage | None = None
    loaded: bool = False


class AppServerTurn:
    """One running turn: iterate it for events (``async for``); see :meth:`AppServerClient.turn`.

    ``approvals`` records every approval decision of the turn, in order; ``usage`` is the
    thread's cumulative usage after the turn; ``status`` is ``completed``, ``failed`` or
    ``interrupted`` once it ended. Raises :class:`TransportError` (after the events before it)
    if the app-server dies.
    """

    def __init__(
        self, client: AppServerClient, thread_id: str, sub: Subscription, usage: Usage | None
    ) -> None:
        self.client = client
        self.thread_id = thread_id
        self.turn_id: str | None = None
        self._sub = sub
        self._interrupt_sent = False
        self._mapper = TurnEventMapper(usage=usage)
        self._queue: collections.deque[AppServerEvent] = collections.deque()
        self.approvals: list[ApprovalRecord] = []

    @property
    def ended(self) -> bool:
        return self._mapper.finished and not self._queue

    @property
    def status(self) -> str | None:
        return self._mapper.status

    @property
    def usage(self) -> Usage:
        return self._mapper.usage

    def __aiter__(self) -> AppServerTurn:
        return self

    async def __anext__(self) -> AppServerEvent:
        while not self._queue:
            if self._mapper.finished:
                raise StopAsyncIteration
            try:
                note = await self._sub.receive()
            except SlowConsumerError as exc:
                exc.turn_id = self.turn_id
                self._mapper.finished = True
                self._mapper.status = "interrupted"
                raise
            except (trio.EndOfChannel, trio.ClosedResourceError):
                # Only the client closes a subscription's sending end: the process died. Each
                # stream gets its own copy of the error, naming its thread and turn.
                error = self.client.error
                if error is None:
                    raise TransportError(
                        "app-server connection closed",
                        pid=self.client.pid,
                        thread_id=self.thread_id,
                        turn_id=self.turn_id,
                    ) from None
                mine = copy.copy(error)
                mine.thread_id, mine.turn_id = self.thread_id, self.turn_id
                raise mine from None
            turn_id = note.params.get("turnId")
            if turn_id is None and isinstance(note.params.get("turn"), dict):
                turn_id = note.params["turn"].get("id")
            if turn_id is not None and self.turn_id is not None and turn_id != self.turn_id:
                continue  # a previous turn's stragglers
            try:
                params = self.client.decode_notification(note)
            except ProtocolError as exc:
                self._queue.extend(self._undecodable(note, exc))
                continue
            try:
                mapped = self._mapper.map(note.method, params)
            except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:
                # The params decoded but hold something the mapping cannot take (a field of the
                # wrong type inside an item, say): the same as params that do not decode.
                problem = ProtocolError(
                    f"{note.method}: cannot map ({type(exc).__name__}: {exc})"[:300],
                    thread_id=self.thread_id,
                    turn_id=self.turn_id,
                )
                self._queue.extend(self._undecodable(note, problem))
                continue
            self._queue.extend(mapped)
        return self._queue.popleft()

    def _undecodable(self, note: Notification, exc: ProtocolError) -> list[AppServerEvent]:
        """A notification whose params do not match the schema: reported, passed on raw, and,
        if it was the one that ends the turn, still ending it (else the stream would hang)."""
        telemetry.execute(
            ("codex", "protocol", "error"),
            {"count": 1},
            {"kind": "invalid_params", "transport": "app-server"},
        )
        _log.warning("notification.undecodable", method=note.method, error=exc.message[:300])
        events: list[AppServerEvent] = [
            AppServerNotificationEvent(method=note.method, params=note.params)
        ]
        if note.method == "turn/completed":
            raw_turn = note.params.get("turn")
            status = raw_turn.get("status") if isinstance(raw_turn, Mapping) else None
            if not self._mapper.started:  # the same rule as for a decodable one
                self._mapper.finished = True
                self._mapper.status = "failed"
                raise ProtocolError(
                    f"turn/completed (status {status!r}) arrived before turn/started",
                    line=repr(note.params)[:200],
                    thread_id=self.thread_id,
                    turn_id=self.turn_id,
                )
            self._mapper.finished = True
            self._mapper.status = status if isinstance(status, str) else "failed"
            if status == "completed":
                events.append(TurnCompletedEvent(self._mapper.usage))
            else:
                events.append(
                    TurnFailedEvent(
                        TurnError(f"turn {self._mapper.status}"),
                        extra={"status": self._mapper.status},
                    )
                )
        return events

    async def steer(self, prompt: UserInput) -> None:
        """Add input to this running turn (``turn/steer``). Safe to call from inside the
        ``async for`` over this turn: the reader never waits for this turn's consumer."""
        if self.turn_id is None:  # pragma: no cover - the turn is yielded once it has an id
            raise ConfigurationError("the turn has not started")
        await self.client.turn_steer(self.thread_id, self.turn_id, prompt)

    async def interrupt(self) -> None:
        """Ask codex to stop this turn (``turn/interrupt``); the stream then ends with
        ``TurnFailedEvent`` whose ``extra["status"]`` is ``"interrupted"``."""
        if self.turn_id is None:  # pragma: no cover - the turn is yielded once it has an id
            raise ConfigurationError("the turn has not started")
        self._interrupt_sent = True
        await self.client.turn_interrupt(self.thread_id, self.turn_id)


@attrs.frozen(kw_only=True)
class AppServerTurnResult:
    """A finished turn, buffered (:meth:`AppServerClient.run_turn`).

    ``items`` are the completed exec-style items in order; ``final_response`` the text of the
    last agent message; ``usage`` the thread's cumulative usage; ``status`` ``completed``,
    ``failed`` or ``interrupted`` (``error_message`` says why for the last two);
    ``approvals`` every approval decision taken during the turn.
    """

    thread_id: str
    turn_id: str
    status: str
    items: tuple[ThreadItem, ...]
    final_response: str | None
    usage: Usage
    approvals: tuple[ApprovalRecord, ...]
    error_message: str | None = None


class AppServerClient:
    """A connected, initialized ``codex app-server``. Obtain one from :func:`open_app_server`.

    Typed wrappers return the generated response classes of
    :mod:`codex_trio.protocol.app_server.types`; :meth:`request` reaches any method untyped.
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
        self.approval_handler = approval_handler
        self.event_buffer = event_buffer
        self.max_threads = max_threads
        """How many threads' records (tools, handler, usage, loaded) are kept at most."""
        self.initialize_response: g.InitializeResponse | None = None
        self._subs: dict[str, list[Subscription]] = {}
        self._threads: collections.OrderedDict[str, _ThreadRecord] = collections.OrderedDict()
        self._turns: dict[str, AppServerTurn] = {}  # thread id -> running turn
        # Threads whose turn/start got no answer before the turn's deadline: if the turn starts
        # after all, it is interrupted as soon as its turn/started arrives.
        self._abandoned: collections.OrderedDict[str, None] = collections.OrderedDict()
        # Threads unsubscribed from and not yet reported closed by the engine.
        self._closing: collections.OrderedDict[str, trio.Event] = collections.OrderedDict()
        self.dropped_notifications = 0
        self.slow_consumers = 0
        """Subscriptions that overflowed (their turns were interrupted)."""
        self._closed = trio.Event()
        self.overload_attempts = 4
        """How many times a request is sent while the server answers "overloaded" (-32001);
        the server processes nothing it answers so, which makes every request safe to retry."""
        self.user_input_handler: UserInputHandler | None = None
        """Answers the model's ``request_user_input`` questions: gets the generated
        ``ToolRequestUserInputParams``, returns ``{question id: [answers]}``. Without one, the
        questions are answered with no answers (and logged)."""

    @property
    def error(self) -> TransportError | None:
        """Why the connection died, once it has."""
        return self.connection.error

    @property
    def pid(self) -> int:
        return self.connection.process.pid

    # ------------------------------------------------------------------- plumbing

    async def request(
        self, method: str, params: Any = None, *, time_limit: float | None = None
    ) -> Any:
        """Call any method with raw (or generated-class) params; returns the raw result.

        Retried with backoff while the server is overloaded; raises the typed
        :class:`~codex_trio.protocol.app_server.JsonRpcError` subclasses, ``RequestTimeoutError``
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
        sub = Subscription(thread_id, self.event_buffer, self._on_overflow)
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
        with trio.move_on_after(5):
            try:
                await self.turn_interrupt(thread_id, turn_id)
            except CodexError as exc:
                _log.warning("turn.interrupt_failed", error=str(exc)[:200], thread_id=thread_id)

    def _on_notification(self, note: Notification) -> bool:
        """Called on the reader for every notification: never blocks. True when a subscriber's
        buffer is half full or more (the reader then yields, so its consumer can catch up)."""
        thread_id = note.params.get("threadId")
        if thread_id is None and isinstance(note.params.get("thread"), dict):
            thread_id = note.params["thread"].get("id")
        if not isinstance(thread_id, str):
            self.dropped_notifications += 1
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
        filling = False
        for sub in subs:
            sub.offer(note)
            filling = filling or 2 * len(sub._queue) >= sub.capacity
        return filling

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
        if record is None:
            return
        try:
            usage = decode_params(g.ThreadTokenUsageUpdatedNotification, params)
        except (CodexError, RecursionError):
            return
        record.usage = usage_from_breakdown(usage.token_usage.total)

    # ------------------------------------------------------------- per-thread state

    def _record(self, thread_id: str) -> _ThreadRecord:
        """The thread's record, created if needed and marked most recently used."""
        record = self._threads.pop(thread_id, None) or _ThreadRecord()
        self._threads[thread_id] = record
        while len(self._threads) > self.max_threads:
            forgotten, old = self._threads.popitem(last=False)
            _log.debug("thread.forgotten", thread_id=forgotten, reason="max_threads")
            self._release(forgotten, old)
        return record

    def _release(self, thread_id: str, record: _ThreadRecord) -> None:
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
        if request.method in APPROVAL_METHODS:
            return await self._approve(request)
        if request.method == "item/tool/call":
            return await self._call_tool(request)
        if request.method == "item/tool/requestUserInput":
            return await self._user_input(request)
        if request.method == "currentTime/read":
            return {"currentTimeAt": int(time.time())}
        raise MethodNotFoundError(
            f"codex-trio has no handler for server request {request.method!r}",
            method=request.method,
        )

    async def _approve(self, request: Request) -> Any:
        try:
            asked = approval_request(request.method, request.params)
        except (CodexError, RecursionError, TypeError, ValueError) as exc:
            # Nothing to show a handler: never approve what cannot be read. Decline, in the
            # method's own vocabulary.
            _log.warning(
                "approval.undecodable", method=request.method, error=str(exc)[:300]
            )
            telemetry.execute(
                ev.PROTOCOL_ERROR,
                {"count": 1},
                {"kind": "invalid_params", "transport": "app-server"},
            )
            return approval_response(_unreadable_approval(request), ApprovalDecision.DECLINE)
        thread = self._threads.get(asked.thread_id or "")
        handler = (thread.handler if thread is not None else None) or self.approval_handler
        telemetry.execute(
            ("codex", "approval", "requested"),
            {"count": 1},
            {"thread_id": asked.thread_id, "kind": asked.kind.value},
        )
        began = time.monotonic()
        note: str | None = None
        try:
            decision = ApprovalDecision(await handler(asked))
        except Exception as exc:  # the handler's bug must not approve anything
            decision, note = ApprovalDecision.DECLINE, f"handler failed: {exc!r:.200}"
            _log.warning("approval.handler_failed", error=note, thread_id=asked.thread_id)
        latency = time.monotonic() - began
        telemetry.execute(
            ("codex", "approval", "decided"),
            {"latency": latency},
            {"thread_id": asked.thread_id, "kind": asked.kind.value, "decision": decision.value},
        )
        record = ApprovalRecord(request=asked, decision=decision, latency=latency, note=note)
        turn = self._turns.get(asked.thread_id or "")
        if turn is not None:
            turn.approvals.append(record)
        return approval_response(asked, decision)

    async def _user_input(self, request: Request) -> Any:
        params = decode_params(g.ToolRequestUserInputParams, request.params, method=request.method)
        if self.user_input_handler is None:
            _log.warning(
                "user_input.unanswered", thread_id=params.thread_id, questions=len(params.questions)
            )
            return {"answers": {}}
        answers = await self.user_input_handler(params)
        return {"answers": {qid: {"answers": list(a)} for qid, a in answers.items()}}

    async def _call_tool(self, request: Request) -> Any:
        params = decode_params(g.DynamicToolCallParams, request.params, method=request.method)
        call = ToolCall(
            thread_id=params.thread_id,
            turn_id=params.turn_id,
            call_id=params.call_id,
            tool=params.tool,
            namespace=params.namespace,
            arguments=params.arguments,
        )
        record = self._threads.get(call.thread_id)
        tool = record.tools.get(call.tool) if record is not None else None
        status = "ok"
        with telemetry.span(
            ("codex", "tool", "call"), {"thread_id": call.thread_id, "tool": call.tool}
        ) as span:
            if tool is None:
                status = "error"
                result = ToolResult(text=f"unknown tool {call.tool!r}", success=False)
            else:
                result, status = await _run_tool(tool, call)
            span.metadata["status"] = status
        return tool_response(result)

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
        response = await self._typed("thread/resume", params, g.ThreadResumeResponse)
        self._register(thread_id, tools, approval_handler)
        return response

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

    async def thread_unarchive(self, thread_id: str) -> g.ThreadUnarchiveResponse:
        return await self._typed(
            "thread/unarchive", {"threadId": thread_id}, g.ThreadUnarchiveResponse
        )

    async def thread_list(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        archived: bool | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> g.ThreadListResponse:
        """One page of stored threads; pass ``next_cursor`` back for the next one."""
        params: dict[str, Any] = {}
        for key, value in (("cursor", cursor), ("limit", limit), ("archived", archived)):
            if value is not None:
                params[key] = value
        params.update(extra_params or {})
        return await self._typed("thread/list", params, g.ThreadListResponse)

    async def iter_threads(
        self, *, page_size: int = 50, archived: bool | None = None
    ) -> AsyncIterator[g.Thread]:
        """Every stored thread, page after page."""
        cursor: str | None = None
        while True:
            page = await self.thread_list(cursor=cursor, limit=page_size, archived=archived)
            for thread in page.data:
                yield thread
            cursor = page.next_cursor
            if not cursor or not page.data:
                return

    async def thread_read(
        self, thread_id: str, *, include_turns: bool = True
    ) -> g.ThreadReadResponse:
        return await self._typed(
            "thread/read",
            {"threadId": thread_id, "includeTurns": include_turns},
            g.ThreadReadResponse,
        )

    async def thread_set_name(self, thread_id: str, name: str) -> g.ThreadSetNameResponse:
        return await self._typed(
            "thread/name/set", {"threadId": thread_id, "name": name}, g.ThreadSetNameResponse
        )

    async def thread_compact(self, thread_id: str) -> g.ThreadCompactStartResponse:
        """Start compacting the thread's history (progress arrives as notifications)."""
        return await self._typed(
            "thread/compact/start", {"threadId": thread_id}, g.ThreadCompactStartResponse
        )

    async def thread_revert(self, thread_id: str, before_turn_id: str) -> g.ThreadRevertResponse:
        """Drop ``before_turn_id`` and every later turn from the thread's history."""
        return await self._typed(
            "thread/revert",
            {"threadId": thread_id, "beforeTurnId": before_turn_id},
            g.ThreadRevertResponse,
        )

    # --------------------------------------------------------------------- turns

    async def turn_start(
        self, thread_id: str, prompt: UserInput, overrides: TurnOverrides = TurnOverrides()
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
        overrides: TurnOverrides = TurnOverrides(),
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
                with trio.move_on_after(5) as scope:
                    scope.shield = True
                    try:
                        await self.turn_interrupt(thread_id, turn.turn_id)
                    except CodexError as exc:
                        _log.warning("turn.interrupt_failed", error=str(exc)[:200])

    async def run_turn(
        self,
        thread_id: str,
        prompt: UserInput,
        overrides: TurnOverrides = TurnOverrides(),
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

    async def model_list(self, *, include_hidden: bool = False) -> g.ModelListResponse:
        return await self._typed(
            "model/list", {"includeHidden": include_hidden}, g.ModelListResponse
        )

    async def account_read(self) -> g.GetAccountResponse:
        return await self._typed("account/read", {}, g.GetAccountResponse)

    async def login_api_key(self, api_key: str) -> Any:
        """Log in with an API key (``account/login/start`` type ``apiKey``); the key is never
        logged. Returns the raw response."""
        from codex_trio.redact import register_secret

        register_secret(api_key)
        return await self.request("account/login/start", {"type": "apiKey", "apiKey": api_key})

    async def logout(self) -> g.LogoutAccountResponse:
        return await self._typed("account/logout", None, g.LogoutAccountResponse)

    async def rate_limits(self) -> g.GetAccountRateLimitsResponse:
        return await self._typed("account/rateLimits/read", None, g.GetAccountRateLimitsResponse)


async def _run_tool(tool: DynamicTool, call: ToolCall) -> tuple[ToolResult, str]:
    try:
        with trio.fail_after(tool.timeout):
            result = await tool.handler(call)
    except trio.TooSlowError:
        return ToolResult(
            text=f"tool {tool.name!r} timed out after {tool.timeout:g} s", success=False
        ), "timeout"
    except Exception as exc:
        # The model sees this text: never a secret that the exception happened to carry.
        text = redact(f"tool {tool.name!r} failed: {type(exc).__name__}: {exc}")
        _log.warning("tool.failed", tool=tool.name, error=text[:300], thread_id=call.thread_id)
        return ToolResult(text=text, success=False), "error"
    return result, ("ok" if result.success else "error")


def _unreadable_approval(request: Request) -> ApprovalRequest:
    """A minimal :class:`ApprovalRequest` for params that do not decode, enough to say no."""
    params = request.params if isinstance(request.params, Mapping) else {}
    thread_id = params.get("threadId")
    return ApprovalRequest(
        kind=APPROVAL_METHODS.get(request.method, ApprovalKind.COMMAND_EXECUTION),
        method=request.method,
        thread_id=thread_id if isinstance(thread_id, str) else None,
        turn_id=None,
        item_id=None,
        params=dict(params),
    )


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
    :class:`TransportError` or :class:`~codex_trio.protocol.app_server.JsonRpcError`.
    ``event_buffer`` bounds each subscription (see the module docstring), ``write_timeout``
    each write to codex's stdin (past it the connection fails), ``max_server_requests`` the
    server requests handled at once, ``max_threads`` the per-thread records the client keeps.
    """
    path = find_codex(codex_path or options.codex_path)
    if check:
        await check_version(path)
    argv = app_server_argv(path, options)
    client: AppServerClient | None = None

    def on_notification(note: Notification) -> bool:
        return client._on_notification(note) if client is not None else False

    async def on_request(request: Request) -> Any:
        assert client is not None
        return await client._on_request(request)

    def on_closed(error: TransportError) -> None:
        if client is not None:
            client._on_closed(error)

    with collapse():
        async with _serve(
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
        ) as connection:
            client = AppServerClient(
                connection,
                approval_handler=approval_handler,
                event_buffer=event_buffer,
                max_threads=max_threads,
            )
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
            await connection.notify("initialized")
            yield client
            connection.process.expect_exit = True


@asynccontextmanager
async def _serve(
    argv: list[str],
    options: CodexOptions,
    cwd: str | None,
    max_line_bytes: int,
    stop_policy: StopPolicy,
    on_notification: Callable[[Notification], bool],
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
    client: AppServerClient | None = None
    restarts: int = 0
    """How many times the shared process was restarted after dying."""
    _opened: bool = False
    _changed: trio.Event = attrs.field(factory=trio.Event)
    _state: str = "stopped"
    _failures: collections.deque[float] = attrs.field(factory=collections.deque)
    _retry_at: float | None = None
    _last_error: CodexError | None = None

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
            consecutive_failures=len(self._failures),
            retry_in=retry_in,
            last_error=str(self._last_error) if self._last_error is not None else None,
        )

    def _open_client(self) -> AbstractAsyncContextManager[AppServerClient]:
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
        self._failures.clear()
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
                {"state": state, "previous": previous, "transport": "app-server"},
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
            self._failures.append(now)
            while self._failures and self._failures[0] < now - self.restart_period:
                self._failures.popleft()
            excess = len(self._failures) - self.max_restarts
            self.restarts += 1
            telemetry.execute(
                ev.APP_SERVER_RESTART,
                {"count": 1, "restarts": self.restarts},
                {"reason": type(error).__name__, "transport": "app-server"},
            )
            if excess > 0:
                delay = min(self.max_backoff, self.initial_backoff * 2 ** (excess - 1))
                self._retry_at = now + delay
                self._set_state("backoff")
                _log.error(
                    "app_server.backoff",
                    deaths=len(self._failures),
                    period=self.restart_period,
                    retry_in=delay,
                    error=str(error)[:300],
                )
                await trio.sleep(delay)
                self._retry_at = None
            else:
                _log.warning(
                    "app_server.restarting", error=str(error)[:300], restarts=self.restarts
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
                if resume_thread_id is None:
                    started = await client.thread_start(thread, tools=self.tools)
                    thread_id = started.thread.id
                elif not client.is_loaded(resume_thread_id):
                    await client.thread_resume(resume_thread_id, thread, tools=self.tools)
                assert thread_id is not None
                parts: list[TextInput | LocalImageInput] = [TextInput(prompt)]
                parts += [LocalImageInput(p) for p in (*turn.images, *images)]
                overrides = TurnOverrides(output_schema=turn.output_schema)
                async with client.turn(thread_id, parts, overrides, deadline=deadline) as running:
                    yield ExecEventStream(thread_id, running)
        if scope.cancelled_caught:
            # Leaving client.turn above already sent turn/interrupt.
            raise TurnDeadlineError(
                "turn deadline passed; the turn was interrupted"
                if running is not None
                else "turn deadline passed before the turn started",
                thread_id=thread_id,
                turn_id=running.turn_id if running is not None else None,
                pid=client.pid if client is not None else None,
                stderr_tail=(
                    client.connection.process.stderr.tail() if client is not None else ""
                ),
            )


class ExecEventStream:
    """The exec-style events of an app-server turn (what :meth:`AppServerTransport.turn`
    yields), plus what exec has no event for: the turn's approval decisions so far."""

    def __init__(self, thread_id: str, turn: AppServerTurn) -> None:
        self._turn = turn
        self._events = _exec_events(thread_id, turn)

    def __aiter__(self) -> ExecEventStream:
        return self

    async def __anext__(self) -> ThreadEvent:
        return await self._events.__anext__()

    @property
    def approvals(self) -> tuple[ApprovalRecord, ...]:
        return tuple(self._turn.approvals)


async def _exec_events(thread_id: str, turn: AppServerTurn) -> AsyncIterator[ThreadEvent]:
    yield ThreadStartedEvent(thread_id)
    async for event in turn:
        if isinstance(event, _EXEC_EVENT_TYPES):
            yield cast(ThreadEvent, event)
            if isinstance(event, (TurnCompletedEvent, TurnFailedEvent)):
                return


def _exec_types() -> tuple[type, ...]:
    from codex_trio.protocol import exec_events as e

    return (
        e.ThreadStartedEvent,
        e.TurnStartedEvent,
        e.TurnCompletedEvent,
        e.TurnFailedEvent,
        e.ItemStartedEvent,
        e.ItemUpdatedEvent,
        e.ItemCompletedEvent,
        e.PlanDeltaEvent,
        e.RequestUserInputEvent,
        e.ThreadErrorEvent,
        e.UnknownEvent,
    )


_EXEC_EVENT_TYPES = _exec_types()
