"""App-server notifications as the exec transport's public events, plus richer app-server events.

``codex exec --json`` and ``codex app-server`` describe the same engine events in two dialects.
Code written against :mod:`codex_trio._protocol.exec_events` should not care which transport ran
the turn, so :class:`TurnEventMapper` turns the notifications of one app-server turn into those
same classes (``TurnStartedEvent``, ``ItemStartedEvent`` / ``ItemCompletedEvent`` carrying
``AgentMessageItem``, ``CommandExecutionItem`` ..., ``TurnCompletedEvent`` with usage cumulative
for the thread, ``TurnFailedEvent``) and, for what exec cannot express, into the app-server-only
classes defined here (deltas, plan updates, diffs, token-usage updates, and
:class:`AppServerNotificationEvent` for everything else, typed by the generated module).

Differences worth knowing:

* app-server reports the user's own message as an item; exec does not, so it is left out;
* a dynamic (client-defined) tool call becomes
  :class:`~codex_trio._protocol.exec_items.DynamicToolCallItem`, which exec never produces; other
  app-server item types exec does not have (context compaction, image views ...) become
  :class:`~codex_trio._protocol.exec_items.UnknownItem` holding the raw object;
* the agent's plan (``turn/plan/updated``, from the ``update_plan`` tool) becomes exec's
  :class:`~codex_trio._protocol.exec_items.TodoListItem`, with exec's semantics: item started at
  the first plan, updated at each later one, completed when the turn ends (just before
  ``TurnCompletedEvent`` / ``TurnFailedEvent``); each step's app-server status is kept in its
  ``extra["status"]`` and the explanation in the list's ``extra["explanation"]``. The richer
  :class:`PlanUpdatedEvent` still comes first on the app-server stream;
* reasoning with raw content but no summary keeps the content (see
  :class:`~codex_trio._protocol.exec_items.ReasoningItem`); reasoning with neither is left out;
* a ``turn/completed`` before ``turn/started`` is a :class:`~codex_trio._errors.ProtocolError`;
* an ``interrupted`` turn ends with :class:`TurnFailedEvent` whose ``extra`` has
  ``{"status": "interrupted"}`` (exec has no interrupt);
* usage comes from ``thread/tokenUsage/updated`` (``total`` is cumulative for the thread, as in
  exec's ``turn.completed``); a turn that made no model call reports the last known total.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

from codex_trio._errors import ProtocolError
from codex_trio._protocol.app_server import _generated as g
from codex_trio._protocol.exec_events import (
    ItemCompletedEvent,
    ItemStartedEvent,
    ItemUpdatedEvent,
    ThreadErrorEvent,
    ThreadEvent,
    TurnCompletedEvent,
    TurnError,
    TurnFailedEvent,
    TurnStartedEvent,
    Usage,
)
from codex_trio._protocol.exec_items import (
    AgentMessageItem,
    CommandExecutionItem,
    CommandExecutionStatus,
    DynamicToolCallItem,
    DynamicToolCallStatus,
    FileChangeItem,
    FileUpdateChange,
    FindInPageAction,
    McpToolCallError,
    McpToolCallItem,
    McpToolCallResult,
    McpToolCallStatus,
    OpenPageAction,
    OtherAction,
    PatchApplyStatus,
    PatchChangeKind,
    PlanItem,
    ReasoningItem,
    SearchAction,
    ThreadItem,
    TodoItem,
    TodoListItem,
    UnknownAction,
    UnknownItem,
    WebSearchAction,
    WebSearchItem,
)

__all__ = [
    "AgentMessageDeltaEvent",
    "AppServerEvent",
    "AppServerNotificationEvent",
    "CommandOutputDeltaEvent",
    "PlanUpdatedEvent",
    "ReasoningDeltaEvent",
    "TokenUsageUpdatedEvent",
    "TurnDiffUpdatedEvent",
    "TurnEventMapper",
    "map_item",
    "usage_from_breakdown",
]


# ---------------------------------------------------------------------- richer events


@attrs.frozen(kw_only=True)
class AgentMessageDeltaEvent:
    """A chunk of an agent message as the model streams it; the whole text arrives later in
    ``ItemCompletedEvent(AgentMessageItem)``. Deltas may be coalesced or split differently from
    what the model sent: only their concatenation is meaningful."""

    type: ClassVar[str] = "item.agent_message.delta"
    item_id: str
    delta: str


@attrs.frozen(kw_only=True)
class ReasoningDeltaEvent:
    """A chunk of reasoning: ``kind`` is ``"summary"`` (summary text, ``index`` = summary part)
    or ``"text"`` (raw reasoning content, ``index`` = content part)."""

    type: ClassVar[str] = "item.reasoning.delta"
    item_id: str
    delta: str
    kind: str
    index: int


@attrs.frozen(kw_only=True)
class CommandOutputDeltaEvent:
    """A chunk of a running command's output. codex 0.163 may skip the first chunk: take the
    complete output from the completed item's ``aggregated_output``."""

    type: ClassVar[str] = "item.command_output.delta"
    item_id: str
    delta: str


