"""The entry point: :class:`Codex` finds the binary and makes threads."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from codex_trio.api.result import UsageLedger, default_ledger
from codex_trio.api.thread import Thread, TurnRunner
from codex_trio.errors import ConfigurationError
from codex_trio.protocol.options import CodexOptions, ThreadOptions
from codex_trio.transport.discovery import find_codex
from codex_trio.transport.exec import ExecTransport

__all__ = ["Codex"]

TransportName = Literal["exec"]


class Codex:
    """A handle on the codex engine.

    ``Codex()`` finds the binary (explicit ``codex_path``, then ``$CODEX_TRIO_CODEX_PATH``, then the
    bundled ``openai-codex-cli-bin`` wheel, then ``PATH``) and raises
    :class:`~codex_trio.errors.CodexNotFoundError` at once if there is none; its version is checked
    before the first turn. Options come as a :class:`CodexOptions` or as its fields by keyword::

        codex = Codex(api_key=..., config={"model_reasoning_summary": "concise"})

    Creating threads starts nothing: a process is spawned per turn (``exec`` transport).
    """

    def __init__(
        self,
        options: CodexOptions | None = None,
        *,
        transport: TransportName = "exec",
        ledger: UsageLedger | None = None,
        event_buffer: int = 64,
        **option_fields: Any,
    ) -> None:
        if options is None:
            options = CodexOptions(**option_fields)
        elif option_fields:
            options = attrs.evolve(options, **option_fields)
        if transport != "exec":
            raise ConfigurationError(f"unknown transport {transport!r}; expected 'exec'")
        if event_buffer < 1:
            raise ConfigurationError("event_buffer must be at least 1")
        self.options = options
        self.codex_path = find_codex(options.codex_path)
        self._ledger = ledger if ledger is not None else default_ledger
        self._runner: TurnRunner = ExecTransport(
            codex_path=self.codex_path, options=options, event_buffer=event_buffer
        )

    @property
    def transport(self) -> TurnRunner:
        return self._runner

    def start_thread(self, options: ThreadOptions | None = None, **option_fields: Any) -> Thread:
        """A new thread; its id is known after its first turn starts."""
        return Thread(self._runner, _thread_options(options, option_fields), ledger=self._ledger)

    def resume_thread(
        self, thread_id: str, options: ThreadOptions | None = None, **option_fields: Any
    ) -> Thread:
        """The existing thread ``thread_id`` (from ``thread.id`` of an earlier run); its next turn
        continues the same session with its history."""
        if not thread_id or not isinstance(thread_id, str):
            raise ConfigurationError("thread_id must be a non-empty string")
        return Thread(
            self._runner,
            _thread_options(options, option_fields),
            thread_id=thread_id,
            ledger=self._ledger,
        )


def _thread_options(options: ThreadOptions | None, fields: dict[str, Any]) -> ThreadOptions:
    if options is None:
        return ThreadOptions(**fields)
    return attrs.evolve(options, **fields) if fields else options
