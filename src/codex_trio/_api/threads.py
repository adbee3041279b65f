"""Stored threads as the public API shows them: :class:`StoredThread` (what ``codex.read_thread``
and ``codex.list_threads`` return), its :class:`StoredTurn` s, pages of them, and the errors of
thread management. The engine's own objects (the generated ``Thread`` and ``Turn`` of the
app-server protocol) stay reachable as ``raw``.

The engine (codex 0.163.0) answers thread management with JSON-RPC errors whose message says
what went wrong; those meaning "there is no such thread" become
:class:`~codex_trio.ThreadNotFoundError` here:

* ``no rollout found for thread id <id>`` (``thread/name/set``, ``thread/archive``,
  ``thread/fork``, ``thread/resume``);
* ``no archived rollout found for thread id <id>`` (``thread/unarchive``);
* ``thread not loaded: <id>`` (``thread/read`` of an id it has no rollout for);
* ``thread not found: <id>`` (``thread/compact/start``, ``thread/revert`` of a thread not loaded
  in the process, which is why those load it first);
* ``invalid thread id: ...`` (not a UUID).

An archived thread is refused by ``thread/name/set`` and ``thread/archive`` with the same "no
rollout found" (they look only at active rollouts), and by ``thread/fork`` and
``thread/resume`` with "session <id> is archived. Run `codex unarchive <id>` to unarchive it
first."; :class:`ThreadArchivedError` tells that case apart.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

import attrs
import trio

from codex_trio._errors import (
    CodexError,
    ConfigurationError,
    ThreadNotFoundError,
    TransportError,
    TurnFailedError,
)
from codex_trio._protocol.exec_items import AgentMessageItem, ThreadItem

if TYPE_CHECKING:
    # The app-server protocol is big and exec users never need it: imported where used.
    from codex_trio._protocol.app_server import _generated as g
    from codex_trio._protocol.app_server.messages import InvalidRequestError
    from codex_trio._transport.app_server import AppServerClient

__all__ = [
    "DEFAULT_SOURCE_KINDS",
    "SortKey",
    "SourceKind",
    "StoredThread",
    "StoredTurn",
    "ThreadArchivedError",
    "ThreadListing",
    "ThreadNotStartedError",
    "ThreadPage",
]

SourceKind = Literal[
    "cli",
    "vscode",
    "exec",
    "appServer",
    "subAgent",
    "subAgentReview",
    "subAgentCompact",
    "subAgentThreadSpawn",
    "subAgentOther",
    "unknown",
]
"""Where a thread was started, as ``thread/list`` filters it. Threads this library starts are
``"exec"`` (exec transport) or ``"vscode"`` (app-server transport: codex 0.163 records its
app-server clients so)."""

SortKey = Literal["created_at", "updated_at", "recency_at"]

DEFAULT_SOURCE_KINDS: tuple[SourceKind, ...] = ("cli", "vscode", "exec", "appServer")
"""What :meth:`Codex.list_threads` lists unless told otherwise: every thread a user or a
program started, on either transport. (The engine's own default leaves out ``exec`` threads;
sub-agent threads are left out by both.)"""

_SOURCE_KINDS = frozenset(get_args(SourceKind))
_SORT_KEYS = frozenset(get_args(SortKey))


class ThreadNotStartedError(ConfigurationError):
    """The thread has no id yet: codex names a thread when its first turn starts, and there is
    nothing stored to fork, archive, rename, compact or roll back before that. Run a turn
    first (or resume a thread by id)."""


class ThreadArchivedError(CodexError):
    """The thread is archived, and the engine refuses this call on an archived thread (renaming,
    forking or resuming it): unarchive it first (``thread.unarchive()``)."""


def _time(seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _user_text(item: g.UserMessageThreadItem) -> str:
    from codex_trio._protocol.app_server import _generated as g

    return "\n".join(part.text for part in item.content if isinstance(part, g.TextUserInput))


@attrs.frozen(kw_only=True)
class StoredTurn:
    """One turn of a stored thread, read back from CODEX_HOME.

    ``items`` are the exec-style items a turn's result carries (``AgentMessageItem``,
    ``CommandExecutionItem`` ..., as :mod:`~codex_trio._protocol.app_server.turn_events` maps
    them; items exec has no class for, such as the context compaction of :meth:`Thread.compact`,
    are ``UnknownItem`` s). The user's own messages are not items there: their text is
    ``user_messages`` (more than one when the turn was steered). ``raw`` is the engine's
    ``Turn`` (generated class) with everything else."""

    id: str
    status: str
    """``"completed"``, ``"interrupted"``, ``"failed"`` or ``"inProgress"``."""
    user_messages: tuple[str, ...]
    items: tuple[ThreadItem, ...]
    error: str | None
    """Why the turn failed or was interrupted, if it was."""
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    duration_ms: int | None
    raw: g.Turn = attrs.field(repr=False, eq=False)

    @property
    def final_response(self) -> str | None:
        """The text of the turn's last agent message, as ``TurnResult.final_response``."""
        messages = [item.text for item in self.items if isinstance(item, AgentMessageItem)]
        return messages[-1] if messages else None

    @classmethod
    def from_wire(cls, turn: g.Turn) -> StoredTurn:
        from codex_trio._protocol.app_server import _generated as g
        from codex_trio._protocol.app_server.turn_events import map_item

        items: list[ThreadItem] = []
        user_messages: list[str] = []
        for wire_item in turn.items:
            if isinstance(wire_item, g.UserMessageThreadItem):
                user_messages.append(_user_text(wire_item))
            mapped = map_item(wire_item)
            if mapped is not None:
                items.append(mapped)
        return cls(
            id=turn.id,
            status=str(turn.status),
            user_messages=tuple(user_messages),
            items=tuple(items),
            error=turn.error.message if turn.error is not None else None,
            started_at=_time(turn.started_at),
            completed_at=_time(turn.completed_at),
            duration_ms=turn.duration_ms,
            raw=turn,
        )


