#!/usr/bin/env python3
"""Generate ``src/codex_trio/_protocol/app_server/_generated.py`` from the engine's own schema.

Runs ``codex app-server generate-json-schema --experimental --out DIR`` on the pinned binary,
merges the v2 bundle with the top-level bundle (which alone holds the server-request params and
responses and ``InitializeResponse``), and writes one Python module of:

* a frozen ``__slots__`` class per JSON object definition, on one base class providing what
  ``@attrs.frozen`` would generate (wire keys in camelCase become snake_case attributes;
  unknown wire keys are kept in ``extra``);
* a ``Literal`` alias per string enumeration (unknown values are kept as plain strings);
* for each tagged union (``oneOf`` of objects sharing a one-value tag property): one class per
  variant, an ``Unknown<Union>`` class for tags this version does not know, and an alias;
* straight-line ``_d_<Name>`` (decode) and ``_e_<Name>`` (encode) functions, with the method
  tables ``CLIENT_REQUESTS``, ``SERVER_REQUESTS`` and ``SERVER_NOTIFICATIONS`` (and
  ``NOTIFICATION_DECODERS``, the last one's decoders by method).

Everything else (untagged unions, free-form objects) is kept as parsed JSON (``Any``).

Usage::

    python scripts/gen_app_server_protocol.py            # rewrite the module
    python scripts/gen_app_server_protocol.py --check    # exit 1 if it would change

The drift test (tests/protocol/test_app_server_generated.py) calls :func:`render` the same way.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "src" / "codex_trio" / "_protocol" / "app_server" / "_generated.py"

Schema = dict[str, Any]

# Definitions handled by hand-written code (message envelopes and the method unions).
_SKIP = {
    "ClientRequest",
    "ServerRequest",
    "ServerNotification",
    "ClientNotification",
    "JSONRPCMessage",
    "JSONRPCRequest",
    "JSONRPCResponse",
    "JSONRPCNotification",
    "JSONRPCError",
    "JSONRPCErrorError",
}


# Responses whose names do not follow ``<Params minus "Params">Response``.
_RESPONSE_OVERRIDES = {
    "account/logout": "LogoutAccountResponse",
    "account/rateLimits/read": "GetAccountRateLimitsResponse",
    "account/read": "GetAccountResponse",
    "account/login/start": "LoginAccountResponse",
    "account/login/cancel": "CancelLoginAccountResponse",
    "mcpServerStatus/list": "ListMcpServerStatusResponse",
}


def codex_path() -> str:
    import codex_cli_bin

    return str(codex_cli_bin.bundled_codex_path())


def load_schema(codex: str) -> tuple[dict[str, Schema], str]:
    """The merged definitions and the codex version that produced them."""
    version = subprocess.run(
        [codex, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="codex-schema-") as out:
        subprocess.run(
            [codex, "app-server", "generate-json-schema", "--experimental", "--out", out],
            check=True,
            capture_output=True,
        )
        v2 = json.loads((Path(out) / "codex_app_server_protocol.v2.schemas.json").read_text())
        full = json.loads((Path(out) / "codex_app_server_protocol.schemas.json").read_text())
        client = json.loads((Path(out) / "ClientRequest.json").read_text())
        server_req = json.loads((Path(out) / "ServerRequest.json").read_text())
        notif = json.loads((Path(out) / "ServerNotification.json").read_text())
    defs: dict[str, Schema] = dict(v2["definitions"])
    for name, schema in full["definitions"].items():
        if name != "v2" and name not in defs:
            defs[name] = schema
    defs["ClientRequest"] = client
    defs["ServerRequest"] = server_req
    defs["ServerNotification"] = notif
    return defs, version


# ------------------------------------------------------------------------------------ naming


def snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    s = re.sub(r"[^0-9a-zA-Z_]", "_", s).lower().lstrip("_") or "value"
    if s[0].isdigit():
        s = "_" + s
    if keyword.iskeyword(s) or s in ("extra",):
        s += "_"
    return s


def pascal(tag: str) -> str:
    parts = re.split(r"[^0-9a-zA-Z]+", tag)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def docstring(text: str | None, indent: str) -> list[str]:
    if not text:
        return []
    text = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = text.splitlines()
    if len(lines) == 1 and len(lines[0]) + len(indent) < 90:
        return [f'{indent}"""{lines[0]}"""']
    out = [f'{indent}"""{lines[0]}']
    out += [f"{indent}{line}".rstrip() for line in lines[1:]]
    out.append(f'{indent}"""')
    return out


