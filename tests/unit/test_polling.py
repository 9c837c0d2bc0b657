from __future__ import annotations

import math

import pytest

from jbremote.lifecycle import polling
from jbremote.lifecycle.polling import PollPolicy


def simulate(
    policy: PollPolicy, duration: float, progress: bool = True, expected: float | None = None
) -> tuple[float, int]:
    """Poll a job with linear progress that ends at ``duration``; return (detection lag, polls).

    The percentage is an integer, as JetBackup reports it.
    """
    t, polls = 0.0, 0
    while True:
        pct = float(min(100, math.floor(100.0 * t / duration))) if progress else None
        t += policy.next_delay(t, polls, pct, expected)
        polls += 1
        if t >= duration:
            return t - duration, polls


@pytest.mark.parametrize("duration", [0.3, 3.0, 20.0, 600.0, 7200.0])
def test_end_is_noticed_within_the_fine_interval_even_with_a_long_poll_interval(
    duration: float,
) -> None:
    lag, polls = simulate(PollPolicy(interval=30.0), duration)
    # A whole percent of a long job is a long time: polls spread over that last percent.
    assert lag <= max(0.25, duration / 800) + 1e-9
    assert polls <= 16 + duration / 30.0, "no hammering: about one poll per interval at most"


def test_without_progress_history_gives_the_estimate() -> None:
    lag, _ = simulate(PollPolicy(interval=30.0), 100.0, progress=False, expected=100.0)
    assert lag <= 0.25 + 1e-9


def test_without_any_estimate_polls_ramp_up_to_the_interval() -> None:
    policy = PollPolicy(interval=30.0)
    delays = [policy.next_delay(0, n) for n in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]


def test_a_wrong_estimate_eases_back_to_the_interval() -> None:
    policy = PollPolicy(interval=30.0)
    assert policy.next_delay(100, 10, expected_duration=99.9) == 0.25  # just past: close polls
    assert policy.next_delay(106, 20, expected_duration=100) == pytest.approx(1.25)
    assert policy.next_delay(1000, 50, expected_duration=100) == 30.0


def test_the_poll_nearest_the_estimate_lands_just_after_it() -> None:
    policy = PollPolicy(interval=30.0)
    assert policy.next_delay(99.6, 10, expected_duration=100) == pytest.approx(0.45)
    assert policy.next_delay(99.99, 10, expected_duration=100) == 0.125


def test_polls_between_the_soonest_and_latest_end_are_close_past_it_less_so() -> None:
    policy = PollPolicy(30)
    # 20 s job at 99 % after 19.9 s: the end is within the next 0.2 s
    assert policy.next_delay(19.9, 10, percentage=99) == polling.IN_BAND
    # a 2 h job at 99 %: a band of ~73 s, eight polls across it
    assert policy.next_delay(7200.0, 20, percentage=99) == pytest.approx(7200.0 / 99 / 8)
    # past the latest plausible end: no closer than ``fine``
    assert policy.next_delay(100, 10, expected_duration=99.9) == polling.FINE