@attrs.frozen(kw_only=True)
class StoredThread:
    """A thread as CODEX_HOME stores it (``codex.read_thread(id)``, ``codex.list_threads()``).

    ``turns`` are filled by :meth:`Codex.read_thread` (unless ``turns=False``), never by
    :meth:`Codex.list_threads`. ``raw`` is the engine's ``Thread`` (generated class: git info,
    session id, rollout path ...)."""

    id: str
    name: str | None
    """The title given by :meth:`Thread.rename`, if any."""
    preview: str
    """Usually the thread's first user message."""
    working_directory: str
    model: str | None
    model_provider: str
    source: str
    """A :data:`SourceKind`: ``"exec"``, ``"vscode"`` (app-server) ..."""
    status: str
    """``"notLoaded"``, ``"idle"``, ``"active"`` or ``"systemError"``: whether an app-server
    (the one that answered) has it loaded and running a turn."""
    created_at: dt.datetime
    updated_at: dt.datetime
    forked_from_id: str | None
    """The thread this one was forked from (:meth:`Thread.fork`)."""
    turns: tuple[StoredTurn, ...]
    raw: g.Thread = attrs.field(repr=False, eq=False)

    @classmethod
    def from_wire(cls, thread: g.Thread) -> StoredThread:
        source = thread.source
        if isinstance(source, Mapping):  # {"subAgent": {...}}
            source = next(iter(source), "unknown")
        created = _time(thread.created_at)
        assert created is not None
        return cls(
            id=thread.id,
            name=thread.name,
            preview=thread.preview,
            working_directory=thread.cwd,
            model=thread.model,
            model_provider=thread.model_provider,
            source=str(source),
            status=str(getattr(thread.status, "type", None) or "unknown"),
            created_at=created,
            updated_at=_time(thread.updated_at) or created,
            forked_from_id=thread.forked_from_id,
            turns=tuple(StoredTurn.from_wire(t) for t in thread.turns),
            raw=thread,
        )


@attrs.frozen(kw_only=True)
class ThreadPage:
    """One page of :meth:`Codex.list_threads_page`: ``threads`` (newest first unless sorted
    otherwise) and ``next_cursor``, to pass as ``cursor=`` for the next page (``None`` on the
    last one)."""

    threads: tuple[StoredThread, ...]
    next_cursor: str | None


