"""The committed model catalogue entry matches the pinned codex binary."""

from __future__ import annotations

from codex_trio.testing._model_catalog import (
    DEFAULT_SOURCE_SLUG,
    catalog_for,
    committed_catalog,
    generate_catalog,
)


def test_committed_entry_equals_the_pinned_binarys_bundled_entry(codex_binary: str) -> None:
    committed = committed_catalog()
    fresh = generate_catalog(codex_binary, committed["source_slug"])
    assert committed["source_slug"] == DEFAULT_SOURCE_SLUG
    assert committed["codex_version"] == fresh["codex_version"]
    assert committed["entry"] == fresh["entry"], (
        "the bundled catalogue changed: run python -m codex_trio.testing._model_catalog"
    )


def test_catalog_for_renames_the_entry_and_leaves_the_committed_data_alone() -> None:
    catalog = catalog_for("other-name")
    assert catalog["models"][0]["slug"] == "other-name"
    assert committed_catalog()["entry"]["slug"] == DEFAULT_SOURCE_SLUG
