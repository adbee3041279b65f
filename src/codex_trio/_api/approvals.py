"""Approval handlers: who says yes when codex wants to run a command or change a file.

On the app-server transport codex asks the client before anything the approval policy does not
allow outright (with ``approval_policy="on-request"``, a command the model wants to run outside
the sandbox; with ``"untrusted"``, nearly everything). The question reaches an
:data:`ApprovalHandler`: an async function taking an :class:`ApprovalRequest` and returning an
:class:`ApprovalDecision`.

Ready-made policies::

    deny_all                        # decline everything (and say so in the log)
    allow_all                       # accept everything: only in a throwaway sandbox
    allow_command_prefixes(["git status", "ls"])   # accept commands that start so
    with_timeout(handler, 30)       # decline if the handler has not answered in 30 s

The default, when none is given, declines and logs: nothing is ever accepted silently. A
handler that raises is treated as a decline (and logged); every decision is recorded on the
turn (``turn.approvals``) with its latency, and emitted as telemetry
(``codex.approval.requested`` / ``codex.approval.decided``).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

import trio

from codex_trio._protocol.app_server.server_requests import (
    ApprovalDecision,
    ApprovalHandler,
    ApprovalKind,
    ApprovalRecord,
    ApprovalRequest,
    decline_and_log,
)
from codex_trio.observe import get_logger

__all__ = [
    "ApprovalDecision",
    "ApprovalHandler",
    "ApprovalKind",
    "ApprovalRecord",
    "ApprovalRequest",
    "allow_all",
    "allow_command_prefixes",
    "command_words",
    "decline_and_log",
    "deny_all",
    "with_timeout",
]

_log = get_logger("codex_trio._api.approvals")


async def deny_all(request: ApprovalRequest) -> ApprovalDecision:
    """Decline every request."""
    _log.info("approval.denied", kind=request.kind.value, command=request.command)
    return ApprovalDecision.DECLINE


async def allow_all(request: ApprovalRequest) -> ApprovalDecision:
    """Accept every request. The model can then run anything the process may: use it only
    where the sandbox or the machine is disposable."""
    return ApprovalDecision.ACCEPT


def _words(command: str) -> list[str] | None:
    try:
        return shlex.split(command)
    except ValueError:
        return None


# Shell control operators and expansions: a command holding any of them may run more than its
# leading words say (``ls; rm -rf ~`` starts with ``ls``), so a prefix never approves it.
_UNSAFE = (";", "&", "|", "`", "$", ">", "<", "\n", "\r")
# The shells codex wraps a command in: ``/bin/bash -lc '<command>'`` (``-c`` for a non-login
# shell); zsh or sh when that is the user's shell.
_SHELLS = frozenset({"bash", "sh", "zsh", "dash"})
_SHELL_FLAGS = frozenset({"-c", "-lc"})


def command_words(request: ApprovalRequest) -> list[str] | None:
    """The words of the command ``request`` would run, unwrapped from codex's shell wrapper
    (``/bin/bash -lc 'pytest --version'`` gives ``["pytest", "--version"]``); ``None`` when the
    command cannot be read safely: not a command approval, shell control operators or
    expansions anywhere in it (``;``, ``&&``, ``|``, backquotes, ``$``, redirections, newlines),
    unbalanced quotes, or codex's own parse of it (``commandActions``) showing more than one
    command.
    """
    command = request.command
    if request.kind is not ApprovalKind.COMMAND_EXECUTION or command is None:
        return None
    if any(op in command for op in _UNSAFE):
        return None
    words = _words(command)
    if not words:
        return None
    if len(words) == 3 and words[0].rsplit("/", 1)[-1] in _SHELLS and words[1] in _SHELL_FLAGS:
        words = _words(words[2])
        if not words:
            return None
    actions = getattr(request.params, "command_actions", None)
    if actions is not None and len(actions) != 1:
        return None
    return words


def allow_command_prefixes(
    prefixes: Iterable[str], *, otherwise: ApprovalHandler = deny_all
) -> ApprovalHandler:
    """Accept a command whose leading words are one of ``prefixes`` (compared word by word,
    so ``"git status"`` allows ``git status -s`` but not ``git statusx`` nor
    ``git push``); hand everything else (other commands, file changes, ...) to ``otherwise``.

    The command compared is the one codex will run, taken out of its shell wrapper (codex asks
    about ``/bin/bash -lc 'pytest -q'``; ``"pytest"`` matches it), see :func:`command_words`.
    Commands holding shell control operators or expansions (``;``, ``&&``, ``|``, backquotes,
    ``$``, ``>``...) are never accepted by prefix: ``ls; rm -rf ~`` starts with ``ls``.
    """
    allowed = [p for p in (_words(prefix) for prefix in prefixes) if p]

    async def handler(request: ApprovalRequest) -> ApprovalDecision:
        words = command_words(request)
        if words is not None:
            for prefix in allowed:
                if words[: len(prefix)] == prefix:
                    return ApprovalDecision.ACCEPT
        return await otherwise(request)

    return handler


def with_timeout(handler: ApprovalHandler, seconds: float) -> ApprovalHandler:
    """``handler``, but DECLINE if it has not decided within ``seconds`` (e.g. a human who
    does not answer). The turn then goes on without the command."""

    async def timed(request: ApprovalRequest) -> ApprovalDecision:
        with trio.move_on_after(seconds):
            return await handler(request)
        _log.warning("approval.timed_out", kind=request.kind.value, seconds=seconds)
        return ApprovalDecision.DECLINE

    return timed
