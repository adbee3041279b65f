"""Reading the reset time out of codex's usage-limit message (no codex)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from codex_trio import TurnFailedError, UsageLimitError
from codex_trio._errors import turn_failed_error, usage_limit_resets_at

PREFIX = "You\u2019ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), "
PLUS = timezone(timedelta(hours=2))
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=PLUS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("or try again at 11:42 AM.", datetime(2026, 12, 1, 9, 42, tzinfo=UTC)),
        ("or try again at 12:05 AM.", datetime(2026, 11, 30, 22, 5, tzinfo=UTC)),
        ("or try again at 12:05 PM.", datetime(2026, 12, 1, 10, 5, tzinfo=UTC)),
        (
            "or try again at Dec 4th, 2026 10:44 PM.",
            datetime(2026, 12, 4, 20, 44, tzinfo=UTC),
        ),
        ("Try again at Jan 1st, 2027 1:07 AM.", datetime(2026, 12, 31, 23, 7, tzinfo=UTC)),
        ("Try again later.", None),
        ("or try again at Foo 4th, 2026 10:44 PM.", None),
    ],
)
def test_the_reset_time_is_read_in_the_local_zone(text: str, expected: datetime | None) -> None:
    assert usage_limit_resets_at(PREFIX + text, now=NOW) == expected


def test_a_usage_limit_message_makes_a_usage_limit_error() -> None:
    error = turn_failed_error(
        "You've hit your usage limit for GPT-5.3-Codex-Spark. Switch to another model now, "
        "or try again at Dec 4th, 2026 10:44 AM.",
        thread_id="t",
        turn_id="u",
    )
    assert isinstance(error, UsageLimitError) and isinstance(error, TurnFailedError)
    assert error.resets_at is not None and error.resets_at.tzinfo is not None
    assert (error.thread_id, error.turn_id) == ("t", "u")


def test_other_failures_stay_turn_failed_errors() -> None:
    error = turn_failed_error("exceeded retry limit, last status: 429 Too Many Requests")
    assert type(error) is TurnFailedError
