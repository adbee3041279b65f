"""docs/migrating-from-openai-codex.md stays true: every codex-trio name in its "checked name"
column exists (an attribute of ``codex_trio`` or ``codex_trio.sync``, or a field of an attrs
class), and every intended difference of the contract suite is in its differences table."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

import codex_trio
from codex_trio import sync

DOC = Path(__file__).resolve().parents[2] / "docs" / "migrating-from-openai-codex.md"


def _checked_names() -> list[str]:
    names = []
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2].startswith("`") and cells[2] != "`checked name`":
            names.append(cells[2].strip("`"))
    return names


def _exists(dotted: str) -> bool:
    head, *rest = dotted.split(".")
    value: object = {"sync": sync}.get(head) or getattr(codex_trio, head, None)
    for part in rest:
        if value is None:
            return False
        if hasattr(value, part):
            value = getattr(value, part)
        elif attrs.has(value) and part in attrs.fields_dict(value):  # type: ignore[arg-type]
            value = True
        else:
            return False
    return value is not None


def test_the_table_is_there() -> None:
    assert len(_checked_names()) >= 30


@pytest.mark.parametrize("name", _checked_names())
def test_codex_trio_name_exists(name: str) -> None:
    assert _exists(name), f"{name} (docs/migrating-from-openai-codex.md) is not in codex_trio"


def test_every_intended_difference_is_documented() -> None:
    from tests.contract.test_contract import INTENDED

    text = DOC.read_text()
    documented = {
        "echoes_user_input": "userMessage",
        "turn_tokens": "usage.last",
        "structured": "TurnResult.structured",
        "error_type": "TurnFailedError",
        "error_str": "str()",
        "command_statuses": "approval.declined_by_default",
    }
    fields = {field for reasons in INTENDED.values() for field in reasons}
    assert fields <= documented.keys(), (
        f"undocumented intended differences: {fields - documented.keys()}"
    )
    for field in fields:
        assert re.search(re.escape(documented[field]), text), field
