"""Time as the lifecycle sees it: injectable, so tests can run hours in milliseconds."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (may return early when a stop was requested)."""
        ...


class SystemClock:
    """Real time. ``sleep`` wakes early when ``stop`` is set, so shutdowns are prompt."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stop.wait(seconds)


class FakeClock:
    """A clock that only moves when slept on (or advanced); for tests and the simulator."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        self._now += seconds


def utc(timestamp: float | None) -> datetime | None:
    """Return an epoch timestamp as an aware UTC datetime (``None`` stays ``None``)."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=timezone.utc)
