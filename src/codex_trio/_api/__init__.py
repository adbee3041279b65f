"""codex_trio._api: what users touch: :class:`Codex`, :class:`Thread`, :class:`TurnResult`."""

from codex_trio._api.codex import Codex
from codex_trio._api.thread import Thread
from codex_trio._turn import TurnResult, TurnRunner, TurnStream, UsageLedger

__all__ = ["Codex", "Thread", "TurnResult", "TurnRunner", "TurnStream", "UsageLedger"]
