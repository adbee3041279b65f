"""A CODEX_HOME that points the real ``codex`` binary at the mock model.

:func:`write_codex_home` writes ``config.toml`` (a ``mock`` model provider using the Responses
API at the mock server's ``base_url``, no retries, a short stream idle timeout) and a model
catalogue that makes the mock model a model codex knows, and returns a :class:`CodexHome` holding
the environment a codex process needs.

Why each setting (observed with codex 0.163):

* ``request_max_retries = 0`` and ``stream_max_retries = 0``: an HTTP error or a dropped stream
  fails the turn at once, instead of after several back-off retries;
* ``stream_idle_timeout_ms``: a stream that stalls after it began (a ``hold()`` never released)
  fails after this long rather than after the default five minutes. A request never answered at
  all (``hang()``) is not covered: codex waits for it, so the caller needs a deadline;
* ``model_catalog_json``: without a catalogue entry codex adds a "Model metadata ... not found"
  warning item to every turn and does not offer ``apply_patch``;
* ``[analytics] enabled = false``: an offline test has no business reporting usage analytics.

What it cannot do: a server that is not listening is *not* covered by ``request_max_retries``;
codex then retries the connection without end, so a caller always needs a deadline.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from codex_trio._protocol.toml import toml_key, toml_value
from codex_trio.testing._model_catalog import catalog_for

__all__ = ["DEFAULT_API_KEY", "DEFAULT_ENV_KEY", "CodexHome", "toml_dumps", "write_codex_home"]

DEFAULT_ENV_KEY = "CODEX_TRIO_MOCK_API_KEY"
DEFAULT_API_KEY = "mock-key-not-a-secret"
"""The dummy key given to codex; the mock accepts any key."""

PROVIDER_ID = "mock"


@attrs.frozen(kw_only=True)
class CodexHome:
    """A CODEX_HOME written by :func:`write_codex_home`.

    ``env`` holds only what codex needs on top of a normal environment (``CODEX_HOME`` and the
    provider's key variable); :meth:`environ` merges it into a full environment for
    ``trio.run_process(..., env=...)``.
    """

    path: Path
    config_path: Path
    catalog_path: Path
    model: str
    base_url: str
    env_key: str
    env: Mapping[str, str]

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: ``os.environ``) with :attr:`env` on top.

        Variables of the real OpenAI setup (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``,
        ``CODEX_API_KEY``) are dropped so that a developer's own credentials never reach codex
        during a test.
        """
        merged = dict(os.environ if base is None else base)
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_API_KEY"):
            merged.pop(name, None)
        merged.update(self.env)
        return merged


def write_codex_home(
    path: str | os.PathLike[str],
    *,
    base_url: str,
    env_key: str = DEFAULT_ENV_KEY,
    api_key: str = DEFAULT_API_KEY,
    model: str = "mock-model",
    stream_idle_timeout_ms: int = 5_000,
    update_plan: bool = False,
    known_model: bool = True,
    extra_config: Mapping[str, Any] | None = None,
    isolate_home: bool = True,
) -> CodexHome:
    """Write ``config.toml`` (and a model catalogue) into ``path`` and describe the result.

    ``path`` is created if needed; an existing ``config.toml`` there is overwritten. ``base_url``
    is the mock's :attr:`~codex_trio.testing.MockResponsesServer.base_url`. ``update_plan=True``
    enables codex's ``update_plan`` tool (``[tools.update_plan] enabled = true``), which codex
    0.163 does not offer by default. ``known_model=False`` skips the catalogue, to reproduce what
    codex does with a model it has never heard of. ``extra_config`` is merged into the config
    (nested tables merge key by key; a value given here wins), e.g.
    ``{"approval_policy": "on-request", "mcp_servers": {"echo": {"command": "..."}}}``.

    ``isolate_home`` (default) also gives codex an empty ``HOME`` inside ``path``: codex runs
    commands in a snapshot of the user's login shell, so without it whatever ``~/.bashrc``
    prints (pyenv's warnings, seen here) lands in the command output and tests stop being
    deterministic.
    """
    home = Path(path)
    home.mkdir(parents=True, exist_ok=True)
    catalog_path = home / "model_catalog.json"
    config: dict[str, Any] = {
        "model": model,
        "model_provider": PROVIDER_ID,
        # Offline runs must not try to send usage analytics anywhere.
        "analytics": {"enabled": False},
        "model_providers": {
            PROVIDER_ID: {
                "name": "codex-trio mock",
                "base_url": base_url,
                "wire_api": "responses",
                "env_key": env_key,
                "request_max_retries": 0,
                "stream_max_retries": 0,
                "stream_idle_timeout_ms": stream_idle_timeout_ms,
            }
        },
    }
    if known_model:
        catalog_path.write_text(json.dumps(catalog_for(model)), encoding="utf-8")
        config["model_catalog_json"] = str(catalog_path.resolve())
    if update_plan:
        config["tools"] = {"update_plan": {"enabled": True}}
    if extra_config:
        config = _merge(config, extra_config)
    config_path = home / "config.toml"
    config_path.write_text(toml_dumps(config), encoding="utf-8")
    env = {"CODEX_HOME": str(home.resolve()), env_key: api_key}
    if isolate_home:
        user_home = home / "home"
        user_home.mkdir(exist_ok=True)
        env["HOME"] = str(user_home.resolve())
    return CodexHome(
        path=home.resolve(),
        config_path=config_path.resolve(),
        catalog_path=catalog_path.resolve(),
        model=model,
        base_url=base_url,
        env_key=env_key,
        env=env,
    )


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


# -- TOML documents, built from the value encoder codex's -c overrides use ---------------------


def toml_dumps(config: Mapping[str, Any]) -> str:
    """Serialise ``config`` as TOML: scalars first, then one ``[table]`` per nested mapping.

    Supports str, int, float, bool, lists, path-likes and nested mappings (lists of mappings
    become inline tables). Raises :class:`~codex_trio._errors.ConfigurationError` for anything
    else.
    """
    lines: list[str] = []
    _write_table(lines, (), config)
    return "\n".join(lines).lstrip("\n") + "\n"


def _write_table(lines: list[str], prefix: tuple[str, ...], table: Mapping[str, Any]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    if prefix and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(toml_key(p) for p in prefix) + "]")
    for key, value in scalars.items():
        lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, value in tables.items():
        _write_table(lines, (*prefix, key), value)
