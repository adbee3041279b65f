#!/usr/bin/env python3
"""Generate ``src/codex_trio/_protocol/_exec_codec_generated.py``, the decoders and encoders of the
``codex exec --json`` events and items, from the table below.

The table says, for each attrs class of :mod:`codex_trio._protocol.exec_events` and
:mod:`codex_trio._protocol.exec_items`, its wire fields in codex's key order: the wire key, the
attribute, and a kind (see ``KINDS``). The generator writes one straight-line ``_d_<Class>``
(parsed JSON object -> instance) and ``_e_<Class>`` (instance -> JSON-ready dict) per class, a
dispatcher per tagged union, and the tables :mod:`codex_trio._protocol.exec_codec` uses. What is
not a table stays hand-written: the JSON text layer and duplicate-key detection
(``exec_codec``), and reading a key that appears twice (``_exec_codec_support``).

Usage::

    python scripts/gen_exec_codec.py            # rewrite the module
    python scripts/gen_exec_codec.py --check    # exit 1 if it would change

The drift test (tests/protocol/test_exec_codec_generated.py) calls :func:`render` and
:func:`check_classes` the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "src" / "codex_trio" / "_protocol" / "_exec_codec_generated.py"

# ----------------------------------------------------------------------------------- the table

KINDS = {
    # required; a missing key or another JSON type is an error
    "str": "a string",
    "int": "an integer",
    "bool": "a boolean",
    "enum": "a string naming a member of ``ref`` (another string: the item becomes unknown)",
    "obj": "an object decoded as class ``ref``",
    "list": "an array of objects of class ``ref`` (a tuple)",
    "map": "an object whose values are objects of class ``ref`` (a dict)",
    "strs": "an array of strings (a tuple)",
    "jsons": "an array of any JSON values (a tuple)",
    "union": "an object decoded by the dispatcher of union ``ref``",
    # optional: absent and null read None (flag: False); absent keys are noted in ``omitted``
    "str?": "a string or null",
    "int?": "an integer or null",
    "bool?": "a boolean or null",
    "json?": "any JSON value",
    "obj?": "an object of class ``ref`` or null",
    "list?": "an array of objects of class ``ref`` or null",
    "strs?": "an array of strings or null",
    "jsons?": "an array of any JSON values or null",
    "flag": "a boolean (not null), False when absent",
    # the union's tag, at its place in codex's key order (no attribute)
    "tag": "the class's tag value",
    # the second occurrence of a wire key already read (None without one; not in ``omitted``)
    "repeat": "a string",
}
OPTIONAL = {k for k in KINDS if k.endswith("?")} | {"flag"}
_EXPECTED = {
    "str": "a string",
    "int": "an integer",
    "bool": "a boolean",
    "enum": "a string",
    "obj": "an object",
    "list": "an array",
    "map": "an object",
    "strs": "an array",
    "jsons": "an array",
    "union": "an object",
    "str?": "a string or null",
    "int?": "an integer or null",
    "bool?": "a boolean or null",
    "list?": "an array or null",
    "strs?": "an array or null",
    "jsons?": "an array or null",
    "flag": "a boolean",
}


@dataclass(frozen=True)
class F:
    """One wire field: ``wire`` key, ``attr`` name, ``kind`` (see KINDS), ``ref`` (class, enum
    or union it refers to)."""

    wire: str
    attr: str
    kind: str
    ref: str | None = None


def f(wire: str, kind: str = "str", ref: str | None = None, attr: str | None = None) -> F:
    return F(wire, attr or wire, kind, ref)


TAG = F("type", "", "tag")


@dataclass(frozen=True)
class C:
    """One attrs class: ``name``, the ``where`` of its error messages, its fields in wire order,
    its ``tag`` value if it is a member of a tagged union."""

    name: str
    where: str
    fields: tuple[F, ...]
    tag: str | None = None


@dataclass(frozen=True)
class U:
    """A tagged union: members by tag value; ``unknown`` builds the fallback from the parsed
    object ``v`` (and its string ``tag``); ``lenient``: an invalid member is unknown too."""

    name: str
    members: tuple[str, ...]
    unknown: str
    unknown_of: str
    lenient: bool = False


def item(name: str, tag: str, *fields: F) -> C:
    return C(name, f"{tag} item", (f("id"), TAG, *fields), tag)


def event(name: str, tag: str, *fields: F) -> C:
    return C(name, f"{tag} event", (TAG, *fields), tag)


def action(name: str, tag: str, *fields: F) -> C:
    return C(name, "web_search action", (TAG, *fields), tag)


CLASSES: tuple[C, ...] = (
    # ------------------------------------------------------------------------ items
    item("AgentMessageItem", "agent_message", f("text")),
    item("ReasoningItem", "reasoning", f("text")),
    item("PlanItem", "plan", f("text")),
    item("ErrorItem", "error", f("message")),
    item(
        "CommandExecutionItem",
        "command_execution",
        f("command"),
        f("aggregated_output"),
        f("exit_code", "int?"),
        f("status", "enum", "CommandExecutionStatus"),
    ),
    C(
        "FileUpdateChange",
        "file_change item change",
        (f("path"), f("kind", "enum", "PatchChangeKind")),
    ),
    item(
        "FileChangeItem",
        "file_change",
        f("changes", "list", "FileUpdateChange"),
        f("status", "enum", "PatchApplyStatus"),
    ),
    C(
        "McpToolCallResult",
        "mcp_tool_call item result",
        (
            f("content", "jsons"),
            f("_meta", "json?", attr="meta"),
            f("structured_content", "json?"),
        ),
    ),
    C("McpToolCallError", "mcp_tool_call item error", (f("message"),)),
    item(
        "McpToolCallItem",
        "mcp_tool_call",
        f("server"),
        f("tool"),
        f("arguments", "json?"),
        f("result", "obj?", "McpToolCallResult"),
        f("error", "obj?", "McpToolCallError"),
        f("status", "enum", "McpToolCallStatus"),
    ),
    item(
        "DynamicToolCallItem",
        "dynamic_tool_call",
        f("tool"),
        f("namespace", "str?"),
        f("arguments", "json?"),
        f("status", "enum", "DynamicToolCallStatus"),
        f("content_items", "jsons?"),
        f("success", "bool?"),
        f("duration_ms", "int?"),
    ),
    C(
        "CollabAgentState",
        "collab_tool_call item agent state",
        (f("status", "enum", "CollabAgentStatus"), f("message", "str?")),
    ),
    item(
        "CollabToolCallItem",
        "collab_tool_call",
        f("tool", "enum", "CollabTool"),
        f("sender_thread_id"),
        f("receiver_thread_ids", "strs"),
        f("prompt", "str?"),
        f("agents_states", "map", "CollabAgentState"),
        f("status", "enum", "CollabToolCallStatus"),
    ),
    action("SearchAction", "search", f("query", "str?"), f("queries", "strs?")),
    action("OpenPageAction", "open_page", f("url", "str?")),
    action("FindInPageAction", "find_in_page", f("url", "str?"), f("pattern", "str?")),
    action("OtherAction", "other"),
    item(
        "WebSearchItem",
        "web_search",
        f("id", "repeat", attr="call_id"),
        f("query"),
        f("action", "union", "WebSearchAction"),
    ),
    C("TodoItem", "todo_list item entry", (f("text"), f("completed", "bool"))),
    item("TodoListItem", "todo_list", f("items", "list", "TodoItem")),
    # ----------------------------------------------------------------------- events
    event("ThreadStartedEvent", "thread.started", f("thread_id")),
    event("TurnStartedEvent", "turn.started"),
    C(
        "Usage",
        "turn.completed event usage",
        (
            f("input_tokens", "int"),
            f("cached_input_tokens", "int"),
            f("cache_write_input_tokens", "int?"),
            f("output_tokens", "int"),
            f("reasoning_output_tokens", "int?"),
            f("total_tokens", "int?"),
        ),
    ),
    event("TurnCompletedEvent", "turn.completed", f("usage", "obj", "Usage")),
    C("TurnError", "turn.failed event error", (f("message"),)),
    event("TurnFailedEvent", "turn.failed", f("error", "obj", "TurnError")),
    event("ItemStartedEvent", "item.started", f("item", "union", "ThreadItem")),
    event("ItemUpdatedEvent", "item.updated", f("item", "union", "ThreadItem")),
    event("ItemCompletedEvent", "item.completed", f("item", "union", "ThreadItem")),
    event("PlanDeltaEvent", "item.plan.delta", f("item_id"), f("delta")),
    C(
        "RequestUserInputOption",
        "request_user_input event question option",
        (f("label"), f("description")),
    ),
    C(
        "RequestUserInputQuestion",
        "request_user_input event question",
        (
            f("id"),
            f("header"),
            f("question"),
            f("isOther", "flag", attr="is_other"),
            f("isSecret", "flag", attr="is_secret"),
            f("options", "list?", "RequestUserInputOption"),
        ),
    ),
    event(
        "RequestUserInputEvent",
        "request_user_input",
        f("id"),
        f("call_id"),
        f("questions", "list", "RequestUserInputQuestion"),
    ),
    event("ThreadErrorEvent", "error", f("message")),
)

UNIONS: tuple[U, ...] = (
    U(
        "ThreadItem",
        (
            "AgentMessageItem",
            "ReasoningItem",
            "PlanItem",
            "ErrorItem",
            "CommandExecutionItem",
            "FileChangeItem",
            "McpToolCallItem",
            "DynamicToolCallItem",
            "CollabToolCallItem",
            "WebSearchItem",
            "TodoListItem",
        ),
        "UnknownItem",
        'UnknownItem(id=i if type(i := v.get("id")) is str else None, type=tag, raw=v)',
    ),
    U(
        "WebSearchAction",
        ("SearchAction", "OpenPageAction", "FindInPageAction", "OtherAction"),
        "UnknownAction",
        "UnknownAction(v)",
        lenient=True,
    ),
    U(
        "ThreadEvent",
        (
            "ThreadStartedEvent",
            "TurnStartedEvent",
            "TurnCompletedEvent",
            "TurnFailedEvent",
            "ItemStartedEvent",
            "ItemUpdatedEvent",
            "ItemCompletedEvent",
            "PlanDeltaEvent",
            "RequestUserInputEvent",
            "ThreadErrorEvent",
        ),
        "UnknownEvent",
        "UnknownEvent(tag, v)",
    ),
)

ENUMS = (
    "CollabAgentStatus",
    "CollabTool",
    "CollabToolCallStatus",
    "CommandExecutionStatus",
    "DynamicToolCallStatus",
    "McpToolCallStatus",
    "PatchApplyStatus",
    "PatchChangeKind",
)

EVENT_MODULE_CLASSES = {
    "Usage",
    "TurnError",
    "RequestUserInputOption",
    "RequestUserInputQuestion",
    "UnknownEvent",
} | {c.name for c in CLASSES if c.where.endswith(" event")}


# ------------------------------------------------------------------------------- the model


def by_name() -> dict[str, C]:
    return {c.name: c for c in CLASSES}


def members_of(u: U) -> list[C]:
    classes = by_name()
    return [classes[m] for m in u.members]


def union_members() -> set[str]:
    return {m for u in UNIONS for m in u.members}


def optional_fields(c: C) -> list[F]:
    return [x for x in c.fields if x.kind in OPTIONAL]


def attrs_of(c: C) -> list[str]:
    """The attributes a decoder sets, in the class's field order (checked against attrs)."""
    names = [x.attr for x in c.fields if x.kind != "tag"]
    names.append("extra")
    if optional_fields(c):
        names.append("omitted")
    return names


