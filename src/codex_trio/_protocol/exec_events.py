"""The events of ``codex exec --json``: one JSON object per line of codex's stdout.

A turn run with ``codex exec`` prints, in order::

    thread.started        (once per process; carries the thread id to resume later)
    turn.started
    item.started / item.updated / item.completed ...   (see exec_items)
    item.plan.delta ... / request_user_input ... / error (notices) ...
    turn.completed        or   turn.failed

Only ``turn.completed`` and ``turn.failed`` end a turn. A top-level ``error`` event is *not* the
end of anything: codex uses it for notices such as ``Reconnecting... 2/5`` and keeps going (when
the model API fails for good, ``error`` is followed by ``turn.failed``). Codex may also exit
without either terminal event (killed, crashed): the transport, not this module, must notice.

These classes are pure data; :mod:`codex_trio._protocol.exec_codec` turns lines into them and back,
following the conventions described in :mod:`codex_trio._protocol.exec_items` (``extra`` keeps
unknown keys, ``omitted`` remembers absent optional keys, unknown types decode to
:class:`UnknownEvent`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

from codex_trio._protocol.exec_items import EMPTY_EXTRA, ThreadItem

__all__ = [
    "ItemCompletedEvent",
    "ItemStartedEvent",
    "ItemUpdatedEvent",
    "PlanDeltaEvent",
    "RequestUserInputEvent",
    "RequestUserInputOption",
    "RequestUserInputQuestion",
    "ThreadErrorEvent",
    "ThreadEvent",
    "ThreadStartedEvent",
    "TurnCompletedEvent",
    "TurnError",
    "TurnFailedEvent",
    "TurnStartedEvent",
    "UnknownEvent",
    "Usage",
]

_USAGE_OPTIONAL = frozenset({"cache_write_input_tokens", "reasoning_output_tokens", "total_tokens"})


def _extra() -> Any:
    # Unknown keys hold JSON values, which cannot be hashed: keep them out of __hash__.
    return attrs.field(default=EMPTY_EXTRA, hash=False)


# ------------------------------------------------------------------------------------ usage


def _sub(a: int | None, b: int | None) -> int | None:
    return None if a is None else a - (b or 0)


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


@attrs.frozen(kw_only=True, weakref_slot=False)
class Usage:
    """Token counts reported by ``turn.completed``.

    Codex reports them **cumulatively for the thread**, not per turn: the second turn's figures
    include the first's. Use :meth:`minus` with the previous turn's usage to get one turn's share.

    ``cached_input_tokens`` is part of ``input_tokens`` and ``reasoning_output_tokens`` part of
    ``output_tokens`` (OpenAI's conventions). The optional counts (``cache_write_input_tokens``,
    ``reasoning_output_tokens``, and ``total_tokens``, which 0.163 does not send) are ``None``
    when codex did not report them; absent and ``null`` read the same.
    """

    input_tokens: int
    cached_input_tokens: int
    cache_write_input_tokens: int | None = None
    output_tokens: int
    reasoning_output_tokens: int | None = None
    total_tokens: int | None = None
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = attrs.field(default=_USAGE_OPTIONAL, eq=False, repr=False)

    def minus(self, previous: Usage) -> Usage:
        """This usage less ``previous``: one turn's figures from two cumulative reports.

        ``previous`` must be an earlier report of the *same thread* (``None`` counts as 0 in
        it); anything else gives meaningless, possibly negative, figures, and no error. An
        optional count that ``self`` lacks stays ``None``. ``extra`` is not carried over.
        """
        return Usage(
            input_tokens=self.input_tokens - previous.input_tokens,
            cached_input_tokens=self.cached_input_tokens - previous.cached_input_tokens,
            cache_write_input_tokens=_sub(
                self.cache_write_input_tokens, previous.cache_write_input_tokens
            ),
            output_tokens=self.output_tokens - previous.output_tokens,
            reasoning_output_tokens=_sub(
                self.reasoning_output_tokens, previous.reasoning_output_tokens
            ),
            total_tokens=_sub(self.total_tokens, previous.total_tokens),
        )

    def plus(self, other: Usage) -> Usage:
        """The sum of two usages, e.g. per-turn figures added up across threads.

        An optional count is ``None`` only if both sides lack it; otherwise a missing side counts
        as 0. ``extra`` is not carried over.
        """
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_input_tokens=_add(
                self.cache_write_input_tokens, other.cache_write_input_tokens
            ),
            output_tokens=self.output_tokens + other.output_tokens,
            reasoning_output_tokens=_add(
                self.reasoning_output_tokens, other.reasoning_output_tokens
            ),
            total_tokens=_add(self.total_tokens, other.total_tokens),
        )


# ----------------------------------------------------------------------------------- events


@attrs.frozen(weakref_slot=False)
class ThreadStartedEvent:
    """First event of every ``codex exec`` process; ``thread_id`` is what ``resume`` takes.

    A resumed thread reports the same id again.
    """

    type: ClassVar[str] = "thread.started"
    thread_id: str
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(weakref_slot=False)
class TurnStartedEvent:
    """The prompt was sent to the model; items follow."""

    type: ClassVar[str] = "turn.started"
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(weakref_slot=False)
class TurnCompletedEvent:
    """The turn ended normally. ``usage`` is cumulative for the thread (see :class:`Usage`)."""

    type: ClassVar[str] = "turn.completed"
    usage: Usage
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(weakref_slot=False)
class TurnError:
    """Why a turn failed (the ``error`` object of ``turn.failed``).

    ``message`` is codex's text, which for model API failures is often the provider's raw JSON
    error body; it may be long and is not meant to be parsed.
    """

    message: str
    extra: Mapping[str, Any] = _extra()

    @property
    def codex_error_info(self) -> Any:
        """The engine's kind of error (app-server ``codexErrorInfo``: ``"usageLimitExceeded"``,
        ``"contextWindowExceeded"``, or an object such as ``{"httpConnectionFailed": ...}``);
        ``None`` when codex did not say (always on exec, whose ``turn.failed`` has only the
        message)."""
        return self.extra.get("codexErrorInfo")


@attrs.frozen(weakref_slot=False)
class TurnFailedEvent:
    """The turn ended in failure. The thread itself survives: the next turn can resume it."""

    type: ClassVar[str] = "turn.failed"
    error: TurnError
    extra: Mapping[str, Any] = _extra()

    @property
    def message(self) -> str:
        """Shortcut for ``error.message``."""
        return self.error.message


@attrs.frozen(weakref_slot=False)
class ItemStartedEvent:
    """An item began; it is usually ``in_progress`` and will be reported again."""

    type: ClassVar[str] = "item.started"
    item: ThreadItem
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(weakref_slot=False)
class ItemUpdatedEvent:
    """An item changed (e.g. a to-do list step was checked off)."""

    type: ClassVar[str] = "item.updated"
    item: ThreadItem
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(weakref_slot=False)
class ItemCompletedEvent:
    """An item reached its final state, success or failure; it will not be reported again."""

    type: ClassVar[str] = "item.completed"
    item: ThreadItem
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class PlanDeltaEvent:
    """A chunk of text appended to the plan item ``item_id`` while it streams (plan mode)."""

    type: ClassVar[str] = "item.plan.delta"
    item_id: str
    delta: str
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class RequestUserInputOption:
    """One suggested answer to a :class:`RequestUserInputQuestion`."""

    label: str
    description: str
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class RequestUserInputQuestion:
    """A question the model asks through its ``request_user_input`` tool.

    ``is_other`` (wire key ``isOther``) means a free-form answer is welcome besides ``options``;
    ``is_secret`` (``isSecret``) that the answer should not be echoed or logged. ``options`` is
    ``None`` when the question is open (codex then leaves the key out).
    """

    id: str
    header: str
    question: str
    is_other: bool = False
    is_secret: bool = False
    options: tuple[RequestUserInputOption, ...] | None = None
    extra: Mapping[str, Any] = _extra()
    omitted: frozenset[str] = attrs.field(default=frozenset({"options"}), eq=False, repr=False)


@attrs.frozen(kw_only=True, weakref_slot=False)
class RequestUserInputEvent:
    """The model asked the user questions (``request_user_input`` tool) and waits for answers.

    ``id`` is the in-flight turn's id and ``call_id`` the model's tool call id. ``codex exec``
    has no channel to answer on, so for exec users this is information, not a prompt to act.
    """

    type: ClassVar[str] = "request_user_input"
    id: str
    call_id: str
    questions: tuple[RequestUserInputQuestion, ...]
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(weakref_slot=False)
class ThreadErrorEvent:
    """A top-level ``error`` event: a NOTICE, not a failure.

    Codex emits it for transient trouble it is handling itself, such as ``Reconnecting... 2/5``
    while retrying the model API, or ``Reconnecting... waiting for network`` (forever, when the
    model is unreachable: the caller needs a deadline). The turn goes on. Only ``turn.failed``
    (often right after an ``error`` carrying the same message) means the turn failed; do not
    fail a turn on this event alone.
    """

    type: ClassVar[str] = "error"
    message: str
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(weakref_slot=False)
class UnknownEvent:
    """An event whose ``type`` this library does not know (a newer codex); ``raw`` as read.

    Encoding writes ``raw`` back unchanged; ``type`` is a copy of ``raw["type"]`` for dispatch.
    """

    type: str
    raw: Mapping[str, Any] = attrs.field(hash=False)


ThreadEvent: TypeAlias = (
    ThreadStartedEvent
    | TurnStartedEvent
    | TurnCompletedEvent
    | TurnFailedEvent
    | ItemStartedEvent
    | ItemUpdatedEvent
    | ItemCompletedEvent
    | PlanDeltaEvent
    | RequestUserInputEvent
    | ThreadErrorEvent
    | UnknownEvent
)
