"""codex_trio.api: what users touch: :class:`Codex`, :class:`Thread`, :class:`TurnResult`."""

from codex_trio._turn import TurnResult, TurnRunner, TurnStream, UsageLedger
from codex_trio.api.codex import Codex
from codex_trio.api.thread import Thread

__all__ = ["Codex", "Thread", "TurnResult", "TurnRunner", "TurnStream", "UsageLedger"]
