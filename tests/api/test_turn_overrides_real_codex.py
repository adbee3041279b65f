"""Per-turn overrides (model, effort, summary, working directory, sandbox, approval policy) on
the real binary with the mock model, on both transports: the override reaches the model request
of that turn, and the next turn without overrides runs with the thread's settings again.

codex 0.163's app-server keeps turn/start overrides for the thread's later turns (its schema:
"for this turn and subsequent turns"); the SDK sends the thread's settings back on the next
turn, so both transports behave the same.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio import ConfigurationError
from codex_trio.testing import MockModel, RecordedRequest, message
from codex_trio.testing._model_catalog import catalog_for
from tests.conftest import AppServerSetup

TRANSPORTS = ["exec", "app-server"]
OTHER_MODEL = "mock-model-b"


def two_model_catalog(mock_model: MockModel, tmp_path: Path) -> None:
    """Make codex know a second mock model (as it knows the first), so a model override does
    not add a "model metadata not found" warning."""
    catalog = catalog_for(mock_model.home.model)
    other = copy.deepcopy(catalog["models"][0])
    other["slug"] = other["display_name"] = OTHER_MODEL
    catalog["models"].append(other)
    path = tmp_path / "two-models.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    mock_model.configure(extra_config={"model_catalog_json": str(path)})


@asynccontextmanager
async def thread_on(
    transport: str, mock_model: MockModel, **thread_options: Any
) -> AsyncIterator[codex_trio.Thread]:
    options = {
        "working_directory": str(mock_model.workdir),
        "skip_git_repo_check": True,
        **thread_options,
    }
    with trio.fail_after(120):
        if transport == "exec":
            yield codex_trio.Codex(env=mock_model.env).start_thread(**options)
        else:
            async with codex_trio.Codex(transport="app-server", env=mock_model.env) as codex:
                yield codex.start_thread(**options)


def turn_metadata(request: RecordedRequest) -> dict[str, Any]:
    metadata: dict[str, Any] = json.loads(request.body["client_metadata"]["x-codex-turn-metadata"])
    return metadata


def last_cwd(request: RecordedRequest) -> str:
    contexts = [t for t in request.input_texts() if "<environment_context>" in t]
    found = re.search(r"<cwd>(.*?)</cwd>", contexts[-1])
    assert found is not None
    return found.group(1)


def latest_permissions(request: RecordedRequest) -> str:
    """The newest ``<permissions instructions>`` message of the history: codex adds one when
    the turn's sandbox or approval policy differs from the previous turn's."""
    return [t for t in request.input_texts(None) if "<permissions instructions>" in t][-1]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_model_effort_and_summary_overrides_reach_that_turn_only(
    transport: str, mock_model: MockModel, tmp_path: Path
) -> None:
    two_model_catalog(mock_model, tmp_path)
    mock_model.script = [message("one"), message("two")]
    async with thread_on(transport, mock_model) as thread:
        await thread.run("first", model=OTHER_MODEL, effort="high", summary="detailed")
        await thread.run("second")
    overridden, after = mock_model.requests
    assert overridden.model == OTHER_MODEL
    assert overridden.body["reasoning"] == {"effort": "high", "summary": "detailed"}
    # Back to the thread's settings: the configured model and its default effort, no summary.
    assert after.model == mock_model.home.model
    assert after.body["reasoning"] == {"effort": "medium"}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sandbox_and_working_directory_overrides_reach_that_turn_only(
    transport: str, mock_model: MockModel
) -> None:
    sub = mock_model.workdir / "sub"
    sub.mkdir()
    mock_model.script = [message("one"), message("two")]
    async with thread_on(transport, mock_model, sandbox_mode="workspace-write") as thread:
        await thread.run("first", sandbox_mode="read-only", working_directory=sub)
        await thread.run("second")
    overridden, after = mock_model.requests
    assert turn_metadata(overridden)["sandbox_mode"] == "read-only"
    assert last_cwd(overridden) == str(sub)
    assert turn_metadata(after)["sandbox_mode"] == "workspace-write"
    assert last_cwd(after) == str(mock_model.workdir)


async def test_approval_policy_override_reaches_that_turn_only(
    app_server_setup: AppServerSetup, mock_model: MockModel
) -> None:
    # App-server only: codex exec 0.163 tells the model "Approval policy is currently never"
    # whatever approval_policy says (it has nobody to ask), so there is nothing to observe.
    mock_model.script = [message("one"), message("two")]
    async with app_server_setup.codex(thread={"approval_policy": "on-request"}) as (_, thread):
        await thread.run("first", approval_policy="never")
        await thread.run("second")
    overridden, after = mock_model.requests
    assert "Approval policy is currently never" in latest_permissions(overridden)
    assert latest_permissions(after) != latest_permissions(overridden)
    assert "Approval policy is currently never" not in latest_permissions(after)


async def test_the_runtime_thread_actor_takes_overrides_and_restores_the_thread(
    mock_model: MockModel, app_server_setup: AppServerSetup, tmp_path: Path
) -> None:
    two_model_catalog(mock_model, tmp_path)
    mock_model.script = [message("one"), message("two")]
    async with app_server_setup.runtime() as (_, handle):
        await handle.run("first", model=OTHER_MODEL, effort="low")
        await handle.run("second")
    overridden, after = mock_model.requests
    assert (overridden.model, overridden.body["reasoning"]) == (OTHER_MODEL, {"effort": "low"})
    assert (after.model, after.body["reasoning"]) == (mock_model.home.model, {"effort": "medium"})


@pytest.mark.parametrize(
    ("transport", "policy"), [("exec", "untrusted"), ("app-server", "on-failure")]
)
async def test_an_override_the_transport_refuses_fails_before_any_process_starts(
    transport: str, policy: str, mock_model: MockModel
) -> None:
    async with thread_on(transport, mock_model) as thread:
        with pytest.raises(ConfigurationError, match=f"approval_policy='{policy}'"):
            await thread.run("hi", approval_policy=policy)
        with pytest.raises(ConfigurationError, match="does not exist"):
            await thread.run("hi", working_directory=mock_model.workdir / "missing")
    assert mock_model.requests == []
    assert thread.id is None
