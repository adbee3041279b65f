"""A JSON-RPC 2.0 client over one codex app-server connection, on trio.

:func:`open_jsonrpc` runs a reader task and a writer task over a
:class:`~codex_trio._transport.channel.MessageChannel` for the extent of an ``async with`` block
and gives a :class:`JsonRpcConnection`. The channel is a codex process's stdio (a
:class:`~codex_trio._transport.process.CodexProcess`, one message per line) or a websocket to a
remote app-server (:mod:`codex_trio._transport.websocket`, one message per text message); what
follows holds for both:

* :meth:`~JsonRpcConnection.call` sends a request and waits for its response, **always under a
  timeout** (the server silently drops a line it cannot parse, so an answer may never come);
  JSON-RPC errors raise the typed :class:`~codex_trio._protocol.app_server.JsonRpcError`
  subclasses; :meth:`~JsonRpcConnection.call_with_retry` retries "server overloaded" with
  exponential backoff.
* Writes are **all or nothing**. Every message goes through one writer task, whole: a caller
  cancelled before its message started is withdrawn (nothing written); once a message started it
  is finished in the background, whatever happens to its caller, so the next message is never
  glued onto half a line (trio's ``send_all`` may write part of its data when cancelled). A write
  that cannot finish within ``write_timeout`` seconds (codex stopped reading its stdin) fails the
  whole connection with :class:`~codex_trio._errors.TransportError`: everyone on it learns at once.
* Notifications go to ``on_notification``, a plain function called **on the reader**, which must
  not block: a reader shared by many threads never waits for one of them (the subscriber policy
  above it decides what a full subscriber costs; see :mod:`codex_trio._transport.app_server`).
  If it returns True the reader yields once before reading on, so that consumers woken by a
  burst of lines already in the buffer get to run. A handler that raises is logged; the reader
  goes on.
* Server-to-client requests go to ``on_request``, each in its own task, at most
  ``max_server_requests`` at once: a slow approval blocks neither the reader nor other requests,
  and a flood of requests cannot spawn tasks without bound (the excess is answered at once with
  a "client overloaded" error, -32001). Its return value is the result; a ``JsonRpcError`` it
  raises is sent as that error; any other exception as an internal error. Every request gets
  exactly one answer.
* A message (a stdout line) that does not decode (not JSON, not JSON-RPC, nested too deep for
  the parser, anything else) is reported (telemetry ``codex.protocol.error``) and skipped; an
  oversized line likewise. No message stops the reader.
* When the process dies (stdout reaches EOF) or the websocket closes, every pending call fails
  **at once** with the same :class:`~codex_trio._errors.TransportError` (exit code, signal,
  stderr tail for a process; the close code for a websocket), and so does every later call.
  ``on_closed`` is told, so subscriptions above can fail too.
"""

from __future__ import annotations

import collections
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import trio

from codex_trio._errors import CodexError, ProtocolError, TransportError
from codex_trio._groups import collapse
from codex_trio._protocol.app_server.messages import (
    INTERNAL_ERROR,
    SERVER_OVERLOADED,
    JsonRpcError,
    Notification,
    Request,
    Response,
    ServerOverloadedError,
    encode_message,
    error_from_wire,
    parse_message,
)
from codex_trio._transport.channel import MessageChannel, ProcessChannel
from codex_trio._transport.lines import LineTooLongError
from codex_trio._transport.process import CodexProcess
from codex_trio.observe import get_logger, telemetry

__all__ = ["JsonRpcConnection", "RequestTimeoutError", "open_jsonrpc"]

_log = get_logger("codex_trio._transport.jsonrpc")

NotificationHandler = Callable[[Notification], bool | Awaitable[None] | None]
"""Called on the reader; must not block. Returning True asks the reader to let other tasks run
before it reads on (a subscriber is filling up: give its consumer a chance to catch up).
Returning an awaitable makes the reader await it before reading on: a connection whose one
consumer is full holds the reader, so the pipe fills and codex waits (the backpressure of an
app-server private to one thread; never on a shared one)."""
RequestHandler = Callable[[Request], Awaitable[Any]]
ClosedHandler = Callable[[TransportError], None]


class RequestTimeoutError(CodexError, TimeoutError):
    """No response arrived within the request's timeout. The connection stays usable; a late
    response to this request is dropped."""

    def __init__(self, method: str, timeout: float) -> None:
        self.method = method
        self.timeout = timeout
        super().__init__(f"{method}: no response within {timeout:g} s")


class _Frame:
    """One whole message waiting for (or in) the writer."""

    __slots__ = ("data", "done", "error", "started")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.started = False
        self.done = trio.Event()
        self.error: TransportError | None = None


