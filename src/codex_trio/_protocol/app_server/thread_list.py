"""Paging through ``thread/list`` without losing threads (codex 0.163.0).

The engine's next cursor is the page's last sort timestamp cut to the second, and its next page
starts strictly after it, so the other threads of that second are skipped (several threads a
second is common for a service; ``excludedThreadIds`` does not help: with it a page skips the
excluded threads' second too). So a page is fetched from one second before the boundary (on the
page's side), ``len(seen)`` rows more than asked, and the threads of that second already returned
(``seen``) are dropped here. The cursor handed out is JSON marked as ours; an engine cursor given
back passes through as is. Used by ``Codex.list_threads`` and ``AppServerClient.iter_threads``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from codex_trio._errors import ConfigurationError

if TYPE_CHECKING:
    from codex_trio._protocol.app_server import _generated as g

__all__ = ["PageCursor", "decode_cursor", "take_page"]

_ENGINE_CURSOR = "%Y-%m-%dT%H:%M:%SZ"
_MARK = "codex_trio"


@attrs.frozen
class PageCursor:
    """Where a page starts: an engine cursor, or the boundary second with the threads of that
    second already listed."""

    engine: str | None = None
    second: int | None = None
    seen: tuple[str, ...] = ()

    def request(self, filters: Mapping[str, Any]) -> str | None:
        """The ``cursor`` to send to ``thread/list``."""
        if self.second is None:
            return self.engine
        step = -1 if filters.get("sort_direction") == "asc" else 1
        return dt.datetime.fromtimestamp(self.second + step, tz=dt.UTC).strftime(_ENGINE_CURSOR)

    def encode(self) -> str:
        return json.dumps({_MARK: 1, "second": self.second, "seen": list(self.seen)})


def decode_cursor(cursor: str | None) -> PageCursor:
    """The :class:`PageCursor` of a ``ThreadPage.next_cursor`` (or of an engine cursor)."""
    if cursor is None:
        return PageCursor()
    if not isinstance(cursor, str):
        raise ConfigurationError(f"a thread list cursor is a string, not {type(cursor).__name__}")
    try:
        data = json.loads(cursor) if cursor.startswith("{") else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get(_MARK) != 1:
        return PageCursor(engine=cursor)
    try:
        return PageCursor(second=int(data["second"]), seen=tuple(str(i) for i in data["seen"]))
    except (KeyError, TypeError, ValueError):
        raise ConfigurationError(f"not a thread list cursor: {cursor[:200]!r}") from None


def _known_format(engine_cursor: str) -> bool:
    try:
        dt.datetime.strptime(engine_cursor, _ENGINE_CURSOR)
    except ValueError:
        return False
    return True


def take_page(
    rows: Sequence[g.Thread],
    engine_next: str | None,
    cursor: PageCursor,
    limit: int,
    filters: Mapping[str, Any],
) -> tuple[list[g.Thread], str | None]:
    """The ``limit`` threads of a page fetched for ``cursor`` (``limit + len(cursor.seen)``
    rows asked) and the cursor of the next page (``None`` after the last)."""
    seen = set(cursor.seen)
    unseen = [t for t in rows if t.id not in seen]
    taken = unseen[:limit]
    if not taken or (len(unseen) <= limit and not engine_next):
        return taken, None
    field = filters.get("sort_key") or "created_at"
    last = getattr(taken[-1], field, None)
    if not isinstance(last, int) or (engine_next is not None and not _known_format(engine_next)):
        return taken, engine_next  # a cursor this version does not know: as the engine gave it
    boundary = [t.id for t in taken if getattr(t, field, None) == last]
    if cursor.second == last:
        boundary = [*cursor.seen, *boundary]
    return taken, PageCursor(second=last, seen=tuple(boundary)).encode()
