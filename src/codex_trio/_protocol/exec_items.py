"""The items of ``codex exec --json``: one typed object per thing the agent did.

An item travels inside ``item.started``, ``item.updated`` and ``item.completed`` events as a JSON
object ``{"id": ..., "type": ..., <fields of that type>}``. The same ``id`` is reported again as
the item progresses (a command is started with ``exit_code: null`` and completed with its exit
status), so consumers key their state by ``id``. Ids (``item_0``, ``item_1``, ...) restart at 0 in
every codex process, i.e. in every turn of ``codex exec``: they are unique within one turn only.

These classes are pure data. Turning JSON into them (and back) is the job of
:mod:`codex_trio._protocol.exec_codec`; the conventions it follows are shared by every class here:

* **Unknown keys are kept.** A known item type that carries a key this library does not know (a
  newer codex added a field) stays typed; the unknown keys land in ``extra``, in their original
  order, and are written back after the known keys when the item is encoded. Nothing is lost.
  Do not put a known key into ``extra`` yourself: it would overwrite the typed field on encoding.
* **Absent and null are alike, but remembered.** An optional field reads as ``None`` (or its
  default) whether the key was missing or held ``null``. ``omitted`` records which keys were
  missing, so that encoding reproduces the line exactly: a key that was ``null`` is written back as
  ``null``, a key that was absent stays absent. ``omitted`` does not take part in ``==``: two items
  that differ only in it mean the same thing. When you build an item yourself, leave ``omitted``
  alone; its default follows what codex writes for a missing value.
* **Unknown item types and unknown enum values never crash decoding.** An item whose ``type`` is
  not one of the types below, *or* a known type carrying an enum value this library does not know
  (a new ``status``, a new file change ``kind``), decodes to :class:`UnknownItem` holding the raw
  JSON object. We chose this over keeping the unknown value as a bare string so that every typed
  item's enum fields really are members of their enum; the price is that such an item loses its
  typing (never its data) until this library learns the new value.
* Sequences are tuples and JSON values (``arguments``, ``structured_content``, ...) are kept as
  parsed by :mod:`json` (dicts, lists, str, int, float, bool, None).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias

import attrs

__all__ = [
    "EMPTY_EXTRA",
    "AgentMessageItem",
    "CollabAgentState",
    "CollabAgentStatus",
    "CollabTool",
    "CollabToolCallItem",
    "CollabToolCallStatus",
    "CommandExecutionItem",
    "CommandExecutionStatus",
    "DynamicToolCallItem",
    "DynamicToolCallStatus",
    "ErrorItem",
    "FileChangeItem",
    "FileUpdateChange",
    "FindInPageAction",
    "McpToolCallError",
    "McpToolCallItem",
    "McpToolCallResult",
    "McpToolCallStatus",
    "OpenPageAction",
    "OtherAction",
    "PatchApplyStatus",
    "PatchChangeKind",
    "PlanItem",
    "ReasoningItem",
    "SearchAction",
    "ThreadItem",
    "TodoItem",
    "TodoListItem",
    "UnknownAction",
    "UnknownItem",
    "WebSearchAction",
    "WebSearchItem",
]

#: The shared, immutable default of every ``extra`` attribute: no unknown keys.
EMPTY_EXTRA: Mapping[str, Any] = MappingProxyType({})

_NO_OMISSIONS: frozenset[str] = frozenset()


# JSON values (dicts, lists) cannot be hashed, so fields that hold them stay out of __hash__:
# objects made only of strings, numbers and enums (most events) remain usable as dict keys.
def _extra() -> Any:
    return attrs.field(default=EMPTY_EXTRA, hash=False)


def _omitted(default: frozenset[str] = _NO_OMISSIONS) -> Any:
    return attrs.field(default=default, eq=False, repr=False)


# --------------------------------------------------------------------------------------- enums


class CommandExecutionStatus(enum.StrEnum):
    """Where a shell command stands. ``declined`` means it was refused before it ran."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    DECLINED = "declined"