class _Pending:
    __slots__ = ("error", "event", "method", "result")

    def __init__(self, method: str) -> None:
        self.method = method
        self.event = trio.Event()
        self.result: Any = None
        self.error: CodexError | None = None


def _answerable(request_id: Any) -> bool:
    """Whether an answer carrying ``request_id`` can be written at all."""
    try:
        encode_message({"id": request_id})
    except (CodexError, RecursionError):
        return False
    return True


def _protocol_error(kind: str) -> None:
    telemetry.execute(
        ("codex", "protocol", "error"), {"count": 1}, {"kind": kind, "transport": "app-server"}
    )


class JsonRpcConnection:
    """See the module docstring. Obtain one from :func:`open_jsonrpc`."""

    def __init__(
        self,
        channel: MessageChannel,
        nursery: trio.Nursery,
        *,
        on_notification: NotificationHandler,
        on_request: RequestHandler,
        on_closed: ClosedHandler | None,
        request_timeout: float,
        write_timeout: float = 30.0,
        max_server_requests: int = 256,
    ) -> None:
        self.channel = channel
        self._nursery = nursery
        self._on_notification = on_notification
        self._on_request = on_request
        self._on_closed = on_closed
        self.request_timeout = request_timeout
        self._next_id = 0
        self._pending: dict[int, _Pending] = {}
        self.error: TransportError | None = None
        """Set once the connection is dead; every call raises it from then on."""
        self.skipped_lines = 0
        """Lines that were not JSON-RPC (or too long) and were skipped."""
        self.requests_answered = 0
        self.requests_refused = 0
        """Server requests answered "overloaded" because ``max_server_requests`` were running."""
        self.write_timeout = write_timeout
        self.max_server_requests = max_server_requests
        self._requests_running = 0
        self._outbox: collections.deque[_Frame] = collections.deque()
        self._outbox_ready = trio.Event()

    @property
    def process(self) -> MessageChannel:
        """The other end, for errors and diagnostics: ``pid`` (None for a remote server),
        ``stderr.tail()`` (empty for a remote server), ``expect_exit``. The channel itself."""
        return self.channel

    def start_soon(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``fn(*args)`` in the connection's nursery (cancelled when the block ends): for
        work the reader must not wait for, such as interrupting a turn."""
        self._nursery.start_soon(fn, *args)

    @property
    def pending(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._pending)

    async def send(self, message: Mapping[str, Any]) -> None:
        """Encode and write one message, whole; :class:`InvalidMessageError` before sending
        anything the server could not parse; :class:`TransportError` if the connection is dead
        (or dies before the message is written). Cancelled before the writer took the message up,
        nothing is written; after, it is still written whole."""
        await self._write(encode_message(message))

    async def _write(self, data: bytes) -> None:
        frame = self._post(data)
        try:
            await frame.done.wait()
        finally:
            if not frame.started and not frame.done.is_set():
                self._withdraw(frame)
        if frame.error is not None:
            raise frame.error

    def _post(self, data: bytes) -> _Frame:
        """Queue a whole message for the writer (never blocks); raises if the connection is dead."""
        if self.error is not None:
            raise self.error
        frame = _Frame(data)
        self._outbox.append(frame)
        self._outbox_ready.set()
        return frame

    def _withdraw(self, frame: _Frame) -> None:
        try:
            self._outbox.remove(frame)
        except ValueError:  # pragma: no cover - taken up in between
            pass

    async def _write_loop(self) -> None:
        """The one task that writes to codex's stdin: each message whole, in order."""
        while True:
            while not self._outbox:
                await self._outbox_ready.wait()
                self._outbox_ready = trio.Event()
            frame = self._outbox.popleft()
            frame.started = True
            try:
                with trio.move_on_after(self.write_timeout) as scope:
                    await self.channel.send_message(frame.data)
            except TransportError as exc:
                # codex closed its stdin: it is exiting; the reader reports why once it is gone.
                frame.error = exc
                frame.done.set()
                continue
            if scope.cancelled_caught:
                stalled = (
                    "codex stopped reading its stdin"
                    if self.channel.pid is not None
                    else "the server stopped reading"
                )
                error = TransportError(
                    f"a {len(frame.data)}-byte message could not be written to codex within "
                    f"{self.write_timeout:g} s ({stalled}); the connection was closed, since "
                    "its framing can no longer be trusted",
                    pid=self.channel.pid,
                    stderr_tail=self.channel.stderr.tail(),
                )
                _log.error("app_server.write_stalled", bytes=len(frame.data), pid=self.channel.pid)
                frame.error = error
                frame.done.set()
                self._close(error)
                return
            frame.done.set()

    async def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        """Send a notification (no answer)."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self.send(message)

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        time_limit: float | None = None,
    ) -> Any:
        """Send a request and return its ``result``.

        Raises :class:`JsonRpcError` (a subclass per standard code) for an error response,
        :class:`RequestTimeoutError` after ``time_limit`` (default :attr:`request_timeout`) seconds,
        :class:`TransportError` if the process dies first, and
        :class:`~codex_trio._protocol.app_server.InvalidMessageError` (nothing sent) for params
        that are not valid JSON for the server.
        """
        if self.error is not None:
            raise self.error
        request_id = self._next_id
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        data = encode_message(message)
        pending = _Pending(method)
        self._pending[request_id] = pending
        limit = self.request_timeout if time_limit is None else time_limit
        try:
            with trio.move_on_after(limit) as scope:
                await self._write(data)
                await pending.event.wait()
        except TransportError:
            if self.error is not None:
                raise self.error from None
            raise
        finally:
            self._pending.pop(request_id, None)
        if pending.error is not None:
            raise pending.error
        if scope.cancelled_caught:
            raise RequestTimeoutError(method, limit)
        return pending.result

    async def call_with_retry(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        attempts: int = 5,
        initial_backoff: float = 0.05,
        max_backoff: float = 2.0,
        time_limit: float | None = None,
    ) -> Any:
        """:meth:`call`, retried after :class:`ServerOverloadedError` with exponential backoff
        (``initial_backoff`` doubling up to ``max_backoff``), at most ``attempts`` times. Any
        other error is raised at once; so is the last overload."""
        delay = initial_backoff
        for attempt in range(attempts):
            try:
                return await self.call(method, params, time_limit=time_limit)
            except ServerOverloadedError:
                if attempt == attempts - 1:
                    raise
            await trio.sleep(delay)
            delay = min(delay * 2, max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    # ----------------------------------------------------------------------- reading

    async def _read(self) -> None:
        try:
            while True:
                try:
                    line = await self.channel.receive_message()
                except LineTooLongError as exc:
                    self.skipped_lines += 1
                    _protocol_error("oversized_line")
                    _log.warning("app_server.line_skipped", reason="too long", limit=exc.limit)
                    continue
                if line is None:
                    break
                if not line.strip():
                    continue
                try:
                    message = parse_message(line)
                except Exception as exc:  # not JSON, not JSON-RPC, too deep (RecursionError)...
                    self.skipped_lines += 1
                    kind = (
                        "invalid_json"
                        if isinstance(exc, ValueError)
                        else "invalid"
                        if isinstance(exc, ProtocolError)
                        else "undecodable"
                    )
                    _protocol_error(kind)
                    _log.warning(
                        "app_server.line_skipped",
                        reason=f"{type(exc).__name__}: {exc}"[:200],
                        line=_text(line[:200]),
                    )
                    continue
                if isinstance(message, Response):
                    self._resolve(message)
                elif isinstance(message, Notification):
                    try:
                        wants = self._on_notification(message)
                        if wants is True:
                            await trio.lowlevel.checkpoint()
                        elif wants is not None and wants is not False:
                            await wants  # hold the reader until the consumer has room
                    except Exception as exc:  # a subscriber bug must not stop every thread
                        _protocol_error("notification_handler_failed")
                        _log.error(
                            "app_server.notification_handler_failed",
                            method=message.method,
                            error=repr(exc)[:300],
                        )
                elif not _answerable(message.id):
                    # NaN, an infinity, a lone surrogate: json.loads takes them, but no answer
                    # carrying that id can be written, so the request cannot be answered at all.
                    self.skipped_lines += 1
                    _protocol_error("unanswerable_request_id")
                    _log.warning(
                        "app_server.line_skipped",
                        reason="request id cannot be written back",
                        line=_text(line[:200]),
                    )
                elif self._requests_running >= self.max_server_requests:
                    await self._refuse(message)
                else:
                    self._requests_running += 1
                    self._nursery.start_soon(self._answer, message)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass
        # stdout closed (codex exited or is exiting) or the websocket closed: learn why (the
        # process channel waits briefly for the exit status), then fail everyone at once.
        self._close(await self.channel.describe_end("codex app-server exited"))

    async def _refuse(self, request: Request) -> None:
        """Answer a server request over the concurrency cap at once, without a task. Once
        ``4 * max_server_requests`` messages wait for the writer, the reader waits for this
        answer to be written (a flood is slowed down, never left unanswered)."""
        self.requests_refused += 1
        _protocol_error("server_requests_over_cap")
        if self.requests_refused == 1 or self.requests_refused % 1000 == 0:
            _log.warning(
                "app_server.request_refused",
                method=request.method,
                running=self._requests_running,
                refused=self.requests_refused,
            )
        reply = _error_reply(
            request,
            SERVER_OVERLOADED,
            f"client overloaded: {self._requests_running} server requests are being handled; "
            "try again later",
        )
        if self.error is None:
            frame = self._post(encode_message(reply))
            if len(self._outbox) >= 4 * self.max_server_requests:
                await frame.done.wait()

    def _resolve(self, response: Response) -> None:
        request_id = response.id
        # type(), not isinstance: a response with id ``false`` must not resolve request 0.
        pending = self._pending.get(request_id) if type(request_id) is int else None
        if pending is None:
            _protocol_error("unknown_response_id")
            return
        if response.error is not None:
            pending.error = error_from_wire(response.error, method=pending.method)
        else:
            pending.result = response.result
        pending.event.set()

    def _close(self, error: TransportError) -> None:
        if self.error is not None:
            return
        self.error = error
        for pending in self._pending.values():
            pending.error = error
            pending.event.set()
        while self._outbox:
            frame = self._outbox.popleft()
            frame.error = error
            frame.done.set()
        if self._on_closed is not None:
            self._on_closed(error)

    async def _answer(self, request: Request) -> None:
        try:
            await self._answer_one(request)
        finally:
            self._requests_running -= 1

    async def _answer_one(self, request: Request) -> None:
        try:
            result = await self._on_request(request)
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.id, "result": result}
        except JsonRpcError as exc:
            reply = _error_reply(request, exc.code, exc.message, exc.data)
        except Exception as exc:  # a handler bug must still produce an answer
            _log.warning(
                "app_server.request_handler_failed", method=request.method, error=repr(exc)[:300]
            )
            reply = _error_reply(request, INTERNAL_ERROR, f"client handler failed: {exc}")
        try:
            await self.send(reply)
        except TransportError:
            return  # codex is gone: nobody to answer
        except CodexError as exc:  # the result itself was not encodable
            await self.send(
                _error_reply(request, INTERNAL_ERROR, f"unencodable result: {exc.message}")
            )
        self.requests_answered += 1


def _text(data: bytes | str) -> str:
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


def _error_reply(request: Request, code: int, message: str, data: Any = None) -> dict[str, Any]:
    """The JSON-RPC error answering ``request``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request.id, "error": error}


