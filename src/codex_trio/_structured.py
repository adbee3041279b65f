"""Typed structured output: a strict JSON schema derived from a Python type, JSON Schema checks,
and the final message structured into an instance of the type.

``thread.run(..., output_type=Order)`` sends :func:`schema_for` ``(Order)`` as the turn's output
schema and, once the turn is done, :func:`structured_output` parses the final message, validates
it against that schema and structures it into an ``Order`` (cattrs). What can go wrong is typed:
a type that has no strict schema, or a user-given ``output_schema`` that is not a valid JSON
Schema, is a :class:`~codex_trio._errors.ConfigurationError` before any process starts; a final
message that is not JSON, does not match the schema or cannot be structured is a
:class:`~codex_trio._errors.StructuredOutputError` carrying the raw text and the path of the
first mismatch (``path``, e.g. ``"items[2].name"``; ``""`` for the top level).

Schemas follow the rules of OpenAI's strict structured outputs (codex sends every output schema
with ``strict: true``): the root is an object; every object lists all its properties in
``required`` and has ``additionalProperties: false``; an optional value (``T | None``) is a
nullable type, still required; nested classes are ``$defs`` entries referred to by ``$ref``
(recursion included). What strict mode cannot say is refused with the field's path: ``Any``,
mappings with free keys (``dict[str, T]``), fixed-length tuples, and TypedDict keys that are
not required.

Supported: attrs classes, dataclasses and TypedDicts (as the root and nested), ``str``, ``int``,
``float``, ``bool``, ``None``, ``list`` / ``tuple[T, ...]`` / ``set`` / ``frozenset`` /
``Sequence`` of a supported type, ``Optional`` and other unions, ``Literal`` and ``Enum`` (with
str or int values), ``Annotated`` (the metadata is ignored). A field's
``metadata={"description": ...}`` (attrs or dataclasses) becomes its schema's ``description``.

jsonschema and cattrs are imported on first use, not with ``codex_trio``.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import json
import types
import typing
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from codex_trio._errors import ConfigurationError, StructuredOutputError

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "check_schema",
    "format_path",
    "schema_for",
    "structure",
    "structured_output",
    "validation_problem",
]

T = TypeVar("T")

_NONE_TYPE = type(None)
_ARRAY_ORIGINS = frozenset(
    {
        list,
        tuple,
        set,
        frozenset,
        collections.abc.Sequence,
        collections.abc.MutableSequence,
        collections.abc.Set,
        collections.abc.MutableSet,
        collections.abc.Collection,
        collections.abc.Iterable,
    }
)
_MAPPING_ORIGINS = frozenset(
    {dict, collections.abc.Mapping, collections.abc.MutableMapping, collections.OrderedDict}
)
_PRIMITIVES: Mapping[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_WRAPPERS = frozenset(
    w
    for w in (
        getattr(typing, "Required", None),
        getattr(typing, "NotRequired", None),
        getattr(typing, "ReadOnly", None),  # Python 3.13
    )
    if w is not None
)
_TYPE_ALIAS = getattr(typing, "TypeAliasType", None)  # Python 3.12


def _type_name(tp: Any) -> str:
    name = getattr(tp, "__qualname__", None)
    return name if isinstance(name, str) else repr(tp)


def _is_record(tp: Any) -> bool:
    """attrs class, dataclass or TypedDict: what becomes a JSON object."""
    return isinstance(tp, type) and (
        attrs.has(tp) or dataclasses.is_dataclass(tp) or typing.is_typeddict(tp)
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    raise TypeError(type(value).__name__)


def _enum_schema(values: list[Any], where: str, what: str) -> dict[str, Any]:
    try:
        kinds = sorted({_json_type(v) for v in values})
    except TypeError as exc:
        raise ConfigurationError(
            f"{where}: {what} has a value of type {exc}; only str, int, float, bool and None "
            "are JSON"
        ) from None
    return {"type": kinds[0] if len(kinds) == 1 else kinds, "enum": values}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str) and "$ref" not in schema and "anyOf" not in schema:
        out = {**schema, "type": [kind, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    if isinstance(kind, list):
        out = {**schema, "type": [*kind, "null"] if "null" not in kind else kind}
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


class _SchemaBuilder:
    def __init__(self, root: type) -> None:
        self.root = root
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[type, str] = {}

    def build(self) -> dict[str, Any]:
        schema = self.object_schema(self.root, "")
        if self.defs:
            schema["$defs"] = self.defs
        return schema

    def fields(self, cls: type, where: str) -> list[tuple[str, Any, str | None]]:
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:  # a forward reference that does not resolve, say
            raise ConfigurationError(
                f"{where or _type_name(cls)}: cannot resolve the annotations of "
                f"{_type_name(cls)}: {exc}"
            ) from None
        out: list[tuple[str, Any, str | None]] = []
        # The fields' types are resolved in place, as ``attrs.resolve_types`` does, so that
        # cattrs (which reads them) sees classes rather than forward references.
        if attrs.has(cls):
            attrs.resolve_types(cls, include_extras=True)
            for a in attrs.fields(cls):
                if a.init:
                    out.append((a.name, a.type, a.metadata.get("description")))
        elif dataclasses.is_dataclass(cls):
            for f in dataclasses.fields(cls):
                f.type = hints.get(f.name, f.type)
                if f.init:
                    out.append((f.name, f.type, f.metadata.get("description")))
        else:
            optional = set(getattr(cls, "__optional_keys__", ()))
            not_required = getattr(typing, "NotRequired", None)
            for name, tp in hints.items():
                # (With string annotations Python 3.11 cannot see NotRequired[...] when it makes
                # the TypedDict: the hint still says so.)
                if name in optional or (
                    not_required is not None and typing.get_origin(tp) is not_required
                ):
                    raise ConfigurationError(
                        f"{_join(where, name)}: TypedDict key {name!r} of {_type_name(cls)} is "
                        "not required; strict structured output requires every key (use a "
                        "required key of type `T | None`)"
                    )
                out.append((name, tp, None))
        return out

    def object_schema(self, cls: type, where: str) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for name, tp, description in self.fields(cls, where):
            schema = self.schema(tp, _join(where, name))
            if description and "$ref" not in schema:
                schema = {**schema, "description": str(description)}
            properties[name] = schema
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }

    def record_ref(self, cls: type, where: str) -> dict[str, Any]:
        if cls is self.root:
            return {"$ref": "#"}
        name = self.names.get(cls)
        if name is None:
            name = cls.__name__
            n = 2
            while name in self.defs:
                name = f"{cls.__name__}{n}"
                n += 1
            self.names[cls] = name
            self.defs[name] = {}  # reserved: a recursive reference finds the name
            self.defs[name] = self.object_schema(cls, where)
        return {"$ref": f"#/$defs/{name}"}

    def schema(self, tp: Any, where: str) -> dict[str, Any]:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated or origin in _WRAPPERS:
            return self.schema(args[0], where)
        if tp is None or tp is _NONE_TYPE:
            return {"type": "null"}
        if _TYPE_ALIAS is not None and isinstance(tp, _TYPE_ALIAS):
            return self.schema(tp.__value__, where)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _enum_schema([m.value for m in tp], where, f"enum {_type_name(tp)}")
        if tp in _PRIMITIVES:
            return {"type": _PRIMITIVES[tp]}
        if origin is typing.Literal:
            return _enum_schema(list(args), where, "Literal")
        if origin is typing.Union or origin is types.UnionType:
            members = [a for a in args if a is not _NONE_TYPE]
            nullable = len(members) < len(args)
            if len(members) == 1:
                inner = self.schema(members[0], where)
                return _nullable(inner) if nullable else inner
            options = [self.schema(a, where) for a in members]
            if nullable:
                options.append({"type": "null"})
            return {"anyOf": options}
        if _is_record(tp):
            return self.record_ref(tp, where)
        if origin in _ARRAY_ORIGINS or tp in _ARRAY_ORIGINS:
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                raise ConfigurationError(
                    f"{where}: a fixed-length tuple ({tp!r}) has no strict JSON schema; use "
                    "tuple[T, ...], a list or a class"
                )
            if not args:
                raise ConfigurationError(f"{where}: {_type_name(tp)} needs an item type")
            return {"type": "array", "items": self.schema(args[0], f"{where}[]")}
        if origin in _MAPPING_ORIGINS or tp in _MAPPING_ORIGINS:
            raise ConfigurationError(
                f"{where}: a mapping with free keys ({tp!r}) has no strict JSON schema "
                "(strict mode requires additionalProperties: false); use a class"
            )
        if tp is typing.Any or tp is object:
            raise ConfigurationError(
                f"{where}: Any has no strict JSON schema; give the field a concrete type"
            )
        raise ConfigurationError(
            f"{where or 'output_type'}: {tp!r} is not supported in structured output (use "
            "str, int, float, bool, lists, Optional, Literal, enums, attrs classes, dataclasses "
            "or TypedDicts)"
        )


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


@functools.cache
def _schema_text(tp: Any) -> str:
    if not _is_record(tp):
        raise ConfigurationError(
            f"output_type={tp!r}: the root of structured output must be an attrs class, a "
            "dataclass or a TypedDict (strict mode needs a JSON object at the top)"
        )
    return json.dumps(_SchemaBuilder(tp).build())


def schema_for(tp: Any) -> dict[str, Any]:
    """The strict JSON schema of ``tp`` (an attrs class, dataclass or TypedDict), as a new dict
    each call. Raises :class:`ConfigurationError` naming the field whose type has none."""
    try:
        text = _schema_text(tp)
    except TypeError:  # unhashable: not a type at all
        raise ConfigurationError(f"output_type={tp!r} is not a type") from None
    result: dict[str, Any] = json.loads(text)
    return result


def format_path(parts: Iterable[Any]) -> str:
    """A JSON location as ``items[2].name`` (``""`` for the top level)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = _join(out, str(part))
    return out