# -------------------------------------------------------------------------------- the model


class Kind:
    """How one named definition is represented in Python."""

    CLASS = "class"
    LITERAL = "literal"
    UNION = "union"
    ANY = "any"
    STR = "str"


def _string_enum_values(schema: Schema) -> list[str] | None:
    if schema.get("type") == "string" and isinstance(schema.get("enum"), list):
        return [str(v) for v in schema["enum"]]
    variants = schema.get("oneOf")
    if isinstance(variants, list) and variants:
        values: list[str] = []
        for v in variants:
            sub = _string_enum_values(v)
            if sub is None:
                return None
            values += sub
        return values
    return None


def _tag_of(variants: list[Schema]) -> str | None:
    if not variants or not all(v.get("type") == "object" and "properties" in v for v in variants):
        return None
    first = variants[0]["properties"]
    for prop in first:
        if all(
            isinstance(v["properties"].get(prop), dict)
            and isinstance(v["properties"][prop].get("enum"), list)
            and len(v["properties"][prop]["enum"]) == 1
            for v in variants
        ):
            return str(prop)
    return None


Template = Callable[[str], str]
"""Python source of a conversion, given the source of the value to convert."""


def _or_none(convert: Template | None) -> Template | None:
    if convert is None:
        return None
    return lambda e: f"None if {e} is None else {convert(e)}"


def _each(convert: Template | None, pattern: str, plain: str | None) -> Template | None:
    """Convert each element ``x`` of a container with ``convert`` (``pattern`` gets the
    element's conversion and the container); ``plain`` is used when elements need none."""
    if convert is not None:
        return lambda e: pattern.format(convert("x"), e)
    if plain is None:
        return None
    return lambda e: plain.format(e)


