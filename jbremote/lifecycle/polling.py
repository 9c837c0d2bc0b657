"""When to look at a running job again: soon enough to notice its end at once, rarely otherwise.

The storage sits idle from the moment a job ends until we notice it and start the next one,
so a fixed 30 s poll wastes 15 s per job on average. Instead:

* the first polls come quickly (0.5, 1, 2, 4, … s, up to the poll interval), which catches short
  jobs and gives a first progress reading;
* from JetBackup's progress percentage (or the job's previous duration) we estimate the end
  and halve the distance to it with each poll, so the polls close in on the end;
* the poll nearest the estimate is timed to land just after it; up to the latest plausible
  end we poll every ``IN_BAND`` seconds at the closest, past it every ``fine`` seconds for a
  short window (the estimate is rarely exact: JetBackup's percentage
  is an integer), then back off again towards the poll interval if the estimate was wrong.

Each poll is one cheap call on the already open connection; a 20 min job costs a few dozen.
"""

from __future__ import annotations

from dataclasses import dataclass

DENSE = 0.5  # closest spacing while closing in on the estimated end
IN_BAND = 0.1  # closest spacing between the soonest and the latest plausible end
FINE = 0.25  # spacing just past the estimated end
FINE_WINDOW = 2.0  # how long past the estimate polls stay that close
MARGIN = 0.05  # land this much after the estimated end


@dataclass(frozen=True)
class PollPolicy:
    interval: float
    dense: float = DENSE
    fine: float = FINE

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
        >>> round(PollPolicy(30).next_delay(elapsed=50, polls=6, percentage=50), 1)  # ~49 s left
        24.0
        """
        ceiling = max(self.interval, self.dense)
        # The exponent is capped: 2.0**1024 overflows, and a job polled for hours gets there.
        ramp = min(self.dense * 2.0 ** min(polls, 64), ceiling)
        band = self._remaining(elapsed, percentage, expected_duration)
        if band is None:
            return ramp
        soonest, latest = band
        if soonest > self.dense:
            # Closing in: halve the distance to the soonest plausible end.
            return max(self.dense, min(ramp if polls < 3 else ceiling, soonest / 2))
        if soonest > 0:
            return max(soonest + MARGIN, self.fine / 2)  # land just after it
        # Between the soonest and the latest plausible end: evenly spaced polls (eight at
        # most, ``IN_BAND`` apart at the closest); past the latest, a moment more of them at
        # least ``fine`` apart, then easing back to the interval.
        spacing = max(IN_BAND if latest > 0 else self.fine, (latest - soonest) / 8)
        overdue = max(-latest - FINE_WINDOW, 0.0)
        return min(ceiling, spacing + overdue / 4)

    @staticmethod
    def _remaining(
        elapsed: float, percentage: float | None, expected: float | None
    ) -> tuple[float, float] | None:
        """Return the (soonest, latest) plausible seconds left, or None without an estimate.

        JetBackup's percentage is a whole number: a job at p % may be anywhere up to p + 1 %.
        """
        if percentage is not None and 1.0 <= percentage < 100.0 and elapsed > 0:
            upper = min(percentage + 1.0, 100.0)
            return (
                elapsed * (100.0 - upper) / upper,
                elapsed * (100.0 - percentage) / percentage,
            )
        if expected is not None and expected > 0:
            return expected - elapsed, expected - elapsed
        return None
