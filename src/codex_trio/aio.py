"""codex-trio in asyncio form: the same API as :mod:`codex_trio`, awaited from asyncio.

::

    import asyncio
    from codex_trio import aio

    async def main():
        async with aio.Codex() as codex:
            thread = codex.start_thread(working_directory=".", skip_git_repo_check=True)
            print((await thread.run("Diagnose the failing test")).final_response)
            async with thread.run_streamed("Now fix it") as events:
                async for event in events:
                    print(type(event).__name__)

    asyncio.run(main())

Each :class:`Codex` (and :class:`Runtime`) owns one trio loop on a background thread
(:mod:`codex_trio._bridge`), as in :mod:`codex_trio.sync`; every call runs the trio API's own
code there and the asyncio side awaits its outcome without blocking the event loop. Cancelling
the awaiting task (``task.cancel()``, ``asyncio.timeout``) cancels the call on the trio loop and
waits for it to end (a turn is interrupted, its codex stopped and reaped) before the task sees
``CancelledError``. Results, events and errors are the trio API's own.

A streamed turn's events come through a bounded hand-off (``handoff`` events, default 8): a
slow ``async for`` stops the trio side, and so codex.

Approval handlers and Python tools may be ``async def`` coroutines of yours: they run on *your*
asyncio loop (``asyncio.run_coroutine_threadsafe``), never on the trio thread, and the trio side
waits for their result. Plain functions run on a worker thread. The trio API's own handlers
(``allow_command_prefixes`` ...) are accepted as they are.

Whatever this module does not name (``models()``, ``read_config()``, ``fork()``, ...) is reached
by the same name as in the trio API: a coroutine method there is a coroutine method here.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar, overload

import outcome
import trio

import codex_trio
from codex_trio._api.threads import ThreadListing, ThreadPage
from codex_trio._api.tools import tool as _trio_tool
from codex_trio._bridge import (
    Bridge,
    FrontProxy,
    Handoff,
    Held,
    Job,
    JobCancelled,
    StreamView,
    await_concurrent,
)
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


class _LoopRef:
    """The caller's asyncio loop, as last seen by a call of the front door (where approval
    handlers and tools of the caller's kind are scheduled)."""

    loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        if self.loop is None or self.loop.is_closed():
            raise RuntimeError("no asyncio loop has called this front door yet")
        return self.loop


async def _on_caller_loop(ref: _LoopRef, make: Callable[[], Awaitable[T]]) -> T:
    """From trio: run ``await make()`` on the caller's asyncio loop and wait for it; a trio
    cancellation cancels the asyncio task."""

    async def run() -> T:
        return await make()

    future = asyncio.run_coroutine_threadsafe(run(), ref.get())
    result: T = await await_concurrent(future)
    return result


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004
    )


def _is_ours(fn: Any) -> bool:
    """A handler from codex-trio itself (``allow_command_prefixes`` ...): trio code."""
    module = getattr(fn, "__module__", None) or ""
    return module == "codex_trio" or module.startswith("codex_trio.")


def _approval_handler(ref: _LoopRef, handler: Any) -> ApprovalHandler:
    if _is_ours(handler):
        return handler  # type: ignore[no-any-return]
    if _is_async(handler):

        async def on_caller_loop(request: ApprovalRequest) -> ApprovalDecision:
            return await _on_caller_loop(ref, lambda: handler(request))

        return on_caller_loop

    async def on_worker(request: ApprovalRequest) -> ApprovalDecision:
        decision: ApprovalDecision = await trio.to_thread.run_sync(
            handler, request, abandon_on_cancel=True
        )
        return decision

    return on_worker


class _PendingTool:
    """A tool made by :func:`tool` before its front door (and so its loop) is known."""

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any]) -> None:
        self.fn = fn
        self.options = options

    def bind(self, ref: _LoopRef) -> DynamicTool:
        fn = self.fn
        if _is_async(fn):

            @functools.wraps(fn)
            async def on_caller_loop(**arguments: Any) -> Any:
                return await _on_caller_loop(ref, lambda: fn(**arguments))

            return _trio_tool(**self.options)(on_caller_loop)

        @functools.wraps(fn)
        async def on_worker(**arguments: Any) -> Any:
            return await trio.to_thread.run_sync(
                functools.partial(fn, **arguments), abandon_on_cancel=True
            )

        return _trio_tool(**self.options)(on_worker)


@overload
def tool(fn: Callable[..., Any], /) -> Any: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout: float = 60.0
) -> Callable[[Callable[..., Any]], Any]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float = 60.0,
) -> Any:
    """:func:`codex_trio.tool` for an asyncio coroutine function (or a plain function): give
    it to ``aio.Codex(tools=[...])``; each call runs on the asyncio loop that uses that Codex
    (a plain function on a worker thread). Schema from the signature, as there."""
    options = {"name": name, "description": description, "timeout": timeout}
    if fn is not None:
        return _PendingTool(fn, options)
    return lambda f: _PendingTool(f, options)


