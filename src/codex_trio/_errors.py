"""The exceptions codex-trio raises.

Every error is a :class:`CodexError`. Each carries the context a user needs to act on it (thread
and turn ids, exit code, a tail of codex's stderr) as attributes, and none of them ever contains a
secret: texts that may echo codex's output are passed through :func:`codex_trio._redact.redact`
before they are stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from codex_trio._redact import redact

__all__ = [
    "CodexError",
    "CodexNotFoundError",
    "CodexVersionError",
    "ConfigurationError",
    "ProtocolError",
    "SlowConsumerError",
    "StructuredOutputError",
    "ThreadNotFoundError",
    "TransportError",
    "TurnDeadlineError",
    "TurnFailedError",
]


class CodexError(Exception):
    """Base class of every error raised by codex-trio."""

    thread_id: str | None
    turn_id: str | None

    def __init__(
        self, message: str, *, thread_id: str | None = None, turn_id: str | None = None
    ) -> None:
        self.message = redact(message)
        self.thread_id = thread_id
        self.turn_id = turn_id
        super().__init__(self.message)

    def __str__(self) -> str:
        ids = [f"{k}={v}" for k, v in (("thread", self.thread_id), ("turn", self.turn_id)) if v]
        return f"{self.message} ({', '.join(ids)})" if ids else self.message


class CodexNotFoundError(CodexError):
    """No usable ``codex`` binary was found; ``tried`` lists every place that was looked at."""

    def __init__(self, message: str, *, tried: Sequence[str] = ()) -> None:
        self.tried = tuple(tried)
        detail = "; ".join(self.tried)
        super().__init__(f"{message}. Tried: {detail}" if detail else message)


class CodexVersionError(CodexError):
    """The ``codex`` binary found is a version codex-trio does not support."""

    def __init__(self, message: str, *, path: str, version: str | None) -> None:
        self.path = path
        self.version = version
        super().__init__(message)


class ConfigurationError(CodexError, ValueError):
    """An option has a value codex would reject; raised before any process starts."""


class TransportError(CodexError):
    """The codex process failed: it exited before the turn ended, or could not be talked to.

    ``exit_code`` is the process's exit status (``None`` if it was killed by a signal or never
    exited), ``signal`` the number of the signal that ended it, ``stderr_tail`` the last lines it
    wrote to stderr (secrets redacted).
    """

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None = None,
        signal: int | None = None,
        stderr_tail: str = "",
        pid: int | None = None,
        thread_id: str | None = None,
        turn_id: str | None = None,
    ) -> None:
        self.exit_code = exit_code
        self.signal = signal
        self.stderr_tail = redact(stderr_tail)
        self.pid = pid
        parts = [message]
        if exit_code is not None:
            parts.append(f"exit code {exit_code}")
        if signal is not None:
            parts.append(f"signal {signal}")
        text = ", ".join(parts)
        if self.stderr_tail:
            text += f"; stderr tail:\n{self.stderr_tail}"
        super().__init__(text, thread_id=thread_id, turn_id=turn_id)


class TurnDeadlineError(TransportError):
    """The turn did not end before its deadline; codex was stopped and reaped.

    On the exec transport the stopped process's ``exit_code`` (or ``signal``), ``stderr_tail``
    and ``pid`` are filled in, read after it was reaped. Where the turn ran on a process that
    is shared and kept running (an app-server), there is no exit status to report and those
    fields say only what that transport knows.
    """


class SlowConsumerError(CodexError):
    """A turn's events came faster than its consumer took them, on a process shared with other
    threads (the app-server transport). Rather than stall every thread of that process, the
    turn was interrupted and ended with this error; the thread stays usable.

    ``capacity`` is the subscription's bound (events buffered for the consumer when it overflowed).
    """

    def __init__(
        self,
        message: str,
        *,
        capacity: int,
        thread_id: str | None = None,
        turn_id: str | None = None,
    ) -> None:
        self.capacity = capacity
        super().__init__(message, thread_id=thread_id, turn_id=turn_id)


NO_ROLLOUT = "no rollout found for thread id"
"""What codex 0.163 says (stderr on exec, the JSON-RPC error on app-server) when asked to resume
a thread it has no rollout file for."""


class ThreadNotFoundError(CodexError):
    """The thread to resume does not exist in CODEX_HOME (codex: "no rollout found"): a wrong id,
    another CODEX_HOME, an ephemeral thread, or a thread deleted since. Nothing broke; start a new
    thread instead (or look for it where it lives)."""


class ProtocolError(CodexError):
    """codex wrote something that is not the protocol: a line that is not JSON, or too long.

    ``line`` holds (a bounded prefix of) the offending data.
    """

    def __init__(
        self,
        message: str,
        *,
        line: str | bytes = "",
        thread_id: str | None = None,
        turn_id: str | None = None,
    ) -> None:
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        self.line = redact(text[:1000])
        super().__init__(message, thread_id=thread_id, turn_id=turn_id)


class TurnFailedError(CodexError):
    """codex reported ``turn.failed``: the model API or the agent gave up on this turn.

    The thread itself stays usable; the next turn resumes it.
    """

    def __init__(
        self,
        message: str,
        *,
        thread_id: str | None = None,
        turn_id: str | None = None,
        items: Sequence[object] = (),
    ) -> None:
        self.items = tuple(items)
        super().__init__(message, thread_id=thread_id, turn_id=turn_id)


class StructuredOutputError(CodexError):
    """The final message of a turn with an output schema is not valid JSON; ``raw`` holds it."""

    def __init__(self, message: str, *, raw: str, thread_id: str | None = None) -> None:
        self.raw = raw
        super().__init__(message, thread_id=thread_id)
