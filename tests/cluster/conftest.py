"""Fixtures for the scale-out tests: a real ``redis-server`` per test (no fakes)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from codex_trio.testing import RedisServer, RedisServerUnavailable, find_redis_server


@pytest.fixture
def redis_binary() -> str:
    try:
        return find_redis_server()
    except RedisServerUnavailable as error:
        pytest.skip(str(error))


@pytest.fixture
async def redis_server(tmp_path: Path, redis_binary: str) -> AsyncIterator[RedisServer]:
    """A fresh ``redis-server`` (AOF on) on a free loopback port, stopped after the test."""
    async with RedisServer(tmp_path / "redis", binary=redis_binary) as server:
        yield server
