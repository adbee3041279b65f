"""A Codex thread: a conversation whose turns run one at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import attrs
import trio

from codex_trio._api import threads as _threads
from codex_trio._api.threads import StoredThread, ThreadNotStartedError
from codex_trio._errors import ConfigurationError
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

if TYPE_CHECKING:
    from codex_trio._api.codex import Codex
    from codex_trio._protocol.app_server import _generated as g
    from codex_trio._transport.app_server import AppServerClient

__all__ = ["Thread"]


class Thread:
    """A Codex thread. Get one from :meth:`Codex.start_thread`, :meth:`Codex.resume_thread` or
    :meth:`fork`; :meth:`rename`, :meth:`archive`, :meth:`rollback`, :meth:`compact` and
    :meth:`read` manage what CODEX_HOME stores of it (on both transports; they need its id,
    which it has once its first turn started: before, :class:`ThreadNotStartedError`).

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
        codex: Codex | None = None,
    ) -> None:
        self._state = ThreadState(
            runner=runner, options=options, ledger=ledger, thread_id=thread_id
        )
        self._lock = trio.Lock()
        self._codex = codex

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
        should close threads it is done with (the records are bounded anyway). The shared
        app-server then unloads the thread in the background; :meth:`aclose` waits for that."""
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
            streamed.defer_wakeups()  # nobody sees the events: woken for the end only
            async for _ in streamed:
                pass
        return finish(streamed, opts)

    # A bound of our own (ASYNC109): past it the engine is merely slow to unload, not an error.
    async def aclose(self, *, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """:meth:`close`, then wait (at most ``timeout`` seconds) until the engine has unloaded
        the thread: inside ``async with Codex(transport="app-server")`` the shared process
        holds every thread it ran (about 1.2 MB each) until told to let go, and this returns
        once it says ``thread/closed`` (``thread/loaded/list`` no longer has it). Waits for a
        turn of this Thread that is running to end first. Elsewhere nothing holds a thread
        between turns (exec and private app-server processes exit with their turn), and this
        is :meth:`close`."""
        async with self._lock:
            codex, thread_id = self._codex, self.id
            transport = codex._app_server if codex is not None else None
            client = transport.client if transport is not None else None
            if (
                thread_id is None
                or client is None
                or client.error is not None
                or not client.is_loaded(thread_id)
            ):
                self.close()
                return
            async with client.subscribe(thread_id) as sub:
                self.close()
                with trio.move_on_after(timeout):
                    async for note in sub:
                        if note.method == "thread/closed":
                            return

    # ---------------------------------------------------------------- management

    def _started(self, what: str) -> tuple[Codex, str]:
        if self._codex is None:
            raise ConfigurationError(
                f"{what} needs a Thread from Codex.start_thread() or Codex.resume_thread()"
            )
        if self.id is None:
            raise ThreadNotStartedError(
                f"{what}: this thread has no id yet (codex names a thread when its first turn "
                "starts); run a turn first",
            )
        return self._codex, self.id

    async def _missing(self, client: AppServerClient, what: str) -> Exception:
        """What a "no rollout found" answer means: no such thread, or an archived one (the
        engine looks only at active rollouts for most calls)."""
        assert self.id is not None
        if await _threads.exists(client, self.id):
            return _threads.archived(self.id, what)
        return _threads.not_found(self.id)

    async def _load(self, client: AppServerClient, what: str) -> tuple[g.Turn, ...] | None:
        """Load the thread into ``client``'s process if it is not (``thread/revert`` and
        ``thread/compact/start`` work on loaded threads only); its turns when it resumed it."""
        from codex_trio._protocol.app_server.messages import InvalidRequestError

        assert self._codex is not None and self.id is not None
        if client.is_loaded(self.id):
            return None
        transport = self._codex._app_server
        tools = transport.tools if transport is not None else ()
        try:
            resumed = await client.thread_resume(self.id, self.options, tools=tools)
        except InvalidRequestError as exc:
            if _threads.is_archived(exc):
                raise _threads.archived(self.id, what) from exc
            raise
        return resumed.thread.turns

    async def read(self, *, turns: bool = True) -> StoredThread:
        """This thread as stored (see :meth:`Codex.read_thread`)."""
        codex, thread_id = self._started("thread.read()")
        return await codex.read_thread(thread_id, turns=turns)

    async def fork(self, options: ThreadOptions | None = None, **option_fields: Any) -> Thread:
        """A new thread of the same :class:`Codex` holding a copy of this one's history
        (``thread/fork``); this thread is unchanged. The fork keeps this thread's options
        (``options`` replaces them, ``option_fields`` override them one by one) and has its
        own id at once; its next turn continues from the copied history. Works on both
        transports (on exec, through a short-lived app-server: the fork is stored in
        CODEX_HOME, and ``codex exec resume`` continues it)."""
        from codex_trio._protocol.app_server.messages import InvalidRequestError
        from codex_trio._protocol.app_server.params import thread_params

        codex, thread_id = self._started("thread.fork()")
        base = self.options if options is None else options
        new_options = attrs.evolve(base, **option_fields) if option_fields else base
        async with self._lock, codex._session("thread.fork()", on_exec=True) as client:
            try:
                forked = await client.thread_fork(
                    thread_id, extra_params=thread_params(new_options)
                )
            except InvalidRequestError as exc:
                if _threads.is_archived(exc):
                    raise _threads.archived(thread_id, "thread.fork()") from exc
                if not _threads.is_not_found(exc):
                    raise
                raise await self._missing(client, "thread.fork()") from exc
            fork_id = forked.thread.id
            transport = codex._app_server
            if transport is not None and transport.tools and client is transport.client:
                # The engine gives the fork the parent's dynamic tools, but the client answers
                # a tool call only for a thread it registered them for (the parent may not be
                # loaded here): let the fork's first turn resume it with them.
                client.forget_thread(fork_id)
        return Thread(
            self._state.runner,
            new_options,
            thread_id=fork_id,
            ledger=self._state.ledger,
            codex=codex,
        )

    async def archive(self) -> None:
        """Archive the thread (``thread/archive``): codex moves its rollout to
        ``CODEX_HOME/archived_sessions``, ``list_threads()`` shows it only with
        ``archived=True``, and it cannot run or be resumed until :meth:`unarchive`. Archiving
        an archived thread does nothing. Both transports."""
        from codex_trio._protocol.app_server.messages import InvalidRequestError

        codex, thread_id = self._started("thread.archive()")
        async with self._lock, codex._session("thread.archive()", on_exec=True) as client:
            try:
                await client.thread_archive(thread_id)
            except InvalidRequestError as exc:
                if not _threads.is_not_found(exc):
                    raise
                if not await _threads.exists(client, thread_id):
                    raise _threads.not_found(thread_id) from exc
                # archived already: thread/archive looks at active rollouts only
        self.close()

    async def unarchive(self) -> None:
        """Bring an archived thread back (``thread/unarchive``); a thread that is not archived
        is left as it is. Both transports."""
        from codex_trio._protocol.app_server.messages import InvalidRequestError

        codex, thread_id = self._started("thread.unarchive()")
        async with codex._session("thread.unarchive()", on_exec=True) as client:
            try:
                await client.thread_unarchive(thread_id=thread_id)
            except InvalidRequestError as exc:
                if not _threads.is_not_found(exc):
                    raise
                if not await _threads.exists(client, thread_id):
                    raise _threads.not_found(thread_id) from exc

    async def rename(self, name: str) -> None:
        """Give the thread a title (``thread/name/set``), which :meth:`Codex.list_threads` and
        :meth:`Codex.read_thread` show as ``name``. Both transports."""
        from codex_trio._protocol.app_server.messages import InvalidRequestError

        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError("a thread's name must be a non-empty string")
        codex, thread_id = self._started("thread.rename()")
        async with codex._session("thread.rename()", on_exec=True) as client:
            try:
                await client.thread_name_set(thread_id=thread_id, name=name)
            except InvalidRequestError as exc:
                if not _threads.is_not_found(exc):
                    raise
                raise await self._missing(client, "thread.rename()") from exc

    async def rollback(self, turns: int = 1) -> None:
        """Drop the last ``turns`` turns from the thread's history (``thread/revert`` before
        the first of them): the next turn's model request no longer contains them. Turns count
        as :meth:`read` lists them (a :meth:`compact` is one). Files those turns changed stay
        changed: only the conversation is rolled back. Both transports (on exec through a
        short-lived app-server; ``codex exec resume`` then continues the shortened thread)."""
        if isinstance(turns, bool) or not isinstance(turns, int) or turns < 1:
            raise ConfigurationError(f"turns must be a positive integer, not {turns!r}")
        codex, thread_id = self._started("thread.rollback()")
        async with self._lock, codex._session("thread.rollback()", on_exec=True) as client:
            history = await self._load(client, "thread.rollback()")
            if history is None:
                read = await client.thread_read(thread_id=thread_id, include_turns=True)
                history = read.thread.turns
            if turns > len(history):
                raise ConfigurationError(
                    f"cannot roll back {turns} turns: thread {thread_id} has {len(history)}"
                )
            await client.thread_revert(thread_id=thread_id, before_turn_id=history[-turns].id)

    async def compact(self) -> None:
        """Compact the thread's context (``thread/compact/start``): codex asks the model for a
        summary of the conversation so far, and later turns send that summary instead of the
        whole history. Returns when the compaction turn has ended; it fails as a turn does
        (:class:`~codex_trio._errors.TurnFailedError`). Bound it with your own cancel scope
        (``with trio.fail_after(60):``): cancelled, it interrupts the compaction. Both
        transports (on exec, through a short-lived app-server)."""
        codex, thread_id = self._started("thread.compact()")
        async with self._lock, codex._session("thread.compact()", on_exec=True) as client:
            await self._load(client, "thread.compact()")
            await _threads.compact_on(client, thread_id)

    async def delete(self) -> None:
        """Delete the thread for good (``thread/delete``): codex removes its rollout file and
        its row in the thread index, archived or not, so :meth:`Codex.list_threads`,
        :meth:`Codex.read_thread` and a resume no longer find it (a later turn of this Thread
        raises :class:`~codex_trio._errors.ThreadNotFoundError`). A thread CODEX_HOME does not
        know raises ``ThreadNotFoundError``. Both transports (on exec, through a short-lived
        app-server)."""
        from codex_trio._protocol.app_server.messages import InvalidRequestError

        codex, thread_id = self._started("thread.delete()")
        async with self._lock, codex._session("thread.delete()", on_exec=True) as client:
            try:
                await client.thread_delete(thread_id=thread_id)
            except InvalidRequestError as exc:
                if not _threads.is_not_found(exc):
                    raise
                raise _threads.not_found(thread_id) from exc
        self.close()  # the engine dropped it: the client must not take it as still loaded
