"""A usage-limit failure (the API's 429 ``usage_limit_reached``) is a typed ``UsageLimitError``
carrying the reset time, on both transports: real binary, mock model."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import trio

import codex_trio
from codex_trio.testing import (
    MockModel,
    MockRateLimits,
    MockRateLimitWindow,
    message,
    usage_limit_reached,
)

GUARD = 120


def _reset_in(seconds: int) -> int:
    return int(time.time()) + seconds


@pytest.mark.parametrize("transport", ["exec", "app-server"])
async def test_usage_limit_is_a_typed_error_with_the_reset_time(
    mock_model: MockModel, thread_options: dict[str, object], transport: str
) -> None:
    # Three days ahead: codex writes the date too ("Dec 4th, 2026 10:44 AM").
    resets_at = _reset_in(3 * 86400 + 600)
    mock_model.script = [usage_limit_reached(resets_at=resets_at), message("after the reset")]
    with trio.fail_after(GUARD):
        async with codex_trio.Codex(transport=transport, env=mock_model.env) as codex:  # type: ignore[arg-type]
            thread = codex.start_thread(**thread_options)  # type: ignore[arg-type]
            with pytest.raises(codex_trio.UsageLimitError) as caught:
                await thread.run("work")
            again = await thread.run("work again")
    error = caught.value
    assert isinstance(error, codex_trio.TurnFailedError)
    assert "usage limit" in error.message
    assert error.thread_id == thread.id
    # codex gives the reset time to the minute, in local time.
    expected = datetime.fromtimestamp(resets_at, UTC).replace(second=0)
    assert error.resets_at == expected
    # The thread survives: the next turn runs.
    assert again.final_response == "after the reset"


async def test_a_reset_later_today_is_read_as_today(
    mock_model: MockModel, thread_options: dict[str, object]
) -> None:
    # codex writes a reset on the same local day as a bare time ("3:45 PM"); a few minutes ahead
    # is the same day unless the test runs just before midnight, which the check allows for.
    resets_at = _reset_in(120)
    mock_model.script = [usage_limit_reached(resets_at=resets_at)]
    codex = codex_trio.Codex(env=mock_model.env)
    with trio.fail_after(GUARD), pytest.raises(codex_trio.UsageLimitError) as caught:
        await codex.start_thread(**thread_options).run("work")  # type: ignore[arg-type]
    expected = datetime.fromtimestamp(resets_at, UTC).replace(second=0)
    got = caught.value.resets_at
    assert got is not None
    assert got == expected or abs(got - expected) == timedelta(days=1)


async def test_usage_limit_without_a_reset_time_has_none(
    mock_model: MockModel, thread_options: dict[str, object]
) -> None:
    # codex 0.163 reads only resets_at; resets_in_seconds alone gives "Try again later."
    mock_model.script = [usage_limit_reached(resets_in_seconds=600, plan_type=None)]
    codex = codex_trio.Codex(env=mock_model.env)
    with trio.fail_after(GUARD), pytest.raises(codex_trio.UsageLimitError) as caught:
        await codex.start_thread(**thread_options).run("work")  # type: ignore[arg-type]
    assert caught.value.resets_at is None
    assert "Try again later" in caught.value.message


async def test_other_429s_stay_plain_turn_failures(
    mock_model: MockModel, thread_options: dict[str, object]
) -> None:
    from codex_trio.testing import http_error

    mock_model.script = [http_error(429, "slow down")]
    codex = codex_trio.Codex(env=mock_model.env)
    with trio.fail_after(GUARD), pytest.raises(codex_trio.TurnFailedError) as caught:
        await codex.start_thread(**thread_options).run("work")  # type: ignore[arg-type]
    assert not isinstance(caught.value, codex_trio.UsageLimitError)


async def test_app_server_failed_turn_event_carries_the_engines_error_info(
    mock_model: MockModel, thread_options: dict[str, object]
) -> None:
    resets_at = _reset_in(3600)
    window = MockRateLimitWindow(used_percent=100, window_minutes=300, resets_at=resets_at)
    mock_model.script = [
        usage_limit_reached(resets_at=resets_at, rate_limits=MockRateLimits(primary=window))
    ]
    failed: list[codex_trio.TurnFailedEvent] = []
    with trio.fail_after(GUARD):
        async with codex_trio.Codex(transport="app-server", env=mock_model.env) as codex:
            thread = codex.start_thread(**thread_options)  # type: ignore[arg-type]
            async with thread.run_streamed("work") as events:
                async for event in events:
                    if isinstance(event, codex_trio.TurnFailedEvent):
                        failed.append(event)
            latest = codex.latest_rate_limits
    [event] = failed
    assert event.error.codex_error_info == "usageLimitExceeded"
    # The exact reset time of the exhausted window, from the 429's headers.
    assert latest is not None and latest.primary is not None
    assert latest.primary.used_percent == 100
    assert latest.primary.resets_at == datetime.fromtimestamp(resets_at, UTC)
