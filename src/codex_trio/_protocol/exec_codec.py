"""Turning ``codex exec --json`` lines into typed events and back.

:func:`decode_event` is on the hot path of every turn (the transport calls it once per line). It
parses the line with orjson, then dispatches on the ``type`` key to one straight-line decoder per
event and item class. Those decoders and the matching encoders are generated from a table
(``scripts/gen_exec_codec.py`` writes :mod:`._exec_codec_generated`); this module holds what is
not a table: the JSON text layer, duplicate keys, and the per-line error handling. The encoder
side (:func:`unstructure_event`, :func:`encode_event`) reproduces codex's key order, ``null``
versus absent keys, and the duplicated ``id`` of web search items.

What can go wrong, and what happens then:

* a line that is not JSON, not UTF-8, holds a lone UTF-16 surrogate, ``NaN`` or a number too
  large for a float, or is not a JSON object: :class:`~codex_trio._errors.ProtocolError`,
  carrying (a prefix of) the line;
* a known event or item type with a required key missing or a value of the wrong JSON type:
  :class:`~codex_trio._errors.ProtocolError` as well. Nothing else ever escapes
  :func:`decode_event`;
* an unknown event ``type``: :class:`UnknownEvent`; an unknown item ``type`` or an enum value this
  library does not know: :class:`UnknownItem` (see :mod:`codex_trio._protocol.exec_items`);
* an unknown key in a known object: kept in the object's ``extra``.

Parsing, and duplicated keys: codex 0.163 writes ``id`` twice in web search items, and that case
is preserved exactly (see :class:`WebSearchItem` and :class:`DuplicateKeyDict`). orjson, like
:func:`json.loads`, keeps only the last value of a repeated key, so a line that contains the text
``"web_search"`` is parsed by the standard library with a duplicate-preserving hook instead;
anywhere else a repeated key keeps its last value. So is a line holding a run of 19 or more
digits (orjson reads an integer beyond 64 bits as a float, :mod:`json` as an int), and a line
orjson refuses (the standard library then gives the verdict and the error message). Either way
the result is what the standard library parse gives, with one exception: orjson accepts up to
1024 levels of nesting, a little more than the standard parser's recursion limit allows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, NoReturn

import orjson

from codex_trio._errors import ProtocolError
from codex_trio._protocol._exec_codec_generated import (
    EVENT_DECODERS,
    EVENT_ENCODERS,
)
from codex_trio._protocol._exec_codec_support import (
    DuplicateKeyDict,
    Invalid,
    kind,
)
from codex_trio._protocol.exec_events import ThreadEvent, UnknownEvent

__all__ = [
    "DuplicateKeyDict",
    "decode_event",
    "encode_event",
    "structure_event",
    "unstructure_event",
]

# The decoders by event type: decode_event looks each line's up here.
_EVENT_DECODERS: Final = EVENT_DECODERS
_EVENT_ENCODERS: Final = EVENT_ENCODERS

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

_orjson_loads: Final = orjson.loads
# A line that may hold a repeated key that matters: only web search items repeat one.
_MAY_REPEAT_A_KEY: Final = b'"web_search"'
# A line that may hold an integer orjson reads differently: digits mapped to "0", then a search
# (both run in C, a fraction of the parse).
_DIGITS_TO_ZERO: Final = bytes(0x30 if 0x30 <= b <= 0x39 else b for b in range(256))
_LONG_NUMBER: Final = b"0" * 19
_NOT_PARSED: Final[Any] = object()


def _parse_with_json(data: bytes | str) -> Any:
    """The standard library's parse of ``data``: the reference for what a line means."""
    try:
        if isinstance(data, str):
            text = data
            if not text.isascii():
                text.encode("utf-8")  # a lone surrogate cannot be encoded: reject it here
        else:
            text = data.decode("utf-8")
        if '"web_search"' in text:
            obj = _decode_json_keeping_duplicates(text)
        else:
            obj = _decode_json(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeError included
        raise ProtocolError(f"not a JSON line: {exc}", line=data) from None
    if "\\u" in text and _has_lone_surrogate(obj):
        raise ProtocolError("line holds a lone UTF-16 surrogate", line=data)
    return obj


def _parse(data: bytes | str) -> Any:
    """``data`` parsed: by orjson when that gives what :func:`_parse_with_json` gives.

    :func:`decode_event` runs the first branch inline, for ``bytes`` (what the transport reads).
    """
    if isinstance(data, str):
        try:
            raw = data.encode()
        except UnicodeEncodeError:
            return _parse_with_json(data)
    elif isinstance(data, bytes | bytearray):
        raw = bytes(data)
    else:
        raise TypeError(f"decode_event() takes bytes or str, not {type(data).__name__}")
    if raw.find(_MAY_REPEAT_A_KEY) < 0 and raw.translate(_DIGITS_TO_ZERO).find(_LONG_NUMBER) < 0:
        try:
            return _orjson_loads(raw)
        except ValueError:  # orjson.JSONDecodeError; the standard library says why
            pass
    return _parse_with_json(data)


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


# ---------------------------------------------------------------------------------- decode


def _structure_event(obj: Any, line: str | bytes) -> ThreadEvent:
    if not isinstance(obj, dict):
        raise ProtocolError(f"expected a JSON object, got {kind(obj)}", line=line)
    tag = obj.get("type")
    decode = _EVENT_DECODERS.get(tag) if type(tag) is str else None
    if decode is None:
        if type(tag) is not str:
            raise ProtocolError(
                f"event 'type' must be a string, got {kind(tag) if 'type' in obj else 'none'}",
                line=line,
            )
        return UnknownEvent(tag, obj)
    try:
        return decode(obj)
    except Invalid as exc:
        raise ProtocolError(f"invalid {tag} event: {exc}", line=line) from None
    except Exception as exc:  # a bug here must still surface as the documented error type
        raise ProtocolError(f"cannot decode {tag} event: {exc!r}", line=line) from exc


def decode_event(data: bytes | str) -> ThreadEvent:
    """Decode one line of ``codex exec --json`` output into a typed event.

    ``data`` is the line as read, with or without its trailing newline; ``bytes`` must be UTF-8.
    Unknown event and item types decode to :class:`UnknownEvent` / :class:`UnknownItem`, unknown
    keys to the ``extra`` of their object, so a newer codex never makes this fail.

    Raises :class:`~codex_trio._errors.ProtocolError` (with the line, secrets redacted) when the
    line is not JSON, not UTF-8, holds a lone surrogate, ``NaN`` or an out-of-range number, is
    not a JSON object, has no string ``type``, or is a known type with a required key missing or
    of the wrong JSON type. No other exception escapes for bad data; a ``TypeError`` means
    ``data`` was neither bytes nor str.
    """
    obj: Any = _NOT_PARSED
    if type(data) is bytes:  # _parse's fast path, inline: one call less per line
        if (
            data.find(_MAY_REPEAT_A_KEY) < 0
            and data.translate(_DIGITS_TO_ZERO).find(_LONG_NUMBER) < 0
        ):
            try:
                obj = _orjson_loads(data)
            except ValueError:
                pass
        if obj is _NOT_PARSED:
            obj = _parse_with_json(data)
    else:
        obj = _parse(data)
    # The common case inline (one call less per line); anything unusual goes the long way.
    if type(obj) is dict:
        tag = obj.get("type")
        decode = _EVENT_DECODERS.get(tag) if type(tag) is str else None
        if decode is not None:
            try:
                return decode(obj)
            except Invalid as exc:
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


# ---------------------------------------------------------------------------------- encode


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
    obj: dict[str, Any] = encode(event)
    return obj


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
