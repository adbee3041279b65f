"""Ready-made approval policies and the wire shape of each decision."""

from __future__ import annotations

import pytest
import trio

from codex_trio._api.approvals import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalRequest,
    allow_all,
    allow_command_prefixes,
    decline_and_log,
    deny_all,
    with_timeout,
)
from codex_trio._protocol.app_server.server_requests import approval_request, approval_response


def command(cmd: str) -> ApprovalRequest:
    return ApprovalRequest(
        kind=ApprovalKind.COMMAND_EXECUTION,
        method="item/commandExecution/requestApproval",
        thread_id="t",
        turn_id="u",
        item_id="i",
        command=cmd,
    )


def file_change() -> ApprovalRequest:
    return ApprovalRequest(
        kind=ApprovalKind.FILE_CHANGE,
        method="item/fileChange/requestApproval",
        thread_id="t",
        turn_id="u",
        item_id="i",
    )


async def test_deny_all_declines_and_allow_all_accepts() -> None:
    assert await deny_all(command("ls")) is ApprovalDecision.DECLINE
    assert await allow_all(command("ls")) is ApprovalDecision.ACCEPT


async def test_default_handler_declines() -> None:
    assert await decline_and_log(file_change()) is ApprovalDecision.DECLINE


@pytest.mark.parametrize(
    ("cmd", "decision"),
    [
        ("git status", ApprovalDecision.ACCEPT),
        ("git status -s", ApprovalDecision.ACCEPT),
        ("ls -la /tmp", ApprovalDecision.ACCEPT),
        ("git statusx", ApprovalDecision.DECLINE),
        ("git push", ApprovalDecision.DECLINE),
        ("ls; rm -rf ~", ApprovalDecision.DECLINE),
        ("ls && curl x | sh", ApprovalDecision.DECLINE),
        ("ls $(rm -rf ~)", ApprovalDecision.DECLINE),
        ("ls 'unterminated", ApprovalDecision.DECLINE),
    ],
)
async def test_allow_command_prefixes_matches_whole_words_and_refuses_shell_operators(
    cmd: str, decision: ApprovalDecision
) -> None:
    handler = allow_command_prefixes(["git status", "ls"])
    assert await handler(command(cmd)) is decision


def wrapped(
    cmd: str, shell: str = "/bin/bash -lc", actions: list[dict[str, str]] | None = None
) -> ApprovalRequest:
    """A command approval as codex 0.163 sends it: the command wrapped in a shell, parsed."""
    import shlex

    return approval_request(
        "item/commandExecution/requestApproval",
        {
            "threadId": "t",
            "turnId": "u",
            "itemId": "i",
            "startedAtMs": 1,
            "command": f"{shell} {shlex.quote(cmd)}",
            "commandActions": (
                actions if actions is not None else [{"type": "unknown", "command": cmd}]
            ),
            "cwd": "/w",
        },
    )


@pytest.mark.parametrize(
    ("cmd", "shell", "decision"),
    [
        ("pytest --version", "/bin/bash -lc", ApprovalDecision.ACCEPT),
        ("pytest -q tests", "/bin/bash -c", ApprovalDecision.ACCEPT),
        ("git status -s", "/usr/bin/zsh -lc", ApprovalDecision.ACCEPT),
        ("pytest -k 'a b'", "/bin/bash -lc", ApprovalDecision.ACCEPT),
        ("pytestx", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("git push", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("touch nope.txt", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("pytest; rm -rf ~", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("pytest && curl x", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("pytest | sh", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("pytest $(rm -rf ~)", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("pytest ${HOME}", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("pytest `id`", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("pytest > /etc/x", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("pytest < /etc/x", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("pytest\nrm -rf ~", "/bin/bash -lc", ApprovalDecision.DECLINE),
        ("pytest & rm -rf ~", "/bin/bash -lc", ApprovalDecision.DECLINE),
    ],
)
async def test_allow_command_prefixes_matches_the_command_inside_codexs_shell_wrapper(
    cmd: str, shell: str, decision: ApprovalDecision
) -> None:
    handler = allow_command_prefixes(["pytest", "git status"])
    assert await handler(wrapped(cmd, shell)) is decision


async def test_allow_command_prefixes_declines_when_codex_parses_several_commands() -> None:
    handler = allow_command_prefixes(["pytest"])
    two = [{"type": "unknown", "command": "pytest"}, {"type": "unknown", "command": "x"}]
    assert await handler(wrapped("pytest", actions=two)) is ApprovalDecision.DECLINE
    assert await handler(wrapped("pytest")) is ApprovalDecision.ACCEPT


async def test_allow_command_prefixes_hands_other_kinds_to_otherwise() -> None:
    handler = allow_command_prefixes(["ls"], otherwise=allow_all)
    assert await handler(file_change()) is ApprovalDecision.ACCEPT


async def test_with_timeout_declines_when_the_handler_does_not_answer() -> None:
    async def never(request: ApprovalRequest) -> ApprovalDecision:
        await trio.sleep_forever()
        raise AssertionError

    assert await with_timeout(never, 0.01)(command("ls")) is ApprovalDecision.DECLINE
    assert await with_timeout(allow_all, 5)(command("ls")) is ApprovalDecision.ACCEPT


def test_command_approval_answers_with_the_v2_decision() -> None:
    request = approval_request(
        "item/commandExecution/requestApproval",
        {
            "threadId": "t",
            "turnId": "u",
            "itemId": "i",
            "startedAtMs": 1,
            "command": "ls",
            "cwd": "/w",
            "reason": "why",
        },
    )
    assert (request.command, request.cwd, request.reason) == ("ls", "/w", "why")
    for decision in ApprovalDecision:
        assert approval_response(request, decision) == {"decision": decision.value}


def test_legacy_exec_approval_answers_in_its_own_vocabulary() -> None:
    request = approval_request(
        "execCommandApproval",
        {
            "conversationId": "t",
            "callId": "c",
            "command": ["ls", "-l"],
            "cwd": "/w",
            "parsedCmd": [],
            "approvalId": None,
        },
    )
    assert request.command == "ls -l" and request.thread_id == "t"
    assert approval_response(request, ApprovalDecision.ACCEPT) == {"decision": "approved"}
    assert approval_response(request, ApprovalDecision.DECLINE) == {"decision": "denied"}


def test_elicitation_answers_with_an_action() -> None:
    request = ApprovalRequest(
        kind=ApprovalKind.MCP_ELICITATION,
        method="mcpServer/elicitation/request",
        thread_id="t",
        turn_id=None,
        item_id=None,
    )
    assert approval_response(request, ApprovalDecision.DECLINE) == {
        "action": "decline",
        "content": None,
    }
    assert approval_response(request, ApprovalDecision.ACCEPT)["action"] == "accept"


def test_permissions_decline_grants_nothing() -> None:
    request = ApprovalRequest(
        kind=ApprovalKind.PERMISSIONS,
        method="item/permissions/requestApproval",
        thread_id="t",
        turn_id="u",
        item_id="i",
        params={"permissions": {"network": {}}},
    )
    assert approval_response(request, ApprovalDecision.DECLINE) == {
        "permissions": {},
        "scope": "turn",
    }
    assert approval_response(request, ApprovalDecision.ACCEPT_FOR_SESSION) == {
        "permissions": {"network": {}},
        "scope": "session",
    }
