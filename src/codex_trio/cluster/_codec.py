"""What travels through Redis, and back: a turn's input and options, its result, its errors.

Events and items use the project's own codec (:func:`~codex_trio._protocol.encode_event` /
:func:`~codex_trio._protocol.decode_event`: codex's own JSON lines), so a remote caller gets
the very types a local one does. Options travel as their wire values (enums as strings) and are
rebuilt through their constructors, so a value a worker's codex would refuse fails at submit.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs
import orjson

from codex_trio._errors import (
    CodexError,
    ConfigurationError,
    ProtocolError,
    ThreadNotFoundError,
    TransportError,
    TurnDeadlineError,
)
from codex_trio._protocol import (
    ItemCompletedEvent,
    ThreadItem,
    TurnCompletedEvent,
    Usage,
    decode_event,
    encode_event,
)
from codex_trio._protocol.options import (
    ImageUrlInput,
    Input,
    LocalImageInput,
    MentionInput,
    SkillInput,
    TextInput,
    ThreadOptions,
    TurnOptions,
    _input_part,
)
from codex_trio._turn import TurnResult

__all__ = [
    "decode_error",
    "decode_input",
    "decode_result",
    "decode_thread_options",
    "decode_turn_options",
    "encode_error",
    "encode_input",
    "encode_result",
    "encode_thread_options",
    "encode_turn_options",
    "split_options",
]

_THREAD_FIELDS = frozenset(f.name for f in attrs.fields(ThreadOptions))
_TURN_FIELDS = frozenset(f.name for f in attrs.fields(TurnOptions))


def _wire(value: Any) -> Any:
    if isinstance(value, enum.Enum) or (hasattr(value, "value") and attrs.has(type(value))):
        return value.value
    if isinstance(value, tuple):
        return [_wire(v) for v in value]
    return value


# --- input ---------------------------------------------------------------------------------------


def encode_input(value: Input) -> Any:
    """A turn's input as JSON: a string, or a list of the parts' dict forms. Local image files
    do not travel (they are on the caller's disk): give an :class:`ImageUrlInput` instead."""
    if isinstance(value, str):
        return value
    parts: list[dict[str, Any]] = []
    for raw in value:
        part = _input_part(raw)
        if isinstance(part, TextInput):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, LocalImageInput):
            raise ConfigurationError(
                "a local image file does not travel to a cluster worker; send its bytes "
                "(ImageUrlInput.from_bytes(...)) instead"
            )
        elif isinstance(part, ImageUrlInput):
            parts.append({"type": "image", "url": part.url, "detail": _wire(part.detail)})
        elif isinstance(part, SkillInput):
            parts.append({"type": "skill", "name": part.name, "path": part.path})
        elif isinstance(part, MentionInput):
            parts.append({"type": "mention", "name": part.name, "path": part.path})
    return parts


def decode_input(value: Any) -> Input:
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise ProtocolError("a cluster turn's input is neither a string nor a list of parts")
    return [_input_part({k: v for k, v in part.items() if v is not None}) for part in value]


# --- options -------------------------------------------------------------------------------------


