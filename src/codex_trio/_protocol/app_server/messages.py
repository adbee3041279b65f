"""JSON-RPC messages of ``codex app-server``: framing, classification, typed errors.

Pure data and pure functions, no I/O. The wire is newline-delimited JSON-RPC 2.0 with two quirks
of codex 0.163 that decide how a message is classified:

* the server's messages carry no ``"jsonrpc"`` key, so its absence proves nothing;
* the server numbers its own requests (approvals, tool calls) from 0, the same numbers our
  requests use, so an incoming message is routed by whether it has ``method`` (a request if it
  also has ``id``, else a notification), never by its id alone.

Incoming lines are parsed with orjson (:func:`parse_message`): on the server's lines it runs
about five times faster than :func:`json.loads`, which was most of the cost of reading a
notification.

Encoding refuses what the server would silently drop: a string holding a lone UTF-16 surrogate
(the server cannot parse the line and never answers, so the caller would hang), ``NaN`` and
infinities. :func:`encode_message` raises :class:`InvalidMessageError` for them before anything is
sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

import attrs
import orjson

from codex_trio._errors import CodexError, ProtocolError
from codex_trio._protocol.app_server import _generated as g

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "SERVER_OVERLOADED",
    "IncomingMessage",
    "InternalError",
    "InvalidMessageError",
    "InvalidParamsError",
    "InvalidRequestError",
    "JsonRpcError",
    "MethodNotFoundError",
    "Notification",
    "ParseError",
    "Request",
    "Response",
    "ServerOverloadedError",
    "UnknownNotification",
    "classify",
    "decode_notification",
    "decode_params",
    "encode_message",
    "encode_params",
    "error_from_wire",
    "parse_message",
]

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
SERVER_OVERLOADED: Final = -32001


class JsonRpcError(CodexError):
    """The server answered a request with a JSON-RPC error.

    ``code`` and ``data`` are as sent; ``method`` is the request that failed. Subclasses name the
    standard codes; any other code is a plain :class:`JsonRpcError`. The connection is still
    usable: only this request failed.
    """

    code: int = 0

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        data: Any = None,
        method: str | None = None,
        thread_id: str | None = None,
        turn_id: str | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        self.data = data
        self.method = method
        prefix = f"{method}: " if method else ""
        super().__init__(
            f"{prefix}{message} (JSON-RPC error {self.code})", thread_id=thread_id, turn_id=turn_id
        )


class ParseError(JsonRpcError):
    code = PARSE_ERROR


class InvalidRequestError(JsonRpcError):
    """The server rejected the request itself (e.g. the experimental API was not enabled)."""

    code = INVALID_REQUEST


class MethodNotFoundError(JsonRpcError):
    code = METHOD_NOT_FOUND


class InvalidParamsError(JsonRpcError):
    code = INVALID_PARAMS


class InternalError(JsonRpcError):
    code = INTERNAL_ERROR


class ServerOverloadedError(JsonRpcError):
    """The server's queue was full; the request was not processed and may be retried later.

    :meth:`codex_trio._transport.jsonrpc.JsonRpcConnection.call_with_retry` does that with
    exponential backoff.
    """

    code = SERVER_OVERLOADED


_BY_CODE: dict[int, type[JsonRpcError]] = {
    cls.code: cls
    for cls in (
        ParseError,
        InvalidRequestError,
        MethodNotFoundError,
        InvalidParamsError,
        InternalError,
        ServerOverloadedError,
    )
}


def error_from_wire(error: Any, *, method: str | None = None) -> JsonRpcError:
    """The typed error for a JSON-RPC ``error`` object (tolerating a malformed one)."""
    if not isinstance(error, Mapping):
        return InternalError(f"malformed error object {error!r:.200}", method=method)
    code = error.get("code")
    message = str(error.get("message", "no message"))
    cls = _BY_CODE.get(code, JsonRpcError) if isinstance(code, int) else JsonRpcError
    return cls(
        message,
        code=code if isinstance(code, int) else None,
        data=error.get("data"),
        method=method,
    )


class InvalidMessageError(CodexError, ValueError):
    """A message we were about to send cannot be sent as JSON the server will parse.

    Raised before sending, so nothing waits for an answer that would never come. Causes: a lone
    UTF-16 surrogate in a string (the server drops such a line without a word), ``NaN`` or an
    infinity, or a value JSON cannot represent.
    """


# ------------------------------------------------------------------------------ incoming


@attrs.frozen(kw_only=True)
class Response:
    """The answer to our request ``id``: ``result``, or ``error`` (the raw error object)."""

    id: int | str
    result: Any = None
    error: Any = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Notification:
    """A server notification; ``params`` is the parsed JSON object (``{}`` when absent)."""

    method: str
    params: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class Request:
    """A server-to-client request (approval, tool call ...): it must be answered, ``id`` kept."""

    id: int | str
    method: str
    params: Mapping[str, Any]


IncomingMessage: TypeAlias = Response | Notification | Request


# One Notification is built per line read, so it is built as the generated decoders build their
# objects (see scripts/gen_app_server_protocol.py): slots filled on a mutable twin class, then
# ``__class__`` set to the frozen class (hence no __weakref__ slot, which defeats CPython's
# layout check). That is the object __init__ builds, since the class has no validator, converter
# or post-init hook, at half the cost. parse_message, the hot path, inlines _notification.
class _NotificationBuilder:
    __slots__ = Notification.__dict__["__slots__"]


def _notification(method: str, params: Mapping[str, Any]) -> Notification:
    note: Any = _NotificationBuilder()
    note.method = method
    note.params = params
    note.__class__ = Notification
    built: Notification = note
    return built


def classify(obj: Any, line: bytes | str = b"") -> IncomingMessage:
    """Classify one parsed line. Raises :class:`ProtocolError` when it is not JSON-RPC.

    The check is on ``method`` first (see the module docstring for why).
    """
    if type(obj) is not dict:
        raise ProtocolError("app-server message is not a JSON object", line=line)
    method = obj.get("method")
    if method is not None:
        if type(method) is not str:
            raise ProtocolError("app-server message has a non-string method", line=line)
        params = obj.get("params")
        if params is None:
            params = {}
        elif type(params) is not dict:
            raise ProtocolError(f"{method}: params is not an object", line=line)
        if "id" in obj:
            return Request(id=obj["id"], method=method, params=params)
        return _notification(method, params)
    if "id" in obj and ("result" in obj or "error" in obj):
        return Response(id=obj["id"], result=obj.get("result"), error=obj.get("error"))
    raise ProtocolError(
        "app-server message is neither request, response nor notification", line=line
    )


_loads: Callable[[bytes | str], Any] = orjson.loads


def parse_message(line: bytes | str) -> IncomingMessage:
    """Parse and classify one line read from the server (what the reader does per line).

    Raises :class:`ValueError` (:class:`json.JSONDecodeError`, or :class:`UnicodeDecodeError`)
    when the line is not JSON, :class:`ProtocolError` when it is JSON but not JSON-RPC.

    orjson parses it; a line orjson refuses goes to :func:`json.loads`, which also accepts
    ``NaN``, infinities and lone surrogate escapes, so a line is accepted exactly when
    :func:`json.loads` would accept it. One difference remains: orjson reads an integer beyond
    64 bits as a float. The engine sends none (its schema's widest integers are ``uint64``).
    """
    try:
        obj = _loads(line)
    except ValueError:
        obj = json.loads(line)
    # Most lines are notifications with params: those are classified here, the rest by classify.
    if type(obj) is dict:
        method = obj.get("method")
        params = obj.get("params")
        if type(method) is str and type(params) is dict and "id" not in obj:
            note: Any = _NotificationBuilder()
            note.method = method
            note.params = params
            note.__class__ = Notification
            built: Notification = note
            return built
    return classify(obj, line)


@attrs.frozen
class UnknownNotification:
    """The params of a notification whose method this codex-trio version does not know."""

    method: str
    params: Mapping[str, Any]


_NOTIFICATION_DECODERS: Final = g.NOTIFICATION_DECODERS


def decode_notification(note: Notification) -> Any:
    """The params of ``note`` as an instance of the generated class of its method (every
    nested object typed, as :func:`decode_params` does), or :class:`UnknownNotification` for a
    method the pinned schema does not have. :class:`ProtocolError` if the params do not have
    the shape the schema promises."""
    method = note.method
    decode = _NOTIFICATION_DECODERS.get(method)
    if decode is None:
        return UnknownNotification(method, note.params)
    try:
        return decode(note.params)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise _mismatch(g.SERVER_NOTIFICATIONS[method], note.params, method, exc) from None


# ------------------------------------------------------------------------------ outgoing


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def encode_message(message: Mapping[str, Any]) -> bytes:
    """One JSON-RPC line (with its newline) as UTF-8, or :class:`InvalidMessageError`."""
    try:
        text = json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        # Strict UTF-8 refuses lone surrogates, which the server would silently drop.
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError as exc:
        raise InvalidMessageError(
            f"message contains a lone UTF-16 surrogate at position {exc.start} of its JSON text; "
            "the server cannot parse it (clean the text, e.g. "
            "s.encode('utf-16', 'surrogatepass').decode('utf-16', 'replace'))"
        ) from None
    except (TypeError, ValueError) as exc:
        raise InvalidMessageError(f"message is not JSON-serialisable: {exc}") from None


def encode_params(value: Any) -> Any:
    """Wire form of ``value``: a generated class becomes its JSON object; mappings and None pass."""
    if value is None or isinstance(value, Mapping):
        return value
    encoder = g.ENCODERS.get(type(value))
    if encoder is None:
        raise TypeError(f"cannot encode {type(value).__name__} as app-server params")
    return encoder(value)


def decode_params(cls: type[Any], obj: Any, *, method: str = "") -> Any:
    """``obj`` as an instance of the generated class ``cls``; :class:`ProtocolError` if it does
    not have the shape the schema promises (missing required key, wrong container type)."""
    decoder = g.DECODERS[cls]
    try:
        return decoder(obj)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise _mismatch(cls, obj, method, exc) from None


def _mismatch(cls: type[Any] | None, obj: Any, method: str, exc: Exception) -> ProtocolError:
    name = cls.__name__ if cls is not None else "its class"
    return ProtocolError(
        f"{method or name}: payload does not match {name} ({type(exc).__name__}: {exc})",
        line=json.dumps(obj, default=str)[:1000] if obj is not None else "",
    )