class PatchApplyStatus(enum.StrEnum):
    """Where a set of file changes stands."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class PatchChangeKind(enum.StrEnum):
    """What happened to one file of a :class:`FileChangeItem`."""

    ADD = "add"
    DELETE = "delete"
    UPDATE = "update"


class McpToolCallStatus(enum.StrEnum):
    """Where a call to an MCP server's tool stands."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class DynamicToolCallStatus(enum.StrEnum):
    """Where a call to a client-defined (dynamic) tool stands."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class CollabToolCallStatus(enum.StrEnum):
    """Where a call to a collaboration (multi-agent) tool stands."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class CollabTool(enum.StrEnum):
    """The collaboration tools an agent can call to drive other agents."""

    SPAWN_AGENT = "spawn_agent"
    SEND_INPUT = "send_input"
    WAIT = "wait"
    CLOSE_AGENT = "close_agent"


class CollabAgentStatus(enum.StrEnum):
    """Last known state of an agent driven through a collaboration tool."""

    PENDING_INIT = "pending_init"
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    ERRORED = "errored"
    SHUTDOWN = "shutdown"
    NOT_FOUND = "not_found"


# ----------------------------------------------------------------------- simple text items


@attrs.frozen(kw_only=True, weakref_slot=False)
class AgentMessageItem:
    """A message from the agent to the user.

    ``text`` is natural language, or, when the turn ran with an output schema, a JSON document
    meant to match it (codex does not guarantee that it does: parse it and handle failure).
    """

    type: ClassVar[str] = "agent_message"
    id: str
    text: str
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ReasoningItem:
    """A summary of the model's reasoning. Shown to users for context; never an answer.

    On the app-server transport, reasoning that carries raw content but no summary (models that
    expose their reasoning text) keeps it: ``text`` is then the content parts joined by newlines,
    and ``extra["content"]`` the parts as a list. Reasoning with neither (encrypted only) is not
    reported at all, as ``codex exec`` does not report it.
    """

    type: ClassVar[str] = "reasoning"
    id: str
    text: str
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class PlanItem:
    """An implementation plan proposed in plan mode (the text streams in ``item.plan.delta``)."""

    type: ClassVar[str] = "plan"
    id: str
    text: str
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ErrorItem:
    """A non-fatal error reported as part of the turn; the turn goes on.

    Example: ``Model metadata for `...` not found`` when the model name is unknown to codex.
    Failures that end the turn arrive as ``turn.failed`` instead.
    """

    type: ClassVar[str] = "error"
    id: str
    message: str
    extra: Mapping[str, Any] = _extra()


# ------------------------------------------------------------------------------- commands


@attrs.frozen(kw_only=True, weakref_slot=False)
class CommandExecutionItem:
    """A shell command run by the agent.

    Started when the process is spawned (``exit_code`` is an explicit ``null`` and ``status``
    ``in_progress``), completed when it exits. ``aggregated_output`` interleaves stdout and
    stderr and may be truncated by codex for long outputs. A command blocked by the sandbox
    produces no item at all, so the absence of an item is not proof that nothing was attempted.
    """

    type: ClassVar[str] = "command_execution"
    id: str
    command: str
    aggregated_output: str
    exit_code: int | None
    status: CommandExecutionStatus
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = _omitted()


# --------------------------------------------------------------------------- file changes


@attrs.frozen(kw_only=True, weakref_slot=False)
class FileUpdateChange:
    """One file touched by a :class:`FileChangeItem`."""

    path: str
    kind: PatchChangeKind
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class FileChangeItem:
    """A patch applied by the agent. Codex reports it once, when it succeeded or failed.

    A patch rejected by the sandbox or the approval policy produces no item at all.
    """

    type: ClassVar[str] = "file_change"
    id: str
    changes: tuple[FileUpdateChange, ...]
    status: PatchApplyStatus
    extra: Mapping[str, Any] = _extra()


