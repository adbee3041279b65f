"""The mock model's rate-limit headers and usage-limit answer (no codex: the wire format)."""

from __future__ import annotations

import pytest
import trio

from codex_trio.testing import (
    MockCredits,
    MockRateLimits,
    MockRateLimitWindow,
    MockResponsesServer,
    http_error,
    message,
    response,
    usage_limit_reached,
    with_rate_limits,
)
from tests.testing.http_client import HttpClient, HttpResult, post_once, user_body

GUARD = 30

LIMITS = MockRateLimits(
    primary=MockRateLimitWindow(used_percent=42.5, window_minutes=300, resets_at=1_900_000_000),
    secondary=MockRateLimitWindow(used_percent=7, window_minutes=10080),
    credits=MockCredits(has_credits=True, balance="12.50"),
)


async def get_once(port: int, path: str) -> HttpResult:
    client = await HttpClient.connect(port)
    try:
        return await client.request("GET", path)
    finally:
        await client.aclose()


def test_rate_limits_become_the_x_codex_headers_codex_reads() -> None:
    assert LIMITS.headers() == (
        ("x-codex-primary-used-percent", "42.5"),
        ("x-codex-primary-window-minutes", "300"),
        ("x-codex-primary-reset-at", "1900000000"),
        ("x-codex-secondary-used-percent", "7"),
        ("x-codex-secondary-window-minutes", "10080"),
        ("x-codex-credits-has-credits", "true"),
        ("x-codex-credits-unlimited", "false"),
        ("x-codex-credits-balance", "12.50"),
    )


def test_another_limit_id_is_its_own_header_family_with_dashes() -> None:
    other = MockRateLimits(
        limit_id="codex_other",
        limit_name="gpt-other",
        primary=MockRateLimitWindow(used_percent=80),
    )
    assert other.headers() == (
        ("x-codex-other-primary-used-percent", "80"),
        ("x-codex-other-limit-name", "gpt-other"),
    )


async def test_a_streamed_response_carries_its_rate_limit_headers() -> None:
    script = [response(message("hi"), rate_limits=LIMITS), message("plain")]
    async with MockResponsesServer(script) as server:
        with trio.fail_after(GUARD):
            first = await post_once(server.port, user_body("a"))
            second = await post_once(server.port, user_body("b"))
    assert first.status == 200 and first.complete
    assert first.headers["x-codex-primary-used-percent"] == "42.5"
    assert first.headers["x-codex-credits-balance"] == "12.50"
    assert [t for t, _ in first.sse()][-1] == "response.completed"
    assert not any(name.startswith("x-codex-") for name in second.headers)


async def test_with_rate_limits_adds_headers_to_any_response_keeping_its_own() -> None:
    step = with_rate_limits(http_error(429, "slow", retry_after=3), LIMITS)
    async with MockResponsesServer([step]) as server:
        with trio.fail_after(GUARD):
            result = await post_once(server.port, user_body("a"))
    assert result.status == 429
    assert result.headers["retry-after"] == "3"
    assert result.headers["x-codex-primary-window-minutes"] == "300"


async def test_usage_limit_reached_is_the_real_apis_429_body() -> None:
    step = usage_limit_reached(resets_at=1_900_000_000, resets_in_seconds=60, rate_limits=LIMITS)
    async with MockResponsesServer([step]) as server:
        with trio.fail_after(GUARD):
            result = await post_once(server.port, user_body("a"))
    assert result.status == 429
    error = result.json()["error"]
    assert error["type"] == "usage_limit_reached"
    assert error["plan_type"] == "plus"
    assert error["resets_at"] == 1_900_000_000
    assert error["resets_in_seconds"] == 60
    assert result.headers["x-codex-primary-used-percent"] == "42.5"


async def test_usage_limit_reached_leaves_out_the_keys_not_given() -> None:
    async with MockResponsesServer([usage_limit_reached(plan_type=None)]) as server:
        with trio.fail_after(GUARD):
            error = (await post_once(server.port, user_body("a"))).json()["error"]
    assert error["type"] == "usage_limit_reached"
    assert not {"plan_type", "resets_at", "resets_in_seconds"} & error.keys()


@pytest.mark.parametrize("status", [400, 429, 500])
async def test_http_error_keeps_its_usual_error_type(status: int) -> None:
    async with MockResponsesServer([http_error(status, "no")]) as server:
        with trio.fail_after(GUARD):
            error = (await post_once(server.port, user_body("a"))).json()["error"]
    assert error["type"] == {400: "invalid_request_error", 429: "rate_limit_error"}.get(
        status, "server_error"
    )


def test_usage_payload_is_the_chatgpt_backends_shape() -> None:
    payload = LIMITS.usage_payload(plan_type="pro", now=1_899_999_000)
    assert payload == {
        "plan_type": "pro",
        "rate_limit": {
            "allowed": True,
            "limit_reached": False,
            "primary_window": {
                "used_percent": 42,
                "limit_window_seconds": 18000,
                "reset_after_seconds": 1000,
                "reset_at": 1_900_000_000,
            },
            "secondary_window": {
                "used_percent": 7,
                "limit_window_seconds": 604800,
                "reset_after_seconds": 0,
                "reset_at": 1_899_999_000,
            },
        },
        "credits": {"has_credits": True, "unlimited": False, "balance": "12.50"},
    }


async def test_the_usage_route_answers_only_when_limits_are_set() -> None:
    async with MockResponsesServer() as server:
        with trio.fail_after(GUARD):
            missing = await get_once(server.port, "/backend-api/wham/usage")
            server.account_rate_limits = LIMITS
            found = await get_once(server.port, "/backend-api/wham/usage")
        assert server.chatgpt_base_url == f"http://127.0.0.1:{server.port}/backend-api/"
    assert missing.status == 404
    assert (
        found.status == 200 and found.json()["rate_limit"]["primary_window"]["used_percent"] == 42
    )
