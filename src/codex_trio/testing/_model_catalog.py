"""The model catalogue entry that makes codex treat the mock model as a model it knows.

codex looks the configured model up in its model catalogue. An unknown name still works, but codex
then adds a warning ``error`` item ("Model metadata for ... not found") to every turn and offers
fewer tools (no ``apply_patch``). The config key ``model_catalog_json`` points codex at a catalogue
file of our own; :func:`catalog_for` builds one holding a single entry, copied from the pinned
binary's bundled catalogue (``codex debug models --bundled``) and renamed to the mock model.

The entry is committed as package data (``model_catalog.json``) rather than produced at run time:
it keeps CODEX_HOME creation free of a subprocess (cheap enough for a fixture used by every test,
usable without knowing which binary the user will run), and a diff shows when a new codex version
changes it. Regenerate it after bumping the pinned binary::

    python -m codex_trio.testing._model_catalog [--codex PATH] [--source-slug SLUG]

The test suite checks that the committed entry still equals the pinned binary's.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_SOURCE_SLUG",
    "catalog_for",
    "committed_catalog",
    "generate_catalog",
]

CATALOG_RESOURCE = "model_catalog.json"

DEFAULT_SOURCE_SLUG = "gpt-5.5"
"""The bundled model whose entry is copied.

``gpt-5.5`` is the one bundled entry without ``tool_mode: "code_mode_only"`` and with
``use_responses_lite: false``: codex then offers the ordinary function tools (``exec_command``,
``apply_patch`` ...) in the plain Responses API request format that the mock speaks.
"""


def committed_catalog() -> dict[str, Any]:
    """The committed file: ``{"codex_version", "source_slug", "entry"}``."""
    text = resources.files("codex_trio.testing").joinpath(CATALOG_RESOURCE).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def catalog_for(model: str) -> dict[str, Any]:
    """A codex model catalogue (``{"models": [...]}``) whose only entry is named ``model``."""
    entry = copy.deepcopy(committed_catalog()["entry"])
    entry["slug"] = model
    entry["display_name"] = model
    entry["description"] = "Mock model served by codex_trio.testing"
    return {"models": [entry]}


def generate_catalog(
    codex: str | os.PathLike[str], source_slug: str = DEFAULT_SOURCE_SLUG
) -> dict[str, Any]:
    """Read ``source_slug``'s entry from the bundled catalogue of the binary ``codex``.

    Runs ``codex --version`` and ``codex debug models --bundled`` with an empty, temporary
    CODEX_HOME so that neither the user's configuration nor the network plays a part. Raises
    ``KeyError`` if the binary has no model of that name, ``subprocess.CalledProcessError`` if it
    fails.
    """
    with tempfile.TemporaryDirectory(prefix="codex-trio-catalog-") as home:
        env = {**os.environ, "CODEX_HOME": home}
        version = subprocess.run(
            [os.fspath(codex), "--version"], env=env, check=True, capture_output=True, text=True
        ).stdout.split()[-1]
        dump = subprocess.run(
            [os.fspath(codex), "debug", "models", "--bundled"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    models = json.loads(dump)["models"]
    for entry in models:
        if entry.get("slug") == source_slug:
            return {"codex_version": version, "source_slug": source_slug, "entry": entry}
    raise KeyError(f"{codex} has no bundled model {source_slug!r}")


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--codex", help="codex binary (default: the openai-codex-cli-bin wheel)")
    parser.add_argument("--source-slug", default=DEFAULT_SOURCE_SLUG)
    args = parser.parse_args(argv)
    codex = args.codex
    if codex is None:
        import codex_cli_bin

        codex = str(codex_cli_bin.bundled_codex_path())
    data = generate_catalog(codex, args.source_slug)
    target = Path(__file__).with_name(CATALOG_RESOURCE)
    target.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {target} ({data['source_slug']} from codex {data['codex_version']})")


if __name__ == "__main__":
    _main()
