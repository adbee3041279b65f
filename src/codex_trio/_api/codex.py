"""The entry point: :class:`Codex` finds the binary and makes threads."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, Self

import attrs

from codex_trio._api import threads as _threads
from codex_trio._api.services import EngineServices
from codex_trio._api.thread import Thread
from codex_trio._api.threads import SortKey, SourceKind, StoredThread, ThreadListing, ThreadPage
from codex_trio._errors import ConfigurationError
from codex_trio._groups import collapse
from codex_trio._home import CodexHomeSeed, HomeRunner, PrivateCodexHome, with_private_home
from codex_trio._protocol.app_server.server_requests import (
    ApprovalHandler,
    DynamicTool,
    decline_and_log,
)
from codex_trio._protocol.app_server.thread_list import decode_cursor, take_page
from codex_trio._protocol.options import CodexOptions, ThreadOptions
from codex_trio._transport.discovery import find_codex
from codex_trio._transport.exec import ExecTransport
from codex_trio._turn import TurnRunner, UsageLedger, default_ledger

if TYPE_CHECKING:
    from codex_trio._transport.app_server import AppServerClient, AppServerTransport
    from codex_trio._transport.app_server._rate_limits import RateLimitTracker

__all__ = ["Codex"]

TransportName = Literal["exec", "app-server"]


class Codex(EngineServices):
    """A handle on the codex engine.

    ``Codex()`` finds the binary (explicit ``codex_path``, then ``$CODEX_TRIO_CODEX_PATH``, then the
    bundled ``openai-codex-cli-bin`` wheel, then ``PATH``) and raises
    :class:`~codex_trio._errors.CodexNotFoundError` at once if there is none; its version is checked
    before the first turn. Options come as a :class:`CodexOptions` or as its fields by keyword::

        codex = Codex(api_key=..., config={"model_reasoning_summary": "concise"})

    Two transports speak to the same binary:

    * ``"exec"`` (default): one ``codex exec`` process per turn. Nothing to open or close.
    * ``"app-server"``: ``codex app-server`` over JSON-RPC, which adds approvals answered by your
      code (``approval_handler``) and client-defined tools (``tools``, see
      :mod:`codex_trio._api.tools`). Use ``async with Codex(transport="app-server") as codex:``
      to keep one long-lived process for all threads; without it each turn starts its own.
      With ``url="ws://HOST:PORT"`` (and ``auth_token=``, if the server wants one) it connects
      to a running ``codex app-server --listen`` instead of spawning one (docs/remote.md).

    ``codex_home="isolated"`` (a temporary directory) or ``codex_home="/some/path"`` gives this
    ``Codex`` a private CODEX_HOME (mode 0700), seeded with the user's ``config.toml`` and/or
    ``auth.json`` if ``codex_home_seed=("config", "auth")`` says so (:attr:`codex_home`;
    docs/codex-home.md). A fresh home is warmed before its first turn. An isolated home is
    removed when ``async with codex:`` ends or at :meth:`aclose` (or, for a ``Codex`` never
    closed, when it is garbage-collected or the interpreter exits); a turn after that raises
    :class:`trio.ClosedResourceError`.

    ``thread_defaults`` (a :class:`ThreadOptions`, or its fields as a dict) are the options of
    every thread this ``Codex`` starts or resumes, so a resumed thread runs as it was started::

        codex = Codex(thread_defaults=ThreadOptions(working_directory="/repo", model="gpt-5.5"))
        thread = codex.start_thread()                      # /repo, gpt-5.5
        later = codex.resume_thread(thread.id)             # the same
        other = codex.start_thread(sandbox_mode="read-only")  # the defaults plus this field

    Fields given to :meth:`start_thread`/:meth:`resume_thread` by keyword override the defaults
    one by one; a whole ``ThreadOptions`` given there replaces them.
    """

    codex_home: PrivateCodexHome | None
    """The private CODEX_HOME (``codex_home=`` given), else None: codex uses the user's."""

    def __init__(
        self,
        options: CodexOptions | None = None,
        *,
        transport: TransportName = "exec",
        ledger: UsageLedger | None = None,
        event_buffer: int = 64,
        approval_handler: ApprovalHandler | None = None,
        tools: Sequence[DynamicTool] = (),
        thread_defaults: ThreadOptions | Mapping[str, Any] | None = None,
        url: str | None = None,
        auth_token: str | None = None,
        codex_home: str | os.PathLike[str] | None = None,
        codex_home_seed: CodexHomeSeed | Sequence[CodexHomeSeed] = (),
        **option_fields: Any,
    ) -> None:
        if options is None:
            options = CodexOptions(**option_fields)
        elif option_fields:
            options = attrs.evolve(options, **option_fields)
        if transport not in ("exec", "app-server"):
            raise ConfigurationError(
                f"unknown transport {transport!r}; expected 'exec' or 'app-server'"
            )
        if transport == "exec" and (approval_handler is not None or tools):
            raise ConfigurationError(
                "approval_handler and tools need transport='app-server' (codex exec cannot ask)"
            )
        if transport == "exec" and (url is not None or auth_token is not None):
            raise ConfigurationError(
                "url and auth_token need transport='app-server' (a remote codex app-server)"
            )
        if event_buffer < 1:
            raise ConfigurationError("event_buffer must be at least 1")
        if thread_defaults is None:
            thread_defaults = ThreadOptions()
        elif isinstance(thread_defaults, Mapping):
            thread_defaults = ThreadOptions(**thread_defaults)
        elif not isinstance(thread_defaults, ThreadOptions):
            raise ConfigurationError(
                f"thread_defaults must be a ThreadOptions or a dict, "
                f"not {type(thread_defaults).__name__}"
            )
        self.thread_defaults: ThreadOptions = thread_defaults
        self.codex_path = find_codex(options.codex_path)
        options, self.codex_home = with_private_home(
            options, codex_home, codex_home_seed, remote=url is not None
        )
        self.options = options
        self._ledger = ledger if ledger is not None else default_ledger
        self._app_server: AppServerTransport | None = None
        self._rate_limits: RateLimitTracker | None = None
        self._runner: TurnRunner
        if transport == "exec":
            self._runner = ExecTransport(
                codex_path=self.codex_path, options=options, event_buffer=event_buffer
            )
        else:
            # Imported here: the app-server protocol module is big, and exec users never need it.
            from codex_trio._transport.app_server import AppServerTransport

            self._app_server = AppServerTransport(
                options=attrs.evolve(options, codex_path=self.codex_path),
                approval_handler=approval_handler or decline_and_log,
                tools=tuple(tools),
                event_buffer=max(event_buffer, 16),
                url=url,
                auth_token=auth_token,
            )
            # The account's rate limits, from account/rateLimits/updated (see latest_rate_limits).
            from codex_trio._transport.app_server._rate_limits import RateLimitTracker

            self._rate_limits = RateLimitTracker()
            self._app_server.global_listeners.append(self._rate_limits)
            self._runner = self._app_server
        # What threads run their turns on: the transport, behind the private home's warm-up.
        self._turns: TurnRunner = self._runner
        if self.codex_home is not None:
            self._turns = HomeRunner(self._runner, self.codex_home, self.codex_path, options)
        self._exit_stack: AsyncExitStack | None = None

    async def __aenter__(self) -> Self:
        """Start the long-lived app-server process (nothing to do for the exec transport).

        A failed start raises its :class:`~codex_trio._errors.TransportError` (or
        :class:`~codex_trio._errors.CodexError`) itself, not the nursery's exception group
        around it, the same error a turn outside ``async with`` raises."""
        await self._ready_home()
        if self._app_server is not None:
            stack = AsyncExitStack()
            with collapse():
                await stack.enter_async_context(self._app_server.open())
            self._exit_stack = stack
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the long-lived app-server (if ``async with`` started one) and remove an isolated
        :attr:`codex_home` with everything codex wrote there. Idempotent; leaving
        ``async with`` calls it. A path home is kept, and this ``Codex`` stays usable; after an
        isolated home is removed, turns raise :class:`trio.ClosedResourceError`."""
        stack, self._exit_stack = self._exit_stack, None
        try:
            if stack is not None:
                with collapse():
                    await stack.aclose()
        finally:
            if self.codex_home is not None:
                self.codex_home.close()

    async def _ready_home(self) -> None:
        """Warm a fresh private home (once); raise if it was removed."""
        if isinstance(self._turns, HomeRunner):
            await self._turns.ready()

    @property
    def transport(self) -> TurnRunner:
        return self._runner

    @asynccontextmanager
    async def _session(self, what: str, *, on_exec: bool = False) -> AsyncIterator[AppServerClient]:
        """An app-server client for a request outside turns (``what`` names the call, for the
        error): on app-server the shared one inside ``async with codex:``, else a private
        process for the block. On exec, with ``on_exec`` (the request only reads or writes what
        CODEX_HOME stores, which both transports share), a private app-server process for the
        block; without it, :class:`ConfigurationError` naming the transport."""
        await self._ready_home()
        transport = self._app_server
        if transport is None:
            if not on_exec:
                raise ConfigurationError(
                    f"{what} needs transport='app-server'; this Codex uses transport='exec'"
                )
            from codex_trio._transport.app_server import AppServerTransport

            transport = AppServerTransport(
                options=attrs.evolve(self.options, codex_path=self.codex_path)
            )
        async with transport.session() as client:
            yield client

    def start_thread(self, options: ThreadOptions | None = None, **option_fields: Any) -> Thread:
        """A new thread (with :attr:`thread_defaults`, ``options`` or ``option_fields`` on top);
        its id is known after its first turn starts."""
        return Thread(
            self._turns,
            self._thread_options(options, option_fields),
            ledger=self._ledger,
            codex=self,
        )

    def _thread_options(
        self, options: ThreadOptions | None, fields: dict[str, Any]
    ) -> ThreadOptions:
        base = self.thread_defaults if options is None else options
        return attrs.evolve(base, **fields) if fields else base

    def resume_thread(
        self, thread_id: str, options: ThreadOptions | None = None, **option_fields: Any
    ) -> Thread:
        """The existing thread ``thread_id`` (from ``thread.id`` of an earlier run); its next turn
        continues the same session with its history. Its options are chosen as for
        :meth:`start_thread`: the codex process of each turn needs them again (a thread started
        with ``skip_git_repo_check=True`` outside a git repository fails to resume without it),
        which :attr:`thread_defaults` gives."""
        if not thread_id or not isinstance(thread_id, str):
            raise ConfigurationError("thread_id must be a non-empty string")
        return Thread(
            self._turns,
            self._thread_options(options, option_fields),
            thread_id=thread_id,
            ledger=self._ledger,
            codex=self,
        )

    # ------------------------------------------------------------------ stored threads

    def list_threads(
        self,
        *,
        archived: bool = False,
        working_directory: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        search_term: str | None = None,
        sort_key: SortKey | None = None,
        sort_direction: Literal["asc", "desc"] | None = None,
        model_providers: Sequence[str] | None = None,
        source_kinds: Sequence[SourceKind] | None = None,
        page_size: int = 100,
    ) -> ThreadListing:
        """Every stored thread of this CODEX_HOME matching the filters, newest first
        (``async for stored in codex.list_threads(): ...``), as :class:`StoredThread` s without
        turns, fetched ``page_size`` at a time (``thread/list``).

        ``archived=True`` lists the archived threads instead of the others;
        ``working_directory`` keeps threads started in that directory (or any of several);
        ``search_term`` those whose title contains it; ``sort_key`` is ``"created_at"``
        (default), ``"updated_at"`` or ``"recency_at"``, ``sort_direction`` ``"desc"``
        (default) or ``"asc"``; ``model_providers`` keeps threads of those providers;
        ``source_kinds`` defaults to :data:`~codex_trio._api.threads.DEFAULT_SOURCE_KINDS`
        (threads of both transports). Arguments are checked here, before any process starts.

        Both transports: inside ``async with Codex(transport="app-server")`` each page is a
        request to the shared process; elsewhere each page starts a short-lived app-server
        (about a second). See :meth:`list_threads_page` for one page and its cursor."""
        filters = _threads.list_filters(
            archived=archived,
            working_directory=working_directory,
            search_term=search_term,
            sort_key=sort_key,
            sort_direction=sort_direction,
            model_providers=model_providers,
            source_kinds=source_kinds,
        )
        _page_size(page_size)

        async def fetch(cursor: str | None) -> ThreadPage:
            return await self._thread_page(cursor, page_size, filters)

        return ThreadListing(fetch)

    async def list_threads_page(
        self,
        *,
        cursor: str | None = None,
        limit: int = 100,
        archived: bool = False,
        working_directory: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        search_term: str | None = None,
        sort_key: SortKey | None = None,
        sort_direction: Literal["asc", "desc"] | None = None,
        model_providers: Sequence[str] | None = None,
        source_kinds: Sequence[SourceKind] | None = None,
    ) -> ThreadPage:
        """One page of :meth:`list_threads` (same filters): at most ``limit`` threads, and the
        ``next_cursor`` to pass as ``cursor`` for the next page (``None`` after the last)."""
        filters = _threads.list_filters(
            archived=archived,
            working_directory=working_directory,
            search_term=search_term,
            sort_key=sort_key,
            sort_direction=sort_direction,
            model_providers=model_providers,
            source_kinds=source_kinds,
        )
        _page_size(limit)
        return await self._thread_page(cursor, limit, filters)

    async def _thread_page(
        self, cursor: str | None, limit: int, filters: Mapping[str, Any]
    ) -> ThreadPage:
        start = decode_cursor(cursor)
        async with self._session("codex.list_threads()", on_exec=True) as client:
            page = await client.thread_list(
                cursor=start.request(filters), limit=limit + len(start.seen), **filters
            )
        rows, next_cursor = take_page(page.data, page.next_cursor, start, limit, filters)
        return ThreadPage(
            threads=tuple(StoredThread.from_wire(t) for t in rows), next_cursor=next_cursor
        )

    async def read_thread(self, thread_id: str, *, turns: bool = True) -> StoredThread:
        """The stored thread ``thread_id`` (``thread/read``), with its turns and their items
        unless ``turns=False``; archived threads too. Raises
        :class:`~codex_trio._errors.ThreadNotFoundError` if CODEX_HOME has no such thread.
        Both transports (on exec, through a short-lived app-server)."""
        from codex_trio._protocol.app_server.messages import InvalidRequestError

        if not thread_id or not isinstance(thread_id, str):
            raise ConfigurationError("thread_id must be a non-empty string")
        async with self._session("codex.read_thread()", on_exec=True) as client:
            try:
                read = await client.thread_read(thread_id=thread_id, include_turns=turns)
            except InvalidRequestError as exc:
                if not _threads.is_not_found(exc):
                    raise
                raise _threads.not_found(thread_id) from exc
        return StoredThread.from_wire(read.thread)


def _page_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigurationError(f"page size must be a positive integer, not {size!r}")
