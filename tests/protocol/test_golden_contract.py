"""Contract with the pinned binary: every line codex really wrote decodes fully typed and back.

The transcripts in ``fixtures/exec/*.jsonl`` are raw stdout of the pinned ``codex exec --json``
(see ``fixtures/README.md``). A failure here after a binary bump means codex changed its output:
a new event or item type, a new enum value, or a new key this library does not type yet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from codex_trio._protocol import (
    UnknownAction,
    UnknownEvent,
    UnknownItem,
    WebSearchItem,
    decode_event,
    encode_event,
    unstructure_event,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "exec"
FILES = sorted(FIXTURES.glob("*.jsonl"))
NO_FIXTURES = pytest.param(
    None,
    marks=pytest.mark.skip(
        reason=f"no golden transcripts in {FIXTURES} yet (scripts/record_fixtures.py records them)"
    ),
    id="no-fixtures",
)
files = pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.stem) for p in FILES] or [NO_FIXTURES]
)


class _Members(list[tuple[str, Any]]):
    """A JSON object parsed as its list of members, so that a repeated key is kept."""


def _members(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_Members)


def _has_duplicate_key(value: Any) -> bool:
    if isinstance(value, _Members):
        keys = [k for k, _ in value]
        return len(keys) != len(set(keys)) or any(_has_duplicate_key(v) for _, v in value)
    if isinstance(value, list):
        return any(_has_duplicate_key(v) for v in value)
    return False


def _lines(path: Path) -> list[str]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines, f"{path.name} is empty"
    return lines


def _extras(value: Any) -> list[str]:
    """Names of the attrs objects inside ``value`` that hold untyped (``extra``) keys."""
    found: list[str] = []
    if attrs.has(type(value)):
        if getattr(value, "extra", None):
            found.append(f"{type(value).__name__}: {sorted(value.extra)}")
        for field in attrs.fields(type(value)):
            if field.name != "extra":
                found.extend(_extras(getattr(value, field.name)))
    elif isinstance(value, tuple):
        for v in value:
            found.extend(_extras(v))
    elif isinstance(value, dict):
        for v in value.values():
            found.extend(_extras(v))
    return found


@files
def test_every_golden_line_decodes_to_known_types(path: Path) -> None:
    for number, line in enumerate(_lines(path), 1):
        event = decode_event(line)
        where = f"{path.name}:{number}"
        assert not isinstance(event, UnknownEvent), f"{where}: unknown event {event.type!r}"
        item = getattr(event, "item", None)
        assert not isinstance(item, UnknownItem), f"{where}: unknown item {line}"
        if isinstance(item, WebSearchItem):
            assert not isinstance(item.action, UnknownAction), f"{where}: unknown action"


@files
def test_every_golden_line_is_fully_typed_with_no_leftover_keys(path: Path) -> None:
    for number, line in enumerate(_lines(path), 1):
        assert _extras(decode_event(line)) == [], f"{path.name}:{number}: untyped keys"


@files
def test_every_golden_line_reencodes_to_the_same_json(path: Path) -> None:
    for number, line in enumerate(_lines(path), 1):
        event = decode_event(line)
        encoded = encode_event(event)
        where = f"{path.name}:{number}"
        assert json.loads(encoded) == json.loads(line), where
        assert unstructure_event(event) == json.loads(line), where
        if _has_duplicate_key(_members(line)):
            assert _members(encoded) == _members(line), f"{where}: duplicated keys differ"


@files
def test_every_golden_web_search_item_keeps_its_item_id_and_call_id(path: Path) -> None:
    for number, line in enumerate(_lines(path), 1):
        event = decode_event(line)
        item = getattr(event, "item", None)
        if isinstance(item, WebSearchItem):
            raw_item = next(v for k, v in _members(line) if k == "item")
            ids = [v for k, v in raw_item if k == "id"]
            assert [item.id, item.call_id] == ids, f"{path.name}:{number}"