class Model:
    def __init__(self, defs: dict[str, Schema]) -> None:
        self.defs = defs
        self.kinds: dict[str, str] = {}
        # union name -> (tag property, [(tag value, class name, schema)])
        self.unions: dict[str, tuple[str, list[tuple[str, str, Schema]]]] = {}
        self.classes: dict[str, Schema] = {}
        self.variant_of: dict[str, tuple[str, str, str]] = {}  # class -> (union, tagprop, tag)
        self.literals: dict[str, list[str]] = {}
        taken = set(defs)
        for name in sorted(defs):
            if name in _SKIP:
                continue
            schema = defs[name]
            values = _string_enum_values(schema)
            if values is not None:
                self.kinds[name] = Kind.LITERAL
                self.literals[name] = values
            elif (
                schema.get("type") == "object"
                and "oneOf" not in schema
                and ("properties" in schema or "additionalProperties" not in schema)
            ):
                schema.setdefault("properties", {})
                self.kinds[name] = Kind.CLASS
                self.classes[name] = schema
            elif isinstance(schema.get("oneOf"), list) and (tag := _tag_of(schema["oneOf"])):
                self.kinds[name] = Kind.UNION
                members: list[tuple[str, str, Schema]] = []
                for variant in schema["oneOf"]:
                    value = str(variant["properties"][tag]["enum"][0])
                    cls = variant.get("title") or ""
                    if not cls.isidentifier():
                        cls = f"{pascal(value)}{name}"
                    if cls in taken or cls.startswith("Unknown"):
                        cls = f"{name}{pascal(value)}"
                    taken.add(cls)
                    members.append((value, cls, variant))
                    self.classes[cls] = variant
                    self.variant_of[cls] = (name, tag, value)
                self.unions[name] = (tag, members)
            elif schema.get("type") == "string":
                self.kinds[name] = Kind.STR
            else:
                self.kinds[name] = Kind.ANY

    # A "converter" for a schema node: (annotation, decode(expr) or None, encode(expr) or None);
    # None means the JSON value is used as it is.
    def conv(
        self, node: Schema
    ) -> tuple[str, Callable[[str], str] | None, Callable[[str], str] | None]:
        if not isinstance(node, dict):
            return "Any", None, None
        if "$ref" in node:
            return self.named(ref_name(node["$ref"]))
        if "allOf" in node and len(node["allOf"]) == 1:
            return self.conv(node["allOf"][0])
        if "anyOf" in node:
            options = node["anyOf"]
            non_null = [o for o in options if o.get("type") != "null"]
            if len(non_null) == 1 and len(options) == 2:
                inner, idec, ienc = self.conv(non_null[0])
                return f"{inner} | None", _or_none(idec), _or_none(ienc)
            return "Any", None, None
        if isinstance(node.get("enum"), list) and node.get("type") == "string":
            values = ", ".join(json.dumps(v) for v in node["enum"])
            return f"Literal[{values}]", None, None
        types = node.get("type")
        nullable = False
        if isinstance(types, list):
            nullable = "null" in types
            rest = [t for t in types if t != "null"]
            types = rest[0] if len(rest) == 1 else None
        ann: str
        dec: Callable[[str], str] | None = None
        enc: Callable[[str], str] | None = None
        if types == "string":
            ann = "str"
        elif types == "integer":
            ann = "int"
        elif types == "number":
            ann = "float"
        elif types == "boolean":
            ann = "bool"
        elif types == "array":
            iann, idec, ienc = self.conv(node.get("items", {}))
            ann = f"tuple[{iann}, ...]"
            dec = _each(idec, "tuple([{} for x in {}])", "tuple({})")
            enc = _each(ienc, "[{} for x in {}]", "list({})")
        elif (
            types == "object"
            and isinstance(node.get("additionalProperties"), dict)
            and not (node.get("properties"))
        ):
            vann, vdec, venc = self.conv(node["additionalProperties"])
            ann = f"Mapping[str, {vann}]"
            dec = _each(vdec, "{{k: {} for k, x in {}.items()}}", None)
            enc = _each(venc, "{{k: {} for k, x in {}.items()}}", None)
        else:
            ann = "Any"
        if nullable:
            ann = f"{ann} | None"
            dec, enc = _or_none(dec), _or_none(enc)
        return ann, dec, enc

    def named(
        self, name: str
    ) -> tuple[str, Callable[[str], str] | None, Callable[[str], str] | None]:
        kind = self.kinds.get(name, Kind.ANY)
        if kind in (Kind.CLASS, Kind.UNION):
            return name, (lambda e: f"_d_{name}({e})"), (lambda e: f"_e_{name}({e})")
        if kind == Kind.LITERAL:
            return name, None, None
        if kind == Kind.STR:
            return "str", None, None
        return "Any", None, None


# ------------------------------------------------------------------------------- rendering