def known_keys(c: C) -> list[str]:
    return sorted({x.wire for x in c.fields})


def check_classes() -> list[str]:
    """Where the table and the attrs classes disagree (empty: they agree).

    The decoders build instances without ``__init__`` (see the generated module), which is the
    object ``__init__`` would build only while the classes have no validator, converter,
    factory default or post-init hook, and can take the ``__class__`` swap only without a
    ``__weakref__`` slot: checked here too.
    """
    import attrs

    from codex_trio._protocol import exec_events, exec_items

    problems: list[str] = []
    for c in CLASSES:
        module = exec_events if c.name in EVENT_MODULE_CLASSES else exec_items
        cls = getattr(module, c.name, None)
        if cls is None:
            problems.append(f"{c.name}: no such class in {module.__name__}")
            continue
        fields = attrs.fields(cls)
        names = [a.name for a in fields]
        if sorted(names) != sorted(attrs_of(c)):
            problems.append(f"{c.name}: attrs fields {names}, table sets {attrs_of(c)}")
        if c.tag is not None and getattr(cls, "type", None) != c.tag:
            problems.append(
                f"{c.name}: type is {getattr(cls, 'type', None)!r}, not {q(c.tag or '')}"
            )
        if "__weakref__" in cls.__dict__.get("__slots__", ("__weakref__",)):
            problems.append(f"{c.name}: needs __slots__ and weakref_slot=False")
        if hasattr(cls, "__attrs_post_init__") or any(
            a.validator is not None
            or a.converter is not None
            or isinstance(a.default, attrs.Factory)  # type: ignore[arg-type]
            or not a.init
            for a in fields
        ):
            problems.append(f"{c.name}: cannot be built without its __init__")
    for name in ENUMS:
        if not hasattr(exec_items, name):
            problems.append(f"{name}: no such enum")
    return problems


