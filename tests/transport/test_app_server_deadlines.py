"""A turn's deadline bounds the whole app-server turn: ``thread/start``, ``thread/resume`` and
``turn/start`` included. Fake app-servers that stop answering, since the real binary always
answers these requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio._errors import TurnDeadlineError
from codex_trio._protocol.options import CodexOptions
from codex_trio._transport.app_server import open_app_server
from codex_trio.testing import MockModel
from tests.fakes import APP_SERVER_PRELUDE, fake_codex

PRELUDE = APP_SERVER_PRELUDE + 'sys.stderr.write("fake engine up\\n"); sys.stderr.flush()\n'

SILENT = "while True:\n    read()\n"


async def real_thread_start_result(mock_model: MockModel) -> dict[str, Any]:
    """What the pinned binary answers to ``thread/start``, for a fake to replay."""
    options = CodexOptions(codex_path=mock_model.codex, env=mock_model.env)
    async with open_app_server(options) as client:
        result = await client.request(
            "thread/start", {"cwd": str(mock_model.workdir), "ephemeral": True}
        )
    result["thread"]["id"] = "T"
    return dict(result)


async def run_with_timeout(path: str, tmp_path: Path, seconds: float, **kw: object) -> None:
    async with codex_trio.Codex(transport="app-server", codex_path=path) as codex:
        if "resume" in kw:
            thread = codex.resume_thread(str(kw["resume"]), working_directory=str(tmp_path))
        else:
            thread = codex.start_thread(working_directory=str(tmp_path))
        await thread.run("hello", timeout=seconds)


async def test_deadline_bounds_thread_start_that_is_never_answered(tmp_path: Path) -> None:
    path = fake_codex(tmp_path, PRELUDE + SILENT)
    with trio.fail_after(30):  # the request timeout (60 s) must not be what ends it
        with pytest.raises(TurnDeadlineError) as info:
            await run_with_timeout(path, tmp_path, 1.0)
    error = info.value
    assert "before the turn started" in str(error)
    assert error.pid is not None and "fake engine up" in error.stderr_tail


async def test_deadline_bounds_thread_resume_that_is_never_answered(tmp_path: Path) -> None:
    path = fake_codex(tmp_path, PRELUDE + SILENT)
    with trio.fail_after(30):
        with pytest.raises(TurnDeadlineError) as info:
            await run_with_timeout(
                path, tmp_path, 1.0, resume="019abcde-0000-7000-8000-000000000000"
            )
    assert info.value.thread_id == "019abcde-0000-7000-8000-000000000000"


async def test_deadline_bounds_turn_start_and_a_late_turn_is_interrupted(
    tmp_path: Path, mock_model: MockModel
) -> None:
    log = tmp_path / "after.jsonl"
    start = json.dumps(await real_thread_start_result(mock_model))
    body = (
        PRELUDE
        + f"""
msg = read()  # thread/start
out({{"id": msg["id"], "result": json.loads({start!r})}})
"""
        + f"""
msg = read()  # turn/start: answered only after the caller's deadline
time.sleep(2.5)
out({{"id": msg["id"], "result": {{"turn": {{"id": "late", "items": [], "status": "inProgress"}}}}}})
out({{"method": "turn/started", "params": {{"threadId": "T", "turn": {{"id": "late", "items": [], "status": "inProgress"}}}}}})
while True:
    msg = read()
    with open({str(log)!r}, "a") as f:
        f.write(json.dumps(msg) + "\\n")
    if "id" in msg:
        out({{"id": msg["id"], "result": {{}}}})
"""
    )
    path = fake_codex(tmp_path, body)
    with trio.fail_after(30):
        async with codex_trio.Codex(transport="app-server", codex_path=path) as codex:
            thread = codex.start_thread(working_directory=str(tmp_path))
            with pytest.raises(TurnDeadlineError) as info:
                await thread.run("hello", timeout=1.0)
            # The engine started the turn after all: it is interrupted as soon as it says so.
            while not log.exists() or "turn/interrupt" not in log.read_text():
                await trio.sleep(0.05)
    assert "before the engine answered turn/start" in str(info.value)
    assert info.value.thread_id == "T"
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    assert {"threadId": "T", "turnId": "late"} in [m.get("params") for m in sent]
