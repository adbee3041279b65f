"""The exceptions codex-trio raises.

Every error is a :class:`CodexError`. Each carries the context a user needs to act on it (thread
and turn ids, exit code, a tail of codex's stderr) as attributes, and none of them ever contains a
secret: texts that may echo codex's output are passed through :func:`codex_trio._redact.redact`
before they are stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

from codex_trio._redact import redact

__all__ = [
    "AuthenticationError",
    "CodexError",
    "CodexNotFoundError",
    "CodexVersionError",
    "ConfigurationError",
    "LoginRequiredError",
    "ProtocolError",
    "SlowConsumerError",
    "StructuredOutputError",
    "ThreadNotFoundError",
    "TransportError",
    "TurnDeadlineError",
    "TurnFailedError",
    "UsageLimitError",
    "turn_failed_error",
    "usage_limit_resets_at",
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


class AuthenticationError(TransportError):
    """A remote app-server refused the connection for want of a valid token: ``auth_token`` is
    wrong, or missing for a server started with ``--ws-auth``. Raised at connect, before any
    JSON-RPC. ``url`` is the server's address, ``status_code`` the HTTP status of the refusal
    (401). The token itself never appears in it."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        self.url = url
        self.status_code = status_code
        super().__init__(message)


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
    """The final message of a turn with an output schema (or ``output_type``) is not JSON, does
    not fit the schema, or does not structure into the type. ``raw`` holds the message; ``path``
    where the first mismatch is (``"items[2].name"``, ``""`` for the top level, ``None`` when
    the message is not JSON at all)."""

    def __init__(
        self, message: str, *, raw: str, path: str | None = None, thread_id: str | None = None
    ) -> None:
        self.raw = raw
        self.path = path
        super().__init__(message, thread_id=thread_id)


class UsageLimitError(TurnFailedError):
    """The turn failed because the account's usage limit is reached (the API's HTTP 429
    ``usage_limit_reached``); codex does not retry it. ``resets_at`` is when the limit resets
    (an aware UTC ``datetime``), or ``None`` when codex did not say ("Try again later").

    codex reports the reset time only inside its message ("... or try again at 3:45 PM." or
    "... at Dec 4th, 2026 10:44 AM.", in codex's local time zone, to the minute), on both
    transports: ``resets_at`` is read from there, taking the time zone of this Python process
    (codex's, unless you gave codex another ``TZ``). On the app-server transport the exact
    figures (Unix seconds per window) are also in ``Codex.latest_rate_limits``, which the same
    turn updated just before it failed.
    """

    def __init__(
        self,
        message: str,
        *,
        resets_at: datetime | None = None,
        thread_id: str | None = None,
        turn_id: str | None = None,
        items: Sequence[object] = (),
    ) -> None:
        self.resets_at = resets_at
        super().__init__(message, thread_id=thread_id, turn_id=turn_id, items=items)


_USAGE_LIMIT = re.compile(r"hit your usage limit", re.IGNORECASE)
_TRY_AGAIN_AT = re.compile(
    r"try again at (?:(?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2})(?:st|nd|rd|th), (?P<year>\d{4}) )?"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}) (?P<ampm>[AP]M)\b",
    re.IGNORECASE,
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def usage_limit_resets_at(message: str, *, now: datetime | None = None) -> datetime | None:
    """The reset time named by codex's usage-limit ``message``, in UTC; ``None`` if it names
    none. A time without a date ("3:45 PM") is today's, as codex writes it; ``now`` (aware;
    default: the current local time) fixes "today" and the time zone the text is read in."""
    match = _TRY_AGAIN_AT.search(message)
    if match is None:
        return None
    local_now = now if now is not None else datetime.now().astimezone()
    hour = int(match["hour"]) % 12 + (12 if match["ampm"].upper() == "PM" else 0)
    minute = int(match["minute"])
    if match["year"] is not None:
        try:
            month = _MONTHS.index(match["month"].lower()) + 1
            day = datetime(int(match["year"]), month, int(match["day"]))
        except ValueError:
            return None
        date = day.date()
    else:
        date = local_now.date()
    if hour > 23 or minute > 59:
        return None
    naive = datetime(date.year, date.month, date.day, hour, minute)
    # The offset of the local zone on that date (it may differ from today's across a DST change).
    offset = naive.astimezone().utcoffset() if now is None else local_now.utcoffset()
    local = naive.replace(tzinfo=timezone(offset or timedelta(0)))
    return local.astimezone(UTC)


def turn_failed_error(
    message: str,
    *,
    thread_id: str | None = None,
    turn_id: str | None = None,
    items: Sequence[object] = (),
) -> TurnFailedError:
    """The error of a failed turn: :class:`UsageLimitError` when codex says the usage limit is
    reached, else :class:`TurnFailedError`."""
    if _USAGE_LIMIT.search(message):
        return UsageLimitError(
            message,
            resets_at=usage_limit_resets_at(message),
            thread_id=thread_id,
            turn_id=turn_id,
            items=items,
        )
    return TurnFailedError(message, thread_id=thread_id, turn_id=turn_id, items=items)


class LoginRequiredError(CodexError):
    """The engine answers this only for a ChatGPT login (e.g. ``account/rateLimits/read``); an
    API key, or a model provider of your own, does not do."""
