"""When to look at a running job again: soon enough to notice its end at once, rarely otherwise.

The storage sits idle from the moment a job ends until we notice it and start the next one,
so a fixed 30 s poll wastes 15 s per job on average. Instead:

* the first polls come quickly (0.5, 1, 2, 4, … s, up to the poll interval), which catches short
  jobs and gives a first progress reading;
* from JetBackup's progress percentage (or the job's previous duration) we estimate the end
  and halve the distance to it with each poll, so the polls close in on the end;
* around and after the estimate we poll every ``dense`` seconds for a while, then back off
  again towards the poll interval if the estimate was wrong.

Each poll is one cheap call on the already open connection; a 20 min job costs a few dozen.
"""

from __future__ import annotations

from dataclasses import dataclass

DENSE = 0.5


@dataclass(frozen=True)
class PollPolicy:
    interval: float
    dense: float = DENSE

    def next_delay(
        self,
        elapsed: float,
        polls: int,
        percentage: float | None = None,
        expected_duration: float | None = None,
    ) -> float:
        """Return seconds to wait before the next poll of a job running for ``elapsed`` s.

        ``polls`` is how many polls were made since it started, ``percentage`` JetBackup's
        latest progress (0–100), ``expected_duration`` a duration from history.

        >>> PollPolicy(30).next_delay(elapsed=0, polls=0)
        0.5
        >>> PollPolicy(30).next_delay(elapsed=50, polls=6, percentage=50)  # 50 s left
        25.0
        """
        ceiling = max(self.interval, self.dense)
        # The exponent is capped: 2.0**1024 overflows, and a job polled for hours gets there.
        ramp = min(self.dense * 2.0 ** min(polls, 64), ceiling)
        remaining = self._remaining(elapsed, percentage, expected_duration)
        if remaining is None:
            return ramp
        if remaining > self.dense:
            return max(self.dense, min(ramp if polls < 3 else ceiling, remaining / 2))
        overdue = -remaining
        # Past the estimate: dense polling, easing back to the interval as the estimate ages.
        return min(ceiling, self.dense + overdue / 4)

    @staticmethod
    def _remaining(
        elapsed: float, percentage: float | None, expected: float | None
    ) -> float | None:
        if percentage is not None and 1.0 <= percentage < 100.0 and elapsed > 0:
            return elapsed * (100.0 - percentage) / percentage
        if expected is not None and expected > 0:
            return expected - elapsed
        return None
