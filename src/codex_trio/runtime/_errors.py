"""The exceptions of the runtime layer: supervisors, actors, mailboxes and the name registry.

All of them are :class:`~codex_trio._errors.CodexError`, so one ``except CodexError`` still catches
everything codex-trio raises. Messages may quote a child's exception; they pass through
:func:`codex_trio._redact.redact` (in ``CodexError``) like every other error message.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from codex_trio._errors import CodexError

__all__ = [
    "ActorCrashed",
    "ActorError",
    "ActorStopped",
    "CallTimeout",
    "ChildFailure",
    "ChildRunning",
    "ChildStartError",
    "DuplicateChild",
    "MailboxClosed",
    "MailboxError",
    "MailboxFull",
    "NameTaken",
    "RegistryError",
    "RestartIntensityExceeded",
    "SupervisorError",
    "SupervisorNotRunning",
    "TooManyChildren",
    "UnknownChild",
]


# --- supervisors ---------------------------------------------------------------------------------


class SupervisorError(CodexError):
    """Base class of the errors a supervisor raises; ``supervisor`` is the supervisor's name."""

    def __init__(self, message: str, *, supervisor: str) -> None:
        self.supervisor = supervisor
        super().__init__(message)


@attrs.frozen
class ChildFailure:
    """One child ending that made its supervisor restart something: which child, and why.

    ``exception`` is ``None`` when a permanent child returned normally (a permanent child is
    restarted whatever the reason it ended, and that restart counts towards the intensity).
    """

    child_id: str
    exception: BaseException | None


class RestartIntensityExceeded(SupervisorError):
    """More than ``max_restarts`` restarts happened within ``max_seconds``: the supervisor gave up.

    By the time this is raised every child of the supervisor has been terminated (in reverse start
    order, each within its shutdown timeout). ``failures`` holds the child endings that caused the
    last restarts, oldest first, the one that broke the limit last. When the supervisor is itself
    the child of another supervisor, this exception is that child's failure: the parent restarts
    it or, if the parent's own limit is reached, gives up in turn (escalation, as in OTP).
    """

    def __init__(
        self,
        *,
        supervisor: str,
        max_restarts: int,
        max_seconds: float,
        failures: Sequence[ChildFailure],
    ) -> None:
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds
        self.failures = tuple(failures)
        last = self.failures[-1] if self.failures else None
        detail = ""
        if last is not None:
            detail = f"; last failure: child {last.child_id!r}: {_describe(last.exception)}"
        super().__init__(
            f"supervisor {supervisor!r} exceeded its restart intensity "
            f"({max_restarts} restarts in {max_seconds:g} s){detail}",
            supervisor=supervisor,
        )


class ChildStartError(SupervisorError):
    """A child raised (or returned) before reporting that it started.

    ``child_id`` names it and ``reason`` (also the ``__cause__``) is what it raised. Raised by
    :meth:`Supervisor.run` when an initial child cannot start (the children already started have
    been terminated again, in reverse order), and by ``start_child`` / ``restart_child``.
    """

    def __init__(self, *, supervisor: str, child_id: str, reason: BaseException) -> None:
        self.child_id = child_id
        self.reason = reason
        super().__init__(
            f"child {child_id!r} of supervisor {supervisor!r} failed to start: {_describe(reason)}",
            supervisor=supervisor,
        )


class UnknownChild(SupervisorError, LookupError):
    """No child with this id is known to the supervisor."""

    def __init__(self, *, supervisor: str, child_id: str) -> None:
        self.child_id = child_id
        super().__init__(
            f"supervisor {supervisor!r} has no child {child_id!r}", supervisor=supervisor
        )


class DuplicateChild(SupervisorError, ValueError):
    """A child with this id already exists in the supervisor (ids are unique per supervisor)."""

    def __init__(self, *, supervisor: str, child_id: str) -> None:
        self.child_id = child_id
        super().__init__(
            f"supervisor {supervisor!r} already has a child {child_id!r}", supervisor=supervisor
        )


