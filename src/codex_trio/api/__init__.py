"""codex_trio.api: what users touch: :class:`Codex`, :class:`Thread`, :class:`TurnResult`."""

from codex_trio.api.codex import Codex
from codex_trio.api.result import TurnResult, UsageLedger
from codex_trio.api.thread import StreamedTurn, Thread, TurnRunner

__all__ = ["Codex", "StreamedTurn", "Thread", "TurnResult", "TurnRunner", "UsageLedger"]
