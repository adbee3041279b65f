"""codex-trio in blocking form: the same API as :mod:`codex_trio`, without ``await``.

::

    from codex_trio import sync

    with sync.Codex() as codex:
        thread = codex.start_thread(working_directory=".", skip_git_repo_check=True)
        print(thread.run("Diagnose the failing test").final_response)
        with thread.run_streamed("Now fix it") as events:
            for event in events:
                print(type(event).__name__)

Each :class:`Codex` (and :class:`Runtime`) owns one trio loop on a background thread
(:mod:`codex_trio._bridge`), started at its first call and stopped by :meth:`Codex.close` /
leaving ``with`` (or when it is garbage-collected, or at interpreter exit). Every call runs the
trio API's own code on that loop and blocks for its outcome: results are the same
:class:`~codex_trio.TurnResult`, events the same classes, errors the same
:class:`~codex_trio.CodexError` subclasses. Ctrl-C during a call cancels it on the loop (a turn
is interrupted and its codex stopped and reaped) and then raises ``KeyboardInterrupt``.

A streamed turn's events come through a bounded hand-off (``handoff`` events, default 8): while
you do not read, the loop does not either, and codex is stopped by the pipe as in the trio API.

Approval handlers and Python tools are plain functions here: ``approval_handler=fn`` with
``fn(request) -> ApprovalDecision``, and :func:`tool` over a plain function. They run on a
worker thread (``trio.to_thread``), never on the loop's thread, so they may block. The trio
API's own handlers (``allow_command_prefixes`` ...) and ``async`` tools are accepted as they are.

Whatever this module does not name (engine services such as ``models()``, ``read_config()``,
``run_command()``, thread management such as ``fork()``, ``archive()``) is reached through the
same name as in the trio API: a coroutine method there is a blocking method here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar, overload

import outcome
import trio

import codex_trio
from codex_trio._api.threads import ThreadListing, ThreadPage
from codex_trio._api.tools import tool as _async_tool
from codex_trio._bridge import Bridge, FrontProxy, Handoff, Held, JobCancelled, StreamView
from codex_trio._protocol.app_server.server_requests import (
    ApprovalDecision,
    ApprovalHandler,
    ApprovalRequest,
    DynamicTool,
)
from codex_trio._protocol.exec_events import ThreadEvent
from codex_trio._protocol.options import Input, ThreadOptions, TurnOptions
from codex_trio._turn import TurnResult

__all__ = ["Codex", "Runtime", "Thread", "ThreadHandle", "TurnStream", "tool"]

T = TypeVar("T")
DEFAULT_HANDOFF = 8

BlockingApprovalHandler = Callable[[ApprovalRequest], ApprovalDecision]


def _as_trio_handler(handler: BlockingApprovalHandler | ApprovalHandler) -> ApprovalHandler:
    """The trio handler running a blocking ``handler`` on a worker thread (an ``async``
    handler, such as the trio API's own, is returned as it is)."""
    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an async callable object
    ):
        return handler  # type: ignore[return-value]

    async def run_on_worker(request: ApprovalRequest) -> ApprovalDecision:
        decision: ApprovalDecision = await trio.to_thread.run_sync(
            handler,  # type: ignore[arg-type]
            request,
            abandon_on_cancel=True,
        )
        return decision

    return run_on_worker


@overload
def tool(fn: Callable[..., Any], /) -> DynamicTool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float = 60.0,
) -> Callable[[Callable[..., Any]], DynamicTool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float = 60.0,
) -> DynamicTool | Callable[[Callable[..., Any]], DynamicTool]:
    """:func:`codex_trio.tool` for a plain function: its schema comes from its signature and
    docstring as there, and each call runs it on a worker thread (it may block)."""

    def make(f: Callable[..., Any]) -> DynamicTool:
        if inspect.iscoroutinefunction(f):
            return _async_tool(name=name, description=description, timeout=timeout)(f)

        @functools.wraps(f)
        async def on_worker(**arguments: Any) -> Any:
            return await trio.to_thread.run_sync(
                functools.partial(f, **arguments), abandon_on_cancel=True
            )

        return _async_tool(name=name, description=description, timeout=timeout)(on_worker)

    if fn is not None:
        return make(fn)
    return make


def _tools(tools: Sequence[DynamicTool | Callable[..., Any]]) -> tuple[DynamicTool, ...]:
    return tuple(t if isinstance(t, DynamicTool) else tool(t) for t in tools)


