"""A private CODEX_HOME (codex_trio._home): made, seeded, handed to codex through the options'
environment, removed. No codex process here; the real binary's side is in
tests/api/test_codex_home_real_codex.py and tests/integration/test_runtime_codex_home.py."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import trio

import codex_trio
from codex_trio import CodexOptions, ConfigurationError
from codex_trio._home import (
    HOME_DIR_MODE,
    HOME_FILE_MODE,
    PrivateCodexHome,
    open_private_home,
    user_codex_home,
    with_private_home,
)
from tests.home_helpers import isolated_homes, mode, temp_root

__all__ = ["temp_root"]  # the fixture, used by name

TOKEN = "sk-test-token-in-auth-json-0123456789"


def user_home(root: Path) -> Path:
    """A user's CODEX_HOME with everything codex keeps there, config and auth mode 0644."""
    home = root / "user-codex"
    (home / "sessions" / "2026" / "12" / "01").mkdir(parents=True)
    (home / "sessions" / "2026" / "12" / "01" / "rollout-x.jsonl").write_text("{}\n")
    (home / "shell_snapshots").mkdir()
    (home / "shell_snapshots" / "t.1.sh").write_text(f"declare -x CODEX_API_KEY={TOKEN}\n")
    (home / "log").mkdir()
    (home / "log" / "codex-tui.log").write_text("log\n")
    (home / "state_5.sqlite").write_bytes(b"SQLite format 3\0")
    (home / "logs_2.sqlite").write_bytes(b"SQLite format 3\0")
    (home / "AGENTS.md").write_text("instructions\n")
    (home / "config.toml").write_text('model = "gpt-5.5"\n')
    (home / "auth.json").write_text(f'{{"OPENAI_API_KEY": "{TOKEN}"}}\n')
    for name in ("config.toml", "auth.json"):
        os.chmod(home / name, 0o644)
    return home


# --- isolated ------------------------------------------------------------------------------------


def test_isolated_home_is_a_private_temp_dir_removed_by_close(temp_root: Path) -> None:
    home = open_private_home("isolated")
    assert home.isolated and home.path.parent == temp_root.resolve()
    assert mode(home.path) == HOME_DIR_MODE
    assert list(home.path.iterdir()) == [] and home.seeded == () and home.fresh
    (home.path / "sessions").mkdir()
    (home.path / "sessions" / "rollout.jsonl").write_text("{}\n")
    ro = home.path / ".tmp" / "git" / "objects"
    ro.mkdir(parents=True)
    (ro / "pack").write_text("x")
    os.chmod(ro, 0o500)  # read-only directories (git objects) are removed too
    home.close()
    assert home.closed and not home.path.exists()
    home.close()  # idempotent
    with pytest.raises(trio.ClosedResourceError, match="removed"):
        home.check_open()


def test_isolated_home_never_closed_goes_with_its_object(temp_root: Path) -> None:
    home = open_private_home("isolated")
    path = home.path
    del home
    gc.collect()
    assert not path.exists()


def test_codex_never_closed_leaves_no_temp_dir_at_interpreter_exit(tmp_path: Path) -> None:
    # A Codex on exec made and dropped without `async with`, kept alive to the end (a module
    # global): the interpreter's exit removes the home.
    code = (
        "import tempfile, codex_trio\n"
        f"tempfile.tempdir = {str(tmp_path)!r}\n"
        "codex = codex_trio.Codex(codex_home='isolated')\n"
        "print(codex.codex_home.path, flush=True)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    path = Path(out.strip())
    assert path.parent == tmp_path.resolve()
    assert not path.exists() and isolated_homes(tmp_path) == []


# --- a path ------------------------------------------------------------------------------------


def test_path_home_is_created_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "home"
    home = open_private_home(path)
    assert not home.isolated and home.path == path.resolve()
    assert mode(path) == HOME_DIR_MODE
    home.close()
    assert path.is_dir() and not home.closed
    home.check_open()  # a path home stays usable


def test_existing_path_home_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "home"
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)
    (path / "keep").write_text("x")
    home = open_private_home(str(path))
    assert mode(path) == HOME_DIR_MODE and (path / "keep").read_text() == "x"
    assert home.path == path.resolve()