def _tools(ref: _LoopRef, tools: Sequence[Any]) -> tuple[DynamicTool, ...]:
    out = []
    for t in tools:
        if isinstance(t, DynamicTool):
            out.append(t)
        elif isinstance(t, _PendingTool):
            out.append(t.bind(ref))
        else:
            out.append(_PendingTool(t, {}).bind(ref))
    return tuple(out)


async def _await_job(job: Job[T], *, unwrap: bool = True) -> T:
    """Await a bridge job from asyncio; cancelled, cancel it and wait for it to end first."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def wake(_: Job[Any]) -> None:
        try:
            loop.call_soon_threadsafe(done.set)
        except RuntimeError:  # pragma: no cover - the caller's loop is closed
            pass

    job.add_done_callback(wake)
    target = job.target
    if target is not job:
        target.add_done_callback(wake)
    try:
        await done.wait()
    except asyncio.CancelledError:
        job.cancel()
        while not target.done.is_set():
            done.clear()
            if target.done.is_set():
                break
            try:
                await done.wait()
            except asyncio.CancelledError:
                continue
        raise
    if not unwrap:
        return None  # type: ignore[return-value]
    try:
        return job.result()
    except JobCancelled:  # pragma: no cover - only a cancel of ours ends a job so
        raise asyncio.CancelledError() from None


class _Front(FrontProxy):
    _bridge: Bridge
    _inner: Any
    _ref: _LoopRef

    async def _call(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        self._ref.loop = asyncio.get_running_loop()
        return await _await_job(self._bridge.spawn(functools.partial(fn, *args, **kwargs)))

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, codex_trio.Thread):
            return Thread(self, value)
        if isinstance(value, ThreadListing):
            return _iterate(self, value)
        return value

    def _lift(self, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def awaitable(*args: Any, **kwargs: Any) -> Any:
            return self._wrap(await self._call(fn, *args, **kwargs))

        return awaitable


async def _iterate(front: _Front, listing: ThreadListing) -> AsyncIterator[codex_trio.StoredThread]:
    fetch = listing._fetch
    cursor: str | None = None
    while True:
        page: ThreadPage = await front._call(fetch, cursor)
        for stored in page.threads:
            yield stored
        cursor = page.next_cursor
        if cursor is None:
            return


class TurnStream(StreamView):
    """A running turn's events for ``async for`` (see :meth:`Thread.run_streamed`)."""

    def __init__(self, front: _Front, handoff: Handoff, stream: codex_trio.TurnStream) -> None:
        self._front = front
        self._handoff = handoff
        self._stream = stream
        self._ended = False

    def __aiter__(self) -> TurnStream:
        return self

    async def __anext__(self) -> ThreadEvent:
        if self._ended:
            raise StopAsyncIteration
        event = await self._handoff.aget()
        if event is None:
            self._ended = True
            host = self._handoff.host
            assert host is not None
            await _await_job(host)
            raise StopAsyncIteration
        return event

    async def steer(self, input: Input) -> None:
        await self._front._call(self._stream.steer, input)

    async def interrupt(self) -> None:
        await self._front._call(self._stream.interrupt)


@asynccontextmanager
async def _streamed(
    front: _Front, cm: Callable[[], Any], capacity: int
) -> AsyncIterator[TurnStream]:
    front._ref.loop = asyncio.get_running_loop()
    handoff = Handoff(front._bridge, cm, capacity)
    stream = await _await_job(handoff.start())
    host = handoff.host
    assert host is not None
    try:
        yield TurnStream(front, handoff, stream)
    except BaseException:
        host.cancel()
        await _finished(host)
        raise
    if not host.done.is_set():
        host.cancel()  # left early: stop the turn
    await _finished(host)
    assert host.outcome is not None
    if isinstance(host.outcome, outcome.Error) and not isinstance(host.outcome.error, JobCancelled):
        raise host.outcome.error


async def _finished(job: Job[Any]) -> None:
    """Wait for ``job`` to end (its outcome is looked at by the caller), through cancellation."""
    await _await_job(job, unwrap=False)


