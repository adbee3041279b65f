"""The front doors' tests: the mock model on a thread of its own (``serve_in_thread``), since the
code under test is blocking or asyncio, not trio."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from codex_trio.testing import (
    BackgroundMockServer,
    CodexHome,
    Script,
    message,
    serve_in_thread,
    write_codex_home,
)
from tests.fakes import children_of_self, open_fds, pid_alive

BRIDGE_THREADS = ("codex-trio-sync", "codex-trio-aio")


@attrs.frozen
class Mock:
    server: BackgroundMockServer
    home: CodexHome
    workdir: Path

    @property
    def env(self) -> dict[str, str]:
        return self.home.environ()

    def thread_options(self, **extra: Any) -> dict[str, Any]:
        return {"working_directory": str(self.workdir), "skip_git_repo_check": True, **extra}

    def held(self) -> int:
        return self.server.statistics().held


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[Mock]:
    workdir = tmp_path / "work"
    workdir.mkdir()
    with serve_in_thread(Script(default=message("ok"))) as server:
        home = write_codex_home(tmp_path / "codex-home", base_url=server.base_url)
        yield Mock(server=server, home=home, workdir=workdir)


def bridge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(BRIDGE_THREADS)]


@pytest.fixture(autouse=True)
def _nothing_left() -> Iterator[None]:
    """Every test leaves no bridge thread, no live child process and no open fd behind."""
    before = open_fds()
    yield
    assert bridge_threads() == []
    assert [pid for pid in children_of_self() if pid_alive(pid)] == []
    assert open_fds() - before == set()
