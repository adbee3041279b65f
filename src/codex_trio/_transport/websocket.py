"""A remote ``codex app-server`` over a websocket, as a :class:`MessageChannel`.

``codex app-server --listen ws://IP:PORT`` (codex 0.163.0) serves the same JSON-RPC as over stdio,
one JSON message per websocket text message. :func:`open_websocket_channel` connects with
`trio-websocket <https://trio-websocket.readthedocs.io>`_ for the extent of an ``async with``
block and yields a :class:`WebSocketChannel` for
:func:`~codex_trio._transport.jsonrpc.open_jsonrpc`.

Authentication. A server started with ``--ws-auth capability-token`` (``--ws-token-file`` or
``--ws-token-sha256``) or ``signed-bearer-token`` checks ``Authorization: Bearer <token>`` on the
HTTP upgrade, before any JSON-RPC: a missing or wrong token is answered ``401`` ("missing
websocket bearer token" / "invalid websocket bearer token"), which raises
:class:`~codex_trio._errors.AuthenticationError` here. The token is registered with
:func:`codex_trio._redact.register_secret` before it is used, so no error or log shows it; it goes
nowhere but that header.

Errors. An unreachable server (refused, no route, name not resolved, no answer within
``connect_timeout``) raises :class:`~codex_trio._errors.TransportError`; so does any other
rejection of the upgrade. Once connected, the end of the connection (the server died or closed
it) is ``receive_message() -> None``, and :meth:`WebSocketChannel.describe_end` gives the close
code (1006 when the TCP connection just dropped, as when the server is killed).

Oversized messages. trio-websocket refuses a message over ``max_message_bytes`` by closing the
connection (code 1009); unlike a line on stdio, such a message cannot be skipped without being
read whole, so here it ends the connection (everyone on it gets the same ``TransportError``; an
``AppServerTransport`` reconnects).

What differs from a spawned process: no pid, no stderr tail (the server's stderr is on its own
machine), no exit code; the server's lifetime is not ours (leaving the block closes the
connection, never the server).
"""

from __future__ import annotations

import math
import ssl
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio

from codex_trio._errors import AuthenticationError, ConfigurationError, TransportError
from codex_trio._groups import collapse
from codex_trio._redact import register_secret
from codex_trio._transport.channel import NO_STDERR, StderrTail
from codex_trio._transport.lines import DEFAULT_MAX_LINE_BYTES
from codex_trio.observe import get_logger

if TYPE_CHECKING:
    from trio_websocket import WebSocketConnection

__all__ = ["WebSocketChannel", "check_auth_token", "check_url", "open_websocket_channel"]

_log = get_logger("codex_trio._transport.websocket")

_MIN_TOKEN_LEN = 6  # codex_trio._redact does not register shorter secrets


