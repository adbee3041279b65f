"""What a deployment must be able to trust: no secret in Redis or in errors, nothing left behind
after shutdown, typed errors for bad input, a gap marker for a slow reader, metrics, the CLI."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from codex_trio import ConfigurationError, LocalImageInput, TurnStartedEvent
from codex_trio._protocol import encode_event
from codex_trio.cluster import (
    ClusterAuthenticationError,
    ClusterClient,
    ClusterConnectionError,
    ClusterMetrics,
    EventsGap,
    ResultExpiredError,
)
from codex_trio.testing import DEFAULT_API_KEY, MockModel, RedisServer, message
from tests.fakes import children_of_self, open_fds

from .helpers import in_process_worker, thread_options, wait_until

pytestmark = pytest.mark.timeout(180)


async def _all_values(client: ClusterClient) -> list[bytes]:
    """Every value of every key: strings, hashes, lists, sets, streams, and each key's DUMP."""
    redis = client._conn.redis
    out: list[bytes] = []
    async for key in redis.scan_iter(match="*"):
        kind = await redis.type(key)
        out.append(await redis.dump(key))
        if kind == b"string":
            out.append(await redis.get(key) or b"")
        elif kind == b"hash":
            out.extend(v for pair in (await redis.hgetall(key)).items() for v in pair)
        elif kind == b"list":
            out.extend(await redis.lrange(key, 0, -1))
        elif kind == b"set":
            out.extend(await redis.smembers(key))
        elif kind == b"stream":
            for entry in await redis.xrange(key):
                out.extend(v for pair in entry.field_values.items() for v in pair)
    return out


async def test_api_keys_never_reach_redis_and_the_password_never_reaches_errors(
    tmp_path: Path, redis_binary: str, mock_model: MockModel
) -> None:
    password = "redis-pw-0123456789"
    mock_model.script = [message("done")]
    async with RedisServer(tmp_path / "redis", password=password, binary=redis_binary) as server:
        async with (
            in_process_worker(server.url, mock_model, tmp_path / "w") as worker,
            ClusterClient(server.url) as client,
        ):
            assert password not in repr(client) + repr(worker) + client.url + worker.url
            await (await client.submit("k", "hello", **thread_options(mock_model))).result()
            values = await _all_values(client)
        assert len(values) > 10
        assert not [v for v in values if DEFAULT_API_KEY.encode() in v]
        url = server.url.replace(password, "wrong-password-xyz")
        with pytest.raises(ClusterAuthenticationError) as raised:
            async with ClusterClient(url):
                pass
        assert "wrong-password-xyz" not in str(raised.value) + repr(raised.value)
        # The password may also be given apart from the URL.
        async with ClusterClient(f"redis://127.0.0.1:{server.port}/0", password=password) as c:
            assert (await c.queue_stats()).depth == 0


async def test_no_child_process_fd_or_temp_file_is_left_after_shutdown(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("a"), message("b")]
    before = open_fds()
    async with (
        in_process_worker(redis_server.url, mock_model, tmp_path / "w") as worker,
        ClusterClient(redis_server.url) as client,
    ):
        await (await client.submit("k", "one", **thread_options(mock_model))).result()
        await (await client.submit("k", "two")).result()
        # The result is visible from the commit on; the worker lets the entry go just after.
        await wait_until(lambda: worker.which_children() == [])
    assert worker.status.state == "stopped"
    assert [pid for pid in children_of_self() if pid != redis_server.pid] == []
    assert open_fds() <= before
    sessions = tmp_path / "w" / "sessions"
    assert [p for p in sessions.rglob("*") if p.is_file()] == []
    async with ClusterClient(redis_server.url) as client:
        assert await client.workers() == []  # the health record went with the worker


