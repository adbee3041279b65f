"""The test Redis server itself: a real process, reachable over TCP and a unix socket, with AUTH,
and an AOF that survives a restart (and a kill -9 with ``appendfsync always``)."""

import os
import signal
from pathlib import Path

import coredis
import pytest
import trio

from codex_trio.testing import RedisServer


async def test_tcp_server_round_trip_and_restart_keeps_aof(redis_server: RedisServer) -> None:
    client = coredis.Redis.from_url(redis_server.url, decode_responses=True)
    async with client:
        await client.xadd("s", {"k": "v"})
        assert await client.xlen("s") == 1
    port = redis_server.port
    await redis_server.restart(sig=signal.SIGKILL)
    assert redis_server.port == port
    client = coredis.Redis.from_url(redis_server.url, decode_responses=True)
    async with client:
        assert await client.xlen("s") == 1


async def test_unix_socket_with_password(tmp_path: Path, redis_binary: str) -> None:
    async with RedisServer(
        tmp_path / "r", unix_socket=True, password="s3cret-pw", binary=redis_binary
    ) as server:
        assert server.url.startswith("unix://")
        assert "s3cret-pw" not in repr(server)
        config = server.directory / "redis.conf"
        assert config.stat().st_mode & 0o077 == 0
        assert (server.directory.stat().st_mode & 0o077) == 0
        client = coredis.Redis.from_url(server.url, decode_responses=True)
        async with client:
            assert await client.ping() == "PONG"
        bad = coredis.Redis(unix_socket_path=str(server.socket_path), password="wrong")
        # coredis raises the failure inside (nested) exception groups from its own nursery.
        with pytest.raises(BaseException) as raised:
            async with bad:
                await bad.ping()
        assert _leaves(raised.value) and all(
            isinstance(leaf, coredis.exceptions.AuthenticationError)
            for leaf in _leaves(raised.value)
        )
        pid = server.pid
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    await trio.lowlevel.checkpoint()


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]
