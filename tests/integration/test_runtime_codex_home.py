"""Runtime(codex_home=...) on the real binary and the mock model: the runtime's codex processes
run in a private CODEX_HOME, warmed before the first turn, removed (when isolated) at shutdown.

The mock's own CODEX_HOME plays the user's home, seeded from."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio._home import HOME_DIR_MODE, HOME_FILE_MODE
from codex_trio.testing import MockModel, Script, message
from tests.fakes import children_of_self, open_fds
from tests.home_helpers import mode, temp_root

__all__ = ["temp_root"]  # the fixture, used by name

pytestmark = pytest.mark.integration

HANG_GUARD = 120  # seconds; a guard against a hang, not a timing assertion
N = 8


def thread_options(mock_model: MockModel) -> dict[str, Any]:
    return {"working_directory": str(mock_model.workdir), "skip_git_repo_check": True}


def state_rows(home: Path) -> set[str]:
    db = sqlite3.connect(home / "state_5.sqlite")
    try:
        return {row[0] for row in db.execute("select id from threads")}
    finally:
        db.close()


async def test_concurrent_first_turns_on_a_fresh_isolated_home_are_all_listed(
    mock_model: MockModel, temp_root: Path
) -> None:
    # codex 0.163 on a fresh home: 8 concurrent first `codex exec` runs lose thread rows in
    # state_5.sqlite (1-7 of 8 seen), which a search-term listing then misses. The runtime warms
    # a fresh home in __aenter__, before it accepts any turn.
    mock_model.script = Script.replying(lambda request: message("ok"))
    fds = open_fds()
    with trio.fail_after(HANG_GUARD):
        async with codex_trio.Runtime(
            env=mock_model.env,
            codex_home="isolated",
            codex_home_seed=("config", "auth"),
            max_concurrent_turns=N,
        ) as runtime:
            home = runtime.codex_home
            assert home is not None and not home.fresh and mock_model.requests == []
            handles = [await runtime.start_thread(**thread_options(mock_model)) for _ in range(N)]
            async with trio.open_nursery() as nursery:
                for i, handle in enumerate(handles):
                    nursery.start_soon(handle.run, f"hello {i}")
            ids = {handle.id for handle in handles}
            assert None not in ids and len(ids) == N
            assert state_rows(home.path) == ids
            # Another Codex on the same home (the runtime's environment) sees them all: a search
            # (which reads the rows as they are) first, then a plain listing.
            reader = codex_trio.Codex(env=runtime.options.env)
            assert {t.id async for t in reader.list_threads(search_term="hello")} == ids
            assert {t.id async for t in reader.list_threads()} == ids
            assert mode(home.path) == HOME_DIR_MODE
            assert mode(home.path / "config.toml") == HOME_FILE_MODE
    assert not home.path.exists()
    assert not (mock_model.home.path / "sessions").exists()  # the user's home is untouched
    assert children_of_self() == []
    assert open_fds() == fds


async def test_runtime_on_app_server_runs_in_the_isolated_home(
    mock_model: MockModel, temp_root: Path
) -> None:
    mock_model.script = [message("one"), message("two")]
    with trio.fail_after(HANG_GUARD):
        async with codex_trio.Runtime(
            transport="app-server",
            env=mock_model.env,
            codex_home="isolated",
            codex_home_seed="config",
        ) as runtime:
            home = runtime.codex_home
            assert home is not None
            handle = await runtime.start_thread(**thread_options(mock_model))
            assert (await handle.run("first")).final_response == "one"
            assert (await handle.run("second")).final_response == "two"
            assert handle.id is not None
            [rollout] = home.path.glob("sessions/**/rollout-*.jsonl")
            assert handle.id in rollout.name
    assert "first" in mock_model.requests[-1].input_texts()
    assert not home.path.exists()
    assert not (mock_model.home.path / "sessions").exists()
    assert children_of_self() == []


async def test_runtime_path_home_is_kept_and_resumable(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("one"), message("two")]
    path = tmp_path / "runtime-home"
    options: dict[str, Any] = {
        "env": mock_model.env,
        "codex_home": path,
        "codex_home_seed": "config",
    }
    with trio.fail_after(HANG_GUARD):
        async with codex_trio.Runtime(**options) as runtime:
            handle = await runtime.start_thread(**thread_options(mock_model))
            await handle.run("first")
            thread_id = handle.id
        assert thread_id is not None and state_rows(path) == {thread_id}
        async with codex_trio.Runtime(**options) as runtime:  # warm already: no warm-up
            again = await runtime.resume_thread(thread_id, **thread_options(mock_model))
            await again.run("second")
    assert "first" in mock_model.requests[-1].input_texts()
    assert mode(path) == HOME_DIR_MODE


async def test_runtime_closed_by_aclose_removes_the_home_and_is_not_reentered(
    mock_model: MockModel, temp_root: Path
) -> None:
    mock_model.script = [message("one")]
    with trio.fail_after(HANG_GUARD):
        runtime = codex_trio.Runtime(
            env=mock_model.env, codex_home="isolated", codex_home_seed="config"
        )
        async with runtime:
            handle = await runtime.start_thread(**thread_options(mock_model))
            await handle.run("first")
            assert runtime.codex_home is not None
            path = runtime.codex_home.path
            await runtime.aclose()  # every codex reaped, then the home removed
            assert not path.exists()
        with pytest.raises(trio.ClosedResourceError):
            async with runtime:
                pass
    assert len(mock_model.requests) == 1
    assert children_of_self() == []