@attrs.frozen(kw_only=True)
class PlanUpdatedEvent:
    """The agent's plan changed (``update_plan`` tool): the whole plan, each step with status
    ``pending``, ``inProgress`` or ``completed``."""

    type: ClassVar[str] = "turn.plan.updated"
    explanation: str | None
    steps: tuple[g.TurnPlanStep, ...]


@attrs.frozen(kw_only=True)
class TurnDiffUpdatedEvent:
    """The unified diff of every file change made so far in this turn."""

    type: ClassVar[str] = "turn.diff.updated"
    diff: str


@attrs.frozen(kw_only=True)
class TokenUsageUpdatedEvent:
    """Token usage after a model call: ``total`` is cumulative for the thread, ``last`` the call's
    own; ``model_context_window`` is the model's window when codex knows it."""

    type: ClassVar[str] = "thread.token_usage.updated"
    total: Usage
    last: Usage
    model_context_window: int | None


@attrs.frozen(kw_only=True)
class AppServerNotificationEvent:
    """Any other notification of this turn's thread: ``params`` is the generated class for
    ``method`` (or the raw mapping when the method is unknown or untyped)."""

    type: ClassVar[str] = "app_server.notification"
    method: str
    params: Any


AppServerEvent: TypeAlias = (
    ThreadEvent
    | AgentMessageDeltaEvent
    | ReasoningDeltaEvent
    | CommandOutputDeltaEvent
    | PlanUpdatedEvent
    | TurnDiffUpdatedEvent
    | TokenUsageUpdatedEvent
    | AppServerNotificationEvent
)


# ------------------------------------------------------------------------------ items

_COMMAND_STATUS = {
    "inProgress": CommandExecutionStatus.IN_PROGRESS,
    "completed": CommandExecutionStatus.COMPLETED,
    "failed": CommandExecutionStatus.FAILED,
    "declined": CommandExecutionStatus.DECLINED,
}
_PATCH_STATUS = {
    "inProgress": PatchApplyStatus.IN_PROGRESS,
    "completed": PatchApplyStatus.COMPLETED,
    "failed": PatchApplyStatus.FAILED,
    # exec has no "declined" for patches: a declined patch did not apply.
    "declined": PatchApplyStatus.FAILED,
}
_MCP_STATUS = {
    "inProgress": McpToolCallStatus.IN_PROGRESS,
    "completed": McpToolCallStatus.COMPLETED,
    "failed": McpToolCallStatus.FAILED,
}
_DYNAMIC_STATUS = {
    "inProgress": DynamicToolCallStatus.IN_PROGRESS,
    "completed": DynamicToolCallStatus.COMPLETED,
    "failed": DynamicToolCallStatus.FAILED,
}
_PATCH_KIND = {
    "add": PatchChangeKind.ADD,
    "delete": PatchChangeKind.DELETE,
    "update": PatchChangeKind.UPDATE,
}


def _unknown(item: Any) -> UnknownItem:
    raw = g.ENCODERS[type(item)](item) if type(item) in g.ENCODERS else dict(item.raw)
    item_id = raw.get("id")
    return UnknownItem(
        id=item_id if isinstance(item_id, str) else None, type=str(raw.get("type")), raw=raw
    )


def _action(action: g.WebSearchAction | None) -> WebSearchAction:
    if isinstance(action, g.SearchWebSearchAction):
        return SearchAction(query=action.query, queries=action.queries, omitted=frozenset())
    if isinstance(action, g.OpenPageWebSearchAction):
        return OpenPageAction(url=action.url, omitted=frozenset())
    if isinstance(action, g.FindInPageWebSearchAction):
        return FindInPageAction(url=action.url, pattern=action.pattern, omitted=frozenset())
    if isinstance(action, g.OtherWebSearchAction):
        return OtherAction()
    if action is None:
        return OtherAction()
    return UnknownAction(raw=dict(action.raw))


def _wire(value: Any) -> Any:
    """A generated wire object as its JSON form (unknown variants: their raw JSON)."""
    encode = g.ENCODERS.get(type(value))
    if encode is not None:
        return encode(value)
    raw = getattr(value, "raw", value)
    return dict(raw) if isinstance(raw, Mapping) else raw