def _validator_class(schema: Mapping[str, Any]) -> Any:
    import jsonschema.validators

    return jsonschema.validators.validator_for(
        schema, default=jsonschema.validators.Draft202012Validator
    )


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigurationError` if ``schema`` is not a valid JSON Schema (by the
    metaschema of its ``$schema``, draft 2020-12 by default) or not JSON, naming the offending
    keyword and where it is."""
    import jsonschema.exceptions

    try:
        json.dumps(schema)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"output_schema is not JSON-serialisable: {exc}") from None
    cls = _validator_class(schema)
    error = jsonschema.exceptions.best_match(cls(cls.META_SCHEMA).iter_errors(schema))
    if error is None:
        return
    path = list(error.absolute_path)
    keyword = next((p for p in reversed(path) if isinstance(p, str)), None)
    if keyword is None:
        keyword = str(error.validator)
    where = format_path(path) or "the top level"
    raise ConfigurationError(
        f"output_schema is not a valid JSON Schema: keyword {keyword!r} at {where}: {error.message}"
    )


def validation_problem(schema: Mapping[str, Any], data: Any) -> tuple[str, str] | None:
    """The first (most relevant) way ``data`` fails ``schema``, as ``(message, path)``; None
    when it is valid."""
    import jsonschema.exceptions

    cls = _validator_class(schema)
    error = jsonschema.exceptions.best_match(cls(schema).iter_errors(data))
    if error is None:
        return None
    return error.message, format_path(error.absolute_path)


@functools.cache
def _converter() -> cattrs.Converter:
    import cattrs
    from cattrs.strategies import configure_union_passthrough

    converter = cattrs.Converter(forbid_extra_keys=True)
    configure_union_passthrough(str | int | float | bool | None, converter)
    return converter


def _error(message: str, *, raw: str, path: str | None, thread_id: str | None) -> Exception:
    return StructuredOutputError(message, raw=raw, path=path, thread_id=thread_id)


def _where(path: str) -> str:
    return path if path else "the top level"


def structure(tp: type[T], data: Any, *, raw: str = "", thread_id: str | None = None) -> T:
    """``data`` (parsed JSON) as an instance of ``tp``; :class:`StructuredOutputError` with
    the path of the first field that does not fit."""
    import cattrs

    schema_for(tp)  # resolves forward references of the classes involved
    try:
        value: T = _converter().structure(data, tp)
    except (cattrs.BaseValidationError, cattrs.StructureHandlerNotFoundError) as exc:
        messages = (
            cattrs.transform_error(exc) if isinstance(exc, cattrs.BaseValidationError) else []
        )
        first = messages[0] if messages else str(exc)
        text, _, location = first.partition(" @ $")
        path = location.lstrip(".")
        raise _error(
            f"final message does not fit {_type_name(tp)} at {_where(path)}: {text}",
            raw=raw,
            path=path,
            thread_id=thread_id,
        ) from exc
    except (TypeError, ValueError) as exc:
        raise _error(
            f"final message does not fit {_type_name(tp)}: {exc}",
            raw=raw,
            path="",
            thread_id=thread_id,
        ) from exc
    return value


def structured_output(
    text: str | None,
    schema: Mapping[str, Any],
    output_type: Any = None,
    *,
    thread_id: str | None = None,
) -> Any:
    """The final message ``text`` of a turn with an output schema: parsed as JSON, validated
    against ``schema``, and structured into ``output_type`` when one is given."""
    if text is None:
        raise _error(
            "the turn had an output schema but no final message",
            raw="",
            path=None,
            thread_id=thread_id,
        )
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _error(
            f"final message is not valid JSON: {exc}", raw=text, path=None, thread_id=thread_id
        ) from None
    problem = validation_problem(schema, data)
    if problem is not None:
        message, path = problem
        raise _error(
            f"final message does not match the output schema at {_where(path)}: {message}",
            raw=text,
            path=path,
            thread_id=thread_id,
        )
    if output_type is None:
        return data
    return structure(output_type, data, raw=text, thread_id=thread_id)