# ------------------------------------------------------------------------------ MCP calls


@attrs.frozen(kw_only=True, weakref_slot=False)
class McpToolCallResult:
    """What an MCP tool returned: MCP content blocks, kept as raw JSON, plus structured data.

    ``meta`` is the result's MCP ``_meta`` object (wire key ``_meta``), which codex leaves out
    when the server sent none. A tool that reports failure (MCP ``isError``) still has a result:
    the item's ``status`` is then ``failed`` while ``error`` stays ``None``.
    """

    content: tuple[Any, ...] = attrs.field(hash=False)
    meta: Any = attrs.field(default=None, hash=False)
    structured_content: Any = attrs.field(default=None, hash=False)
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = _omitted(frozenset({"meta"}))


@attrs.frozen(weakref_slot=False)
class McpToolCallError:
    """Why an MCP tool call failed."""

    message: str
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class McpToolCallItem:
    """A call to a tool of an MCP server, from dispatch to the server's answer.

    ``arguments`` is whatever JSON the model passed (``None`` if none). On completion exactly one
    of ``result`` and ``error`` is normally set; while in progress both are ``None``.
    """

    type: ClassVar[str] = "mcp_tool_call"
    id: str
    server: str
    tool: str
    arguments: Any = attrs.field(default=None, hash=False)
    result: McpToolCallResult | None = None
    error: McpToolCallError | None = None
    status: McpToolCallStatus
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = _omitted()


# -------------------------------------------------------------------------- dynamic tools


@attrs.frozen(kw_only=True, weakref_slot=False)
class DynamicToolCallItem:
    """A call of a client-defined tool (app-server ``dynamicTools``, e.g. a Python function
    made with :func:`codex_trio._api.tools.tool`), from dispatch to the client's answer.

    Only the app-server transport has these (``codex exec`` has no client to call). ``arguments``
    is the JSON the model sent; on completion ``content_items`` holds what the tool returned to
    the model, as wire objects (``{"type": "inputText", "text": ...}``, ``inputImage`` ...),
    ``success`` whether it succeeded, ``duration_ms`` how long it took. :attr:`text` joins the
    text parts of the answer.
    """

    type: ClassVar[str] = "dynamic_tool_call"
    id: str
    tool: str
    namespace: str | None = None
    arguments: Any = attrs.field(default=None, hash=False)
    status: DynamicToolCallStatus
    content_items: tuple[Any, ...] | None = attrs.field(default=None, hash=False)
    success: bool | None = None
    duration_ms: int | None = None
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = _omitted()

    @property
    def text(self) -> str:
        """The text parts of the tool's answer, joined (empty while it runs)."""
        return "".join(
            part["text"]
            for part in self.content_items or ()
            if isinstance(part, Mapping)
            and part.get("type") == "inputText"
            and isinstance(part.get("text"), str)
        )


# ---------------------------------------------------------------------- collaboration calls


@attrs.frozen(kw_only=True, weakref_slot=False)
class CollabAgentState:
    """Last known state of one agent named in a :class:`CollabToolCallItem`."""

    status: CollabAgentStatus
    message: str | None = None
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = _omitted()


@attrs.frozen(kw_only=True, weakref_slot=False)
class CollabToolCallItem:
    """A call to a collaboration tool: this agent spawning, messaging, awaiting or closing others.

    ``agents_states`` maps a thread id to the last known state of the agent running it.
    """

    type: ClassVar[str] = "collab_tool_call"
    id: str
    tool: CollabTool
    sender_thread_id: str
    receiver_thread_ids: tuple[str, ...]
    prompt: str | None = None
    agents_states: Mapping[str, CollabAgentState] = attrs.field(hash=False)
    status: CollabToolCallStatus
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = _omitted()


# ------------------------------------------------------------------------------ web search

_ALL_SEARCH_FIELDS = frozenset({"query", "queries"})
_ALL_PAGE_FIELDS = frozenset({"url", "pattern"})


