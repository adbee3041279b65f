"""The committed exec codec module is what its generator's table produces, and the table
agrees with the attrs classes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from codex_trio._protocol import _exec_codec_generated as generated
from codex_trio._protocol import exec_codec

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_exec_codec", ROOT / "scripts" / "gen_exec_codec.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_generated_module_is_what_the_table_produces() -> None:
    current = (ROOT / "src/codex_trio/_protocol/_exec_codec_generated.py").read_text()
    assert current == _generator().render(), "run: python scripts/gen_exec_codec.py"


def test_table_agrees_with_the_attrs_classes() -> None:
    # Field names, tags, and what building without __init__ needs (no validators, converters,
    # factories or post-init hooks; no __weakref__ slot).
    assert _generator().check_classes() == []


def test_every_known_type_has_a_decoder_and_every_class_an_encoder() -> None:
    gen = _generator()
    tagged = {c.tag for c in gen.CLASSES if c.tag is not None and c.where.endswith(" item")}
    assert set(generated.ITEM_DECODERS) == tagged
    assert set(exec_codec._EVENT_DECODERS) == {
        c.tag for c in gen.CLASSES if c.where.endswith(" event") and c.tag is not None
    }
    assert len(generated.EVENT_ENCODERS) == len(exec_codec._EVENT_DECODERS) + 1  # UnknownEvent
    assert len(generated.ITEM_ENCODERS) == len(generated.ITEM_DECODERS) + 1  # UnknownItem
