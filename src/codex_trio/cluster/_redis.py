"""The Redis connection of a client or worker: opening it, typed errors, reconnecting.

coredis runs under trio (it is anyio-native). Two things need care at this boundary:

* coredis raises some failures (a refused AUTH, a connection lost in a pool task) inside
  (nested) exception groups from its own task group: :func:`redis_errors` unwraps a group whose
  leaves are all plain exceptions into one typed :class:`ClusterError` (a cancellation inside a
  group is never swallowed);
* the password must not leak: it is registered with :func:`~codex_trio._redact.register_secret`
  (so every error and log line masks it), URLs are shown through :func:`safe_url`, and coredis's
  own messages are passed through :func:`~codex_trio._redact.redact` before they are kept.

:meth:`Connection.call` retries a command while Redis is unreachable (a restart, a failover),
with capped backoff, for up to ``reconnect_timeout`` seconds; then it raises
:class:`ClusterConnectionError`. Every script the cluster runs is idempotent, so a command whose
reply was lost in the connection's failure can be sent again.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from typing import Any, TypeVar

import coredis
import coredis.exceptions
import trio

from codex_trio._redact import redact, register_secret
from codex_trio.cluster._errors import (
    ClusterAuthenticationError,
    ClusterConnectionError,
    ClusterError,
)

__all__ = ["Connection", "redis_errors", "safe_url"]

T = TypeVar("T")

_SCHEMES = ("redis", "rediss", "unix")


def safe_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    user = parts.username or ""
    netloc = f"{user}:***@{netloc}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _typed(error: BaseException, url: str) -> ClusterError:
    text = redact(str(error)) or type(error).__name__
    if isinstance(
        error, coredis.exceptions.AuthenticationError | coredis.exceptions.AuthorizationError
    ):
        return ClusterAuthenticationError(f"Redis refused the credentials: {text}", url=url)
    if isinstance(
        error,
        coredis.exceptions.ConnectionError
        | OSError
        | TimeoutError
        | trio.BrokenResourceError
        | trio.ClosedResourceError,
    ):
        return ClusterConnectionError(f"Redis is unreachable: {text}", url=url)
    if isinstance(error, coredis.exceptions.ResponseError) and "LOADING" in str(error):
        return ClusterConnectionError(f"Redis is loading its data: {text}", url=url)
    return ClusterError(f"Redis command failed: {type(error).__name__}: {text}")


@contextmanager
def redis_errors(url: str) -> Iterator[None]:
    """Turn coredis's errors (bare, or inside exception groups) into typed cluster errors."""
    try:
        yield
    except ClusterError:
        raise
    except BaseExceptionGroup as group:
        leaves = _leaves(group)
        if not all(isinstance(leaf, Exception) for leaf in leaves):
            raise  # a cancellation (or KeyboardInterrupt) is inside: let it through
        first = next(
            (leaf for leaf in leaves if isinstance(leaf, coredis.exceptions.AuthenticationError)),
            leaves[0],
        )
        if isinstance(first, ClusterError):
            raise first from None
        raise _typed(first, url) from None
    except (coredis.exceptions.RedisError, OSError, TimeoutError) as error:
        raise _typed(error, url) from None
    except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
        raise _typed(error, url) from None


class Connection:
    """One coredis client (a connection pool) for a client or a worker, entered with
    ``async with``; :meth:`call` runs a command with reconnection (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        reconnect_timeout: float = 60.0,
        connect_timeout: float = 5.0,
        max_connections: int | None = None,
    ) -> None:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in _SCHEMES:
            from codex_trio._errors import ConfigurationError

            raise ConfigurationError(
                f"a Redis URL starts with redis://, rediss:// or unix://, not {scheme + '://'!r}"
            )
        embedded = urllib.parse.urlsplit(url).password
        register_secret(embedded and urllib.parse.unquote(embedded))
        register_secret(password)
        self.url = safe_url(url)
        self.reconnect_timeout = reconnect_timeout
        kwargs: dict[str, Any] = {"connect_timeout": connect_timeout}
        if password is not None:
            kwargs["password"] = password
        if max_connections is not None:
            kwargs["max_connections"] = max_connections
        self.redis: coredis.Redis[bytes] = coredis.Redis.from_url(
            url, decode_responses=False, **kwargs
        )
        self._stack: AsyncExitStack | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.url}>"

    async def __aenter__(self) -> Connection:
        stack = AsyncExitStack()
        with redis_errors(self.url):
            await stack.enter_async_context(self.redis)
        self._stack = stack
        try:
            await self.call(lambda r: r.ping())  # fail now on a wrong password or address
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            # Not shielded: coredis's pool is a task group entered in __aenter__; closing it
            # inside a cancel scope opened after it corrupts trio's cancel scope stack.
            with redis_errors(self.url):
                try:
                    await stack.aclose()
                except ClusterError:
                    pass  # the pool is going; a failure to close it cleanly changes nothing

    async def call(
        self,
        command: Callable[[coredis.Redis[bytes]], Awaitable[T]],
        *,
        give_up_after: float | None = None,
    ) -> T:
        """``await command(redis)``, retried while Redis is unreachable (see the module
        docstring); a refused password or a failed command raises at once."""
        limit = self.reconnect_timeout if give_up_after is None else give_up_after
        deadline = trio.current_time() + limit
        delay = 0.02
        while True:
            try:
                with redis_errors(self.url):
                    return await command(self.redis)
            except ClusterAuthenticationError:
                raise
            except ClusterConnectionError:
                if trio.current_time() + delay > deadline:
                    raise
            await trio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def script(
        self, source: str, keys: Sequence[str], args: Sequence[str | bytes | int | float]
    ) -> Any:
        """Run a Lua script (EVAL: the source travels each time, so a restarted server that
        lost its script cache needs nothing)."""
        values = [a if isinstance(a, str | bytes) else _number(a) for a in args]
        return await self.call(lambda r: r.eval(source, list(keys), values))


def _number(value: int | float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a script argument must be finite")
    return str(value)