def split_options(
    fields: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keyword options of :meth:`ClusterClient.submit` split into thread options (a field of
    :class:`ThreadOptions`: they stay with the thread) and turn options (the others)."""
    thread: dict[str, Any] = {}
    turn: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _THREAD_FIELDS:
            thread[name] = value
        elif name in _TURN_FIELDS:
            turn[name] = value
        else:
            raise ConfigurationError(f"unknown turn or thread option {name!r}")
    return thread, turn


def encode_thread_options(options: ThreadOptions) -> dict[str, Any]:
    """The options that differ from the defaults, as wire values (sorted: comparable as text)."""
    if options.ephemeral:
        raise ConfigurationError(
            "an ephemeral thread has no rollout to move between workers; cluster threads "
            "cannot be ephemeral"
        )
    default = ThreadOptions()
    out: dict[str, Any] = {}
    for field in attrs.fields(ThreadOptions):
        value = getattr(options, field.name)
        if value != getattr(default, field.name):
            out[field.name] = _wire(value)
    return dict(sorted(out.items()))


def decode_thread_options(value: Mapping[str, Any]) -> ThreadOptions:
    return ThreadOptions(**value)


def encode_turn_options(options: TurnOptions, *, timeout: float | None) -> dict[str, Any]:
    """``options`` for a worker: the schema derived from an ``output_type`` travels (the type
    stays with the caller, which structures the answer), and ``timeout`` replaces ``timeout``
    and ``deadline`` (a trio clock value means nothing on another machine)."""
    if options.images:
        raise ConfigurationError(
            "local image files do not travel to a cluster worker; send their bytes "
            "(ImageUrlInput.from_bytes(...)) instead"
        )
    out: dict[str, Any] = {}
    schema = options.json_schema
    if schema is not None:
        out["output_schema"] = schema
    if options.attachments:
        out["attachments"] = encode_input(list(options.attachments))
    if timeout is not None:
        out["timeout"] = timeout
    for name in ("model", "effort", "summary", "working_directory", "sandbox_mode"):
        value = getattr(options, name)
        if value is not None:
            out[name] = _wire(value)
    if options.approval_policy is not None:
        out["approval_policy"] = _wire(options.approval_policy)
    return out


def decode_turn_options(value: Mapping[str, Any]) -> TurnOptions:
    fields = dict(value)
    attachments = fields.pop("attachments", None)
    if attachments:
        fields["attachments"] = tuple(decode_input(attachments))
    return TurnOptions(**fields)


# --- results -------------------------------------------------------------------------------------


def _usage(usage: Usage | None) -> str | None:
    return encode_event(TurnCompletedEvent(usage=usage)) if usage is not None else None


def _decode_usage(text: str | None) -> Usage | None:
    if text is None:
        return None
    event = decode_event(text)
    if not isinstance(event, TurnCompletedEvent):
        raise ProtocolError("a stored usage record is not a turn.completed event", line=text)
    return event.usage


def encode_result(result: TurnResult) -> bytes:
    """``result`` as JSON; items and usage as codex's own lines. Approval records (app-server)
    and ``structured`` stay behind: the caller structures the final message itself."""
    return orjson.dumps(
        {
            "thread_id": result.thread_id,
            "turn_id": result.turn_id,
            "items": [encode_event(ItemCompletedEvent(item=item)) for item in result.items],
            "final_response": result.final_response,
            "usage": _usage(result.usage),
            "cumulative_usage": _usage(result.cumulative_usage),
            "failed": result.failed,
            "error_message": result.error_message,
            "status": result.status,
        }
    )


def decode_result(data: bytes | str) -> TurnResult:
    obj = orjson.loads(data)
    items: list[ThreadItem] = []
    for line in obj["items"]:
        event = decode_event(line)
        if not isinstance(event, ItemCompletedEvent):
            raise ProtocolError("a stored item is not an item.completed event", line=line)
        items.append(event.item)
    return TurnResult(
        thread_id=obj["thread_id"],
        turn_id=obj["turn_id"],
        items=tuple(items),
        final_response=obj["final_response"],
        usage=_decode_usage(obj["usage"]),
        cumulative_usage=_decode_usage(obj["cumulative_usage"]),
        failed=obj["failed"],
        error_message=obj["error_message"],
        status=obj["status"],
    )


# --- errors --------------------------------------------------------------------------------------

_ERRORS: dict[str, type[CodexError]] = {
    cls.__name__: cls
    for cls in (
        CodexError,
        ConfigurationError,
        ProtocolError,
        ThreadNotFoundError,
        TransportError,
        TurnDeadlineError,
    )
}


def encode_error(error: BaseException) -> bytes:
    """An error as JSON: its class name and message (already redacted for a CodexError);
    exit code and signal for a :class:`TransportError`."""
    from codex_trio._redact import redact

    message = error.message if isinstance(error, CodexError) else redact(str(error))
    obj: dict[str, Any] = {"type": type(error).__name__, "message": message}
    if isinstance(error, TransportError):
        obj["exit_code"] = error.exit_code
        obj["signal"] = error.signal
    return orjson.dumps(obj)


def decode_error(
    data: bytes | str, *, thread_id: str | None, turn_id: str | None
) -> tuple[str, str, CodexError]:
    """``(type name, message, the error to raise)``: the same class as on the worker when it
    is one of codex-trio's, else a :class:`CodexError` naming it."""
    obj = orjson.loads(data)
    name = str(obj.get("type"))
    message = str(obj.get("message"))
    cls = _ERRORS.get(name)
    error: CodexError
    if cls is not None and issubclass(cls, TransportError):
        # The message already says the exit code and signal: set them, don't add them again.
        transport_error = cls(message, thread_id=thread_id, turn_id=turn_id)
        transport_error.exit_code = obj.get("exit_code")
        transport_error.signal = obj.get("signal")
        error = transport_error
    elif cls is ProtocolError:
        error = ProtocolError(message, thread_id=thread_id, turn_id=turn_id)
    elif cls is not None:
        error = cls(message, thread_id=thread_id, turn_id=turn_id)
    else:
        error = CodexError(f"{name}: {message}", thread_id=thread_id, turn_id=turn_id)
    return name, message, error