def _call(bridge: Bridge, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` (a coroutine function) on the bridge, blocking."""
    try:
        return bridge.run(functools.partial(fn, *args, **kwargs))
    except JobCancelled:  # pragma: no cover - only a cancel of ours ends a job so
        raise KeyboardInterrupt from None


class _Front(FrontProxy):
    """What the blocking proxies share: their bridge, and blocking forms of whatever coroutine
    methods the wrapped trio object has."""

    _bridge: Bridge
    _inner: Any

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, codex_trio.Thread):
            return Thread(self._bridge, value)
        if isinstance(value, ThreadListing):
            return _iterate(self._bridge, value)
        return value

    def _lift(self, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def blocking(*args: Any, **kwargs: Any) -> Any:
            return self._wrap(_call(self._bridge, fn, *args, **kwargs))

        return blocking


def _iterate(bridge: Bridge, listing: ThreadListing) -> Iterator[codex_trio.StoredThread]:
    """A stored-thread listing as a plain iterator: one page request at a time."""
    fetch = listing._fetch
    cursor: str | None = None
    while True:
        page: ThreadPage = _call(bridge, fetch, cursor)
        yield from page.threads
        cursor = page.next_cursor
        if cursor is None:
            return


class TurnStream(StreamView):
    """A running turn's events, as a plain iterator (see :meth:`Thread.run_streamed`)."""

    def __init__(self, bridge: Bridge, handoff: Handoff, stream: codex_trio.TurnStream) -> None:
        self._bridge = bridge
        self._handoff = handoff
        self._stream = stream
        self._ended = False

    def __iter__(self) -> TurnStream:
        return self

    def __next__(self) -> ThreadEvent:
        if self._ended:
            raise StopIteration
        event = self._handoff.get()
        if event is None:
            self._ended = True
            host = self._handoff.host
            assert host is not None
            host.wait()  # what the turn raised, if it did
            raise StopIteration
        return event

    def steer(self, input: Input) -> None:
        """Add input to the running turn (app-server)."""
        _call(self._bridge, self._stream.steer, input)

    def interrupt(self) -> None:
        """Stop the running turn (app-server); the stream then ends with a ``TurnFailedEvent``."""
        _call(self._bridge, self._stream.interrupt)


@contextmanager
def _streamed(bridge: Bridge, cm: Callable[[], Any], capacity: int) -> Iterator[TurnStream]:
    handoff = Handoff(bridge, cm, capacity)
    stream = handoff.start().wait()
    host = handoff.host
    assert host is not None
    try:
        yield TurnStream(bridge, handoff, stream)
    except BaseException:
        host.cancel()
        host.wait_uninterrupted()
        raise
    if not host.done.is_set():
        host.cancel()  # left early: stop the turn
    host.wait_uninterrupted()
    assert host.outcome is not None
    if isinstance(host.outcome, outcome.Error) and not isinstance(host.outcome.error, JobCancelled):
        raise host.outcome.error


class Thread(_Front):
    """A Codex thread (from :meth:`Codex.start_thread`, :meth:`Codex.resume_thread`,
    :meth:`fork`); its management methods are those of :class:`codex_trio.Thread`, blocking."""

    def __init__(self, bridge: Bridge, inner: Any, handoff: int = DEFAULT_HANDOFF) -> None:
        self._bridge = bridge
        self._inner = inner
        self._handoff = handoff

    @property
    def id(self) -> str | None:
        thread_id: str | None = self._inner.id
        return thread_id

    @property
    def options(self) -> ThreadOptions:
        options: ThreadOptions = self._inner.options
        return options

    def run(
        self, input: Input, options: TurnOptions | None = None, **turn_options: Any
    ) -> TurnResult:
        """Run a turn to its end (see :meth:`codex_trio.Thread.run`)."""
        result: TurnResult = _call(self._bridge, self._inner.run, input, options, **turn_options)
        return result

    def run_streamed(
        self, input: Input, options: TurnOptions | None = None, **turn_options: Any
    ) -> AbstractContextManager[TurnStream]:
        """``with thread.run_streamed(...) as events: for event in events: ...``; leaving the
        block early stops the turn."""
        return _streamed(
            self._bridge,
            lambda: self._inner.run_streamed(input, options, **turn_options),
            self._handoff,
        )

    def close(self) -> None:
        """See :meth:`codex_trio.Thread.close`."""

        async def close() -> None:
            self._inner.close()

        _call(self._bridge, close)


class ThreadHandle(Thread):
    """A supervised thread of a :class:`Runtime` (see :class:`codex_trio.ThreadHandle`)."""

    @property
    def name(self) -> str:
        name: str = self._inner.name
        return name


class Codex(_Front):
    """:class:`codex_trio.Codex`, blocking. Takes the same arguments (``approval_handler`` and
    ``tools`` may be plain functions), plus ``handoff`` (events a streamed turn may hold
    between the loop and your thread). ``with Codex(...) as codex:`` opens what ``async with``
    opens (the long-lived app-server); :meth:`close` (or leaving ``with``) closes it and stops
    the loop thread."""

    def __init__(
        self,
        *args: Any,
        approval_handler: BlockingApprovalHandler | ApprovalHandler | None = None,
        tools: Sequence[DynamicTool | Callable[..., Any]] = (),
        handoff: int = DEFAULT_HANDOFF,
        **kwargs: Any,
    ) -> None:
        if approval_handler is not None:
            kwargs["approval_handler"] = _as_trio_handler(approval_handler)
        self._inner = codex_trio.Codex(*args, tools=_tools(tools), **kwargs)
        self._bridge = Bridge("codex-trio-sync")
        self._handoff = handoff
        self._held: Held[Any] | None = None

    @property
    def inner(self) -> codex_trio.Codex:
        """The trio :class:`codex_trio.Codex` underneath (use it only on :attr:`bridge`)."""
        return self._inner  # type: ignore[no-any-return]

    @property
    def bridge(self) -> Bridge:
        return self._bridge

    def __enter__(self) -> Codex:
        held = self._bridge.hold(lambda: self._inner)
        held.start().wait()
        self._held = held
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close what ``with`` opened, remove an isolated home, stop the loop. Idempotent."""
        if self._bridge.closed:
            return
        held, self._held = self._held, None
        try:
            if held is not None:
                held.release()
                assert held.host is not None
                held.host.wait()
            if self._bridge.running or self._inner.codex_home is not None:
                _call(self._bridge, self._inner.aclose)
        finally:
            self._bridge.close()

    def start_thread(self, options: ThreadOptions | None = None, **option_fields: Any) -> Thread:
        return Thread(
            self._bridge, self._inner.start_thread(options, **option_fields), self._handoff
        )

    def resume_thread(
        self, thread_id: str, options: ThreadOptions | None = None, **option_fields: Any
    ) -> Thread:
        return Thread(
            self._bridge,
            self._inner.resume_thread(thread_id, options, **option_fields),
            self._handoff,
        )

    def list_threads(self, **filters: Any) -> Iterator[codex_trio.StoredThread]:
        """Every stored thread matching the filters (see :meth:`codex_trio.Codex.list_threads`),
        as a plain iterator fetching a page at a time."""
        return _iterate(self._bridge, self._inner.list_threads(**filters))


class Runtime(_Front):
    """:class:`codex_trio.Runtime`, blocking: ``with Runtime(...) as runtime:`` starts the
    supervisor tree on the loop thread; :meth:`start_thread` returns a :class:`ThreadHandle`."""

    def __init__(
        self,
        *args: Any,
        approval_handler: BlockingApprovalHandler | ApprovalHandler | None = None,
        tools: Sequence[DynamicTool | Callable[..., Any]] = (),
        handoff: int = DEFAULT_HANDOFF,
        **kwargs: Any,
    ) -> None:
        if approval_handler is not None:
            kwargs["approval_handler"] = _as_trio_handler(approval_handler)
        self._inner = codex_trio.Runtime(*args, tools=_tools(tools), **kwargs)
        self._bridge = Bridge("codex-trio-sync-runtime")
        self._handoff = handoff
        self._held: Held[Any] | None = None

    @property
    def bridge(self) -> Bridge:
        return self._bridge

    def __enter__(self) -> Runtime:
        held = self._bridge.hold(lambda: self._inner)
        held.start().wait()
        self._held = held
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Drain and stop the runtime (as leaving ``async with`` does), stop the loop."""
        held, self._held = self._held, None
        try:
            if held is not None:
                held.release()
                assert held.host is not None
                held.host.wait()
        finally:
            self._bridge.close()

    def start_thread(self, options: ThreadOptions | None = None, **kwargs: Any) -> ThreadHandle:
        inner = _call(self._bridge, self._inner.start_thread, options, **kwargs)
        return ThreadHandle(self._bridge, inner, self._handoff)

    def resume_thread(self, thread_id: str, **kwargs: Any) -> ThreadHandle:
        inner = _call(self._bridge, self._inner.resume_thread, thread_id, **kwargs)
        return ThreadHandle(self._bridge, inner, self._handoff)

    def whereis(self, name: str) -> ThreadHandle | None:
        inner = self._inner.whereis(name)
        return None if inner is None else ThreadHandle(self._bridge, inner, self._handoff)