# ------------------------------------------------------------------------------- rendering

HEADER = '''\
# ruff: noqa: E501
"""Decoders and encoders of the ``codex exec --json`` events and items.

DO NOT EDIT: generated by ``python scripts/gen_exec_codec.py`` from the table in that script.
A test fails when this file differs from what the table produces, or when the table and the
attrs classes disagree.

Conventions (:mod:`codex_trio._protocol.exec_codec` is the public, hand-written layer on top):

* ``_d_<Class>(o)`` types a parsed JSON object, checking every JSON type with ``type(x) is``;
  a missing required key or a wrong type raises ``Invalid``, an enum value this version does
  not know ``UnknownValue`` (the item dispatcher turns that into ``UnknownItem``);
* optional keys read ``None`` whether absent or null; the absent ones are noted in
  ``omitted``, so ``_e_<Class>`` writes back exactly the keys that were there;
* unknown keys are kept in ``extra`` and written back after the known ones;
* instances are built without ``__init__``: the decoder fills the slots of an instance of a
  mutable twin class (same slots; plain attribute stores, the fastest way CPython sets a
  slot), then makes it an instance of the frozen class by ``__class__`` assignment, which
  CPython allows between classes of identical layout (hence ``weakref_slot=False`` on the
  classes: a ``__weakref__`` slot defeats that check). That is the object ``__init__`` would
  build, at a third of the cost of a frozen attrs ``__init__``, as long as the classes have no
  validators, converters, factories or post-init hooks (the generator checks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from codex_trio._protocol._exec_codec_support import (
    MISSING,
    DuplicateKeyDict,
    Invalid,
    UnknownValue,
    bad,
    extra_of,
    first_and_repeat,
    kind,
    not_an_object,
    omissions,
    raw_object,
)
from codex_trio._protocol.exec_events import (
{event_imports}
)
from codex_trio._protocol.exec_items import (
{item_imports}
)

__all__ = [
    "EVENT_DECODERS",
    "EVENT_ENCODERS",
    "ITEM_DECODERS",
    "ITEM_ENCODERS",
]


def _twin(cls: type) -> Callable[[], Any]:
    """A mutable class with the slots of the frozen ``cls`` (see the module docstring)."""
    return type("_Build" + cls.__name__, (), {{"__slots__": cls.__dict__["__slots__"]}})


def _members(enum: Any) -> dict[str, Any]:
    return {{str(m): m for m in enum}}
'''


