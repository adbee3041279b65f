import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import trio
from hypothesis import settings

import codex_trio
from codex_trio import _redact as redact
from codex_trio.testing import MockModel

pytest_plugins = ["codex_trio.testing.pytest_plugin"]

# CI runs property tests derandomized (HYPOTHESIS_PROFILE=ci in .ci/run): the same examples on
# every run, so a submission's result can be reproduced exactly; local runs explore at random.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _isolated_secret_registry() -> Iterator[frozenset[str]]:
    """Each test starts with the secrets registered before it (at import time) and leaves none
    of its own behind: ``redact.register_secret`` is process-global, so without this a secret
    one test registers would be masked in every later test's text."""
    saved = redact._registered()
    yield saved
    redact._restore(saved)


@attrs.frozen
class AppServerSetup:
    """The usual app-server test setup on the mock model: ``Codex`` (or ``Runtime``) with
    ``transport="app-server"`` and the mock model's environment, and one thread started in the
    mock model's working directory without the git check. ``thread`` adds thread options, other
    keywords go to ``Codex``/``Runtime``; the whole session runs under a hang guard."""

    mock_model: MockModel
    hang_guard: float = 120

    def thread_options(self, **extra: Any) -> dict[str, Any]:
        return {
            "working_directory": str(self.mock_model.workdir),
            "skip_git_repo_check": True,
            **extra,
        }

    @asynccontextmanager
    async def codex(
        self, *, thread: dict[str, Any] | None = None, **codex_options: Any
    ) -> AsyncIterator[tuple[codex_trio.Codex, codex_trio.Thread]]:
        with trio.fail_after(self.hang_guard):
            async with codex_trio.Codex(
                transport="app-server", env=self.mock_model.env, **codex_options
            ) as codex:
                yield codex, codex.start_thread(**self.thread_options(**(thread or {})))

    @asynccontextmanager
    async def runtime(
        self, *, thread: dict[str, Any] | None = None, **runtime_options: Any
    ) -> AsyncIterator[tuple[codex_trio.Runtime, codex_trio.ThreadHandle]]:
        with trio.fail_after(self.hang_guard):
            async with codex_trio.Runtime(
                transport="app-server", env=self.mock_model.env, **runtime_options
            ) as runtime:
                handle = await runtime.start_thread(**self.thread_options(**(thread or {})))
                yield runtime, handle


@pytest.fixture
def app_server_setup(mock_model: MockModel) -> AppServerSetup:
    """``async with app_server_setup.codex(tools=[...]) as (codex, thread):`` (see
    :class:`AppServerSetup`)."""
    return AppServerSetup(mock_model)
