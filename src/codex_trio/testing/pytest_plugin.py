"""pytest fixtures for testing agents against the mock model with the real ``codex`` binary.

Enable the plugin in a ``conftest.py`` (it needs ``pytest-trio`` installed)::

    pytest_plugins = ["codex_trio.testing.pytest_plugin"]

An ``async def`` test that uses ``mock_model`` or ``mock_server`` (directly or through another
fixture) runs under trio without a marker and without pytest-trio's ``trio_mode``: the plugin
marks exactly those tests ``@pytest.mark.trio``. Other async tests are left alone (a project may
also have asyncio tests); give them the marker, or set ``trio_mode = true`` in the pytest
configuration to run every async test under trio.

Fixtures:

``mock_model`` (async)
    A :class:`~codex_trio.testing._mock_model.MockModel`: a running mock server with an empty
    script, a CODEX_HOME in ``tmp_path`` pointing at it, and the codex binary. Set the script per
    test, run codex, check what it sent::

        async def test_runs_echo(mock_model):
            mock_model.script = [exec_command("echo hi"), message("done")]
            result = await mock_model.exec("run echo")
            assert result.items("command_execution")[0]["exit_code"] == 0
            assert "hi" in mock_model.requests[1].function_call_outputs().popitem()[1]

    ``mock_model.env`` is the environment for codex processes your own code starts;
    ``mock_model.home`` the :class:`~codex_trio.testing.CodexHome`;
    ``mock_model.configure(update_plan=True)`` rewrites the config for later processes.

``mock_model_options``
    Keyword arguments for :func:`~codex_trio.testing.write_codex_home` used by ``mock_model``;
    ``{}`` by default. Override it in a module or conftest to change every test there, e.g.
    ``return {"update_plan": True}``.

``mock_server`` (async)
    A bare running :class:`~codex_trio.testing.MockResponsesServer` with an empty script, for
    tests that talk HTTP themselves.

``codex_binary``
    The path of the codex binary: ``$CODEX_TRIO_CODEX_PATH``, the pinned wheel's, or ``codex``
    on PATH. Skips the test when there is none.

A test whose script runs out sees codex fail the turn; ``mock_model`` does not fail the test by
itself, so assert on the result (or on ``mock_model.server.exhausted == 0``).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from codex_trio.testing._mock_model import MockModel, find_codex, open_mock_model
from codex_trio.testing._mock_server import MockResponsesServer

__all__ = ["codex_binary", "mock_model", "mock_model_options", "mock_server"]

_TRIO_FIXTURES = frozenset({"mock_model", "mock_server"})


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("trio"):
        raise pytest.UsageError(
            "codex_trio.testing.pytest_plugin needs pytest-trio: pip install pytest-trio"
        )


@pytest.hookimpl(trylast=True)  # after pytest-trio's trio_mode marking, which may choose qtrio
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``async def`` tests that use the plugin's (trio) fixtures as trio tests."""
    for item in items:
        if not isinstance(item, pytest.Function) or item.get_closest_marker("trio"):
            continue
        function = getattr(item.obj, "hypothesis", None)
        test = function.inner_test if function is not None else item.obj
        if inspect.iscoroutinefunction(test) and _TRIO_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.trio)


@pytest.fixture
def codex_binary() -> str:
    """The codex binary the tests run; the test is skipped when there is none."""
    try:
        return find_codex()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def mock_model_options() -> dict[str, Any]:
    """Options for ``write_codex_home``; override to configure ``mock_model``."""
    return {}


@pytest.fixture
async def mock_server() -> AsyncIterator[MockResponsesServer]:
    """A running mock Responses API server with an empty script."""
    async with MockResponsesServer() as server:
        yield server


@pytest.fixture
async def mock_model(
    tmp_path: Path, codex_binary: str, mock_model_options: dict[str, Any]
) -> AsyncIterator[MockModel]:
    """A mock server, a CODEX_HOME in ``tmp_path`` pointing at it, and the codex binary."""
    async with open_mock_model(tmp_path, codex=codex_binary, **mock_model_options) as model:
        yield model