def q(text: str) -> str:
    """``text`` as a double-quoted Python string literal."""
    return json.dumps(text)


def render_decoder(c: C) -> list[str]:
    n = c.name
    opts = optional_fields(c)
    nested = c.name not in union_members()
    repeats = {x.wire: x for x in c.fields if x.kind == "repeat"}
    w = q(c.where)
    keys = ", ".join(q(k) for k in known_keys(c))
    out = ["", f"_K_{n}: Final = frozenset({{{keys}}})"]
    if opts:
        names = ", ".join(q(x.attr) for x in opts) + ("," if len(opts) == 1 else "")
        out.append(f"_O_{n}: Final = omissions(({names}))")
    out.append(f"_B_{n}: Final = _twin({n})")
    out += ["", ""]
    out.append(f"def _d_{n}(o: Any) -> {n}:")
    if nested:
        out.append("    if not isinstance(o, dict):")
        out.append(f"        raise not_an_object(o, {w})")
    out.append(f"    s = _B_{n}()")
    size = len({x.wire for x in c.fields})
    if opts:
        out.append(f"    n = {size}")
        out.append("    m = 0")
    for x in c.fields:
        k = q(x.wire)
        a = x.attr
        kd = x.kind
        if kd in ("tag", "repeat"):
            continue
        if kd in OPTIONAL:
            bit = 1 << opts.index(x)
            absent = "False" if kd == "flag" else "None"
            out.append(f"    v = o.get({k}, MISSING)")
            out.append("    if v is MISSING:")
            out.append(f"        v = {absent}")
            out.append("        n -= 1")
            out.append(f"        m |= {bit}")
            check = {
                "str?": "type(v) is not str",
                "int?": "type(v) is not int",
                "bool?": "type(v) is not bool",
                "list?": "type(v) is not list",
                "strs?": "type(v) is not list",
                "jsons?": "type(v) is not list",
                "obj?": None,
                "json?": None,
                "flag": "type(v) is not bool",
            }[kd]
            if check is not None:
                guard = check if kd == "flag" else f"v is not None and {check}"
                out.append(f"    elif {guard}:")
                out.append(f"        raise bad(o, {k}, {q(_EXPECTED[kd])}, {w})")
            convert = {
                "list?": f"tuple([_d_{x.ref}(x) for x in v])",
                "strs?": f"_strs(v, {k}, {w})",
                "jsons?": "tuple(v)",
                "obj?": f"_d_{x.ref}(v)",
            }.get(kd)
            if convert is not None:
                out.append("    elif v is not None:")
                out.append(f"        v = {convert}")
            out.append(f"    s.{a} = v")
            continue
        if x.wire in repeats:
            out.append(f"    v, s.{repeats[x.wire].attr} = first_and_repeat(o, {k}, {w})")
        elif kd in ("obj", "union"):
            out.append(f"    v = o.get({k}, MISSING)")
        else:
            out.append(f"    v = o.get({k})")
        check = {
            "str": "type(v) is not str",
            "int": "type(v) is not int",
            "bool": "type(v) is not bool",
            "enum": "type(v) is not str",
            "list": "type(v) is not list",
            "strs": "type(v) is not list",
            "jsons": "type(v) is not list",
            "map": "not isinstance(v, dict)",
            "obj": "v is MISSING",
            "union": "v is MISSING" if x.ref == "WebSearchAction" else "not isinstance(v, dict)",
        }[kd]
        out.append(f"    if {check}:")
        out.append(f"        raise bad(o, {k}, {q(_EXPECTED[kd])}, {w})")
        value = {
            "str": "v",
            "int": "v",
            "bool": "v",
            "enum": f"_M_{x.ref}.get(v)",
            "list": f"tuple([_d_{x.ref}(x) for x in v])",
            "strs": f"_strs(v, {k}, {w})",
            "jsons": "tuple(v)",
            "map": f"{{k: _d_{x.ref}(x) for k, x in v.items()}}",
            "obj": f"_d_{x.ref}(v)",
            "union": f"_d_{x.ref}(v, {w})",
        }[kd]
        if kd == "enum":
            out.append(f"    e = {value}")
            out.append("    if e is None:")
            out.append(f'        raise UnknownValue(f"{c.where}: unknown {x.wire} {{v!r}}")')
            out.append(f"    s.{a} = e")
        else:
            out.append(f"    s.{a} = {value}")
    known = "len(o) == n" if opts else f"len(o) == {size}"
    out.append(f"    s.extra = EMPTY_EXTRA if {known} else extra_of(o, _K_{n})")
    if opts:
        out.append(f"    s.omitted = _O_{n}[m]")
    out.append(f"    s.__class__ = {n}")
    out.append(f"    built: {n} = s")
    out.append("    return built")
    return out