async def test_bad_input_gets_typed_errors(redis_server: RedisServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        ClusterClient("http://127.0.0.1:1/0")
    with pytest.raises(ClusterConnectionError):
        async with ClusterClient("redis://127.0.0.1:1/0", reconnect_timeout=0.2):
            pass
    async with ClusterClient(redis_server.url) as client:
        with pytest.raises(ConfigurationError):
            await client.submit("", "hi")
        with pytest.raises(ConfigurationError):
            await client.submit("k", "hi", no_such_option=1)
        with pytest.raises(ConfigurationError):
            await client.submit("k", [LocalImageInput(tmp_path / "x.png")])
        with pytest.raises(ConfigurationError):
            await client.submit("k", "hi", ephemeral=True)
        with pytest.raises(ResultExpiredError):
            await client.handle("ct_unknown").result()
        assert await client.thread("k") is None  # nothing was queued by the refused submits


async def test_a_reader_that_fell_behind_the_capped_stream_sees_a_gap_marker(
    redis_server: RedisServer,
) -> None:
    async with ClusterClient(redis_server.url) as client:
        handle = await client.submit("k", "hi")
        redis, key = client._conn.redis, client.keys.events(handle.turn_id)
        line = encode_event(TurnStartedEvent())
        for seq in range(1, 501):  # what a worker publishes, capped as a worker caps it
            await redis.eval(
                "redis.call('XADD', KEYS[1], 'MAXLEN', '~', 50, '*', 'seq', ARGV[1], "
                "'kind', 'event', 'data', ARGV[2])",
                [key],
                [str(seq), line],
            )
        await redis.xadd(key, {"seq": "501", "kind": "end", "data": "done"})
        with trio.fail_after(30):
            events = [e async for e in handle.events()]
    assert isinstance(events[0], EventsGap) and events[0].missed > 0
    assert all(isinstance(e, TurnStartedEvent) for e in events[1:])
    assert events[0].missed + len(events) - 1 == 500
    assert 50 <= len(events) - 1 < 500  # bounded in Redis, and what is there is delivered


async def test_metrics_count_the_cluster_events(
    redis_server: RedisServer, mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("done")]
    metrics = ClusterMetrics()
    metrics.attach()
    try:
        async with (
            in_process_worker(redis_server.url, mock_model, tmp_path / "w"),
            ClusterClient(redis_server.url) as client,
        ):
            await (await client.submit("k", "hi", **thread_options(mock_model))).result()
            with trio.fail_after(30):
                while "codex_cluster_queue_depth" not in metrics.snapshot():
                    await trio.sleep(0.05)
    finally:
        metrics.detach()
    snapshot = metrics.snapshot()
    assert snapshot['codex_cluster_turns_total{outcome="completed"}'] == 1
    assert snapshot['codex_cluster_rollout_bytes_total{direction="upload"}'] > 0


def test_worker_cli_needs_a_redis_url() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CODEX_TRIO_REDIS_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "codex_trio.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "CODEX_TRIO_REDIS_URL" in proc.stderr


def test_import_codex_trio_cluster_loads_coredis_but_codex_trio_does_not() -> None:
    code = "import sys, codex_trio, codex_trio.cli\nprint('coredis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"
    code = "import sys, codex_trio.cluster\nprint('coredis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True"


def test_codex_trio_cluster_loads_prometheus_only_for_its_metrics() -> None:
    code = "import sys, codex_trio.cluster\nprint('prometheus_client' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"
    code = (
        "import sys\nfrom codex_trio.cluster import ClusterMetrics\n"
        "print('prometheus_client' in sys.modules, ClusterMetrics.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True ClusterMetrics"


def test_the_dropped_events_metric_counts_the_telemetry_event() -> None:
    from codex_trio.cluster import _events as ev
    from codex_trio.observe.telemetry import TelemetryBus

    bus = TelemetryBus()
    metrics = ClusterMetrics()
    metrics.attach(bus)
    bus.execute(ev.EVENTS_DROPPED, {"count": 7}, {"worker": "w", "turn_id": "t"})
    bus.execute(ev.EVENTS_DROPPED, {"count": "bad"}, {})  # ignored, as observe's metrics do
    metrics.detach()
    assert metrics.snapshot()["codex_cluster_events_dropped_total"] == 7