HEADER = '''\
# ruff: noqa: E501, RUF001, B008
"""The ``codex app-server`` v2 protocol, generated from ``{version}``'s own JSON Schema.

DO NOT EDIT: run ``python scripts/gen_app_server_protocol.py`` after changing the pinned binary.
A test fails when this file differs from what the pinned binary's schema produces.

Conventions (see :mod:`codex_trio._protocol.app_server` for the hand-written layer on top):

* attributes are the wire keys in snake_case; unknown wire keys are kept in ``extra`` and
  written back by the encoder, so nothing a newer codex sends is lost;
* optional keys read ``None`` when absent or null; the encoder leaves ``None`` out;
* string enumerations are ``Literal`` aliases; a value this version does not know stays a plain
  string (no crash);
* a tagged union decodes to the variant class named by its tag, or to its ``Unknown...`` class
  (holding the raw JSON object) for a tag this version does not know;
* the classes are plain ``__slots__`` classes on one base, :class:`_Frozen`, which provides
  immutability, ``==``, ``hash``, ``repr``, pickling and ``attrs.fields()`` (built on first use)
  with the semantics of ``@attrs.frozen(kw_only=True)`` (``extra`` is left out of ``repr`` and
  ``hash``); each class has its own ``__init__`` here, so creating the classes at import
  compiles nothing (see the generator);
* instances are built by the decoders without ``__init__`` (see the generator); the classes
  have no ``__weakref__`` slot, which that needs;
* primitive values are trusted as the engine sends them; a missing required key or a container
  of the wrong shape raises (``KeyError``/``TypeError``/``AttributeError``), which
  :func:`codex_trio._protocol.app_server.decode_params` turns into ``ProtocolError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from reprlib import recursive_repr
from typing import Any, ClassVar, Literal, TypeAlias, dataclass_transform

import attrs
from attrs.exceptions import FrozenInstanceError

EMPTY_EXTRA: Mapping[str, Any] = MappingProxyType({{}})

CODEX_VERSION = {version!r}

_set = object.__setattr__
_NAMES: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {{}}


def _names(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every field, the fields shown and hashed: all but ``extra``) of a generated class."""
    names = _NAMES.get(cls)
    if names is None:
        every = tuple(n for n in cls.__dict__.get("__slots__", ()) if n != "__weakref__")
        names = _NAMES[cls] = (every, tuple(n for n in every if n != "extra"))
    return names


class _AttrsFields:
    """``__attrs_attrs__`` of a generated class (what ``attrs.fields``, ``attrs.has``,
    ``attrs.evolve`` and ``attrs.asdict`` read), built from its ``__init__`` on first use."""

    def __get__(self, obj: object, cls: type) -> tuple[attrs.Attribute[Any], ...]:
        init = cls.__dict__.get("__init__")
        fields: list[attrs.Attribute[Any]] = []
        if init is not None:
            code = init.__code__
            params = code.co_varnames[1 : code.co_argcount + code.co_kwonlyargcount]
            defaults = init.__kwdefaults__ or {{}}
            for i, name in enumerate(params):
                shown = name != "extra"
                fields.append(
                    attrs.Attribute(  # type: ignore[call-arg]
                        name=name,
                        default=defaults.get(name, attrs.NOTHING),
                        validator=None,
                        repr=shown,
                        cmp=None,
                        hash=None if shown else False,
                        init=True,
                        inherited=False,
                        type=cls.__annotations__.get(name),
                        kw_only=i >= code.co_argcount - 1,
                        eq=True,
                        order=True,
                        alias=name,
                    )
                )
        result = _Fields(fields)
        type.__setattr__(cls, "__attrs_attrs__", result)
        return result


class _Fields(tuple):  # type: ignore[type-arg]
    """The fields of a class, also by name (``attrs.fields(C).name``)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        for field in self:
            if field.name == name:
                return field
        raise AttributeError(name)


@dataclass_transform(frozen_default=True, kw_only_default=True)
class _Frozen:
    """Base of the generated classes: frozen, compared field by field (same class only),
    hashed and shown over every field but ``extra``, as ``@attrs.frozen`` would generate; the
    methods are shared instead of compiled per class (that made importing this module 0.9 s)."""

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()
    __attrs_attrs__: ClassVar[Any] = _AttrsFields()

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        for name in _names(self.__class__)[0]:
            if getattr(self, name) != getattr(other, name):
                return False
        return True

    def __hash__(self) -> int:
        cls = self.__class__
        return hash((cls, *[getattr(self, name) for name in _names(cls)[1]]))

    @recursive_repr()
    def __repr__(self) -> str:
        cls = self.__class__
        shown = ", ".join(f"{{name}}={{getattr(self, name)!r}}" for name in _names(cls)[1])
        return f"{{cls.__qualname__}}({{shown}})"

    def __getstate__(self) -> dict[str, Any]:
        return {{name: getattr(self, name) for name in _names(self.__class__)[0]}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            _set(self, name, value)

    def __replace__(self, **changes: Any) -> Any:
        return self.__class__(**{{**self.__getstate__(), **changes}})



def _extra(o: Mapping[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    return {{k: v for k, v in o.items() if k not in known}}


def _twin(cls: type) -> Callable[[], Any]:
    """A mutable class with the slots and base of the frozen ``cls`` (see the decoders)."""
    # Both back to object's: then the type's setattr slot is the C generic one again (one of the
    # two left Python-level makes CPython dispatch every store through Python), which plain
    # attribute stores on slots need to be fast.
    namespace = {{
        "__slots__": cls.__dict__["__slots__"],
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
    }}
    return type("_Build" + cls.__name__, cls.__bases__, namespace)
'''