def _reasoning(item: g.ReasoningThreadItem) -> ReasoningItem | None:
    summary = tuple(item.summary or ())
    content = tuple(item.content or ())
    extra: Mapping[str, Any] = {"content": list(content)} if content else {}
    text = "\n".join(summary) or "\n".join(content)
    if not text and not content:
        return None  # nothing to show (encrypted only, or not yet streamed)
    return ReasoningItem(id=item.id, text=text, extra=extra)


def map_item(item: g.ThreadItem) -> ThreadItem | None:
    """The exec-style item for an app-server item; ``None`` for the user's own message and for
    reasoning with neither summary nor content."""
    if isinstance(item, g.AgentMessageThreadItem):
        return AgentMessageItem(id=item.id, text=item.text)
    if isinstance(item, g.ReasoningThreadItem):
        return _reasoning(item)
    if isinstance(item, g.DynamicToolCallThreadItem):
        dynamic_status = _DYNAMIC_STATUS.get(item.status)
        if dynamic_status is None:
            return _unknown(item)
        return DynamicToolCallItem(
            id=item.id,
            tool=item.tool,
            namespace=item.namespace,
            arguments=item.arguments,
            status=dynamic_status,
            content_items=(
                None if item.content_items is None else tuple(_wire(c) for c in item.content_items)
            ),
            success=item.success,
            duration_ms=item.duration_ms,
        )
    if isinstance(item, g.CommandExecutionThreadItem):
        status = _COMMAND_STATUS.get(item.status)
        if status is None:
            return _unknown(item)
        return CommandExecutionItem(
            id=item.id,
            command=item.command,
            aggregated_output=item.aggregated_output or "",
            exit_code=item.exit_code,
            status=status,
        )
    if isinstance(item, g.FileChangeThreadItem):
        patch_status = _PATCH_STATUS.get(item.status)
        changes = []
        for change in item.changes:
            kind = _PATCH_KIND.get(getattr(change.kind, "type", "") or "")
            if kind is None or patch_status is None:
                return _unknown(item)
            changes.append(FileUpdateChange(path=change.path, kind=kind))
        assert patch_status is not None
        extra = {"appServerStatus": item.status} if item.status == "declined" else {}
        return FileChangeItem(id=item.id, changes=tuple(changes), status=patch_status, extra=extra)
    if isinstance(item, g.McpToolCallThreadItem):
        mcp_status = _MCP_STATUS.get(item.status)
        if mcp_status is None:
            return _unknown(item)
        result = (
            McpToolCallResult(
                content=item.result.content, structured_content=item.result.structured_content
            )
            if item.result is not None
            else None
        )
        error = McpToolCallError(item.error.message) if item.error is not None else None
        return McpToolCallItem(
            id=item.id,
            server=item.server,
            tool=item.tool,
            arguments=item.arguments,
            result=result,
            error=error,
            status=mcp_status,
        )
    if isinstance(item, g.WebSearchThreadItem):
        return WebSearchItem(id=item.id, query=item.query, action=_action(item.action))
    if isinstance(item, g.PlanThreadItem):
        return PlanItem(id=item.id, text=item.text)
    if isinstance(item, g.UserMessageThreadItem):
        return None
    return _unknown(item)


def usage_from_breakdown(b: g.TokenUsageBreakdown) -> Usage:
    """The exec :class:`Usage` for an app-server token breakdown."""
    return Usage(
        input_tokens=b.input_tokens,
        cached_input_tokens=b.cached_input_tokens,
        cache_write_input_tokens=b.cache_write_input_tokens,
        output_tokens=b.output_tokens,
        reasoning_output_tokens=b.reasoning_output_tokens,
        total_tokens=b.total_tokens,
        omitted=frozenset(),
    )


_ZERO = Usage(input_tokens=0, cached_input_tokens=0, output_tokens=0)


EXEC_STREAM_METHODS: frozenset[str] = frozenset(
    {
        "turn/started",
        "turn/completed",
        "turn/plan/updated",
        "item/started",
        "item/completed",
        "thread/tokenUsage/updated",
        "error",
    }
)
"""The notifications :meth:`TurnEventMapper.map` turns into exec-style events, or whose state a
later one carries (token usage goes into ``turn.completed``): all an exec-style stream needs.
The others map to app-server-only events (deltas, status, diffs...), which an exec-style stream
drops; its subscription does not even buffer them (``Subscription.methods``)."""


