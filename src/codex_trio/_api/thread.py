"""A Codex thread: a conversation whose turns run one at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from codex_trio._protocol.options import Input, ThreadOptions, TurnOptions
from codex_trio._turn import (
    ThreadState,
    TurnResult,
    TurnRunner,
    TurnStream,
    UsageLedger,
    finish,
    open_turn,
    turn_options,
)

__all__ = ["Thread"]


class Thread:
    """A Codex thread. Get one from :meth:`Codex.start_thread` or :meth:`Codex.resume_thread`.

    ``id`` is None until the first turn's ``thread.started`` event names the thread (or set from
    the start when resuming). Turns on one Thread run one after another: a second ``run`` waits
    for the first to finish, since two codex processes resuming one session would interleave
    its history.
    """

    def __init__(
        self,
        runner: TurnRunner,
        options: ThreadOptions,
        *,
        thread_id: str | None = None,
        ledger: UsageLedger,
    ) -> None:
        self._state = ThreadState(
            runner=runner, options=options, ledger=ledger, thread_id=thread_id
        )
        self._lock = trio.Lock()

    @property
    def id(self) -> str | None:
        return self._state.thread_id

    @property
    def options(self) -> ThreadOptions:
        return self._state.options

    def close(self) -> None:
        """Let the transport forget what it keeps about this thread (on app-server, the shared
        client's record: tools, approval handler, usage, loaded). The thread lives on in
        CODEX_HOME: running it again, or ``resume_thread(id)``, resumes it. A long-lived service
        should close threads it is done with (the records are bounded anyway)."""
        forget = getattr(self._state.runner, "forget_thread", None)
        if forget is not None and self.id is not None:
            forget(self.id)

    @asynccontextmanager
    async def run_streamed(
        self, input: Input, options: TurnOptions | None = None, **turn_options_: Any
    ) -> AsyncIterator[TurnStream]:
        """Run a turn and yield its events through a bounded channel as they arrive.

        ``turn.failed`` is an event here, not an exception; a dead or misbehaving codex raises
        :class:`~codex_trio._errors.TransportError` / :class:`~codex_trio._errors.ProtocolError`
        from the iteration. Leaving the block early stops codex. After the iteration,
        ``streamed.result`` is the :class:`TurnResult`.
        """
        opts = turn_options(options, turn_options_)
        async with self._lock, open_turn(self._state, input, opts) as streamed:
            yield streamed

    async def run(
        self, input: Input, options: TurnOptions | None = None, **turn_options_: Any
    ) -> TurnResult:
        """Run a turn to its end and return its :class:`TurnResult`.

        Keyword arguments are :class:`TurnOptions` fields (``output_schema``, ``images``,
        ``timeout``, ``deadline``). Raises :class:`~codex_trio._errors.TurnFailedError` when codex
        reports ``turn.failed``, :class:`~codex_trio._errors.StructuredOutputError` when an output
        schema was given and the final message is not JSON, and transport errors as
        :meth:`run_streamed` does.
        """
        opts = turn_options(options, turn_options_)
        async with self._lock, open_turn(self._state, input, opts) as streamed:
            async for _ in streamed:
                pass
        return finish(streamed, opts)