def render(defs: dict[str, Schema], version: str) -> str:
    model = Model(defs)
    out: list[str] = [HEADER.format(version=version)]
    out.append("\n# " + "-" * 60 + " enumerations\n")
    for name, values in sorted(model.literals.items()):
        out.append("")
        out.append(f"{name}: TypeAlias = Literal[{', '.join(json.dumps(v) for v in values)}]")
        out += docstring(defs[name].get("description"), "")
    out.append("\n# " + "-" * 60 + " free-form and untagged values\n")
    for name, kind in sorted(model.kinds.items()):
        if kind == Kind.ANY:
            out.append(f"{name}: TypeAlias = Any")
        elif kind == Kind.STR:
            out.append(f"{name}: TypeAlias = str")
    out.append("\n# " + "-" * 60 + " objects\n")
    for cls in sorted(model.classes):
        out += render_class(model, cls)
    out.append("\n# " + "-" * 60 + " tagged unions\n")
    for union in sorted(model.unions):
        out += render_union(model, union, defs[union].get("description"))
    out.append("\n# " + "-" * 60 + " decoders and encoders\n")
    for cls in sorted(model.classes):
        out += render_codec(model, cls)
    for union in sorted(model.unions):
        out += render_union_codec(model, union)
    out += render_methods(model, defs)
    return "\n".join(out).rstrip() + "\n"


def _fields(model: Model, cls: str) -> list[tuple[str, str, bool, Schema]]:
    """(wire key, python name, required, node) of a class, tag excluded."""
    schema = model.classes[cls]
    required = set(schema.get("required", []))
    tag = model.variant_of.get(cls, (None, None, None))[1]
    fields = []
    used: set[str] = set()
    for key, node in schema["properties"].items():
        if key == tag:
            continue
        attr = snake(key)
        while attr in used:
            attr += "_"
        used.add(attr)
        fields.append((key, attr, key in required, node))
    return fields


def _init(params: list[tuple[str, str, str | None]], kw_only: bool) -> list[str]:
    """``__init__`` of a generated class over (name, annotation, default source or None)."""
    args = ", ".join(f"{n}: {ann}" + (f" = {d}" if d else "") for n, ann, d in params)
    star = "*, " if kw_only else ""
    out = [f"    def __init__(self, {star}{args}) -> None:"]
    out += [f'        _set(self, "{n}", {n})' for n, _, _ in params]
    return out


def render_class(model: Model, cls: str) -> list[str]:
    # A plain class on the shared base _Frozen (see the module's header) with its own __init__
    # in the source: creating it at import is one type() call. @attrs.frozen compiled five or
    # so methods per class with exec at import, 0.4 s of the module's 0.9 s.
    schema = model.classes[cls]
    out = ["", "", f"class {cls}(_Frozen):"]
    doc = schema.get("description")
    variant = model.variant_of.get(cls)
    if variant is not None:
        doc = (doc + "\n\n" if doc else "") + f"``{variant[0]}`` variant ``{variant[2]}``."
    out += docstring(doc or f"``{cls}`` (wire object).", "    ")
    if variant is not None:
        out.append(f"    {snake(variant[1])}: ClassVar[str] = {json.dumps(variant[2])}")
    fields = _fields(model, cls)
    slots = [attr for _, attr, _, _ in fields] + ["extra"]
    out.append(f"    __slots__ = ({''.join(json.dumps(n) + ', ' for n in slots).rstrip()})")
    params: list[tuple[str, str, str | None]] = []
    for _key, attr, required, node in fields:
        ann, _, _ = model.conv(node)
        if not required and not ann.endswith("| None") and ann != "Any":
            ann += " | None"
        out.append(f"    {attr}: {ann}")
        params.append((attr, ann, None if required else "None"))
        desc = node.get("description") if isinstance(node, dict) else None
        if desc:
            out += docstring(desc, "    ")
    out.append("    extra: Mapping[str, Any]")
    params.append(("extra", "Mapping[str, Any]", "EMPTY_EXTRA"))
    out.append("")
    out += _init(params, kw_only=True)
    return out


def render_union(model: Model, union: str, description: str | None) -> list[str]:
    tag, members = model.unions[union]
    out = ["", "", f"class Unknown{union}(_Frozen):"]
    out += docstring(
        f"A ``{union}`` whose ``{tag}`` this codex-trio version does not know; ``raw`` as read.",
        "    ",
    )
    name = snake(tag)
    # As @attrs.frozen made it: positional arguments, matched by position, weakly referable.
    out.append(f'    __slots__ = ("{name}", "raw", "__weakref__")')
    out.append(f'    __match_args__ = ("{name}", "raw")')
    out.append(f"    {name}: str | None")
    out.append("    raw: Mapping[str, Any]")
    out.append("")
    out += _init([(name, "str | None", None), ("raw", "Mapping[str, Any]", None)], kw_only=False)
    out.append("")
    names = " | ".join([cls for _, cls, _ in members] + [f"Unknown{union}"])
    out.append(f"{union}: TypeAlias = {names}")
    out += docstring(description, "")
    return out


