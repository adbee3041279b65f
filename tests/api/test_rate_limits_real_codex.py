"""Rate limits: the headers the mock model sends reach ``Codex.latest_rate_limits``, telemetry
and the Prometheus gauges, through the real binary's ``account/rateLimits/updated``."""

from __future__ import annotations

import base64
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import trio

import codex_trio
from codex_trio.observe import Metrics, events, telemetry
from codex_trio.testing import (
    MockCredits,
    MockModel,
    MockRateLimits,
    MockRateLimitWindow,
    message,
    response,
)

GUARD = 120
PRIMARY_RESET = 1_900_000_000
SECONDARY_RESET = 1_900_500_000
LIMITS = MockRateLimits(
    primary=MockRateLimitWindow(used_percent=42, window_minutes=300, resets_at=PRIMARY_RESET),
    secondary=MockRateLimitWindow(used_percent=7, window_minutes=10080, resets_at=SECONDARY_RESET),
    credits=MockCredits(has_credits=True, balance="12.50"),
)


@contextmanager
def recorded(name: tuple[str, ...]) -> Iterator[list[tuple[dict[str, Any], dict[str, Any]]]]:
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []
    handler_id = f"test-rate-limits-{id(seen)}"
    telemetry.attach(handler_id, [name], lambda _e, m, meta, _c: seen.append((dict(m), dict(meta))))
    try:
        yield seen
    finally:
        telemetry.detach(handler_id)


@contextmanager
def attached_metrics() -> Iterator[Metrics]:
    metrics = Metrics()
    metrics.attach()
    try:
        yield metrics
    finally:
        metrics.detach()


async def test_rate_limit_headers_reach_the_tracker_telemetry_and_gauges(
    mock_model: MockModel, thread_options: dict[str, object]
) -> None:
    mock_model.script = [response(message("hi"), rate_limits=LIMITS)]
    with attached_metrics() as metrics, recorded(events.RATE_LIMITS_UPDATED) as seen:
        with trio.fail_after(GUARD):
            async with codex_trio.Codex(transport="app-server", env=mock_model.env) as codex:
                assert codex.latest_rate_limits is None
                await codex.start_thread(**thread_options).run("hi")  # type: ignore[arg-type]
                latest = codex.latest_rate_limits
        gauges = metrics.snapshot()
    # The tracker
    assert isinstance(latest, codex_trio.RateLimits)
    assert latest.limit_id == "codex"
    assert latest.primary == codex_trio.RateLimitWindow(
        used_percent=42, window_minutes=300, resets_at=datetime.fromtimestamp(PRIMARY_RESET, UTC)
    )
    assert latest.secondary is not None
    assert latest.secondary.used_percent == 7 and latest.secondary.window_minutes == 10080
    assert latest.secondary.resets_at == datetime.fromtimestamp(SECONDARY_RESET, UTC)
    assert latest.credits == codex_trio.RateLimitCredits(
        has_credits=True, unlimited=False, balance="12.50"
    )
    assert not latest.exhausted and latest.resets_at is None
    # Telemetry
    measurements, metadata = seen[-1]
    assert measurements == {
        "primary_used_percent": 42.0,
        "primary_window_minutes": 300,
        "primary_resets_at": PRIMARY_RESET,
        "secondary_used_percent": 7.0,
        "secondary_window_minutes": 10080,
        "secondary_resets_at": SECONDARY_RESET,
    }
    assert metadata["limit_id"] == "codex" and metadata["transport"] == "app-server"
    assert metadata["exhausted"] is False
    # Prometheus gauges
    assert gauges['codex_rate_limit_used_percent{limit_id="codex",window="primary"}'] == 42
    assert gauges['codex_rate_limit_used_percent{limit_id="codex",window="secondary"}'] == 7
    assert gauges['codex_rate_limit_window_seconds{limit_id="codex",window="primary"}'] == 18000
    assert (
        gauges['codex_rate_limit_resets_at_timestamp_seconds{limit_id="codex",window="secondary"}']
        == SECONDARY_RESET
    )


async def test_updates_are_merged_and_each_limit_id_is_kept(
    mock_model: MockModel, thread_options: dict[str, object]
) -> None:
    other = MockRateLimits(
        limit_id="codex_other",
        limit_name="gpt-other",
        primary=MockRateLimitWindow(used_percent=100, window_minutes=60, resets_at=PRIMARY_RESET),
    )
    mock_model.script = [
        response(message("one"), rate_limits=LIMITS),
        message("two"),  # no headers: codex still reports "codex", with both windows null
        response(message("three"), rate_limits=other),
    ]
    with trio.fail_after(GUARD):
        async with codex_trio.Codex(transport="app-server", env=mock_model.env) as codex:
            thread = codex.start_thread(**thread_options)  # type: ignore[arg-type]
            await thread.run("one")
            tracker = codex.rate_limit_tracker
            first = tracker.updates
            await thread.run("two")
            assert tracker.updates > first
            kept = codex.latest_rate_limits
            await thread.run("three")
            latest = codex.latest_rate_limits
    # The sparse update kept what was known.
    assert kept is not None and kept.primary is not None and kept.primary.used_percent == 42
    assert latest is not None and latest.limit_id == "codex_other"
    assert latest.limit_name == "gpt-other"
    assert latest.exhausted and latest.resets_at == datetime.fromtimestamp(PRIMARY_RESET, UTC)
    assert set(tracker.by_limit_id) == {"codex", "codex_other"}
    assert tracker.resets_at() == datetime.fromtimestamp(PRIMARY_RESET, UTC)