@attrs.frozen(kw_only=True, weakref_slot=False)
class SearchAction:
    """The search engine was queried: ``query`` for one query, ``queries`` for several.

    Codex leaves a field out when it has no value, hence the default of ``omitted``.
    """

    type: ClassVar[str] = "search"
    query: str | None = None
    queries: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = _omitted(_ALL_SEARCH_FIELDS)


@attrs.frozen(kw_only=True, weakref_slot=False)
class OpenPageAction:
    """A page was opened."""

    type: ClassVar[str] = "open_page"
    url: str | None = None
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = _omitted(frozenset({"url"}))


@attrs.frozen(kw_only=True, weakref_slot=False)
class FindInPageAction:
    """A page was searched for ``pattern``."""

    type: ClassVar[str] = "find_in_page"
    url: str | None = None
    pattern: str | None = None
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = _omitted(_ALL_PAGE_FIELDS)


@attrs.frozen(weakref_slot=False)
class OtherAction:
    """Codex's own catch-all (``{"type": "other"}``): an action codex itself did not classify."""

    type: ClassVar[str] = "other"
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(weakref_slot=False)
class UnknownAction:
    """An action whose shape this library does not know; ``raw`` is the JSON value as read.

    Unlike an unknown item, a strange action never makes its web search item unknown: the query
    is what most consumers want, and it is still typed. ``type`` is the action's ``type`` key if
    it had a string one, else ``None``.
    """

    raw: Any = attrs.field(hash=False)

    @property
    def type(self) -> str | None:
        tag = self.raw.get("type") if isinstance(self.raw, dict) else None
        return tag if isinstance(tag, str) else None


WebSearchAction: TypeAlias = (
    SearchAction | OpenPageAction | FindInPageAction | OtherAction | UnknownAction
)


@attrs.frozen(kw_only=True, weakref_slot=False)
class WebSearchItem:
    """A web search made by the agent (started when issued, completed when results came back).

    codex 0.163 writes the key ``id`` twice in this item: first the item id, then the provider's
    id for the search call. A plain :func:`json.loads` keeps only the second. The codec keeps
    both: the item id in ``id`` (like every other item) and the second one in ``call_id``
    (``None`` if the line had only one ``id``). Encoding writes both keys, in that order.
    """

    type: ClassVar[str] = "web_search"
    id: str
    call_id: str | None = None
    query: str
    action: WebSearchAction
    extra: Mapping[str, Any] = _extra()


# ------------------------------------------------------------------------------- to-do list


@attrs.frozen(kw_only=True, weakref_slot=False)
class TodoItem:
    """One step of the agent's to-do list."""

    text: str
    completed: bool
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class TodoListItem:
    """The agent's running to-do list (from its plan tool).

    Started when the plan is first issued, updated as steps change, completed when the turn
    ends. Each report carries the whole list, not a difference.
    """

    type: ClassVar[str] = "todo_list"
    id: str
    items: tuple[TodoItem, ...]
    extra: Mapping[str, Any] = _extra()


# ---------------------------------------------------------------------------------- unknown


@attrs.frozen(kw_only=True, weakref_slot=False)
class UnknownItem:
    """An item this library cannot type; ``raw`` is the JSON object exactly as read.

    Two causes: a ``type`` this library does not know (a newer codex), or a known type carrying
    an enum value it does not know (a new ``status``, say). Encoding writes ``raw`` back
    unchanged. ``id`` is the item's ``id`` if it had a string one, else ``None``.
    """

    id: str | None
    type: str
    raw: Mapping[str, Any] = attrs.field(hash=False)


ThreadItem: TypeAlias = (
    AgentMessageItem
    | ReasoningItem
    | PlanItem
    | CommandExecutionItem
    | FileChangeItem
    | McpToolCallItem
    | DynamicToolCallItem
    | CollabToolCallItem
    | WebSearchItem
    | TodoListItem
    | ErrorItem
    | UnknownItem
)