def render_codec(model: Model, cls: str) -> list[str]:
    fields = _fields(model, cls)
    variant = model.variant_of.get(cls)
    known = [k for k, *_ in fields] + ([variant[1]] if variant else [])
    out = ["", f"_K_{cls}: frozenset[str] = frozenset({json.dumps(sorted(known))})", ""]
    # The decoder builds the object without its __init__: it fills the slots of an instance of
    # a mutable twin class (same slots, so plain attribute stores, the fastest way CPython sets
    # a slot), then makes it an instance of the frozen class (``__class__`` assignment, allowed
    # between classes of identical layout, which CPython checks; hence weakref_slot=False, as
    # a __weakref__ slot defeats that check). The classes have no validators, converters,
    # factories or post-init hooks (a test checks), so the object is the one __init__ would
    # build, at a third of the cost of a frozen attrs __init__.
    # Unknown keys: when every key is required (and no tag was dispatched on), the required keys
    # were all read, so the object holds no other key iff its length is their number; otherwise
    # the keys are checked against the known set (frozenset.issuperset, bound once).
    by_length = variant is None and all(required for _, _, required, _ in fields)
    out.append(f"_B_{cls} = _twin({cls})")
    out.append("")
    out.append("")
    if by_length:
        out.append(f"def _d_{cls}(o: Any) -> {cls}:")
    else:
        out.append(f"def _d_{cls}(")
        out.append(f"    o: Any, _known: Callable[[Any], bool] = _K_{cls}.issuperset")
        out.append(f") -> {cls}:")
    out.append(f"    s = _B_{cls}()")
    for key, attr, required, node in fields:
        _, dec, _ = model.conv(node)
        if required:
            expr = dec(f'o["{key}"]') if dec else f'o["{key}"]'
        elif dec:
            # A nullable node's conversion already starts with this test; do it once.
            inner = dec("v").removeprefix("None if v is None else ")
            expr = f'None if (v := o.get("{key}")) is None else {inner}'
        else:
            expr = f'o.get("{key}")'
        out.append(f"    s.{attr} = {expr}")
    known_keys = f"len(o) == {len(fields)}" if by_length else "_known(o)"
    out.append(f"    s.extra = EMPTY_EXTRA if {known_keys} else _extra(o, _K_{cls})")
    out.append(f"    s.__class__ = {cls}")
    out.append(f"    built: {cls} = s")
    out.append("    return built")
    out.append("")
    out.append("")
    out.append(f"def _e_{cls}(v: {cls}) -> dict[str, Any]:")
    if variant is not None:
        out.append(f'    o: dict[str, Any] = {{"{variant[1]}": {json.dumps(variant[2])}}}')
    else:
        out.append("    o: dict[str, Any] = {}")
    for key, attr, required, node in fields:
        _, _, enc = model.conv(node)
        value = enc(f"v.{attr}") if enc else f"v.{attr}"
        if required:
            out.append(f'    o["{key}"] = {value}')
        else:
            out.append(f"    if v.{attr} is not None:")
            out.append(f'        o["{key}"] = {value}')
    out.append("    if v.extra:")
    out.append("        o.update(v.extra)")
    out.append("    return o")
    out.append("")
    return out


def render_union_codec(model: Model, union: str) -> list[str]:
    tag, members = model.unions[union]
    out = ["", f"_U_{union}: dict[str, Callable[[Any], {union}]] = {{"]
    for value, cls, _ in members:
        out.append(f"    {json.dumps(value)}: _d_{cls},")
    out.append("}")
    out.append("")
    out.append("")
    out.append(f"def _d_{union}(o: Any) -> {union}:")
    out.append(f'    decode = _U_{union}.get(o.get("{tag}"))')
    out.append("    if decode is None:")
    out.append(f'        found = o.get("{tag}")')
    out.append(f"        return Unknown{union}(found if isinstance(found, str) else None, dict(o))")
    out.append("    return decode(o)")
    out.append("")
    out.append("")
    out.append(f"def _e_{union}(v: {union}) -> dict[str, Any]:")
    out.append(f"    if isinstance(v, Unknown{union}):")
    out.append("        return dict(v.raw)")
    out.append("    return _ENCODERS[type(v)](v)")
    out.append("")
    return out


