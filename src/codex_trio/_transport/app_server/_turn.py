"""One running app-server turn (:class:`AppServerTurn`), its buffered result, and its exec view."""

from __future__ import annotations

import collections
import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

import attrs
import trio

from codex_trio._errors import (
    ConfigurationError,
    ProtocolError,
    SlowConsumerError,
    TransportError,
)
from codex_trio._protocol.app_server.messages import (
    Notification,
)
from codex_trio._protocol.app_server.params import UserInput
from codex_trio._protocol.app_server.server_requests import (
    ApprovalRecord,
)
from codex_trio._protocol.app_server.turn_events import (
    EXEC_STREAM_METHODS,
    AppServerEvent,
    AppServerNotificationEvent,
    TurnEventMapper,
)
from codex_trio._protocol.exec_events import (
    ThreadEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnError,
    TurnFailedEvent,
    Usage,
)
from codex_trio._protocol.exec_items import ThreadItem
from codex_trio._protocol.options import LocalImageInput, TextInput
from codex_trio._transport.app_server._subscription import Subscription, SubscriptionStatistics
from codex_trio.observe import get_logger, telemetry

if TYPE_CHECKING:
    from codex_trio._transport.app_server._client import AppServerClient

_log = get_logger("codex_trio._transport.app_server")


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
        self.received_at: float | None = None
        """When the notification behind the event returned last was read (``time.monotonic()``;
        the events of one notification are all returned before the next is taken)."""

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
                self.received_at = self._sub.last_received
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


class ExecEventStream:
    """The exec-style events of an app-server turn (what :meth:`AppServerTransport.turn`
    yields): ``ThreadStartedEvent`` first, then the exec event classes only, ending with
    ``TurnCompletedEvent`` or ``TurnFailedEvent``. Plus what exec has not: the turn's approval
    decisions so far, :meth:`steer` and :meth:`interrupt`, and the subscription's
    :meth:`statistics`. (A class, not an async generator: nothing is left suspended to be
    finalized later when the consumer leaves early.)"""

    def __init__(self, thread_id: str, turn: AppServerTurn) -> None:
        self._thread_id = thread_id
        self._turn = turn
        self._announced = False
        self._ended = False
        # What this stream would drop is not even buffered (nor its consumer woken for it).
        turn._sub.methods = EXEC_STREAM_METHODS

    def defer_wakeups(self) -> None:
        """For a consumer that only wants the turn's end (a buffered ``run()``): wake it for
        ``turn/completed`` (or a half-full buffer) only, and let it take the rest in one go.
        :attr:`received_at` keeps each event's own time for item durations."""
        self._turn._sub.wake_on = TURN_END_METHODS

    @property
    def received_at(self) -> float | None:
        """When the notification behind the event returned last was read off the connection
        (None before the first: the stream's own ``ThreadStartedEvent`` comes from none)."""
        return self._turn.received_at

    def __aiter__(self) -> ExecEventStream:
        return self

    async def __anext__(self) -> ThreadEvent:
        if not self._announced:
            self._announced = True
            return ThreadStartedEvent(self._thread_id)
        while not self._ended:
            event = await self._turn.__anext__()
            if isinstance(event, _EXEC_EVENT_TYPES):
                if isinstance(event, (TurnCompletedEvent, TurnFailedEvent)):
                    self._ended = True
                return cast(ThreadEvent, event)
        raise StopAsyncIteration

    @property
    def approvals(self) -> tuple[ApprovalRecord, ...]:
        return tuple(self._turn.approvals)

    def statistics(self) -> SubscriptionStatistics:
        return self._turn._sub.statistics()

    async def steer(self, prompt: str, images: Sequence[str] = ()) -> None:
        """Add input to the running turn (``turn/steer``)."""
        parts: list[TextInput | LocalImageInput] = [TextInput(prompt)] if prompt else []
        parts += [LocalImageInput(path) for path in images]
        await self._turn.steer(parts)

    async def interrupt(self) -> None:
        await self._turn.interrupt()


def _exec_types() -> tuple[type, ...]:
    from codex_trio._protocol import exec_events as e

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

TURN_END_METHODS: frozenset[str] = frozenset({"turn/completed"})
"""What wakes a deferred consumer (:meth:`ExecEventStream.defer_wakeups`)."""