def test_symlinked_path_home_is_resolved(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    home = open_private_home(link)
    assert home.path == target.resolve() and mode(target) == HOME_DIR_MODE


@pytest.mark.parametrize("bad", ["", 3, None])
def test_bad_codex_home_is_a_configuration_error(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="codex_home must be"):
        open_private_home(bad)  # type: ignore[arg-type]


def test_codex_home_on_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ConfigurationError, match="not a directory"):
        open_private_home(file)
    with pytest.raises(ConfigurationError, match="cannot make it a private directory"):
        open_private_home(file / "below")


# --- seeding -----------------------------------------------------------------------------------


def test_seed_copies_config_and_auth_only_as_0600(
    temp_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = user_home(tmp_path)
    caplog.set_level(logging.DEBUG)
    home = open_private_home("isolated", ("config", "auth"), env={"CODEX_HOME": str(source)})
    try:
        assert home.seeded == ("config", "auth") and home.source == source
        assert sorted(p.name for p in home.path.iterdir()) == ["auth.json", "config.toml"]
        for name in ("config.toml", "auth.json"):
            assert (home.path / name).read_bytes() == (source / name).read_bytes()
            assert mode(home.path / name) == HOME_FILE_MODE
            assert mode(source / name) == 0o644  # the user's files are left as they were
        assert home.fresh  # no SQLite came along
        assert TOKEN not in caplog.text
    finally:
        home.close()


def test_seed_source_is_home_dot_codex_without_codex_home(temp_root: Path, tmp_path: Path) -> None:
    user = tmp_path / "user"
    (user / ".codex").mkdir(parents=True)
    (user / ".codex" / "config.toml").write_text("model = 'x'\n")
    env = {"HOME": str(user)}
    assert user_codex_home(env) == user / ".codex"
    home = open_private_home("isolated", "config", env=env)  # one name as a string
    try:
        assert home.seeded == ("config",) and (home.path / "config.toml").exists()
    finally:
        home.close()


def test_seed_skips_a_missing_file(
    temp_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "user"
    source.mkdir()
    (source / "config.toml").write_text("x = 1\n")
    caplog.set_level(logging.INFO)
    home = open_private_home("isolated", ("config", "auth"), env={"CODEX_HOME": str(source)})
    try:
        assert home.seeded == ("config",)
        assert not (home.path / "auth.json").exists()
        assert [getattr(r, "file", None) for r in caplog.records] == ["auth.json"]
    finally:
        home.close()


def test_seed_replaces_a_path_homes_file_as_0600(tmp_path: Path) -> None:
    source = user_home(tmp_path)
    path = tmp_path / "private"
    path.mkdir()
    (path / "config.toml").write_text("old = true\n")
    os.chmod(path / "config.toml", 0o644)
    old_umask = os.umask(0)  # a permissive umask changes nothing
    try:
        open_private_home(path, ("config",), env={"CODEX_HOME": str(source)})
    finally:
        os.umask(old_umask)
    assert (path / "config.toml").read_text() == 'model = "gpt-5.5"\n'
    assert mode(path / "config.toml") == HOME_FILE_MODE
    assert sorted(p.name for p in path.iterdir()) == ["config.toml"]  # no temp file left


def test_seeding_the_users_own_home_copies_nothing(tmp_path: Path) -> None:
    source = user_home(tmp_path)
    before = (source / "auth.json").read_bytes()
    home = open_private_home(source, ("auth",), env={"CODEX_HOME": str(source)})
    assert home.seeded == ("auth",) and (source / "auth.json").read_bytes() == before


def test_unknown_seed_is_a_configuration_error(temp_root: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown item 'sessions'"):
        open_private_home("isolated", ("config", "sessions"))


def test_a_failed_seed_leaves_no_isolated_home(temp_root: Path, tmp_path: Path) -> None:
    source = tmp_path / "user"
    (source / "config.toml").mkdir(parents=True)  # a directory: cannot be read as a file
    with pytest.raises(ConfigurationError, match=r"cannot copy config\.toml"):
        open_private_home("isolated", "config", env={"CODEX_HOME": str(source)})


# --- the environment -----------------------------------------------------------------------------


def test_options_env_points_codex_at_the_home(temp_root: Path) -> None:
    base = {"PATH": "/bin", "CODEX_HOME": "/elsewhere", "CODEX_SQLITE_HOME": "/shared", "K": "v"}
    options, home = with_private_home(CodexOptions(env=base), "isolated")
    assert home is not None
    try:
        assert dict(options.env or {}) == {"PATH": "/bin", "K": "v", "CODEX_HOME": str(home.path)}
        assert base["CODEX_HOME"] == "/elsewhere"  # the caller's mapping is not touched
    finally:
        home.close()


def test_options_env_defaults_to_the_process_environment_and_hides_values(
    temp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_TRIO_TEST_SECRET_TOKEN", TOKEN)
    options, home = with_private_home(CodexOptions(), "isolated")
    assert home is not None and options.env is not None
    try:
        assert options.env["CODEX_TRIO_TEST_SECRET_TOKEN"] == TOKEN
        assert options.env["PATH"] == os.environ["PATH"]
        assert TOKEN not in repr(options) and "CODEX_TRIO_TEST_SECRET_TOKEN" in repr(options)
        assert str(home.path) in repr(options)
    finally:
        home.close()


def test_no_codex_home_changes_nothing() -> None:
    options = CodexOptions()
    assert with_private_home(options, None) == (options, None)
    with pytest.raises(ConfigurationError, match="codex_home_seed needs codex_home"):
        with_private_home(options, None, ("config",))


def test_remote_app_server_refuses_codex_home(temp_root: Path) -> None:
    with pytest.raises(ConfigurationError, match="remote app-server"):
        codex_trio.Codex(transport="app-server", url="ws://127.0.0.1:1", codex_home="isolated")
    with pytest.raises(ConfigurationError, match="remote app-server"):
        codex_trio.Runtime(transport="app-server", url="ws://127.0.0.1:1", codex_home="isolated")


def test_codex_and_runtime_take_codex_home(temp_root: Path, tmp_path: Path) -> None:
    source = user_home(tmp_path)
    env = {**os.environ, "CODEX_HOME": str(source)}
    codex = codex_trio.Codex(env=env, codex_home="isolated", codex_home_seed=("config",))
    runtime = codex_trio.Runtime(env=env, codex_home=tmp_path / "kept")
    assert isinstance(codex.codex_home, PrivateCodexHome)
    assert codex.options.env is not None
    assert codex.options.env["CODEX_HOME"] == str(codex.codex_home.path)
    assert codex.codex_home.seeded == ("config",)
    assert runtime.codex_home is not None and runtime.options.env is not None
    assert runtime.options.env["CODEX_HOME"] == str((tmp_path / "kept").resolve())
    assert codex_trio.Codex().codex_home is None
    path = codex.codex_home.path
    del codex
    gc.collect()
    assert not path.exists()


async def test_codex_aclose_removes_the_home_and_refuses_turns(temp_root: Path) -> None:
    codex = codex_trio.Codex(codex_home="isolated")
    assert codex.codex_home is not None
    await codex.aclose()
    assert codex.codex_home.closed and not codex.codex_home.path.exists()
    await codex.aclose()  # idempotent
    with pytest.raises(trio.ClosedResourceError):
        await codex.start_thread().run("hi")
    with pytest.raises(trio.ClosedResourceError):
        async with codex:
            pass


async def test_runtime_entered_after_close_is_refused(temp_root: Path) -> None:
    runtime = codex_trio.Runtime(codex_home="isolated")
    assert runtime.codex_home is not None
    runtime.codex_home.close()
    with pytest.raises(trio.ClosedResourceError):
        async with runtime:
            pass


def test_tempdir_is_not_the_system_one(temp_root: Path) -> None:
    # The fixture works: isolated homes of these tests are checked for leftovers.
    assert tempfile.gettempdir() == str(temp_root)


# --- the warm-up (a fake codex records its calls; the real binary's warm-up is tested in
# tests/api/test_codex_home_real_codex.py) -----------------------------------------------------

RECORDER = """
record = {"argv": sys.argv[1:], "cwd": os.getcwd(), "home": os.environ.get("CODEX_HOME"),
          "stdin": sys.stdin.read()}
with open(os.environ["FAKE_RECORD"], "a") as f:
    f.write(json.dumps(record) + "\\n")
time.sleep(0.2)  # long enough for concurrent callers to pile up behind the first
if os.environ.get("FAKE_CREATE"):
    open(os.path.join(os.environ["CODEX_HOME"], "state_5.sqlite"), "wb").close()
print("stderr line, key", os.environ.get("CODEX_API_KEY"), file=sys.stderr)
"""


def recorder(tmp_path: Path, *, create: bool) -> tuple[str, Path, dict[str, str]]:
    from tests.fakes import fake_codex

    record = tmp_path / "record.jsonl"
    env = {**os.environ, "FAKE_RECORD": str(record)}
    if create:
        env["FAKE_CREATE"] = "1"
    return fake_codex(tmp_path, RECORDER), record, env


def calls(record: Path) -> list[dict[str, object]]:
    import json

    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


async def test_warm_up_starts_one_app_server_in_the_home_for_concurrent_callers(
    temp_root: Path, tmp_path: Path
) -> None:
    binary, record, env = recorder(tmp_path, create=True)
    options, home = with_private_home(CodexOptions(codex_path=binary, env=env), "isolated")
    assert home is not None
    try:
        results: list[bool] = []

        async def warm() -> None:
            results.append(await home.warm(options))

        async with trio.open_nursery() as nursery:
            for _ in range(8):
                nursery.start_soon(warm)
        assert sorted(results) == [False] * 7 + [True]
        [call] = calls(record)
        assert call["argv"][:1] == ["app-server"]  # type: ignore[index]
        assert "features.shell_snapshot=false" in call["argv"]  # type: ignore[operator]
        assert call["home"] == str(home.path) and call["cwd"] == str(home.path)
        assert call["stdin"] == ""
        assert not home.fresh
        assert await home.warm(options) is False and len(calls(record)) == 1
    finally:
        home.close()


async def test_a_home_with_a_state_database_is_not_warmed(tmp_path: Path) -> None:
    binary, record, env = recorder(tmp_path, create=True)
    path = tmp_path / "home"
    path.mkdir()
    (path / "state_5.sqlite").write_bytes(b"")
    options, home = with_private_home(CodexOptions(codex_path=binary, env=env), path)
    assert home is not None and not home.fresh
    assert await home.warm(options) is False
    assert calls(record) == []


async def test_a_warm_up_that_creates_nothing_warns_once_and_carries_on(
    temp_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    binary, record, env = recorder(tmp_path, create=False)
    codex_options = CodexOptions(codex_path=binary, env=env, api_key=TOKEN)
    options, home = with_private_home(codex_options, "isolated")
    assert home is not None
    caplog.set_level(logging.WARNING)
    try:
        assert await home.warm(options) is True
        assert home.fresh
        [warning] = [r for r in caplog.records if r.getMessage() == "codex_home.warm_failed"]
        assert getattr(warning, "returncode", None) == 0
        tail = getattr(warning, "stderr_tail", "")
        assert "stderr line, key" in tail and TOKEN not in tail and TOKEN not in caplog.text
        assert await home.warm(options) is False  # not retried on every turn
        assert len(calls(record)) == 1
    finally:
        home.close()
