"""Turning ``codex exec --json`` lines into typed events and back.

:func:`decode_event` is on the hot path of every turn (the transport calls it once per line), so
it does not go through cattrs' generic machinery: it parses with the C JSON decoder and then
dispatches on the ``type`` key to one small hand-written structure function per event and item
type. Each one checks types with ``type(x) is ...`` and builds the attrs instance directly. The
encoder side (:func:`unstructure_event`, :func:`encode_event`) is hand-written too, because it
must reproduce codex's key order, ``null`` versus absent keys, and the duplicated ``id`` of web
search items, none of which a generic unstructurer knows about.

:data:`converter` is the project's one cattrs converter with all of these registered as hooks:
``converter.structure(obj, ThreadEvent)`` / ``converter.unstructure(event)`` (and the same for
``ThreadItem``, ``Usage`` or any single class) are equivalent to the functions here, for code that
composes cattrs hooks. It is configured once, at import; do not register more hooks on it.

What can go wrong, and what happens then:

* a line that is not JSON, not UTF-8, holds a lone UTF-16 surrogate, ``NaN`` or a number too
  large for a float, or is not a JSON object: :class:`~codex_trio.errors.ProtocolError`,
  carrying (a prefix of) the line;
* a known event or item type with a required key missing or a value of the wrong JSON type:
  :class:`~codex_trio.errors.ProtocolError` as well. Nothing else ever escapes
  :func:`decode_event`;
* an unknown event ``type``: :class:`UnknownEvent`; an unknown item ``type`` or an enum value this
  library does not know: :class:`UnknownItem` (see :mod:`codex_trio.protocol.exec_items`);
* an unknown key in a known object: kept in the object's ``extra``.

Duplicated keys: codex 0.163 writes ``id`` twice in web search items, and that case is preserved
exactly (see :class:`WebSearchItem` and :class:`DuplicateKeyDict`). Only lines that contain the
text ``"web_search"`` are parsed with the (slower) duplicate-preserving decoder; anywhere else a
repeated key keeps its last value, as with :func:`json.loads`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn, TypeVar, cast

import attrs
import cattrs

from codex_trio.errors import ProtocolError
from codex_trio.protocol.exec_events import (
    ItemCompletedEvent,
    ItemStartedEvent,
    ItemUpdatedEvent,
    PlanDeltaEvent,
    RequestUserInputEvent,
    RequestUserInputOption,
    RequestUserInputQuestion,
    ThreadErrorEvent,
    ThreadEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnError,
    TurnFailedEvent,
    TurnStartedEvent,
    UnknownEvent,
    Usage,
)
from codex_trio.protocol.exec_items import (
    EMPTY_EXTRA,
    AgentMessageItem,
    CollabAgentState,
    CollabAgentStatus,
    CollabTool,
    CollabToolCallItem,
    CollabToolCallStatus,
    CommandExecutionItem,
    CommandExecutionStatus,
    DynamicToolCallItem,
    DynamicToolCallStatus,
    ErrorItem,
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
    "DuplicateKeyDict",
    "converter",
    "decode_event",
    "encode_event",
    "structure_event",
    "unstructure_event",
]

_E = TypeVar("_E")
_Obj = dict[str, Any]
_MISSING: Final = object()
_NOTHING_OMITTED: Final[frozenset[str]] = frozenset()


class DuplicateKeyDict(dict[str, Any]):
    """A JSON object in which some key appears more than once.

    As a dict it holds what :func:`json.loads` would give (the last value of a repeated key);
    ``pairs`` holds every ``(key, value)`` in the original order. :func:`unstructure_event`
    returns one for a web search item with a ``call_id``, and :func:`encode_event` writes its
    ``pairs``, so the duplicated key survives a round trip. :func:`json.dumps` does not know
    about ``pairs``: use :func:`encode_event` to write events.
    """

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs: tuple[tuple[str, Any], ...] = tuple(pairs)


# ------------------------------------------------------------------------- JSON text layer


def _keep_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Called by the C decoder for every object of a line; keep it to one dict() and a compare.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        return DuplicateKeyDict(pairs)
    return obj


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # Python reads 1e400 as infinity, which no JSON encoder (ours included) can write back.
    value = float(text)
    if value - value != 0.0:
        raise ValueError(f"number {text} is out of range")
    return value


_decode_json: Final = json.JSONDecoder(
    parse_constant=_reject_constant, parse_float=_finite_float
).decode
_decode_json_keeping_duplicates: Final = json.JSONDecoder(
    parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_keep_duplicates
).decode
# serde_json's compact form: no spaces, non-ASCII written as is, same escapes as Python's.
_encode_json: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False
).encode


def _encode_preserving_duplicates(value: Any) -> str:
    if isinstance(value, DuplicateKeyDict):
        members = value.pairs
    elif isinstance(value, dict):
        members = tuple(value.items())
    elif isinstance(value, list):
        return "[" + ",".join(_encode_preserving_duplicates(v) for v in value) + "]"
    else:
        return _encode_json(value)
    return (
        "{"
        + ",".join(f"{_encode_json(k)}:{_encode_preserving_duplicates(v)}" for k, v in members)
        + "}"
    )


def _has_lone_surrogate(obj: Any) -> bool:
    # Only reached when the line contains a \u escape. A valid pair was already combined into
    # one code point by the decoder, so any surrogate left over is a lone one, which UTF-8
    # cannot encode (and serde_json never writes).
    try:
        _encode_json(obj).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# ------------------------------------------------------------------------ validation helpers


class _Invalid(Exception):
    """A known event or item type whose fields are missing or of the wrong JSON type."""


class _UnknownValue(Exception):
    """A known item type carrying an enum value we do not know: the item becomes UnknownItem."""


_JSON_KINDS: Final = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "an array",
    dict: "an object",
    DuplicateKeyDict: "an object",
    type(None): "null",
}


def _kind(value: Any) -> str:
    return _JSON_KINDS.get(type(value), type(value).__name__)


def _bad(obj: Mapping[str, Any], key: str, expected: str, where: str) -> _Invalid:
    if key not in obj:
        return _Invalid(f"{where}: missing required key {key!r}")
    return _Invalid(f"{where}: {key!r} must be {expected}, got {_kind(obj[key])}")


def _extra_of(obj: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in known}


def _str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if type(value) is not str:
        raise _bad(obj, key, "a string", where)
    return value


def _int(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if type(value) is not int:
        raise _bad(obj, key, "an integer", where)
    return value


def _object(value: Any, where: str) -> _Obj:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be an object, got {_kind(value)}")
    return value


def _array(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if type(value) is not list:
        raise _bad(obj, key, "an array", where)
    return value


def _str_array(obj: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _array(obj, key, where)
    for v in values:
        if type(v) is not str:
            raise _Invalid(f"{where}: {key!r} must hold strings, got {_kind(v)}")
    return tuple(values)


def _member(table: Mapping[str, _E], obj: Mapping[str, Any], key: str, where: str) -> _E:
    value = obj.get(key)
    if type(value) is not str:
        raise _bad(obj, key, "a string", where)
    member = table.get(value)
    if member is None:
        raise _UnknownValue(f"{where}: unknown {key} {value!r}")
    return member


def _table(enum_cls: type[_E]) -> dict[str, _E]:
    return {str(m): m for m in enum_cls}  # type: ignore[attr-defined]


_COMMAND_STATUS: Final = _table(CommandExecutionStatus)
_PATCH_STATUS: Final = _table(PatchApplyStatus)
_PATCH_KIND: Final = _table(PatchChangeKind)
_MCP_STATUS: Final = _table(McpToolCallStatus)
_DYNAMIC_STATUS: Final = _table(DynamicToolCallStatus)
_COLLAB_STATUS: Final = _table(CollabToolCallStatus)
_COLLAB_TOOL: Final = _table(CollabTool)
_AGENT_STATUS: Final = _table(CollabAgentStatus)


class _Optionals:
    """Reads optional keys of one object, noting which were absent (for ``omitted``)."""

    __slots__ = ("absent", "obj", "where")

    def __init__(self, obj: Mapping[str, Any], where: str) -> None:
        self.obj = obj
        self.where = where
        self.absent: list[str] = []

    def get(self, key: str, name: str | None = None) -> Any:
        value = self.obj.get(key, _MISSING)
        if value is _MISSING:
            self.absent.append(name or key)
            return None
        return value

    def text(self, key: str) -> str | None:
        value = self.obj.get(key, _MISSING)
        if type(value) is str or value is None:
            return value
        if value is _MISSING:
            self.absent.append(key)
            return None
        raise _bad(self.obj, key, "a string or null", self.where)

    def integer(self, key: str) -> int | None:
        value = self.obj.get(key, _MISSING)
        if type(value) is int or value is None:
            return value
        if value is _MISSING:
            self.absent.append(key)
            return None
        raise _bad(self.obj, key, "an integer or null", self.where)

    def boolean(self, key: str, name: str) -> bool:
        value = self.obj.get(key, _MISSING)
        if value is _MISSING:
            self.absent.append(name)
            return False
        if type(value) is not bool:
            raise _bad(self.obj, key, "a boolean", self.where)
        return value

    @property
    def missing(self) -> int:
        """How many of the keys asked for were absent."""
        return len(self.absent)

    @property
    def omitted(self) -> frozenset[str]:
        return frozenset(self.absent) if self.absent else _NOTHING_OMITTED


# ------------------------------------------------------------------------ fast constructors

_T = TypeVar("_T")


def _builder(cls: type[_T], *, positional: bool = False) -> Callable[..., _T]:
    """A constructor for ``cls`` that the decoders use instead of its attrs ``__init__``.

    A frozen attrs ``__init__`` sets each field through ``object.__setattr__``, which costs
    about twice as much as calling the slot's descriptor directly; with two or three objects per
    line that was a quarter of the decoding time. The function made here has the same
    parameters and defaults as ``__init__`` and stores them through the slot descriptors, so it
    builds exactly the object ``__init__`` would, provided ``__init__`` does nothing else. That
    is checked here, at import: a class with ``__slots__`` and no validator, converter, factory
    default or ``__attrs_post_init__``. Whoever adds one of those gets an error at import, not a
    silently skipped check. ``positional`` allows positional arguments even for a ``kw_only``
    class (whose fields must then be in a valid order for that).
    """
    fields = attrs.fields(cast("type[attrs.AttrsInstance]", cls))
    if (
        "__slots__" not in cls.__dict__
        or hasattr(cls, "__attrs_post_init__")
        or any(
            f.validator is not None
            or f.converter is not None
            or isinstance(f.default, attrs.Factory)  # type: ignore[arg-type]
            or not f.init
            for f in fields
        )
    ):
        raise TypeError(f"{cls.__name__} cannot be built without its __init__")
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    params: list[str] = []
    body: list[str] = []
    for f in fields:
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is attrs.NOTHING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(o, {f.name})\n")
    kw_only = "*, " if any(f.kw_only for f in fields) and not positional else ""
    source = f"def build({kw_only}{', '.join(params)}):\n    o = _new(_cls)\n"
    source += "".join(body) + "    return o\n"
    exec(compile(source, f"<codex_trio build {cls.__name__}>", "exec"), namespace)
    build: Callable[..., _T] = namespace["build"]
    return build


_new_CommandExecutionItem: Final = _builder(CommandExecutionItem)
_new_FileUpdateChange: Final = _builder(FileUpdateChange)
_new_FileChangeItem: Final = _builder(FileChangeItem)
_new_McpToolCallResult: Final = _builder(McpToolCallResult)
_new_McpToolCallError: Final = _builder(McpToolCallError)
_new_McpToolCallItem: Final = _builder(McpToolCallItem)
_new_DynamicToolCallItem: Final = _builder(DynamicToolCallItem)
_new_CollabAgentState: Final = _builder(CollabAgentState)
_new_CollabToolCallItem: Final = _builder(CollabToolCallItem)
_new_UnknownAction: Final = _builder(UnknownAction)
_new_SearchAction: Final = _builder(SearchAction)
_new_OpenPageAction: Final = _builder(OpenPageAction)
_new_FindInPageAction: Final = _builder(FindInPageAction)
_new_OtherAction: Final = _builder(OtherAction)
_new_WebSearchItem: Final = _builder(WebSearchItem)
_new_TodoItem: Final = _builder(TodoItem)
_new_TodoListItem: Final = _builder(TodoListItem)
_new_AgentMessageItem: Final = _builder(AgentMessageItem, positional=True)
_new_ReasoningItem: Final = _builder(ReasoningItem, positional=True)
_new_PlanItem: Final = _builder(PlanItem, positional=True)
_new_ErrorItem: Final = _builder(ErrorItem, positional=True)
_new_UnknownItem: Final = _builder(UnknownItem)
_new_Usage: Final = _builder(Usage)
_new_ThreadStartedEvent: Final = _builder(ThreadStartedEvent)
_new_TurnStartedEvent: Final = _builder(TurnStartedEvent)
_new_TurnCompletedEvent: Final = _builder(TurnCompletedEvent)
_new_TurnFailedEvent: Final = _builder(TurnFailedEvent)
_new_TurnError: Final = _builder(TurnError)
_new_PlanDeltaEvent: Final = _builder(PlanDeltaEvent)
_new_RequestUserInputOption: Final = _builder(RequestUserInputOption)
_new_RequestUserInputQuestion: Final = _builder(RequestUserInputQuestion)
_new_RequestUserInputEvent: Final = _builder(RequestUserInputEvent)
_new_ThreadErrorEvent: Final = _builder(ThreadErrorEvent)
_new_ItemStartedEvent: Final = _builder(ItemStartedEvent)
_new_ItemUpdatedEvent: Final = _builder(ItemUpdatedEvent)
_new_ItemCompletedEvent: Final = _builder(ItemCompletedEvent)
_new_UnknownEvent: Final = _builder(UnknownEvent)


# --------------------------------------------------------------------------- item decoders

_ITEM_HEAD: Final = frozenset({"id", "type"})


def _text_item(
    type_: str, key: str, build: Callable[..., ThreadItem]
) -> Callable[[_Obj], ThreadItem]:
    where = f"{type_} item"
    known = _ITEM_HEAD | {key}

    def structure(obj: _Obj) -> ThreadItem:
        id_ = obj.get("id")
        text = obj.get(key)
        if type(id_) is not str:
            raise _bad(obj, "id", "a string", where)
        if type(text) is not str:
            raise _bad(obj, key, "a string", where)
        return build(id_, text, EMPTY_EXTRA if len(obj) == 3 else _extra_of(obj, known))

    return structure


_COMMAND_KEYS: Final = _ITEM_HEAD | {"command", "aggregated_output", "exit_code", "status"}
_EXIT_CODE_OMITTED: Final = frozenset({"exit_code"})


def _command_execution(obj: _Obj) -> CommandExecutionItem:
    where = "command_execution item"
    id_ = obj.get("id")
    command = obj.get("command")
    output = obj.get("aggregated_output")
    if type(id_) is not str:
        raise _bad(obj, "id", "a string", where)
    if type(command) is not str:
        raise _bad(obj, "command", "a string", where)
    if type(output) is not str:
        raise _bad(obj, "aggregated_output", "a string", where)
    exit_code = obj.get("exit_code", _MISSING)
    omitted = _NOTHING_OMITTED
    size = 6
    if exit_code is _MISSING:
        exit_code, omitted, size = None, _EXIT_CODE_OMITTED, 5
    elif exit_code is not None and type(exit_code) is not int:
        raise _bad(obj, "exit_code", "an integer or null", where)
    status = _member(_COMMAND_STATUS, obj, "status", where)
    return _new_CommandExecutionItem(
        id=id_,
        command=command,
        aggregated_output=output,
        exit_code=exit_code,
        status=status,
        extra=EMPTY_EXTRA if len(obj) == size else _extra_of(obj, _COMMAND_KEYS),
        omitted=omitted,
    )


_FILE_CHANGE_KEYS: Final = _ITEM_HEAD | {"changes", "status"}
_CHANGE_KEYS: Final = frozenset({"path", "kind"})


def _file_change(obj: _Obj) -> FileChangeItem:
    where = "file_change item"
    id_ = _str(obj, "id", where)
    changes = []
    for raw in _array(obj, "changes", where):
        change = _object(raw, "file_change item change")
        changes.append(
            _new_FileUpdateChange(
                path=_str(change, "path", "file_change item change"),
                kind=_member(_PATCH_KIND, change, "kind", "file_change item change"),
                extra=EMPTY_EXTRA if len(change) == 2 else _extra_of(change, _CHANGE_KEYS),
            )
        )
    status = _member(_PATCH_STATUS, obj, "status", where)
    return _new_FileChangeItem(
        id=id_,
        changes=tuple(changes),
        status=status,
        extra=EMPTY_EXTRA if len(obj) == 4 else _extra_of(obj, _FILE_CHANGE_KEYS),
    )


_MCP_KEYS: Final = _ITEM_HEAD | {"server", "tool", "arguments", "result", "error", "status"}
_MCP_RESULT_KEYS: Final = frozenset({"content", "_meta", "structured_content"})
_MCP_ERROR_KEYS: Final = frozenset({"message"})


def _mcp_result(value: Any) -> McpToolCallResult | None:
    if value is None:
        return None
    where = "mcp_tool_call item result"
    obj = _object(value, where)
    content = _array(obj, "content", where)
    opt = _Optionals(obj, where)
    meta = opt.get("_meta", "meta")
    structured = opt.get("structured_content")
    return _new_McpToolCallResult(
        content=tuple(content),
        meta=meta,
        structured_content=structured,
        extra=EMPTY_EXTRA if len(obj) == 3 - opt.missing else _extra_of(obj, _MCP_RESULT_KEYS),
        omitted=opt.omitted,
    )


def _mcp_error(value: Any) -> McpToolCallError | None:
    if value is None:
        return None
    obj = _object(value, "mcp_tool_call item error")
    message = _str(obj, "message", "mcp_tool_call item error")
    return _new_McpToolCallError(
        message, EMPTY_EXTRA if len(obj) == 1 else _extra_of(obj, _MCP_ERROR_KEYS)
    )


def _mcp_tool_call(obj: _Obj) -> McpToolCallItem:
    where = "mcp_tool_call item"
    opt = _Optionals(obj, where)
    id_ = _str(obj, "id", where)
    server = _str(obj, "server", where)
    tool = _str(obj, "tool", where)
    arguments = opt.get("arguments")
    result = _mcp_result(opt.get("result"))
    error = _mcp_error(opt.get("error"))
    status = _member(_MCP_STATUS, obj, "status", where)
    return _new_McpToolCallItem(
        id=id_,
        server=server,
        tool=tool,
        arguments=arguments,
        result=result,
        error=error,
        status=status,
        extra=EMPTY_EXTRA if len(obj) == 8 - opt.missing else _extra_of(obj, _MCP_KEYS),
        omitted=opt.omitted,
    )


_DYNAMIC_KEYS: Final = _ITEM_HEAD | {
    "tool",
    "namespace",
    "arguments",
    "status",
    "content_items",
    "success",
    "duration_ms",
}


def _dynamic_tool_call(obj: _Obj) -> DynamicToolCallItem:
    where = "dynamic_tool_call item"
    opt = _Optionals(obj, where)
    id_ = _str(obj, "id", where)
    tool = _str(obj, "tool", where)
    namespace = opt.text("namespace")
    arguments = opt.get("arguments")
    status = _member(_DYNAMIC_STATUS, obj, "status", where)
    content = opt.get("content_items")
    if content is not None and type(content) is not list:
        raise _bad(obj, "content_items", "an array or null", where)
    success = opt.get("success")
    if success is not None and type(success) is not bool:
        raise _bad(obj, "success", "a boolean or null", where)
    duration = opt.integer("duration_ms")
    return _new_DynamicToolCallItem(
        id=id_,
        tool=tool,
        namespace=namespace,
        arguments=arguments,
        status=status,
        content_items=None if content is None else tuple(content),
        success=success,
        duration_ms=duration,
        extra=EMPTY_EXTRA if len(obj) == 9 - opt.missing else _extra_of(obj, _DYNAMIC_KEYS),
        omitted=opt.omitted,
    )


_COLLAB_KEYS: Final = _ITEM_HEAD | {
    "tool",
    "sender_thread_id",
    "receiver_thread_ids",
    "prompt",
    "agents_states",
    "status",
}
_AGENT_STATE_KEYS: Final = frozenset({"status", "message"})


def _agent_state(value: Any) -> CollabAgentState:
    where = "collab_tool_call item agent state"
    obj = _object(value, where)
    opt = _Optionals(obj, where)
    status = _member(_AGENT_STATUS, obj, "status", where)
    message = opt.text("message")
    return _new_CollabAgentState(
        status=status,
        message=message,
        extra=EMPTY_EXTRA if len(obj) == 2 - opt.missing else _extra_of(obj, _AGENT_STATE_KEYS),
        omitted=opt.omitted,
    )


def _collab_tool_call(obj: _Obj) -> CollabToolCallItem:
    where = "collab_tool_call item"
    opt = _Optionals(obj, where)
    id_ = _str(obj, "id", where)
    tool = _member(_COLLAB_TOOL, obj, "tool", where)
    sender = _str(obj, "sender_thread_id", where)
    receivers = _str_array(obj, "receiver_thread_ids", where)
    prompt = opt.text("prompt")
    states = obj.get("agents_states")
    if not isinstance(states, dict):
        raise _bad(obj, "agents_states", "an object", where)
    status = _member(_COLLAB_STATUS, obj, "status", where)
    return _new_CollabToolCallItem(
        id=id_,
        tool=tool,
        sender_thread_id=sender,
        receiver_thread_ids=receivers,
        prompt=prompt,
        agents_states={k: _agent_state(v) for k, v in states.items()},
        status=status,
        extra=EMPTY_EXTRA if len(obj) == 8 - opt.missing else _extra_of(obj, _COLLAB_KEYS),
        omitted=opt.omitted,
    )


_SEARCH_KEYS: Final = frozenset({"type", "query", "queries"})
_PAGE_KEYS: Final = frozenset({"type", "url", "pattern"})
_OTHER_KEYS: Final = frozenset({"type"})


def _action(value: Any) -> WebSearchAction:
    # Never raises: any shape we cannot type is kept whole as UnknownAction.
    if not isinstance(value, dict):
        return _new_UnknownAction(value)
    tag = value.get("type")
    opt = _Optionals(value, "web_search action")
    try:
        if tag == "search":
            query = opt.text("query")
            queries = None
            if "queries" in value:
                queries = None if value["queries"] is None else _str_array(value, "queries", "")
            else:
                opt.absent.append("queries")
            return _new_SearchAction(
                query=query,
                queries=queries,
                extra=_extra_of(value, _SEARCH_KEYS),
                omitted=opt.omitted,
            )
        if tag == "open_page":
            return _new_OpenPageAction(
                url=opt.text("url"), extra=_extra_of(value, _PAGE_KEYS), omitted=opt.omitted
            )
        if tag == "find_in_page":
            return _new_FindInPageAction(
                url=opt.text("url"),
                pattern=opt.text("pattern"),
                extra=_extra_of(value, _PAGE_KEYS),
                omitted=opt.omitted,
            )
        if tag == "other":
            return _new_OtherAction(_extra_of(value, _OTHER_KEYS))
    except _Invalid:
        pass
    return _new_UnknownAction(value)


_WEB_SEARCH_KEYS: Final = _ITEM_HEAD | {"query", "action"}


def _web_search(obj: _Obj) -> WebSearchItem:
    where = "web_search item"
    call_id: str | None = None
    if isinstance(obj, DuplicateKeyDict):
        ids = [v for k, v in obj.pairs if k == "id"]
        if len(ids) > 2:
            raise _Invalid(f"{where}: key 'id' appears {len(ids)} times, at most 2 expected")
        id_ = ids[0] if ids else None
        if len(ids) == 2:
            call_id = ids[1]
            if type(call_id) is not str:
                raise _Invalid(f"{where}: the second 'id' must be a string, got {_kind(call_id)}")
    else:
        id_ = obj.get("id")
    if type(id_) is not str:
        raise _bad(obj, "id", "a string", where)
    query = _str(obj, "query", where)
    if "action" not in obj:
        raise _bad(obj, "action", "an object", where)
    return _new_WebSearchItem(
        id=id_,
        call_id=call_id,
        query=query,
        action=_action(obj["action"]),
        extra=EMPTY_EXTRA if len(obj) == 4 else _extra_of(obj, _WEB_SEARCH_KEYS),
    )


_TODO_LIST_KEYS: Final = _ITEM_HEAD | {"items"}
_TODO_KEYS: Final = frozenset({"text", "completed"})


def _todo_list(obj: _Obj) -> TodoListItem:
    where = "todo_list item"
    id_ = _str(obj, "id", where)
    todos = []
    for raw in _array(obj, "items", where):
        todo = _object(raw, "todo_list item entry")
        completed = todo.get("completed")
        if type(completed) is not bool:
            raise _bad(todo, "completed", "a boolean", "todo_list item entry")
        todos.append(
            _new_TodoItem(
                text=_str(todo, "text", "todo_list item entry"),
                completed=completed,
                extra=EMPTY_EXTRA if len(todo) == 2 else _extra_of(todo, _TODO_KEYS),
            )
        )
    return _new_TodoListItem(
        id=id_,
        items=tuple(todos),
        extra=EMPTY_EXTRA if len(obj) == 3 else _extra_of(obj, _TODO_LIST_KEYS),
    )


_ITEM_DECODERS: Final[dict[str, Callable[[_Obj], ThreadItem]]] = {
    "agent_message": _text_item("agent_message", "text", _new_AgentMessageItem),
    "reasoning": _text_item("reasoning", "text", _new_ReasoningItem),
    "plan": _text_item("plan", "text", _new_PlanItem),
    "error": _text_item("error", "message", _new_ErrorItem),
    "command_execution": _command_execution,
    "file_change": _file_change,
    "mcp_tool_call": _mcp_tool_call,
    "dynamic_tool_call": _dynamic_tool_call,
    "collab_tool_call": _collab_tool_call,
    "web_search": _web_search,
    "todo_list": _todo_list,
}


def _item(value: Any, where: str) -> ThreadItem:
    if not isinstance(value, dict):
        raise _bad({"item": value} if value is not _MISSING else {}, "item", "an object", where)
    tag = value.get("type")
    if not isinstance(tag, str):
        raise _bad(value, "type", "a string", f"{where}: item")
    decode = _ITEM_DECODERS.get(tag)
    if decode is not None:
        try:
            return decode(value)
        except _UnknownValue:
            pass
    id_ = value.get("id")
    return _new_UnknownItem(id=id_ if type(id_) is str else None, type=tag, raw=value)


# -------------------------------------------------------------------------- event decoders

_ITEM_EVENT_KEYS: Final = frozenset({"type", "item"})


def _item_event(type_: str, build: Callable[..., ThreadEvent]) -> Callable[[_Obj], ThreadEvent]:
    where = f"{type_} event"

    def structure(obj: _Obj) -> ThreadEvent:
        item = _item(obj.get("item", _MISSING), where)
        return build(item, EMPTY_EXTRA if len(obj) == 2 else _extra_of(obj, _ITEM_EVENT_KEYS))

    return structure


_USAGE_KEYS: Final = frozenset(
    {
        "input_tokens",
        "cached_input_tokens",
        "cache_write_input_tokens",
        "output_tokens",
        "reasoning_output_tokens",
        "total_tokens",
    }
)


def _usage(value: Any, where: str) -> Usage:
    obj = _object(value, where)
    opt = _Optionals(obj, where)
    return _new_Usage(
        input_tokens=_int(obj, "input_tokens", where),
        cached_input_tokens=_int(obj, "cached_input_tokens", where),
        cache_write_input_tokens=opt.integer("cache_write_input_tokens"),
        output_tokens=_int(obj, "output_tokens", where),
        reasoning_output_tokens=opt.integer("reasoning_output_tokens"),
        total_tokens=opt.integer("total_tokens"),
        extra=EMPTY_EXTRA if len(obj) == 6 - opt.missing else _extra_of(obj, _USAGE_KEYS),
        omitted=opt.omitted,
    )


_TYPE_ONLY: Final = frozenset({"type"})
_THREAD_STARTED_KEYS: Final = frozenset({"type", "thread_id"})
_TURN_COMPLETED_KEYS: Final = frozenset({"type", "usage"})
_TURN_FAILED_KEYS: Final = frozenset({"type", "error"})
_MESSAGE_KEYS: Final = frozenset({"message"})
_ERROR_EVENT_KEYS: Final = frozenset({"type", "message"})
_PLAN_DELTA_KEYS: Final = frozenset({"type", "item_id", "delta"})


def _thread_started(obj: _Obj) -> ThreadStartedEvent:
    thread_id = obj.get("thread_id")
    if type(thread_id) is not str:
        raise _bad(obj, "thread_id", "a string", "thread.started event")
    return _new_ThreadStartedEvent(
        thread_id, EMPTY_EXTRA if len(obj) == 2 else _extra_of(obj, _THREAD_STARTED_KEYS)
    )


def _turn_started(obj: _Obj) -> TurnStartedEvent:
    return _new_TurnStartedEvent(EMPTY_EXTRA if len(obj) == 1 else _extra_of(obj, _TYPE_ONLY))


def _turn_completed(obj: _Obj) -> TurnCompletedEvent:
    if "usage" not in obj:
        raise _bad(obj, "usage", "an object", "turn.completed event")
    return _new_TurnCompletedEvent(
        _usage(obj["usage"], "turn.completed event usage"),
        EMPTY_EXTRA if len(obj) == 2 else _extra_of(obj, _TURN_COMPLETED_KEYS),
    )


def _turn_failed(obj: _Obj) -> TurnFailedEvent:
    where = "turn.failed event"
    if "error" not in obj:
        raise _bad(obj, "error", "an object", where)
    error = _object(obj["error"], "turn.failed event error")
    message = _str(error, "message", "turn.failed event error")
    return _new_TurnFailedEvent(
        _new_TurnError(
            message, EMPTY_EXTRA if len(error) == 1 else _extra_of(error, _MESSAGE_KEYS)
        ),
        EMPTY_EXTRA if len(obj) == 2 else _extra_of(obj, _TURN_FAILED_KEYS),
    )


def _plan_delta(obj: _Obj) -> PlanDeltaEvent:
    where = "item.plan.delta event"
    return _new_PlanDeltaEvent(
        item_id=_str(obj, "item_id", where),
        delta=_str(obj, "delta", where),
        extra=EMPTY_EXTRA if len(obj) == 3 else _extra_of(obj, _PLAN_DELTA_KEYS),
    )


_REQUEST_KEYS: Final = frozenset({"type", "id", "call_id", "questions"})
_QUESTION_KEYS: Final = frozenset({"id", "header", "question", "isOther", "isSecret", "options"})
_OPTION_KEYS: Final = frozenset({"label", "description"})


def _question(value: Any) -> RequestUserInputQuestion:
    where = "request_user_input event question"
    obj = _object(value, where)
    opt = _Optionals(obj, where)
    is_other = opt.boolean("isOther", "is_other")
    is_secret = opt.boolean("isSecret", "is_secret")
    raw_options = opt.get("options")
    options = None
    if raw_options is not None:
        if type(raw_options) is not list:
            raise _bad(obj, "options", "an array or null", where)
        options = []
        for raw in raw_options:
            option = _object(raw, "request_user_input event question option")
            options.append(
                _new_RequestUserInputOption(
                    label=_str(option, "label", "request_user_input event question option"),
                    description=_str(
                        option, "description", "request_user_input event question option"
                    ),
                    extra=EMPTY_EXTRA if len(option) == 2 else _extra_of(option, _OPTION_KEYS),
                )
            )
    return _new_RequestUserInputQuestion(
        id=_str(obj, "id", where),
        header=_str(obj, "header", where),
        question=_str(obj, "question", where),
        is_other=is_other,
        is_secret=is_secret,
        options=None if options is None else tuple(options),
        extra=EMPTY_EXTRA if len(obj) == 6 - opt.missing else _extra_of(obj, _QUESTION_KEYS),
        omitted=opt.omitted,
    )


def _request_user_input(obj: _Obj) -> RequestUserInputEvent:
    where = "request_user_input event"
    return _new_RequestUserInputEvent(
        id=_str(obj, "id", where),
        call_id=_str(obj, "call_id", where),
        questions=tuple(_question(q) for q in _array(obj, "questions", where)),
        extra=EMPTY_EXTRA if len(obj) == 4 else _extra_of(obj, _REQUEST_KEYS),
    )


def _thread_error(obj: _Obj) -> ThreadErrorEvent:
    message = obj.get("message")
    if type(message) is not str:
        raise _bad(obj, "message", "a string", "error event")
    return _new_ThreadErrorEvent(
        message, EMPTY_EXTRA if len(obj) == 2 else _extra_of(obj, _ERROR_EVENT_KEYS)
    )


_EVENT_DECODERS: Final[dict[str, Callable[[_Obj], ThreadEvent]]] = {
    "thread.started": _thread_started,
    "turn.started": _turn_started,
    "turn.completed": _turn_completed,
    "turn.failed": _turn_failed,
    "item.started": _item_event("item.started", _new_ItemStartedEvent),
    "item.updated": _item_event("item.updated", _new_ItemUpdatedEvent),
    "item.completed": _item_event("item.completed", _new_ItemCompletedEvent),
    "item.plan.delta": _plan_delta,
    "request_user_input": _request_user_input,
    "error": _thread_error,
}


def _structure_event(obj: Any, line: str | bytes) -> ThreadEvent:
    if not isinstance(obj, dict):
        raise ProtocolError(f"expected a JSON object, got {_kind(obj)}", line=line)
    tag = obj.get("type")
    decode = _EVENT_DECODERS.get(tag) if type(tag) is str else None
    if decode is None:
        if type(tag) is not str:
            raise ProtocolError(
                f"event 'type' must be a string, got {_kind(tag) if 'type' in obj else 'none'}",
                line=line,
            )
        return _new_UnknownEvent(tag, obj)
    try:
        return decode(obj)
    except _Invalid as exc:
        raise ProtocolError(f"invalid {tag} event: {exc}", line=line) from None
    except Exception as exc:  # a bug here must still surface as the documented error type
        raise ProtocolError(f"cannot decode {tag} event: {exc!r}", line=line) from exc


def decode_event(data: bytes | str) -> ThreadEvent:
    """Decode one line of ``codex exec --json`` output into a typed event.

    ``data`` is the line as read, with or without its trailing newline; ``bytes`` must be UTF-8.
    Unknown event and item types decode to :class:`UnknownEvent` / :class:`UnknownItem`, unknown
    keys to the ``extra`` of their object, so a newer codex never makes this fail.

    Raises :class:`~codex_trio.errors.ProtocolError` (with the line, secrets redacted) when the
    line is not JSON, not UTF-8, holds a lone surrogate, ``NaN`` or an out-of-range number, is
    not a JSON object, has no string ``type``, or is a known type with a required key missing or
    of the wrong JSON type. No other exception escapes for bad data; a ``TypeError`` means
    ``data`` was neither bytes nor str.
    """
    try:
        if isinstance(data, str):
            text = data
            if not text.isascii():
                text.encode("utf-8")  # a lone surrogate cannot be encoded: reject it here
        elif isinstance(data, bytes | bytearray):
            text = data.decode("utf-8")
        else:
            raise TypeError(f"decode_event() takes bytes or str, not {type(data).__name__}")
        if '"web_search"' in text:
            obj = _decode_json_keeping_duplicates(text)
        else:
            obj = _decode_json(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeError included
        raise ProtocolError(f"not a JSON line: {exc}", line=data) from None
    if "\\u" in text and _has_lone_surrogate(obj):
        raise ProtocolError("line holds a lone UTF-16 surrogate", line=data)
    # The common case inline (one call less per line); anything unusual goes the long way.
    if type(obj) is dict:
        tag = obj.get("type")
        decode = _EVENT_DECODERS.get(tag) if type(tag) is str else None
        if decode is not None:
            try:
                return decode(obj)
            except _Invalid as exc:
                raise ProtocolError(f"invalid {tag} event: {exc}", line=data) from None
            except Exception as exc:  # a bug here must still surface as the documented error
                raise ProtocolError(f"cannot decode {tag} event: {exc!r}", line=data) from exc
    return _structure_event(obj, data)


def structure_event(obj: Mapping[str, Any]) -> ThreadEvent:
    """Type an already parsed event object (as :func:`json.loads` returns it).

    Same rules and errors as :func:`decode_event`. A plain dict cannot hold a key twice, so the
    item id of a web search item is lost unless ``obj`` came from a duplicate-preserving parse
    (a :class:`DuplicateKeyDict`); prefer :func:`decode_event` on the raw line.
    """
    return _structure_event(obj, "")


# ------------------------------------------------------------------------------ unstructure


def _put_extra(obj: _Obj, extra: Mapping[str, Any]) -> _Obj:
    if extra:
        obj.update(extra)
    return obj


def _u_text_item(key: str) -> Callable[[Any], _Obj]:
    def unstructure(item: Any) -> _Obj:
        return _put_extra({"id": item.id, "type": item.type, key: getattr(item, key)}, item.extra)

    return unstructure


def _u_command_execution(item: CommandExecutionItem) -> _Obj:
    obj: _Obj = {
        "id": item.id,
        "type": "command_execution",
        "command": item.command,
        "aggregated_output": item.aggregated_output,
    }
    if item.exit_code is not None or "exit_code" not in item.omitted:
        obj["exit_code"] = item.exit_code
    obj["status"] = item.status.value
    return _put_extra(obj, item.extra)


def _u_file_change(item: FileChangeItem) -> _Obj:
    changes = [_put_extra({"path": c.path, "kind": c.kind.value}, c.extra) for c in item.changes]
    return _put_extra(
        {"id": item.id, "type": "file_change", "changes": changes, "status": item.status.value},
        item.extra,
    )


def _u_mcp_result(result: McpToolCallResult) -> _Obj:
    obj: _Obj = {"content": list(result.content)}
    if result.meta is not None or "meta" not in result.omitted:
        obj["_meta"] = result.meta
    if result.structured_content is not None or "structured_content" not in result.omitted:
        obj["structured_content"] = result.structured_content
    return _put_extra(obj, result.extra)


def _u_mcp_tool_call(item: McpToolCallItem) -> _Obj:
    obj: _Obj = {"id": item.id, "type": "mcp_tool_call", "server": item.server, "tool": item.tool}
    omitted = item.omitted
    if item.arguments is not None or "arguments" not in omitted:
        obj["arguments"] = item.arguments
    if item.result is not None or "result" not in omitted:
        obj["result"] = None if item.result is None else _u_mcp_result(item.result)
    if item.error is not None or "error" not in omitted:
        obj["error"] = (
            None
            if item.error is None
            else _put_extra({"message": item.error.message}, item.error.extra)
        )
    obj["status"] = item.status.value
    return _put_extra(obj, item.extra)


def _u_dynamic_tool_call(item: DynamicToolCallItem) -> _Obj:
    obj: _Obj = {"id": item.id, "type": "dynamic_tool_call", "tool": item.tool}
    omitted = item.omitted
    if item.namespace is not None or "namespace" not in omitted:
        obj["namespace"] = item.namespace
    if item.arguments is not None or "arguments" not in omitted:
        obj["arguments"] = item.arguments
    obj["status"] = item.status.value
    if item.content_items is not None or "content_items" not in omitted:
        obj["content_items"] = None if item.content_items is None else list(item.content_items)
    if item.success is not None or "success" not in omitted:
        obj["success"] = item.success
    if item.duration_ms is not None or "duration_ms" not in omitted:
        obj["duration_ms"] = item.duration_ms
    return _put_extra(obj, item.extra)


def _u_agent_state(state: CollabAgentState) -> _Obj:
    obj: _Obj = {"status": state.status.value}
    if state.message is not None or "message" not in state.omitted:
        obj["message"] = state.message
    return _put_extra(obj, state.extra)


def _u_collab_tool_call(item: CollabToolCallItem) -> _Obj:
    obj: _Obj = {
        "id": item.id,
        "type": "collab_tool_call",
        "tool": item.tool.value,
        "sender_thread_id": item.sender_thread_id,
        "receiver_thread_ids": list(item.receiver_thread_ids),
    }
    if item.prompt is not None or "prompt" not in item.omitted:
        obj["prompt"] = item.prompt
    obj["agents_states"] = {k: _u_agent_state(v) for k, v in item.agents_states.items()}
    obj["status"] = item.status.value
    return _put_extra(obj, item.extra)


def _u_action(action: WebSearchAction) -> Any:
    if isinstance(action, UnknownAction):
        return action.raw
    obj: _Obj = {"type": action.type}
    if isinstance(action, SearchAction):
        if action.query is not None or "query" not in action.omitted:
            obj["query"] = action.query
        if action.queries is not None or "queries" not in action.omitted:
            obj["queries"] = None if action.queries is None else list(action.queries)
    elif isinstance(action, OpenPageAction | FindInPageAction):
        if action.url is not None or "url" not in action.omitted:
            obj["url"] = action.url
        if isinstance(action, FindInPageAction) and (
            action.pattern is not None or "pattern" not in action.omitted
        ):
            obj["pattern"] = action.pattern
    return _put_extra(obj, action.extra)


def _u_web_search(item: WebSearchItem) -> _Obj:
    pairs: list[tuple[str, Any]] = [("id", item.id), ("type", "web_search")]
    if item.call_id is not None:
        pairs.append(("id", item.call_id))
    pairs.append(("query", item.query))
    pairs.append(("action", _u_action(item.action)))
    pairs.extend(item.extra.items())
    return dict(pairs) if item.call_id is None else DuplicateKeyDict(pairs)


def _u_todo_list(item: TodoListItem) -> _Obj:
    todos = [_put_extra({"text": t.text, "completed": t.completed}, t.extra) for t in item.items]
    return _put_extra({"id": item.id, "type": "todo_list", "items": todos}, item.extra)


def _u_unknown_item(item: UnknownItem) -> _Obj:
    return dict(item.raw) if not isinstance(item.raw, DuplicateKeyDict) else item.raw


_ITEM_ENCODERS: Final[dict[type[Any], Callable[[Any], _Obj]]] = {
    AgentMessageItem: _u_text_item("text"),
    ReasoningItem: _u_text_item("text"),
    PlanItem: _u_text_item("text"),
    ErrorItem: _u_text_item("message"),
    CommandExecutionItem: _u_command_execution,
    FileChangeItem: _u_file_change,
    McpToolCallItem: _u_mcp_tool_call,
    DynamicToolCallItem: _u_dynamic_tool_call,
    CollabToolCallItem: _u_collab_tool_call,
    WebSearchItem: _u_web_search,
    TodoListItem: _u_todo_list,
    UnknownItem: _u_unknown_item,
}


def _u_item(item: ThreadItem) -> _Obj:
    return _ITEM_ENCODERS[type(item)](item)


def _u_usage(usage: Usage) -> _Obj:
    omitted = usage.omitted
    obj: _Obj = {
        "input_tokens": usage.input_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
    }
    if usage.cache_write_input_tokens is not None or "cache_write_input_tokens" not in omitted:
        obj["cache_write_input_tokens"] = usage.cache_write_input_tokens
    obj["output_tokens"] = usage.output_tokens
    if usage.reasoning_output_tokens is not None or "reasoning_output_tokens" not in omitted:
        obj["reasoning_output_tokens"] = usage.reasoning_output_tokens
    if usage.total_tokens is not None or "total_tokens" not in omitted:
        obj["total_tokens"] = usage.total_tokens
    return _put_extra(obj, usage.extra)


def _u_question(q: RequestUserInputQuestion) -> _Obj:
    obj: _Obj = {"id": q.id, "header": q.header, "question": q.question}
    if q.is_other or "is_other" not in q.omitted:
        obj["isOther"] = q.is_other
    if q.is_secret or "is_secret" not in q.omitted:
        obj["isSecret"] = q.is_secret
    if q.options is not None or "options" not in q.omitted:
        obj["options"] = (
            None
            if q.options is None
            else [
                _put_extra({"label": o.label, "description": o.description}, o.extra)
                for o in q.options
            ]
        )
    return _put_extra(obj, q.extra)


def _u_item_event(event: ItemStartedEvent | ItemUpdatedEvent | ItemCompletedEvent) -> _Obj:
    return _put_extra({"type": event.type, "item": _u_item(event.item)}, event.extra)


def _u_unknown_event(event: UnknownEvent) -> _Obj:
    return dict(event.raw) if not isinstance(event.raw, DuplicateKeyDict) else event.raw


_EVENT_ENCODERS: Final[dict[type[Any], Callable[[Any], _Obj]]] = {
    ThreadStartedEvent: lambda e: _put_extra(
        {"type": "thread.started", "thread_id": e.thread_id}, e.extra
    ),
    TurnStartedEvent: lambda e: _put_extra({"type": "turn.started"}, e.extra),
    TurnCompletedEvent: lambda e: _put_extra(
        {"type": "turn.completed", "usage": _u_usage(e.usage)}, e.extra
    ),
    TurnFailedEvent: lambda e: _put_extra(
        {
            "type": "turn.failed",
            "error": _put_extra({"message": e.error.message}, e.error.extra),
        },
        e.extra,
    ),
    ItemStartedEvent: _u_item_event,
    ItemUpdatedEvent: _u_item_event,
    ItemCompletedEvent: _u_item_event,
    PlanDeltaEvent: lambda e: _put_extra(
        {"type": "item.plan.delta", "item_id": e.item_id, "delta": e.delta}, e.extra
    ),
    RequestUserInputEvent: lambda e: _put_extra(
        {
            "type": "request_user_input",
            "id": e.id,
            "call_id": e.call_id,
            "questions": [_u_question(q) for q in e.questions],
        },
        e.extra,
    ),
    ThreadErrorEvent: lambda e: _put_extra({"type": "error", "message": e.message}, e.extra),
    UnknownEvent: _u_unknown_event,
}


def unstructure_event(event: ThreadEvent) -> dict[str, Any]:
    """The JSON object of ``event``, as :func:`json.loads` would return it for codex's line.

    Keys are in codex's order, followed by the object's ``extra`` keys. A web search item that
    has a ``call_id`` comes back as a :class:`DuplicateKeyDict` (``pairs`` has both ``id`` keys).
    The result shares nested JSON values (``extra``, ``arguments``, unknown ``raw`` ...) with
    ``event``: copy before mutating them. Raises :class:`TypeError` for a non-event.
    """
    try:
        encode = _EVENT_ENCODERS[type(event)]
    except KeyError:
        raise TypeError(f"not an exec event: {type(event).__name__}") from None
    return encode(event)


def encode_event(event: ThreadEvent) -> str:
    """``event`` as one line of compact JSON (no trailing newline), the way codex writes it.

    For an event decoded from a codex line, the result parses to the same JSON (duplicated web
    search ``id`` included) and is usually the very same text. Raises :class:`ValueError` if
    ``event`` holds a float NaN or infinity (not JSON), :class:`TypeError` if it holds a value
    JSON cannot represent.
    """
    obj = unstructure_event(event)
    if isinstance(obj.get("item"), DuplicateKeyDict) or isinstance(obj, DuplicateKeyDict):
        return _encode_preserving_duplicates(obj)
    return _encode_json(obj)


# -------------------------------------------------------------------------- the converter


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()

    def hook(decode: Callable[[_Obj], Any]) -> Callable[[Any, Any], Any]:
        def structure(obj: Any, _type: Any) -> Any:
            if not isinstance(obj, dict):
                raise ProtocolError(f"expected a JSON object, got {_kind(obj)}")
            try:
                return decode(obj)
            except (_Invalid, _UnknownValue) as exc:
                raise ProtocolError(str(exc)) from None

        return structure

    for cls, tag in _ITEM_CLASSES.items():
        conv.register_structure_hook(cls, hook(_ITEM_DECODERS[tag]))
    for cls, tag in _EVENT_CLASSES.items():
        conv.register_structure_hook(cls, hook(_EVENT_DECODERS[tag]))
    conv.register_structure_hook(Usage, hook(lambda obj: _usage(obj, "usage")))
    conv.register_structure_hook(ThreadItem, hook(lambda obj: _item(obj, "item")))
    conv.register_structure_hook(ThreadEvent, lambda obj, _t: structure_event(obj))
    conv.register_structure_hook(UnknownEvent, lambda obj, _t: structure_event(obj))
    conv.register_structure_hook(WebSearchAction, lambda obj, _t: _action(obj))

    for cls, encode in _ITEM_ENCODERS.items():
        conv.register_unstructure_hook(cls, encode)
    for cls, encode in _EVENT_ENCODERS.items():
        conv.register_unstructure_hook(cls, encode)
    conv.register_unstructure_hook(Usage, _u_usage)
    conv.register_unstructure_hook(ThreadItem, _u_item)
    conv.register_unstructure_hook(ThreadEvent, unstructure_event)
    return conv


_ITEM_CLASSES: Final[dict[type[Any], str]] = {
    cls: cls.type
    for cls in (
        AgentMessageItem,
        ReasoningItem,
        PlanItem,
        ErrorItem,
        CommandExecutionItem,
        FileChangeItem,
        McpToolCallItem,
        DynamicToolCallItem,
        CollabToolCallItem,
        WebSearchItem,
        TodoListItem,
    )
}
_EVENT_CLASSES: Final[dict[type[Any], str]] = {
    cls: cls.type
    for cls in (
        ThreadStartedEvent,
        TurnStartedEvent,
        TurnCompletedEvent,
        TurnFailedEvent,
        ItemStartedEvent,
        ItemUpdatedEvent,
        ItemCompletedEvent,
        PlanDeltaEvent,
        RequestUserInputEvent,
        ThreadErrorEvent,
    )
}

#: The project's one cattrs converter, with every exec event and item class registered.
converter: Final[cattrs.Converter] = _make_converter()
