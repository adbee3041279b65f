"""Shared by the private CODEX_HOME tests: where isolated homes go, and that none is left."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_trio._home import _TEMP_PREFIX


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def isolated_homes(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"{_TEMP_PREFIX}*"))


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Isolated homes of this test go to a directory of its own (``tempfile.tempdir``), and the
    test fails if one is left there at its end."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root
    left = isolated_homes(root)
    assert not left, f"isolated CODEX_HOMEs left behind: {left}"