def _method_table(schema: Schema) -> list[tuple[str, str | None]]:
    table = []
    for variant in schema["oneOf"]:
        method = variant["properties"]["method"]["enum"][0]
        params = variant["properties"].get("params")
        name = ref_name(params["$ref"]) if params and "$ref" in params else None
        table.append((method, name))
    return table


def render_methods(model: Model, defs: dict[str, Schema]) -> list[str]:
    out = ["", "", "# " + "-" * 60 + " method tables", ""]
    out.append("_ENCODERS: dict[type, Callable[[Any], dict[str, Any]]] = {")
    for cls in sorted(model.classes):
        out.append(f"    {cls}: _e_{cls},")
    out.append("}")
    out.append("")
    out.append("DECODERS: Mapping[type, Callable[[Any], Any]] = {")
    for cls in sorted(model.classes):
        out.append(f"    {cls}: _d_{cls},")
    out.append("}")
    out.append('"""Decoder of each generated class, from a parsed JSON object."""')
    out.append("")
    out.append("ENCODERS: Mapping[type, Callable[[Any], dict[str, Any]]] = _ENCODERS")
    out.append('"""Encoder of each generated class, to a JSON-ready dict (wire keys)."""')

    def cls_or_none(name: str | None) -> str:
        return name if name is not None and model.kinds.get(name) == Kind.CLASS else "None"

    def response_of(params: str | None, method: str) -> str:
        if method in _RESPONSE_OVERRIDES:
            return cls_or_none(_RESPONSE_OVERRIDES[method])
        if params is not None and params.startswith("Nullable"):
            params = params[len("Nullable") :]
        if params is None:
            guess = pascal(method.replace("/", " ")) + "Response"
            return cls_or_none(guess if guess in defs else None)
        base = params[: -len("Params")] if params.endswith("Params") else params
        return cls_or_none(base + "Response")

    out.append("")
    out.append("CLIENT_REQUESTS: Mapping[str, tuple[type | None, type | None]] = {")
    for method, params in _method_table(defs["ClientRequest"]):
        out.append(
            f"    {json.dumps(method)}: ({cls_or_none(params)}, {response_of(params, method)}),"
        )
    out.append("}")
    out.append('"""Client request method -> (params class, response class); None: untyped."""')
    out.append("")
    out.append("SERVER_REQUESTS: Mapping[str, tuple[type | None, type | None]] = {")
    for method, params in _method_table(defs["ServerRequest"]):
        out.append(
            f"    {json.dumps(method)}: ({cls_or_none(params)}, {response_of(params, method)}),"
        )
    out.append("}")
    out.append('"""Server request method -> (params class, response class); None: untyped."""')
    out.append("")
    out.append("SERVER_NOTIFICATIONS: Mapping[str, type | None] = {")
    for method, params in _method_table(defs["ServerNotification"]):
        out.append(f"    {json.dumps(method)}: {cls_or_none(params)},")
    out.append("}")
    out.append('"""Server notification method -> params class; None: untyped."""')
    out.append("")
    out.append("NOTIFICATION_DECODERS: Mapping[str, Callable[[Any], Any]] = {")
    for method, params in _method_table(defs["ServerNotification"]):
        if cls_or_none(params) != "None":
            out.append(f"    {json.dumps(method)}: _d_{params},")
    out.append("}")
    out.append(
        '"""Server notification method -> decoder of its params class (typed methods only)."""'
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codex", default=None, help="codex binary (default: the pinned wheel's)")
    parser.add_argument("--out", type=Path, default=TARGET)
    parser.add_argument("--check", action="store_true", help="fail if the output would change")
    args = parser.parse_args(argv)
    defs, version = load_schema(args.codex or codex_path())
    text = render(defs, version)
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; regenerate it", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(text.splitlines())} lines) from {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
