"""RestartIntensity: the sliding window of restart times."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codex_trio._intensity import RestartIntensity

# Times on a grid of 1/8 s so that "exactly max_seconds apart" (the boundary) comes up often.
gaps = st.lists(st.integers(min_value=0, max_value=40).map(lambda n: n / 8), max_size=60)
limits = st.integers(min_value=0, max_value=5)
periods = st.integers(min_value=1, max_value=40).map(lambda n: n / 8)


def _times(steps: list[float]) -> list[float]:
    return list(itertools.accumulate(steps))


def _feed(intensity: RestartIntensity, times: list[float]) -> list[tuple[float, bool]]:
    return [(t, intensity.allow(t)) for t in times]


@given(gaps, limits, periods)
def test_never_more_than_max_restarts_in_any_window(
    steps: list[float], max_restarts: int, max_seconds: float
) -> None:
    allowed = [
        t for t, ok in _feed(RestartIntensity(max_restarts, max_seconds), _times(steps)) if ok
    ]
    for start in allowed:  # the worst windows start at an allowed restart
        inside = [t for t in allowed if start <= t <= start + max_seconds]
        assert len(inside) <= max_restarts


@given(gaps, limits, periods)
def test_a_refusal_means_the_window_already_holds_max_restarts(
    steps: list[float], max_restarts: int, max_seconds: float
) -> None:
    allowed: list[float] = []
    for t, ok in _feed(RestartIntensity(max_restarts, max_seconds), _times(steps)):
        if ok:
            allowed.append(t)
        else:
            assert sum(1 for a in allowed if t - a <= max_seconds) == max_restarts


@given(gaps, st.integers(min_value=1, max_value=5), periods, st.integers(1, 16))
def test_restarts_are_allowed_again_once_the_window_has_passed(
    steps: list[float], max_restarts: int, max_seconds: float, extra_eighths: int
) -> None:
    intensity = RestartIntensity(max_restarts, max_seconds)
    fed = _feed(intensity, _times(steps))
    last_allowed = max((t for t, ok in fed if ok), default=0.0)
    now = max([last_allowed, *(t for t, _ in fed)]) + max_seconds + extra_eighths / 8
    assert intensity.allow(now)


def test_max_restarts_in_the_window_are_allowed_and_one_more_is_refused() -> None:
    intensity = RestartIntensity(3, 5.0)
    assert [intensity.allow(t) for t in (0.0, 1.0, 2.0)] == [True, True, True]
    assert not intensity.allow(5.0)  # the restart at 0.0 is exactly 5 s old: it still counts
    assert intensity.allow(5.5)
    assert intensity.restarts_in_window(5.5) == 3


def test_zero_max_restarts_refuses_every_restart() -> None:
    intensity = RestartIntensity(0, 1.0)
    assert not intensity.allow(0.0)
    assert not intensity.allow(100.0)


def test_reset_forgets_the_history() -> None:
    intensity = RestartIntensity(1, 10.0)
    assert intensity.allow(1.0)
    assert not intensity.allow(2.0)
    intensity.reset()
    assert intensity.allow(0.5)  # time may restart too after a reset


def test_time_going_backwards_is_an_error() -> None:
    intensity = RestartIntensity(3, 1.0)
    intensity.allow(2.0)
    with pytest.raises(ValueError, match="backwards"):
        intensity.allow(1.0)


def test_invalid_limits_are_rejected() -> None:
    with pytest.raises(ValueError):
        RestartIntensity(-1, 1.0)
    with pytest.raises(ValueError):
        RestartIntensity(1, 0.0)