class ChildRunning(SupervisorError):
    """The operation needs a stopped child (``restart_child``, ``delete_child``) but it runs."""

    def __init__(self, *, supervisor: str, child_id: str) -> None:
        self.child_id = child_id
        super().__init__(
            f"child {child_id!r} of supervisor {supervisor!r} is running", supervisor=supervisor
        )


class TooManyChildren(SupervisorError):
    """A dynamic supervisor already runs ``max_children`` children."""

    def __init__(self, *, supervisor: str, max_children: int) -> None:
        self.max_children = max_children
        super().__init__(
            f"supervisor {supervisor!r} already has its maximum of {max_children} children",
            supervisor=supervisor,
        )


class SupervisorNotRunning(SupervisorError):
    """The supervisor is not running (never started, stopped, or gave up)."""

    def __init__(self, *, supervisor: str) -> None:
        super().__init__(f"supervisor {supervisor!r} is not running", supervisor=supervisor)


# --- mailboxes -----------------------------------------------------------------------------------


class MailboxError(CodexError):
    """Base class of the errors a :class:`~codex_trio.runtime.Mailbox` raises."""

    def __init__(self, message: str, *, owner: str) -> None:
        self.owner = owner
        super().__init__(message)


class MailboxFull(MailboxError):
    """The mailbox is full and its overflow policy is ``"fail"``: the message was not queued."""

    def __init__(self, *, owner: str, capacity: int) -> None:
        self.capacity = capacity
        super().__init__(f"mailbox of {owner!r} is full ({capacity} messages)", owner=owner)


class MailboxClosed(MailboxError):
    """The mailbox was closed: its owner stopped. Nothing more can be put in or taken out."""

    def __init__(self, *, owner: str) -> None:
        super().__init__(f"mailbox of {owner!r} is closed", owner=owner)


# --- actors --------------------------------------------------------------------------------------


class ActorError(CodexError):
    """Base class of the errors an :class:`~codex_trio.runtime.Actor`'s clients see."""

    def __init__(self, message: str, *, actor: str) -> None:
        self.actor = actor
        super().__init__(message)


class ActorStopped(ActorError):
    """The actor is not running, or stopped before it answered this call.

    ``reason`` is ``None`` when the actor was stopped (gracefully or by cancellation) or was not
    running at all; :class:`ActorCrashed` is raised instead when it died of an exception. Whether
    a request that was already being handled took effect is unknown, as with any lost reply.
    """

    def __init__(
        self, *, actor: str, reason: BaseException | None = None, message: str | None = None
    ) -> None:
        self.reason = reason
        super().__init__(message or f"actor {actor!r} is not running", actor=actor)


class ActorCrashed(ActorStopped):
    """The actor died of an exception (``reason``, also ``__cause__``) before answering.

    Raised to the caller whose request made the handler raise, and to every caller whose request
    was still queued. The actor's supervisor decides whether it comes back.
    """

    def __init__(self, *, actor: str, reason: BaseException) -> None:
        super().__init__(
            actor=actor, reason=reason, message=f"actor {actor!r} crashed: {_describe(reason)}"
        )
        self.__cause__ = reason


class CallTimeout(ActorError, TimeoutError):
    """No reply within the call's timeout (waiting for mailbox space included).

    The request may still be handled later (its reply is then discarded) or may never be: the
    actor skips a call whose caller has already given up, unless it had started on it.
    """

    def __init__(self, *, actor: str, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(f"call to actor {actor!r} timed out after {timeout:g} s", actor=actor)


# --- registry ------------------------------------------------------------------------------------


class RegistryError(CodexError):
    """Base class of the errors a :class:`~codex_trio.runtime.Registry` raises."""


class NameTaken(RegistryError, ValueError):
    """The name is already registered to another object; ``name`` is it."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"name {name!r} is already registered")


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "returned normally"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
