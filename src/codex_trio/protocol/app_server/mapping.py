"""App-server notifications as the exec transport's public events, plus richer app-server events.

``codex exec --json`` and ``codex app-server`` describe the same engine events in two dialects.
Code written against :mod:`codex_trio.protocol.exec_events` should not care which transport ran
the turn, so :class:`TurnEventMapper` turns the notifications of one app-server turn into those
same classes (``TurnStartedEvent``, ``ItemStartedEvent`` / ``ItemCompletedEvent`` carrying
``AgentMessageItem``, ``CommandExecutionItem`` ..., ``TurnCompletedEvent`` with usage cumulative
for the thread, ``TurnFailedEvent``) and, for what exec cannot express, into the app-server-only
classes defined here (deltas, plan updates, diffs, token-usage updates, and
:class:`AppServerNotificationEvent` for everything else, typed by the generated module).

Differences worth knowing:

* app-server reports the user's own message as an item; exec does not, so it is left out;
* app-server item types exec does not have (dynamic tool calls, context compaction, image
  views ...) become :class:`~codex_trio.protocol.exec_items.UnknownItem` holding the raw object;
* an ``interrupted`` turn ends with :class:`TurnFailedEvent` whose ``extra`` has
  ``{"status": "interrupted"}`` (exec has no interrupt);
* usage comes from ``thread/tokenUsage/updated`` (``total`` is cumulative for the thread, as in
  exec's ``turn.completed``); a turn that made no model call reports the last known total.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

from codex_trio.protocol.app_server import _generated as g
from codex_trio.protocol.exec_events import (
    ItemCompletedEvent,
    ItemStartedEvent,
    ThreadErrorEvent,
    ThreadEvent,
    TurnCompletedEvent,
    TurnError,
    TurnFailedEvent,
    TurnStartedEvent,
    Usage,
)
from codex_trio.protocol.exec_items import (
    AgentMessageItem,
    CommandExecutionItem,
    CommandExecutionStatus,
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


def map_item(item: g.ThreadItem) -> ThreadItem | None:
    """The exec-style item for an app-server item; ``None`` for the user's own message."""
    if isinstance(item, g.AgentMessageThreadItem):
        return AgentMessageItem(id=item.id, text=item.text)
    if isinstance(item, g.ReasoningThreadItem):
        return ReasoningItem(id=item.id, text="\n".join(item.summary or ()))
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


class TurnEventMapper:
    """Maps the typed notifications of ONE turn to events, in order.

    ``usage`` starts at the thread's last known cumulative usage (so a turn without a model call
    still reports the thread's total) and follows ``thread/tokenUsage/updated``. ``finished`` is
    set by the notification that ends the turn (``turn/completed``).
    """

    def __init__(self, *, usage: Usage | None = None) -> None:
        self.usage = usage if usage is not None else _ZERO
        self.finished = False
        self.status: str | None = None

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
            return [TurnStartedEvent()]
        if isinstance(params, g.TurnPlanUpdatedNotification):
            return [PlanUpdatedEvent(explanation=params.explanation, steps=params.plan)]
        if isinstance(params, g.TurnDiffUpdatedNotification):
            return [TurnDiffUpdatedEvent(diff=params.diff)]
        if isinstance(params, g.ErrorNotification):
            # A notice, as exec's top-level ``error``: with willRetry codex keeps going; without
            # it, turn/completed(status failed) follows and ends the turn.
            return [ThreadErrorEvent(params.error.message, extra={"willRetry": params.will_retry})]
        if isinstance(params, g.TurnCompletedNotification):
            self.finished = True
            turn = params.turn
            self.status = turn.status
            if turn.status == "completed":
                return [TurnCompletedEvent(self.usage)]
            message = turn.error.message if turn.error is not None else f"turn {turn.status}"
            extra: Mapping[str, Any] = {"status": turn.status}
            return [TurnFailedEvent(TurnError(message), extra=extra)]
        return [AppServerNotificationEvent(method=method, params=params)]
