import os
from pathlib import Path

import codex_cli_bin
import pytest

from codex_trio._errors import CodexNotFoundError, CodexVersionError
from codex_trio._transport.discovery import ENV_VAR, check_version, find_codex, parse_version
from tests.fakes import fake_codex


def test_explicit_path_wins_over_everything(tmp_path: Path) -> None:
    codex = fake_codex(tmp_path, "")
    other = fake_codex(tmp_path, "", name="other")
    assert find_codex(codex, env={ENV_VAR: other, "PATH": ""}) == codex


def test_env_var_comes_before_the_bundled_binary(tmp_path: Path) -> None:
    other = fake_codex(tmp_path, "", name="other")
    assert find_codex(None, env={ENV_VAR: other}) == other


def test_bundled_wheel_binary_is_found_by_default() -> None:
    assert find_codex(None, env={"PATH": ""}) == str(codex_cli_bin.bundled_codex_path())


def test_path_is_the_last_resort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_codex(tmp_path, "")
    monkeypatch.setattr(codex_cli_bin, "bundled_codex_path", lambda: tmp_path / "absent" / "codex")
    assert find_codex(None, env={"PATH": str(tmp_path)}) == str(tmp_path / "codex")


def test_nothing_found_lists_every_place_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codex_cli_bin, "bundled_codex_path", lambda: tmp_path / "absent" / "codex")
    with pytest.raises(CodexNotFoundError) as info:
        find_codex(None, env={"PATH": str(tmp_path / "empty")})
    text = str(info.value)
    for place in ("codex_path option", ENV_VAR, "bundled wheel", "PATH"):
        assert place in text
    assert len(info.value.tried) == 4


def test_wrong_explicit_path_is_an_error_not_a_fall_through(tmp_path: Path) -> None:
    with pytest.raises(CodexNotFoundError, match="does not exist"):
        find_codex(tmp_path / "nope", env={})
    plain = tmp_path / "plain"
    plain.write_text("not executable")
    with pytest.raises(CodexNotFoundError, match="not executable"):
        find_codex(None, env={ENV_VAR: str(plain)})


def test_parse_version() -> None:
    assert parse_version("codex-cli 0.163.0\n") == (0, 163, 0)
    assert parse_version("nothing here") is None


async def test_the_pinned_binary_has_a_supported_version() -> None:
    assert await check_version(str(codex_cli_bin.bundled_codex_path())) == "0.163.0"


async def test_unsupported_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old"
    path.write_text("#!/bin/sh\necho 'codex-cli 0.99.1'\n")
    path.chmod(0o755)
    with pytest.raises(CodexVersionError, match=r"0\.99\.1 .* not supported") as info:
        await check_version(str(path))
    assert info.value.version == "0.99.1"


async def test_binary_without_a_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mute"
    path.write_text("#!/bin/sh\nexit 3\n")
    path.chmod(0o755)
    with pytest.raises(CodexVersionError, match="did not print a version"):
        await check_version(str(path))
    assert os.path.exists(path)