@asynccontextmanager
async def open_jsonrpc(
    process: CodexProcess | MessageChannel,
    *,
    on_notification: NotificationHandler,
    on_request: RequestHandler,
    on_closed: ClosedHandler | None = None,
    request_timeout: float = 60.0,
    write_timeout: float = 30.0,
    max_server_requests: int = 256,
) -> AsyncIterator[JsonRpcConnection]:
    """Run a reader over ``process`` (a :class:`CodexProcess`, read line by line, or any
    :class:`MessageChannel`) for the block's extent; see the module docstring.

    Leaving the block cancels the reader and any server-request handlers still running, and
    fails calls still pending with :class:`TransportError`. The process (or connection) itself
    belongs to the caller.
    """
    if not (request_timeout > 0 and math.isfinite(request_timeout)):
        raise ValueError("request_timeout must be a positive, finite number of seconds")
    if not (write_timeout > 0 and math.isfinite(write_timeout)):
        raise ValueError("write_timeout must be a positive, finite number of seconds")
    if max_server_requests < 1:
        raise ValueError("max_server_requests must be at least 1")
    channel: MessageChannel
    if isinstance(process, CodexProcess) or not hasattr(process, "receive_message"):
        # A CodexProcess, or a stand-in with the same methods (an in-memory fake in tests).
        channel = ProcessChannel(process)  # type: ignore[arg-type]
    else:
        channel = process
    with collapse():
        async with trio.open_nursery() as nursery:
            connection = JsonRpcConnection(
                channel,
                nursery,
                on_notification=on_notification,
                on_request=on_request,
                on_closed=on_closed,
                request_timeout=request_timeout,
                write_timeout=write_timeout,
                max_server_requests=max_server_requests,
            )
            nursery.start_soon(connection._read)
            nursery.start_soon(connection._write_loop)
            try:
                yield connection
            finally:
                connection._close(TransportError("app-server connection closed", pid=channel.pid))
                nursery.cancel_scope.cancel()