def _encode_value(x: F) -> str:
    v = f"v.{x.attr}"
    return {
        "enum": f"{v}.value",
        "obj": f"_e_{x.ref}({v})",
        "obj?": f"None if {v} is None else _e_{x.ref}({v})",
        "list": f"[_e_{x.ref}(x) for x in {v}]",
        "list?": f"None if {v} is None else [_e_{x.ref}(x) for x in {v}]",
        "map": f"{{k: _e_{x.ref}(x) for k, x in {v}.items()}}",
        "strs": f"list({v})",
        "jsons": f"list({v})",
        "strs?": f"None if {v} is None else list({v})",
        "jsons?": f"None if {v} is None else list({v})",
        "union": f"_e_{x.ref}({v})",
    }.get(x.kind, v)


def render_encoder(c: C) -> list[str]:
    n = c.name
    out = ["", "", f"def _e_{n}(v: {n}) -> dict[str, Any]:"]
    if any(x.kind == "repeat" for x in c.fields):
        # A repeated key: build the members as pairs, a DuplicateKeyDict when it repeats.
        repeat = next(x for x in c.fields if x.kind == "repeat")
        out.append("    p: list[tuple[str, Any]] = []")
        for x in c.fields:
            if x.kind == "tag":
                out.append(f"    p.append(({q(x.wire)}, {q(c.tag or '')}))")
            elif x.kind == "repeat":
                out.append(f"    if v.{x.attr} is not None:")
                out.append(f"        p.append(({q(x.wire)}, v.{x.attr}))")
            else:
                out.append(f"    p.append(({q(x.wire)}, {_encode_value(x)}))")
        out.append("    p.extend(v.extra.items())")
        out.append(f"    return dict(p) if v.{repeat.attr} is None else DuplicateKeyDict(p)")
        return out
    head: list[str] = []
    rest = list(c.fields)
    while rest and rest[0].kind not in OPTIONAL:
        x = rest.pop(0)
        head.append(
            f"{q(x.wire)}: {q(c.tag or '')}"
            if x.kind == "tag"
            else f"{q(x.wire)}: {_encode_value(x)}"
        )
    out.append(f"    o: dict[str, Any] = {{{', '.join(head)}}}")
    for x in rest:
        if x.kind in OPTIONAL:
            present = f"v.{x.attr}" if x.kind == "flag" else f"v.{x.attr} is not None"
            out.append(f"    if {present} or {q(x.attr)} not in v.omitted:")
            out.append(f"        o[{q(x.wire)}] = {_encode_value(x)}")
        elif x.kind == "tag":
            out.append(f"    o[{q(x.wire)}] = {q(c.tag or '')}")
        else:
            out.append(f"    o[{q(x.wire)}] = {_encode_value(x)}")
    out.append("    if v.extra:")
    out.append("        o.update(v.extra)")
    out.append("    return o")
    return out


