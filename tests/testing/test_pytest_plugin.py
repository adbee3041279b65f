"""The pytest plugin's fixtures, as a user's test sees them."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

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
