"""The event catalogue: well-formed names, and docs that list every event and metric."""

from __future__ import annotations

from pathlib import Path

from codex_trio.observe import events as ev
from codex_trio.observe._metrics import Metrics

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_event_name_is_a_codex_tuple_of_strings() -> None:
    for name in ev.ALL_EVENTS:
        assert isinstance(name, tuple)
        assert len(name) >= 3
        assert name[0] == "codex"
        assert all(isinstance(part, str) and part for part in name)


def test_all_events_lists_each_constant_once() -> None:
    constants = {
        value
        for key, value in vars(ev).items()
        if key.isupper()
        and isinstance(value, tuple)
        and key not in ("TURN", "TOOL_CALL")
        and key != "ALL_EVENTS"
    }
    assert len(set(ev.ALL_EVENTS)) == len(ev.ALL_EVENTS)
    assert set(ev.ALL_EVENTS) == constants


def test_span_prefixes_match_their_events() -> None:
    assert ev.TURN_STOP == (*ev.TURN, "stop")
    assert ev.TOOL_CALL_EXCEPTION == (*ev.TOOL_CALL, "exception")


def test_telemetry_doc_lists_every_event() -> None:
    text = (DOCS / "telemetry.md").read_text()
    for name in ev.ALL_EVENTS:
        literal = "(" + ", ".join(f'"{part}"' for part in name) + ")"
        assert literal in text, literal


def test_metrics_doc_lists_every_metric() -> None:
    text = (DOCS / "metrics.md").read_text()
    for family in Metrics().registry.collect():
        exposed = f"{family.name}_total" if family.type == "counter" else family.name
        assert f"`{exposed}`" in text, exposed
