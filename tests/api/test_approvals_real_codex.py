"""Approval policies on the real ``codex app-server``: what codex asks about is what they judge."""

from __future__ import annotations

import os
import sys

import pytest
import trio

import codex_trio
from codex_trio._api.approvals import ApprovalDecision, allow_command_prefixes
from codex_trio._protocol.exec_items import CommandExecutionItem, CommandExecutionStatus
from codex_trio.testing import MockModel, exec_command, message

pytestmark = pytest.mark.integration


async def test_allow_command_prefixes_approves_pytest_and_declines_the_rest_on_the_real_binary(
    mock_model: MockModel,
) -> None:
    # codex asks about `/bin/bash -c 'pytest --version'` and `/bin/bash -lc 'touch nope.txt'`.
    mock_model.script = [
        exec_command("pytest --version", escalated=True, justification="run tests", login=False),
        exec_command("touch nope.txt", escalated=True, justification="make a file"),
        message("done"),
    ]
    env = {**mock_model.env}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    with trio.fail_after(90):
        async with codex_trio.Codex(
            transport="app-server",
            env=env,
            approval_handler=allow_command_prefixes(["pytest", "git status"]),
        ) as codex:
            thread = codex.start_thread(
                approval_policy="on-request",
                working_directory=str(mock_model.workdir),
                skip_git_repo_check=True,
            )
            result = await thread.run("run the tests")
    asked = [(a.request.command, a.decision) for a in result.approvals]
    assert len(asked) == 2
    assert "pytest --version" in (asked[0][0] or "") and asked[0][0] != "pytest --version"
    assert [d for _, d in asked] == [ApprovalDecision.ACCEPT, ApprovalDecision.DECLINE]
    commands = [i for i in result.items if isinstance(i, CommandExecutionItem)]
    ran = [c for c in commands if "pytest --version" in c.command]
    assert ran and ran[0].status is CommandExecutionStatus.COMPLETED
    assert "pytest" in ran[0].aggregated_output
    assert not (mock_model.workdir / "nope.txt").exists()