def render_union(u: U) -> list[str]:
    members = members_of(u)
    out = ["", "", f"_U_{u.name}: Final[dict[str, Callable[[Any], Any]]] = {{"]
    out += [f"    {q(c.tag or '')}: _d_{c.name}," for c in members]
    out.append("}")
    out += ["", ""]
    if u.name == "ThreadEvent":
        pass  # dispatched by exec_codec.decode_event itself, which reports errors per line
    elif u.lenient:
        out.append(f"def _d_{u.name}(v: Any, where: str) -> Any:")
        out.append(
            f"    # Never raises: any shape this version cannot type is kept whole as {u.unknown}."
        )
        out.append("    if isinstance(v, dict):")
        out.append('        tag = v.get("type")')
        out.append(f"        decode = _U_{u.name}.get(tag) if type(tag) is str else None")
        out.append("        if decode is not None:")
        out.append("            try:")
        out.append("                return decode(v)")
        out.append("            except (Invalid, UnknownValue):")
        out.append("                pass")
        out.append(f"    return {u.unknown_of}")
    else:
        out.append(f"def _d_{u.name}(v: Any, where: str) -> Any:")
        out.append('    tag = v.get("type")')
        out.append("    if type(tag) is not str:")
        out.append('        raise bad(v, "type", "a string", f"{where}: item")')
        out.append(f"    decode = _U_{u.name}.get(tag)")
        out.append("    if decode is not None:")
        out.append("        try:")
        out.append("            return decode(v)")
        out.append("        except UnknownValue:")
        out.append("            pass")
        out.append(f"    return {u.unknown_of}")
    if u.name != "ThreadEvent":
        out += ["", ""]
    out.append(f"def _e_{u.unknown}(v: {u.unknown}) -> Any:")
    out.append("    return raw_object(v.raw)")
    out.append("")
    out.append("")
    out.append(f"_V_{u.name}: Final[dict[type, Callable[[Any], Any]]] = {{")
    out += [f"    {c.name}: _e_{c.name}," for c in members]
    out.append(f"    {u.unknown}: _e_{u.unknown},")
    out.append("}")
    if u.name != "ThreadEvent":
        out += ["", ""]
        out.append(f"def _e_{u.name}(v: Any) -> Any:")
        out.append(f"    return _V_{u.name}[type(v)](v)")
    return out