class ThreadListing:
    """Every stored thread matching the filters, fetched a page at a time as the iteration
    needs them: what :meth:`Codex.list_threads` returns (``async for thread in ...``). An
    iterator object, not an async generator, so a consumer that stops early leaves nothing
    suspended behind, and no process is held open between pages."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[ThreadPage]]) -> None:
        self._fetch = fetch
        self._page: collections.deque[StoredThread] = collections.deque()
        self._cursor: str | None = None
        self._last_page = False

    def __aiter__(self) -> ThreadListing:
        return self

    async def __anext__(self) -> StoredThread:
        while not self._page:
            if self._last_page:
                raise StopAsyncIteration
            page = await self._fetch(self._cursor)
            self._page.extend(page.threads)
            self._cursor = page.next_cursor
            self._last_page = not self._cursor or not page.threads
        return self._page.popleft()


# ------------------------------------------------------------------ helpers (private)


def list_filters(
    *,
    archived: bool,
    working_directory: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    search_term: str | None,
    sort_key: SortKey | None,
    sort_direction: Literal["asc", "desc"] | None,
    model_providers: Sequence[str] | None,
    source_kinds: Sequence[SourceKind] | None,
) -> dict[str, Any]:
    """``thread/list`` params (as ``client.thread_list`` keywords), checked before any
    process starts."""
    if sort_key is not None and sort_key not in _SORT_KEYS:
        raise ConfigurationError(f"sort_key must be one of {sorted(_SORT_KEYS)}, not {sort_key!r}")
    if sort_direction is not None and sort_direction not in ("asc", "desc"):
        raise ConfigurationError(f"sort_direction must be 'asc' or 'desc', not {sort_direction!r}")
    kinds = DEFAULT_SOURCE_KINDS if source_kinds is None else tuple(source_kinds)
    if isinstance(source_kinds, str):
        raise ConfigurationError("source_kinds must be a sequence of source kinds, not a string")
    unknown = [k for k in kinds if k not in _SOURCE_KINDS]
    if unknown or not kinds:
        raise ConfigurationError(
            f"source_kinds must be a non-empty sequence of {sorted(_SOURCE_KINDS)}; got {kinds!r}"
        )
    if isinstance(model_providers, str):
        raise ConfigurationError("model_providers must be a sequence of names, not a string")
    cwd: Any = None
    if working_directory is not None:
        if isinstance(working_directory, str | os.PathLike):
            cwd = os.fspath(working_directory)
        else:
            cwd = [os.fspath(p) for p in working_directory]
    return {
        "archived": archived,
        "cwd": cwd,
        "search_term": search_term,
        "sort_key": sort_key,
        "sort_direction": sort_direction,
        "model_providers": tuple(model_providers) if model_providers is not None else None,
        "source_kinds": kinds,
    }


_NOT_FOUND = (
    "no rollout found",
    "no archived rollout found",
    "thread not loaded",
    "thread not found",
    "invalid thread id",
)


def is_not_found(exc: InvalidRequestError) -> bool:
    """Whether the engine's error says there is no such thread (see the module docstring)."""
    return any(marker in exc.message for marker in _NOT_FOUND)


def is_archived(exc: InvalidRequestError) -> bool:
    """Whether the engine refused because the thread is archived ("session <id> is archived")."""
    return "is archived" in exc.message


def not_found(thread_id: str) -> ThreadNotFoundError:
    return ThreadNotFoundError(
        f"thread {thread_id} not found: codex has no rollout for it in this CODEX_HOME",
        thread_id=thread_id,
    )


def archived(thread_id: str, what: str) -> ThreadArchivedError:
    return ThreadArchivedError(
        f"thread {thread_id} is archived: {what} needs it unarchived first (thread.unarchive())",
        thread_id=thread_id,
    )


async def exists(client: AppServerClient, thread_id: str) -> bool:
    """Whether ``thread/read`` finds the thread (active or archived)."""
    from codex_trio._protocol.app_server.messages import InvalidRequestError

    try:
        await client.thread_read(thread_id=thread_id)
    except InvalidRequestError as exc:
        if is_not_found(exc):
            return False
        raise
    return True


async def compact_on(client: AppServerClient, thread_id: str) -> None:
    """``thread/compact/start`` on a thread loaded in ``client``, then wait for the compaction
    turn the engine runs (it calls the model for a summary) to end. Cancelled (the caller's
    deadline, say), it interrupts that turn before leaving, as a turn left early does."""
    turn_id: str | None = None
    finished = False
    async with client.subscribe(thread_id) as sub:
        try:
            await client.thread_compact_start(thread_id=thread_id)
            while True:
                try:
                    note = await sub.receive()
                except trio.EndOfChannel:
                    raise client.error or TransportError(
                        "the app-server connection closed during compaction"
                    ) from None
                turn = note.params.get("turn")
                if not isinstance(turn, Mapping):
                    continue
                if note.method == "turn/started":
                    turn_id = turn.get("id")
                elif note.method == "turn/completed":
                    finished = True
                    status = turn.get("status")
                    if status == "completed":
                        return
                    error = turn.get("error")
                    message = error.get("message") if isinstance(error, Mapping) else None
                    raise TurnFailedError(
                        f"compaction {status}: {message or 'no reason given'}",
                        thread_id=thread_id,
                        turn_id=turn.get("id"),
                    )
        finally:
            if turn_id is not None and not finished and client.error is None:
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    try:
                        await client.turn_interrupt(thread_id, turn_id)
                    except CodexError:
                        pass
