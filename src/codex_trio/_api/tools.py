"""Python async functions as tools the model can call (app-server dynamic tools).

::

    @tool
    async def add(a: int, b: int) -> int:
        \"\"\"Add two integers.\"\"\"
        return a + b

    thread = await client.thread_start(options, tools=[add])

:func:`tool` reads the name, the description (first paragraph of the docstring) and a JSON
schema of the arguments from the function's signature and type hints (``str``, ``int``,
``float``, ``bool``, ``None``, ``list[...]``, ``tuple[...]``, ``dict[str, ...]``, ``Literal``,
``Optional``/unions, ``enum`` classes); pass ``schema=`` to give one yourself. When the model
calls the tool, the engine sends ``item/tool/call``; the arguments are passed as keyword
arguments, and the return value goes back to the model as text (``str`` as is, a
:class:`ToolResult` as given, anything else as JSON). A return value that is not JSON (an object
``json`` cannot encode, a NaN, a cycle) is never sent as ``str(obj)``: the model gets a failed
call (``success: false``) saying which type could not be encoded, and the SDK logs
``tool.result_not_json`` at warning level (the tool-call span then stops with status
``"error"``).

The engine offers dynamic tools only through its EXPERIMENTAL API
(``initialize.capabilities.experimentalApi``, on by default in :func:`open_app_server`), so their
wire format may change between codex versions. A tool that raises, or runs past its
``timeout``, answers ``success: false`` with the error text: the model sees the failure, the
connection and the turn go on.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, overload

from codex_trio._errors import ConfigurationError
from codex_trio._protocol.app_server.server_requests import DynamicTool, ToolCall, ToolResult
from codex_trio.observe import get_logger

__all__ = ["DynamicTool", "ToolCall", "ToolResult", "json_schema_for", "tool"]

ToolFunction = Callable[..., Awaitable[Any]]
_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_log = get_logger("codex_trio._api.tools")


def json_schema_for(annotation: Any) -> dict[str, Any]:
    """The JSON schema of one type hint; :class:`ConfigurationError` for one it cannot express."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    if annotation is type(None) or annotation is None:
        return {"type": "null"}
    for py, js in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
        if annotation is py:
            return {"type": js}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"enum": [m.value for m in annotation]}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [json_schema_for(a) for a in args]}
    if origin in (list, set, frozenset) or (
        origin is tuple and len(args) == 2 and args[1] is Ellipsis
    ):
        return {"type": "array", "items": json_schema_for(args[0]) if args else {}}
    if origin is tuple:
        return {
            "type": "array",
            "prefixItems": [json_schema_for(a) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if origin in (dict, Mapping) or annotation in (dict, Mapping):
        value = json_schema_for(args[1]) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": value}
    if annotation in (list, tuple):
        return {"type": "array"}
    raise ConfigurationError(f"cannot derive a JSON schema for {annotation!r}; pass schema=")


def _schema_of(fn: ToolFunction) -> dict[str, Any]:
    hints = typing.get_type_hints(fn)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigurationError(f"tool {fn.__name__}: *args/**kwargs cannot be described")
        properties[name] = json_schema_for(hints.get(name, inspect.Parameter.empty))
        if param.default is inspect.Parameter.empty:
            required.append(name)
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _result(tool_name: str, call: ToolCall, value: Any) -> ToolResult:
    """The tool's return value as the text the model receives, or a failed call if it is not
    JSON. Only the type of the bad value is reported: its ``repr`` may hold anything."""
    if isinstance(value, ToolResult):
        return value
    if isinstance(value, str):
        return ToolResult(text=value)
    bad: list[type] = []

    def refuse(obj: object) -> object:
        bad.append(type(obj))
        raise TypeError(f"a {type(obj).__qualname__}")

    try:
        return ToolResult(text=json.dumps(value, allow_nan=False, default=refuse))
    except (TypeError, ValueError, RecursionError) as exc:
        if bad:
            reason = f"an object of type {bad[-1].__qualname__} is not JSON-serialisable"
        elif isinstance(exc, RecursionError) or "Circular reference" in str(exc):
            reason = "it contains a circular reference"
        elif "Out of range float" in str(exc):
            reason = "it contains a float NaN or infinity, which JSON cannot hold"
        else:
            reason = f"{type(exc).__name__} while encoding a {type(value).__qualname__}"
    _log.warning(
        "tool.result_not_json",
        tool=tool_name,
        thread_id=call.thread_id,
        call_id=call.call_id,
        result_type=(bad[-1] if bad else type(value)).__qualname__,
        reason=reason,
    )
    return ToolResult(
        text=f"tool {tool_name!r} returned a result that is not JSON: {reason}. "
        "(A tool must return str, a ToolResult or JSON data.)",
        success=False,
    )


def _make(
    fn: ToolFunction,
    name: str | None,
    description: str | None,
    schema: Mapping[str, Any] | None,
    timeout: float,
) -> DynamicTool:
    if not inspect.iscoroutinefunction(fn):
        raise ConfigurationError(f"tool {getattr(fn, '__name__', fn)!r} must be an async function")
    tool_name = name or fn.__name__
    if not _NAME.fullmatch(tool_name):
        raise ConfigurationError(f"tool name {tool_name!r} must match {_NAME.pattern}")
    doc = inspect.getdoc(fn) or ""
    text = description if description is not None else doc.split("\n\n")[0].strip()
    input_schema = dict(schema) if schema is not None else _schema_of(fn)

    async def handler(call: ToolCall) -> ToolResult:
        arguments = call.arguments
        if arguments is None:
            arguments = {}
        if isinstance(arguments, str):  # some models send the JSON text
            arguments = json.loads(arguments)
        if not isinstance(arguments, Mapping):
            return ToolResult(
                text=f"arguments must be a JSON object, got {arguments!r}", success=False
            )
        return _result(tool_name, call, await fn(**arguments))

    return DynamicTool(
        name=tool_name,
        description=text or tool_name,
        input_schema=input_schema,
        handler=handler,
        timeout=timeout,
    )


@overload
def tool(fn: ToolFunction, /) -> DynamicTool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    schema: Mapping[str, Any] | None = None,
    timeout: float = 60.0,
) -> Callable[[ToolFunction], DynamicTool]: ...


def tool(
    fn: ToolFunction | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    schema: Mapping[str, Any] | None = None,
    timeout: float = 60.0,
) -> DynamicTool | Callable[[ToolFunction], DynamicTool]:
    """Make a :class:`DynamicTool` of an async function (``@tool`` or ``@tool(name=...)``).

    Raises :class:`ConfigurationError` at decoration time for a sync function, a bad name
    (``[a-zA-Z0-9_-]{1,64}``) or a type hint with no JSON schema.
    """
    if fn is not None:
        return _make(fn, name, description, schema, timeout)
    return lambda f: _make(f, name, description, schema, timeout)