class TurnEventMapper:
    """Maps the typed notifications of ONE turn to events, in order.

    ``usage`` starts at the thread's last known cumulative usage (so a turn without a model call
    still reports the thread's total) and follows ``thread/tokenUsage/updated``. ``finished`` is
    set by the notification that ends the turn (``turn/completed``); ``started`` by
    ``turn/started``. ``todo_list`` is the plan as exec's to-do list, once there is one.

    :meth:`map` raises :class:`~codex_trio._errors.ProtocolError` for a ``turn/completed`` that
    comes before ``turn/started`` (the turn is then over, ``status`` ``"failed"``): without it
    a turn would "complete" with no response at all.
    """

    def __init__(self, *, usage: Usage | None = None) -> None:
        self.usage = usage if usage is not None else _ZERO
        self.started = False
        self.finished = False
        self.status: str | None = None
        self.todo_list: TodoListItem | None = None

    def _plan(self, params: g.TurnPlanUpdatedNotification) -> list[AppServerEvent]:
        todos = tuple(
            TodoItem(
                text=step.step, completed=step.status == "completed", extra={"status": step.status}
            )
            for step in params.plan
        )
        extra = {"explanation": params.explanation} if params.explanation is not None else {}
        first = self.todo_list is None
        item_id = self.todo_list.id if self.todo_list is not None else f"{params.turn_id}:todo_list"
        self.todo_list = TodoListItem(id=item_id, items=todos, extra=extra)
        event = ItemStartedEvent(self.todo_list) if first else ItemUpdatedEvent(self.todo_list)
        return [PlanUpdatedEvent(explanation=params.explanation, steps=params.plan), event]

    def map(self, method: str, params: Any) -> list[AppServerEvent]:
        """The events (zero or more) one notification stands for."""
        if isinstance(params, g.AgentMessageDeltaNotification):
            return [AgentMessageDeltaEvent(item_id=params.item_id, delta=params.delta)]
        if isinstance(params, (g.ItemStartedNotification, g.ItemCompletedNotification)):
            item = map_item(params.item)
            if item is None:
                return []
            if isinstance(params, g.ItemStartedNotification):
                return [ItemStartedEvent(item)]
            return [ItemCompletedEvent(item)]
        if isinstance(params, g.CommandExecutionOutputDeltaNotification):
            return [CommandOutputDeltaEvent(item_id=params.item_id, delta=params.delta)]
        if isinstance(params, g.ReasoningSummaryTextDeltaNotification):
            return [
                ReasoningDeltaEvent(
                    item_id=params.item_id,
                    delta=params.delta,
                    kind="summary",
                    index=params.summary_index,
                )
            ]
        if isinstance(params, g.ReasoningTextDeltaNotification):
            return [
                ReasoningDeltaEvent(
                    item_id=params.item_id,
                    delta=params.delta,
                    kind="text",
                    index=params.content_index,
                )
            ]
        if isinstance(params, g.ThreadTokenUsageUpdatedNotification):
            usage = params.token_usage
            self.usage = usage_from_breakdown(usage.total)
            return [
                TokenUsageUpdatedEvent(
                    total=self.usage,
                    last=usage_from_breakdown(usage.last),
                    model_context_window=usage.model_context_window,
                )
            ]
        if isinstance(params, g.TurnStartedNotification):
            self.started = True
            return [TurnStartedEvent()]
        if isinstance(params, g.TurnPlanUpdatedNotification):
            return self._plan(params)
        if isinstance(params, g.TurnDiffUpdatedNotification):
            return [TurnDiffUpdatedEvent(diff=params.diff)]
        if isinstance(params, g.ErrorNotification):
            # A notice, as exec's top-level ``error``: with willRetry codex keeps going; without
            # it, turn/completed(status failed) follows and ends the turn.
            return [ThreadErrorEvent(params.error.message, extra={"willRetry": params.will_retry})]
        if isinstance(params, g.TurnCompletedNotification):
            self.finished = True
            turn = params.turn
            if not self.started:
                self.status = "failed"
                raise ProtocolError(
                    f"turn/completed (status {turn.status!r}) arrived before turn/started",
                    line=method,
                    thread_id=params.thread_id,
                    turn_id=turn.id,
                )
            self.status = turn.status
            # As exec: the to-do list completes when the turn ends, just before its end event.
            events: list[AppServerEvent] = (
                [ItemCompletedEvent(self.todo_list)] if self.todo_list is not None else []
            )
            if turn.status == "completed":
                return [*events, TurnCompletedEvent(self.usage)]
            message = turn.error.message if turn.error is not None else f"turn {turn.status}"
            extra: Mapping[str, Any] = {"status": turn.status}
            info = turn.error.codex_error_info if turn.error is not None else None
            error = (
                TurnError(message, extra={"codexErrorInfo": info})
                if info is not None
                else TurnError(message)
            )
            return [*events, TurnFailedEvent(error, extra=extra)]
        return [AppServerNotificationEvent(method=method, params=params)]
