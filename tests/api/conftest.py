from __future__ import annotations

import pytest

import codex_trio
from codex_trio.testing import MockModel


@pytest.fixture
def codex(mock_model: MockModel) -> codex_trio.Codex:
    """A Codex on the real binary, pointed at the mock model."""
    return codex_trio.Codex(env=mock_model.env)


@pytest.fixture
def thread_options(mock_model: MockModel) -> dict[str, object]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}