def _imports(names: Iterable[str]) -> str:
    return "\n".join(f"    {n}," for n in sorted(set(names), key=lambda n: (not n.isupper(), n)))


def render() -> str:
    classes = [c.name for c in CLASSES] + [u.unknown for u in UNIONS]
    events = [n for n in classes if n in EVENT_MODULE_CLASSES] + ["ThreadEvent"]
    items = [n for n in classes if n not in EVENT_MODULE_CLASSES]
    items += [*ENUMS, "EMPTY_EXTRA", "ThreadItem"]
    out = [HEADER.format(event_imports=_imports(events), item_imports=_imports(items))]
    out.append("")
    for name in ENUMS:
        out.append(f"_M_{name}: Final = _members({name})")
    out += [
        "",
        "",
        "def _strs(values: list[Any], key: str, where: str) -> tuple[str, ...]:",
        "    for v in values:",
        "        if type(v) is not str:",
        '            raise Invalid(f"{where}: {key!r} must hold strings, got {kind(v)}")',
        "    return tuple(values)",
    ]
    # Decoders in dependency order: a class after the classes and unions it refers to.
    unions = {u.name: u for u in UNIONS}
    done: set[str] = set()
    ordered: list[C | U] = []
    classes_by_name = by_name()

    def visit(name: str) -> None:
        if name in done:
            return
        done.add(name)
        if name in unions:
            for m in unions[name].members:
                visit(m)
            ordered.append(unions[name])
            return
        c = classes_by_name[name]
        for x in c.fields:
            if x.ref is not None and x.kind != "enum":
                visit(x.ref)
        ordered.append(c)

    for c in CLASSES:
        visit(c.name)
    for u in UNIONS:
        visit(u.name)
    for entry in ordered:
        if isinstance(entry, C):
            out += ["", *render_decoder(entry), *render_encoder(entry)]
        else:
            out += render_union(entry)
    out += [
        "",
        "ITEM_DECODERS: Final[dict[str, Callable[[Any], ThreadItem]]] = _U_ThreadItem",
        '"""Decoder of each known item type, by tag (raises ``Invalid`` or ``UnknownValue``)."""',
        "",
        "ITEM_ENCODERS: Final[Mapping[type, Callable[[Any], Any]]] = _V_ThreadItem",
        '"""Encoder of each item class, ``UnknownItem`` included: a JSON-ready object."""',
        "",
        "EVENT_DECODERS: Final[dict[str, Callable[[Any], ThreadEvent]]] = _U_ThreadEvent",
        '"""Decoder of each known event type, by tag (raises ``Invalid``)."""',
        "",
        "EVENT_ENCODERS: Final[Mapping[type, Callable[[Any], Any]]] = _V_ThreadEvent",
        '"""Encoder of each event class, ``UnknownEvent`` included: a JSON-ready object."""',
    ]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=TARGET)
    parser.add_argument("--check", action="store_true", help="fail if the output would change")
    args = parser.parse_args(argv)
    problems = check_classes()
    if problems:
        print("the table and the classes disagree:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    text = render()
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; regenerate it", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
