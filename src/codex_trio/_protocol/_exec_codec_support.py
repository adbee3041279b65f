"""What the generated exec codec (:mod:`._exec_codec_generated`) leans on: its errors, its
error messages, and the hand-written special case of a key that appears twice.

Kept apart from :mod:`codex_trio._protocol.exec_codec` so that the generated module can import it
without a cycle. Nothing here is public; :class:`DuplicateKeyDict` is re-exported by the codec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "MISSING",
    "NOTHING_OMITTED",
    "DuplicateKeyDict",
    "Invalid",
    "UnknownValue",
    "bad",
    "extra_of",
    "first_and_repeat",
    "kind",
    "not_an_object",
    "omissions",
    "raw_object",
]

#: What ``dict.get`` returns for an absent key, where ``None`` means ``null``.
MISSING: Final[Any] = object()
NOTHING_OMITTED: Final[frozenset[str]] = frozenset()


class DuplicateKeyDict(dict[str, Any]):
    """A JSON object in which some key appears more than once.

    As a dict it holds what :func:`json.loads` would give (the last value of a repeated key);
    ``pairs`` holds every ``(key, value)`` in the original order.
    :func:`~codex_trio._protocol.unstructure_event` returns one for a web search item with a
    ``call_id``, and :func:`~codex_trio._protocol.encode_event` writes its ``pairs``, so the
    duplicated key survives a round trip. :func:`json.dumps` does not know about ``pairs``: use
    :func:`~codex_trio._protocol.encode_event` to write events.
    """

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs: tuple[tuple[str, Any], ...] = tuple(pairs)


class Invalid(Exception):
    """A known event or item type whose fields are missing or of the wrong JSON type."""


class UnknownValue(Exception):
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


def kind(value: Any) -> str:
    """The JSON type of a parsed value, as error messages name it."""
    return _JSON_KINDS.get(type(value), type(value).__name__)


def bad(obj: Mapping[str, Any], key: str, expected: str, where: str) -> Invalid:
    """The error for ``obj[key]`` being missing or not ``expected``."""
    if key not in obj:
        return Invalid(f"{where}: missing required key {key!r}")
    return Invalid(f"{where}: {key!r} must be {expected}, got {kind(obj[key])}")


def not_an_object(value: Any, where: str) -> Invalid:
    return Invalid(f"{where} must be an object, got {kind(value)}")


def extra_of(obj: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The members of ``obj`` whose keys are not ``known``, in their order."""
    return {k: v for k, v in obj.items() if k not in known}


def omissions(names: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    """Every subset of ``names``, indexed by bit mask (bit ``i`` set: ``names[i]`` absent).

    A decoder ORs one bit per absent optional key and looks its ``omitted`` up here: no set is
    built per object.
    """
    return tuple(
        frozenset(n for i, n in enumerate(names) if mask >> i & 1) or NOTHING_OMITTED
        for mask in range(1 << len(names))
    )


def raw_object(raw: Any) -> Any:
    """An unknown value's ``raw`` as it is written back: a mapping is copied into a dict, unless
    it holds a repeated key (then the :class:`DuplicateKeyDict` itself, so that both values are
    written); any other JSON value is returned as it is."""
    if isinstance(raw, DuplicateKeyDict) or not isinstance(raw, Mapping):
        return raw
    return dict(raw)


def first_and_repeat(obj: Mapping[str, Any], key: str, where: str) -> tuple[Any, str | None]:
    """The first value of ``key`` in ``obj`` and its second one (``None`` if it has none).

    The special case of the exec wire: codex 0.163 writes ``id`` twice in a web search item,
    first the item id, then the provider's call id. A plain dict keeps only the last value;
    both survive only in a :class:`DuplicateKeyDict` (the codec parses lines that may hold one
    with a duplicate-preserving parser). A third occurrence, or a second one that is not a
    string, is an error: codex never writes either.
    """
    if not isinstance(obj, DuplicateKeyDict):
        return obj.get(key), None
    values = [v for k, v in obj.pairs if k == key]
    if len(values) > 2:
        raise Invalid(f"{where}: key {key!r} appears {len(values)} times, at most 2 expected")
    if len(values) < 2:
        return (values[0] if values else None), None
    second = values[1]
    if type(second) is not str:
        raise Invalid(f"{where}: the second {key!r} must be a string, got {kind(second)}")
    return values[0], second
