"""write_codex_home: the config codex reads, and the environment it needs."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from codex_trio.testing import DEFAULT_ENV_KEY, write_codex_home
from codex_trio.testing._codex_home import toml_dumps
from codex_trio.testing._model_catalog import committed_catalog


def test_config_declares_the_mock_provider_without_retries(tmp_path: Path) -> None:
    home = write_codex_home(tmp_path, base_url="http://127.0.0.1:1234/v1")
    config = tomllib.loads(home.config_path.read_text())
    assert config["model_provider"] == "mock"
    assert config["model"] == "mock-model"
    assert config["model_providers"]["mock"] == {
        "name": "codex-trio mock",
        "base_url": "http://127.0.0.1:1234/v1",
        "wire_api": "responses",
        "env_key": DEFAULT_ENV_KEY,
        "request_max_retries": 0,
        "stream_max_retries": 0,
        "stream_idle_timeout_ms": 5000,
    }


def test_catalogue_names_the_mock_model_with_the_binarys_entry(tmp_path: Path) -> None:
    home = write_codex_home(tmp_path, base_url="http://x/v1", model="my-model")
    config = tomllib.loads(home.config_path.read_text())
    assert Path(config["model_catalog_json"]) == home.catalog_path
    models = json.loads(home.catalog_path.read_text())["models"]
    source = committed_catalog()["entry"]
    assert [m["slug"] for m in models] == ["my-model"]
    assert models[0]["base_instructions"] == source["base_instructions"]
    assert models[0]["apply_patch_tool_type"] == "freeform"


def test_unknown_model_option_writes_no_catalogue(tmp_path: Path) -> None:
    home = write_codex_home(tmp_path, base_url="http://x/v1", known_model=False)
    assert "model_catalog_json" not in tomllib.loads(home.config_path.read_text())


def test_env_has_codex_home_and_dummy_key_and_environ_drops_real_credentials(
    tmp_path: Path,
) -> None:
    home = write_codex_home(tmp_path, base_url="http://x/v1", env_key="MY_KEY")
    assert dict(home.env) == {
        "CODEX_HOME": str(tmp_path.resolve()),
        "MY_KEY": home.env["MY_KEY"],
        "HOME": str((tmp_path / "home").resolve()),
    }
    assert (tmp_path / "home").is_dir() and not any((tmp_path / "home").iterdir())
    env = home.environ({"PATH": "/bin", "OPENAI_API_KEY": "sk-real", "OPENAI_BASE_URL": "u"})
    assert env["PATH"] == "/bin" and env["CODEX_HOME"] == str(tmp_path.resolve())
    assert "OPENAI_API_KEY" not in env and "OPENAI_BASE_URL" not in env


def test_update_plan_and_extra_config_merge_into_nested_tables(tmp_path: Path) -> None:
    home = write_codex_home(
        tmp_path,
        base_url="http://x/v1",
        update_plan=True,
        extra_config={
            "approval_policy": "on-request",
            "model_providers": {"mock": {"stream_idle_timeout_ms": 250}},
            "mcp_servers": {"echo": {"command": "python", "args": ["-m", "x"]}},
        },
    )
    config = tomllib.loads(home.config_path.read_text())
    assert config["tools"] == {"update_plan": {"enabled": True}}
    assert config["approval_policy"] == "on-request"
    assert config["model_providers"]["mock"]["stream_idle_timeout_ms"] == 250
    assert config["model_providers"]["mock"]["wire_api"] == "responses"
    assert config["mcp_servers"]["echo"]["args"] == ["-m", "x"]


_keys = st.text(min_size=1, max_size=8)
_scalars = (
    st.text(max_size=20)
    | st.integers(-(10**12), 10**12)
    | st.booleans()
    | st.floats(allow_nan=False)
)
_values = st.recursive(
    _scalars | st.lists(_scalars, max_size=3),
    lambda inner: st.dictionaries(_keys, inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(_keys, _values, max_size=4))
def test_toml_dumps_round_trips_through_tomllib(config: dict[str, Any]) -> None:
    parsed = tomllib.loads(toml_dumps(config))
    assert _normalise(parsed) == _normalise(config)


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return str(value)
    return value


def test_home_is_left_alone_when_not_isolated(tmp_path: Path) -> None:
    home = write_codex_home(tmp_path, base_url="http://x/v1", isolate_home=False)
    assert "HOME" not in home.env
