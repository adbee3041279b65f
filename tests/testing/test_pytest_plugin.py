"""The pytest plugin's fixtures, as a user's test sees them."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import trio

from codex_trio.testing import MockModel, MockResponsesServer, message


@pytest.fixture
def mock_model_options() -> dict[str, Any]:
    """Overriding the options fixture configures every mock_model of this module."""
    return {"update_plan": True, "model": "module-model"}


async def test_mock_model_options_override_configures_the_codex_home(
    mock_model: MockModel,
) -> None:
    config = tomllib.loads(mock_model.home.config_path.read_text())
    assert config["tools"]["update_plan"]["enabled"] is True
    assert config["model"] == "module-model"
    assert config["model_providers"]["mock"]["base_url"] == mock_model.server.base_url


async def test_mock_model_env_points_codex_at_its_home(mock_model: MockModel) -> None:
    assert mock_model.env["CODEX_HOME"] == str(mock_model.home.path)
    assert mock_model.env[mock_model.home.env_key]


async def test_configure_keeps_earlier_options_and_rewrites_the_config(
    mock_model: MockModel,
) -> None:
    mock_model.configure(extra_config={"approval_policy": "never"})
    config = tomllib.loads(mock_model.home.config_path.read_text())
    assert config["approval_policy"] == "never" and config["model"] == "module-model"


async def test_mock_server_fixture_is_running_with_an_empty_script(
    mock_server: MockResponsesServer,
) -> None:
    assert mock_server.port > 0
    assert mock_server.script.remaining == 0
    mock_server.script = [message("x")]
    assert mock_server.script.remaining == 1


USER_TESTS = """
import pytest
import trio


async def test_uses_the_mock_server(mock_server):
    await trio.sleep(0)
    assert mock_server.port > 0


@pytest.fixture
async def my_agent(mock_model):
    await trio.sleep(0)
    yield mock_model.workdir


async def test_uses_it_through_an_async_fixture(my_agent):
    await trio.sleep(0)
    assert my_agent.exists()


@pytest.mark.trio
async def test_already_marked(mock_server):
    await trio.sleep(0)


async def test_unrelated_async_test_is_left_alone():
    pass
"""


@pytest.mark.parametrize("trio_mode", [False, True])
async def test_plugin_runs_tests_using_its_fixtures_under_trio_without_trio_mode(
    tmp_path: Path, trio_mode: bool
) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["codex_trio.testing.pytest_plugin"]\n')
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + ("trio_mode = true\n" if trio_mode else ""))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    with trio.fail_after(120):
        done = await trio.run_process(
            [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"],
            cwd=tmp_path,
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    out = done.stdout.decode()
    for name in ("uses_the_mock_server", "uses_it_through_an_async_fixture", "already_marked"):
        assert f"PASSED test_user.py::test_{name}" in out, out
    # Without trio_mode, an async test that uses none of the plugin's fixtures is not ours to
    # claim (it may be an asyncio test): pytest fails it as unsupported, as before.
    unrelated = "test_user.py::test_unrelated_async_test_is_left_alone"
    assert (f"PASSED {unrelated}" if trio_mode else f"FAILED {unrelated}") in out, out