async def test_fractional_percentages_arrive_rounded(
    mock_model: MockModel, thread_options: dict[str, object]
) -> None:
    window = MockRateLimitWindow(used_percent=42.5)
    mock_model.script = [response(message("hi"), rate_limits=MockRateLimits(primary=window))]
    with trio.fail_after(GUARD):
        async with codex_trio.Codex(transport="app-server", env=mock_model.env) as codex:
            await codex.start_thread(**thread_options).run("hi")  # type: ignore[arg-type]
            latest = codex.latest_rate_limits
    # codex 0.163's app-server reports usedPercent as an integer.
    assert latest is not None and latest.primary is not None
    assert latest.primary.used_percent == 43


async def test_exec_reports_no_rate_limits(
    mock_model: MockModel, thread_options: dict[str, object]
) -> None:
    mock_model.script = [response(message("hi"), rate_limits=LIMITS)]
    with recorded(events.RATE_LIMITS_UPDATED) as seen, trio.fail_after(GUARD):
        codex = codex_trio.Codex(env=mock_model.env)
        result = await codex.start_thread(**thread_options).run("hi")  # type: ignore[arg-type]
    assert result.final_response == "hi"
    # codex exec --json has no event for them: nothing to track.
    assert codex.latest_rate_limits is None and seen == []
    assert mock_model.requests  # the headers were sent to that codex


@pytest.mark.parametrize("transport", ["app-server"])
async def test_a_shared_app_server_restart_keeps_tracking(
    mock_model: MockModel, thread_options: dict[str, object], transport: str
) -> None:
    # The tracker is given to every client the transport opens, restarted ones too.
    mock_model.script = [
        response(message("one"), rate_limits=LIMITS),
        response(
            message("two"),
            rate_limits=MockRateLimits(primary=MockRateLimitWindow(used_percent=55)),
        ),
    ]
    with trio.fail_after(GUARD):
        async with codex_trio.Codex(transport=transport, env=mock_model.env) as codex:  # type: ignore[arg-type]
            thread = codex.start_thread(**thread_options)  # type: ignore[arg-type]
            await thread.run("one")
            client = codex.transport.client  # type: ignore[attr-defined]
            os.kill(client.pid, signal.SIGKILL)
            with trio.fail_after(30):
                while codex.transport.client is client or codex.transport.client is None:  # type: ignore[attr-defined]
                    await trio.sleep(0.05)
            await thread.run("two")
            latest = codex.latest_rate_limits
    assert latest is not None and latest.primary is not None
    assert latest.primary.used_percent == 55


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


async def test_rate_limits_read_under_a_chatgpt_login_answered_by_the_mock_backend(
    mock_model: MockModel,
) -> None:
    # The mock stands in for the ChatGPT backend (GET /backend-api/wham/usage); the login is
    # the app-server's external-token login, given the mock's own unsigned token.
    mock_model.configure(extra_config={"chatgpt_base_url": mock_model.server.chatgpt_base_url})
    mock_model.server.account_rate_limits = MockRateLimits(
        primary=MockRateLimitWindow(used_percent=30, window_minutes=300, resets_at=PRIMARY_RESET),
        secondary=MockRateLimitWindow(
            used_percent=100, window_minutes=10080, resets_at=SECONDARY_RESET
        ),
    )
    token = _unsigned_jwt({"exp": int(time.time()) + 3600, "email": "t@example.com"})
    with recorded(events.RATE_LIMITS_UPDATED) as seen, trio.fail_after(GUARD):
        async with codex_trio.Codex(transport="app-server", env=mock_model.env) as codex:
            client = codex.transport.client  # type: ignore[attr-defined]
            await client.request(
                "account/login/start",
                {"type": "chatgptAuthTokens", "accessToken": token, "chatgptAccountId": "acct-1"},
            )
            limits = await codex.rate_limits()
            latest = codex.latest_rate_limits
    codex_limits = limits["codex"]
    assert codex_limits.plan_type == "plus"
    assert codex_limits.primary is not None and codex_limits.primary.used_percent == 30
    assert codex_limits.primary.window_minutes == 300
    assert codex_limits.secondary is not None and codex_limits.secondary.exhausted
    assert codex_limits.resets_at == datetime.fromtimestamp(SECONDARY_RESET, UTC)
    assert latest == codex_limits  # the read updated the tracker...
    assert seen and seen[-1][1]["exhausted"] is True  # ...and its telemetry
    [usage] = [r for r in mock_model.server.all_requests if r.path == "/backend-api/wham/usage"]
    assert usage.authorization() == f"Bearer {token}"