class Thread(_Front):
    """A Codex thread; management methods are those of :class:`codex_trio.Thread`, awaited."""

    def __init__(self, front: _Front, inner: Any) -> None:
        self._bridge = front._bridge
        self._ref = front._ref
        self._handoff: int = getattr(front, "_handoff", DEFAULT_HANDOFF)
        self._inner = inner

    @property
    def id(self) -> str | None:
        thread_id: str | None = self._inner.id
        return thread_id

    @property
    def options(self) -> ThreadOptions:
        options: ThreadOptions = self._inner.options
        return options

    async def run(
        self, input: Input, options: TurnOptions | None = None, **turn_options: Any
    ) -> TurnResult:
        result: TurnResult = await self._call(self._inner.run, input, options, **turn_options)
        return result

    def run_streamed(
        self, input: Input, options: TurnOptions | None = None, **turn_options: Any
    ) -> AbstractAsyncContextManager[TurnStream]:
        """``async with thread.run_streamed(...) as events: async for event in events: ...``"""
        return _streamed(
            self, lambda: self._inner.run_streamed(input, options, **turn_options), self._handoff
        )

    async def close(self) -> None:
        async def close() -> None:
            self._inner.close()

        await self._call(close)


class ThreadHandle(Thread):
    """A supervised thread of a :class:`Runtime`."""

    @property
    def name(self) -> str:
        name: str = self._inner.name
        return name


class _Owner(_Front):
    """A front-door object owning a bridge (Codex, Runtime)."""

    _held: Held[Any] | None = None
    _handoff: int = DEFAULT_HANDOFF

    @property
    def bridge(self) -> Bridge:
        return self._bridge

    async def _enter(self) -> None:
        self._ref.loop = asyncio.get_running_loop()
        held = self._bridge.hold(lambda: self._inner)
        await _await_job(held.start())
        self._held = held

    async def _release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.release()
            assert held.host is not None
            await _await_job(held.host)


class Codex(_Owner):
    """:class:`codex_trio.Codex` for asyncio: same arguments (``approval_handler`` and
    ``tools`` may be asyncio coroutines), plus ``handoff``. ``async with`` opens what the trio
    API's ``async with`` opens; :meth:`aclose` (or leaving it) closes it and stops the loop."""

    def __init__(
        self,
        *args: Any,
        approval_handler: Any = None,
        tools: Sequence[Any] = (),
        handoff: int = DEFAULT_HANDOFF,
        **kwargs: Any,
    ) -> None:
        self._ref = _LoopRef()
        if approval_handler is not None:
            kwargs["approval_handler"] = _approval_handler(self._ref, approval_handler)
        self._inner = codex_trio.Codex(*args, tools=_tools(self._ref, tools), **kwargs)
        self._bridge = Bridge("codex-trio-aio")
        self._handoff = handoff

    async def __aenter__(self) -> Codex:
        await self._enter()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close what ``async with`` opened, remove an isolated home, stop the loop.
        Idempotent."""
        if self._bridge.closed:
            return
        try:
            await self._release()
            if self._bridge.running or self._inner.codex_home is not None:
                await self._call(self._inner.aclose)
        finally:
            await asyncio.to_thread(self._bridge.close)

    def start_thread(self, options: ThreadOptions | None = None, **option_fields: Any) -> Thread:
        return Thread(self, self._inner.start_thread(options, **option_fields))

    def resume_thread(
        self, thread_id: str, options: ThreadOptions | None = None, **option_fields: Any
    ) -> Thread:
        return Thread(self, self._inner.resume_thread(thread_id, options, **option_fields))

    def list_threads(self, **filters: Any) -> AsyncIterator[codex_trio.StoredThread]:
        return _iterate(self, self._inner.list_threads(**filters))


class Runtime(_Owner):
    """:class:`codex_trio.Runtime` for asyncio: ``async with Runtime(...) as runtime:``."""

    def __init__(
        self,
        *args: Any,
        approval_handler: Any = None,
        tools: Sequence[Any] = (),
        handoff: int = DEFAULT_HANDOFF,
        **kwargs: Any,
    ) -> None:
        self._ref = _LoopRef()
        if approval_handler is not None:
            kwargs["approval_handler"] = _approval_handler(self._ref, approval_handler)
        self._inner = codex_trio.Runtime(*args, tools=_tools(self._ref, tools), **kwargs)
        self._bridge = Bridge("codex-trio-aio-runtime")
        self._handoff = handoff

    async def __aenter__(self) -> Runtime:
        await self._enter()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        try:
            await self._release()
        finally:
            await asyncio.to_thread(self._bridge.close)

    async def start_thread(
        self, options: ThreadOptions | None = None, **kwargs: Any
    ) -> ThreadHandle:
        inner = await self._call(self._inner.start_thread, options, **kwargs)
        return ThreadHandle(self, inner)

    async def resume_thread(self, thread_id: str, **kwargs: Any) -> ThreadHandle:
        inner = await self._call(self._inner.resume_thread, thread_id, **kwargs)
        return ThreadHandle(self, inner)

    def whereis(self, name: str) -> ThreadHandle | None:
        inner = self._inner.whereis(name)
        return None if inner is None else ThreadHandle(self, inner)