def check_url(url: str) -> str:
    """``url`` if it is a ``ws://`` or ``wss://`` URL with a host; else :class:`ConfigurationError`.

    Credentials in the URL (``ws://user:pass@host``) are refused: give the token as
    ``auth_token``, which is sent only in the ``Authorization`` header and kept out of logs."""
    if not isinstance(url, str):
        raise ConfigurationError(f"url must be a str, not {type(url).__name__}")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigurationError(f"url is not a valid websocket URL: {exc}") from None
    if parts.scheme not in ("ws", "wss"):
        raise ConfigurationError(
            f"url must start with ws:// or wss:// (codex app-server --listen ws://IP:PORT), "
            f"not {parts.scheme + '://' if parts.scheme else repr(url)}"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError("url must not carry credentials; pass the token as auth_token")
    if not parts.hostname:
        raise ConfigurationError("url has no host")
    return url


def check_auth_token(token: str | None) -> str | None:
    """``token`` if it can be sent as a bearer token (and kept out of logs); registers it as a
    secret. :class:`ConfigurationError` otherwise, without the token in the message."""
    if token is None:
        return None
    if not isinstance(token, str):
        raise ConfigurationError(f"auth_token must be a str, not {type(token).__name__}")
    if len(token) < _MIN_TOKEN_LEN:
        raise ConfigurationError(
            f"auth_token is shorter than {_MIN_TOKEN_LEN} characters: too short to be a "
            "credential, and too short to be masked in logs"
        )
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        raise ConfigurationError(
            "auth_token must be printable ASCII without whitespace (it is sent in an HTTP header)"
        )
    register_secret(token)
    return token


class WebSocketChannel:
    """One websocket connection to a remote app-server, as a
    :class:`~codex_trio._transport.channel.MessageChannel`. Obtain one from
    :func:`open_websocket_channel`."""

    def __init__(self, ws: WebSocketConnection, url: str) -> None:
        self._ws = ws
        self.url = url
        self.expect_exit = False
        self._lost: str | None = None  # why the heartbeat gave the connection up

    async def heartbeat(self, interval: float, pong_within: float) -> None:
        """Ping the server every ``interval`` seconds; a ping unanswered within ``pong_within``
        seconds (a half-open connection: the server's host vanished, the network is cut, or the
        server stopped reading) drops the connection, so everyone on it learns at once instead
        of waiting for a turn's deadline. Runs until the connection closes."""
        from trio_websocket import ConnectionClosed

        while True:
            await trio.sleep(interval)
            with trio.move_on_after(pong_within) as scope:
                try:
                    await self._ws.ping()
                except ConnectionClosed:
                    return
            if scope.cancelled_caught:
                self._lost = f"no answer to a websocket ping within {pong_within:g} s"
                _log.warning("app_server.ping_timeout", url=self.url, timeout=pong_within)
                await _close_tcp(self._ws)
                return

    @property
    def pid(self) -> int | None:
        return None

    @property
    def stderr(self) -> StderrTail:
        return NO_STDERR

    async def send_message(self, data: bytes) -> None:
        from trio_websocket import ConnectionClosed

        # encode_message refuses what is not valid UTF-8 JSON (lone surrogates), so this decodes.
        text = data[:-1] if data.endswith(b"\n") else data
        try:
            await self._ws.send_message(text.decode("utf-8"))
        except ConnectionClosed as exc:
            closed = _close(exc.reason)
            raise self.error(f"the app-server connection is closed ({closed})") from None

    async def receive_message(self) -> bytes | str | None:
        from trio_websocket import ConnectionClosed

        try:
            return await self._ws.get_message()
        except ConnectionClosed:
            return None

    async def describe_end(self, message: str) -> TransportError:
        # ``message`` speaks of a process exiting; a connection closes (the server may live on).
        if self._lost is not None:
            return self.error(f"the connection to the app-server was dropped: {self._lost}")
        reason = self._ws.closed
        if reason is not None and reason.code == 1009:
            return self.error(
                f"the connection to the app-server was closed: a message was larger than the "
                f"client's limit ({_close(reason)})"
            )
        if reason is not None and reason.code == 1006:
            return self.error(
                f"the connection to the app-server was lost ({_close(reason)}: it went away "
                "without closing the websocket, e.g. the server was killed or the network failed)"
            )
        return self.error(f"the app-server closed the connection ({_close(reason)})")

    def error(self, message: str) -> TransportError:
        return TransportError(f"{message} [remote app-server {self.url}]")

    def __repr__(self) -> str:
        return f"WebSocketChannel({self.url!r})"


def _close(reason: object) -> str:
    if reason is None:
        return "closed"
    code = getattr(reason, "code", None)
    name = getattr(reason, "name", None)
    text = getattr(reason, "reason", None)
    described = f"close code {code}" + (f" {name}" if name else "")
    return described + (f": {text}" if text else "")


@asynccontextmanager
async def open_websocket_channel(
    url: str,
    *,
    auth_token: str | None = None,
    connect_timeout: float = 10.0,
    max_message_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ssl_context: ssl.SSLContext | None = None,
    ping_interval: float | None = 20.0,
    ping_timeout: float = 20.0,
) -> AsyncIterator[WebSocketChannel]:
    """Connect to the app-server at ``url`` for the block's extent; see the module docstring.

    Every ``ping_interval`` seconds (None: never) the server is pinged; no pong within
    ``ping_timeout`` seconds drops the connection (:meth:`WebSocketChannel.heartbeat`).

    Raises :class:`AuthenticationError` when the server refuses the token (or wants one),
    :class:`TransportError` when it cannot be reached or refuses the connection otherwise,
    :class:`ConfigurationError` for a bad ``url`` or ``auth_token``."""
    check_url(url)
    token = check_auth_token(auth_token)
    if not (connect_timeout > 0 and math.isfinite(connect_timeout)):
        raise ConfigurationError("connect_timeout must be a positive, finite number of seconds")
    if max_message_bytes < 1:
        raise ConfigurationError("max_message_bytes must be at least 1")
    for name, value in (("ping_interval", ping_interval), ("ping_timeout", ping_timeout)):
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ConfigurationError(f"{name} must be a positive, finite number of seconds")
    # Imported here: stdio users never load the websocket stack.
    import trio_websocket

    headers = [(b"authorization", b"Bearer " + token.encode("ascii"))] if token else []
    where = f"the app-server at {url}"
    opened = trio_websocket.open_websocket_url(
        url,
        ssl_context,
        extra_headers=headers,
        # trio-websocket's reader hands messages over one at a time: the JSON-RPC reader never
        # blocks, so a small queue is enough, and a full one is TCP backpressure, not memory.
        message_queue_size=16,
        max_message_size=max_message_bytes,
        # The connect bound is ours (connect_scope below): trio-websocket 0.12's own, when it
        # fires during the upgrade, leaves its reader task running and hangs the block's exit.
        connect_timeout=math.inf,
        disconnect_timeout=2.0,
    )
    entered = False
    body_error: BaseException | None = None
    connection: WebSocketConnection | None = None
    connect_scope = trio.CancelScope(deadline=trio.current_time() + connect_timeout)
    try:
        with connect_scope:
            async with opened as ws:
                connect_scope.deadline = math.inf  # connected: the bound is spent
                entered, connection = True, ws
                _log.debug("app_server.connected", url=url, authenticated=token is not None)
                channel = WebSocketChannel(ws, url)
                try:
                    with collapse():
                        async with trio.open_nursery() as nursery:
                            if ping_interval is not None:
                                nursery.start_soon(channel.heartbeat, ping_interval, ping_timeout)
                            yield channel
                            nursery.cancel_scope.cancel()
                except BaseException as exc:
                    body_error = exc
                    raise
        if connect_scope.cancelled_caught and not entered:
            raise TransportError(f"could not connect to {where} within {connect_timeout:g} s")
    except trio_websocket.ConnectionRejected as exc:
        if entered:
            raise
        body = (exc.body or b"").decode("utf-8", "replace").strip()[:200]
        # codex says "missing websocket bearer token" / "invalid websocket bearer token"; any
        # "bearer <word>" in a message is masked as a credential, so it is said without it.
        body = body.replace("bearer token", "token")
        detail = f"HTTP {exc.status_code}" + (f": {body}" if body else "")
        if exc.status_code in (401, 403):
            raise AuthenticationError(
                f"{where} refused the connection ({detail}); "
                + ("check auth_token" if token else "it needs an auth_token"),
                url=url,
                status_code=exc.status_code,
            ) from None
        raise TransportError(f"{where} refused the websocket connection ({detail})") from None
    except trio_websocket.ConnectionTimeout:
        if entered:
            raise
        raise TransportError(f"could not connect to {where} within {connect_timeout:g} s") from None
    except (trio_websocket.HandshakeError, trio_websocket.ConnectionClosed) as exc:
        if not entered:
            cause = exc.__cause__ or exc.__context__
            raise TransportError(
                f"could not connect to {where}: {cause or type(exc).__name__}"
            ) from None
        # Closing a connection to a dead or stalled server failed (DisconnectionTimeout): there
        # is nothing to report, but an error of the block itself must not be lost behind it.
        if body_error is not None and body_error is not exc:
            raise body_error from body_error.__cause__
    except OSError as exc:  # name resolution and the like, should the library let one through
        if entered:
            raise
        raise TransportError(f"could not connect to {where}: {exc}") from None
    finally:
        if connection is not None:
            await _close_tcp(connection)


async def _close_tcp(ws: WebSocketConnection) -> None:
    """Close the connection's TCP stream. trio-websocket 0.12 leaves it open when the server
    ended the connection first (a close frame, or the TCP connection dropped: ``aclose`` then
    returns early), so every server restart would leak a socket until garbage collection."""
    stream = getattr(ws, "_stream", None)
    if stream is not None:
        with trio.CancelScope(shield=True):
            try:
                await stream.aclose()
            except (trio.BrokenResourceError, OSError):
                pass
