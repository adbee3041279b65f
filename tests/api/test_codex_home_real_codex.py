"""A private CODEX_HOME on a Codex, against the real codex binary and the mock model.

The mock's own CODEX_HOME plays the user's: seeded from it, the private home still points codex
at the mock (its config.toml is copied), and everything codex writes goes to the private home."""

from __future__ import annotations

import gc
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio._home import HOME_DIR_MODE, HOME_FILE_MODE, PrivateCodexHome
from codex_trio.testing import MockModel, Script, message
from tests.fakes import children_of_self, open_fds
from tests.home_helpers import mode, temp_root

__all__ = ["temp_root"]  # the fixture, used by name

HANG_GUARD = 120  # seconds; a guard against a hang, not a timing assertion
N = 8


def thread_defaults(mock_model: MockModel) -> dict[str, Any]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}


def rollouts(home: Path) -> list[Path]:
    return sorted(home.glob("sessions/**/rollout-*.jsonl"))


def state_rows(home: Path) -> set[str]:
    db = sqlite3.connect(home / "state_5.sqlite")
    try:
        return {row[0] for row in db.execute("select id from threads")}
    finally:
        db.close()


@pytest.mark.parametrize("transport", ["exec", "app-server"])
async def test_seeded_isolated_home_runs_on_the_mock_and_leaves_the_users_home_alone(
    mock_model: MockModel, temp_root: Path, transport: str
) -> None:
    mock_model.script = [message("from the private home")]
    user_home = mock_model.home.path
    before = sorted(p.relative_to(user_home) for p in user_home.rglob("*"))
    with trio.fail_after(HANG_GUARD):
        async with codex_trio.Codex(
            transport=transport,  # type: ignore[arg-type]
            env=mock_model.env,
            codex_home="isolated",
            codex_home_seed=("config", "auth"),
            thread_defaults=thread_defaults(mock_model),
        ) as codex:
            home = codex.codex_home
            assert isinstance(home, PrivateCodexHome) and home.source == user_home
            assert home.seeded == ("config",)  # the mock's home has no auth.json
            thread = codex.start_thread()
            result = await thread.run("hello")
            assert result.final_response == "from the private home"
            assert mock_model.requests[-1].input_texts()[-1] == "hello"  # the mock got it
            [rollout] = rollouts(home.path)
            assert thread.id is not None and thread.id in rollout.name
            listed = [t.id async for t in codex.list_threads()]
            assert listed == [thread.id]
            # Private: the home 0700, the seeded config 0600; what codex writes itself (0644
            # files) is out of other users' reach because the directory is.
            assert mode(home.path) == HOME_DIR_MODE
            assert mode(home.path / "config.toml") == HOME_FILE_MODE
            assert mode(home.path / "state_5.sqlite") & 0o077 != 0  # codex's own mode...
            assert not mode(home.path) & 0o077  # ...behind a directory only its owner enters
    assert not home.path.exists()
    after = sorted(p.relative_to(user_home) for p in user_home.rglob("*"))
    assert after == before and not (user_home / "sessions").exists()


async def test_codex_used_without_async_with_leaves_no_temp_dir(
    mock_model: MockModel, temp_root: Path
) -> None:
    mock_model.script = [message("one"), message("two")]
    fds = open_fds()
    with trio.fail_after(HANG_GUARD):
        codex = codex_trio.Codex(
            env=mock_model.env,
            codex_home="isolated",
            codex_home_seed="config",
            thread_defaults=thread_defaults(mock_model),
        )
        assert codex.codex_home is not None
        path = codex.codex_home.path
        thread = codex.start_thread()
        await thread.run("first")
        await thread.run("second")
        assert len(rollouts(path)) == 1 and state_rows(path) == {thread.id}
    assert children_of_self() == []
    del codex, thread
    gc.collect()
    assert not path.exists()
    assert open_fds() == fds


async def test_aclose_removes_the_home_and_later_turns_start_no_process(
    mock_model: MockModel, temp_root: Path
) -> None:
    mock_model.script = [message("one")]
    with trio.fail_after(HANG_GUARD):
        codex = codex_trio.Codex(
            env=mock_model.env,
            codex_home="isolated",
            codex_home_seed="config",
            thread_defaults=thread_defaults(mock_model),
        )
        thread = codex.start_thread()
        await thread.run("first")
        await codex.aclose()
        assert codex.codex_home is not None and not codex.codex_home.path.exists()
        with pytest.raises(trio.ClosedResourceError):
            await thread.run("second")
        with pytest.raises(trio.ClosedResourceError):
            [t async for t in codex.list_threads()]
    assert len(mock_model.requests) == 1


async def test_path_home_is_kept_and_a_later_codex_resumes_there(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("one"), message("two")]
    path = tmp_path / "agent-home"
    options: dict[str, Any] = {
        "env": mock_model.env,
        "codex_home": path,
        "codex_home_seed": ("config",),
        "thread_defaults": thread_defaults(mock_model),
    }
    with trio.fail_after(HANG_GUARD):
        async with codex_trio.Codex(**options) as codex:
            thread = codex.start_thread()
            await thread.run("first")
        assert thread.id is not None and len(rollouts(path)) == 1
        async with codex_trio.Codex(**options) as again:
            assert [t.id async for t in again.list_threads()] == [thread.id]
            await again.resume_thread(thread.id).run("second")
    assert "first" in mock_model.requests[-1].input_texts()  # history came along
    assert mode(path) == HOME_DIR_MODE and not (mock_model.home.path / "sessions").exists()


async def test_fresh_home_is_warmed_without_calling_the_model(
    mock_model: MockModel, temp_root: Path
) -> None:
    with trio.fail_after(HANG_GUARD):
        async with codex_trio.Codex(
            env=mock_model.env, codex_home="isolated", codex_home_seed="config"
        ) as codex:
            assert codex.codex_home is not None
            assert not codex.codex_home.fresh
            assert (codex.codex_home.path / "state_5.sqlite").exists()
            assert state_rows(codex.codex_home.path) == set()
            assert children_of_self() == []  # the warm-up process is gone
    assert mock_model.requests == []


async def test_concurrent_first_turns_on_a_fresh_isolated_home_are_all_listed(
    mock_model: MockModel, temp_root: Path
) -> None:
    # codex 0.163 on a fresh home: N concurrent first `codex exec` runs lose thread rows in
    # state_5.sqlite (seen: 1-7 of 8) unless one start created the files first, and a
    # search-term listing misses those threads. Here the first turns warm the home once (no
    # `async with`: the Codex's turns do it).
    mock_model.script = Script.replying(lambda request: message("ok"))
    with trio.fail_after(HANG_GUARD):
        codex = codex_trio.Codex(
            env=mock_model.env,
            codex_home="isolated",
            codex_home_seed="config",
            thread_defaults=thread_defaults(mock_model),
        )
        assert codex.codex_home is not None and codex.codex_home.fresh
        try:
            threads = [codex.start_thread() for _ in range(N)]
            async with trio.open_nursery() as nursery:
                for i, thread in enumerate(threads):
                    nursery.start_soon(thread.run, f"hello {i}")
            ids = {t.id for t in threads}
            assert None not in ids and len(ids) == N
            assert state_rows(codex.codex_home.path) == ids
            # A search reads the rows as they are; a plain listing also repairs missing ones
            # from the rollout files (codex 0.163), so it comes second.
            assert {t.id async for t in codex.list_threads(search_term="hello")} == ids
            assert {t.id async for t in codex.list_threads()} == ids
        finally:
            await codex.aclose()


def test_temp_root_is_private_to_the_test(temp_root: Path) -> None:
    assert os.listdir(temp_root) == []
