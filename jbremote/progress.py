"""Live progress of a manual cycle, built from the job events the flow publishes.

:class:`CycleProgress` subscribes to :mod:`jbremote.cycle.observers` and keeps what a person
watching ``jbremote run`` wants: jobs done out of the total, which jobs run now (with their
progress), which wait for a target and for whom, and the elapsed time. It is thread-safe (task
threads publish events) and Prefect-free; the CLI only renders :meth:`CycleProgress.snapshot`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from jbremote.lifecycle.events import EventKind, JobEvent

# Events worth one line each when the output is not a terminal (a log, CI).
NOTEWORTHY = {
    EventKind.WAITING_FOR_TARGET,
    EventKind.ADOPTED,
    EventKind.STARTED,
    EventKind.TIMED_OUT,
    EventKind.CONTACT_LOST,
    EventKind.CONTACT_RESTORED,
    EventKind.STATE_CHANGED,
    EventKind.STATE_RESTORED,
    EventKind.FINISHED,
}


@dataclass
class Running:
    display: str
    target: str
    since: float
    percentage: float | None = None


@dataclass
class Snapshot:
    total: int
    done: int
    elapsed: float
    running: list[Running] = field(default_factory=list)
    waiting: dict[str, list[str]] = field(default_factory=dict)  # job → writers it waits for
    problems: list[str] = field(default_factory=list)  # "web1/accounts: failed"


class CycleProgress:
    """Counts and current activity of one cycle; feed it events with :meth:`handle`."""

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._done: set[str] = set()
        self._running: dict[str, Running] = {}
        self._waiting: dict[str, list[str]] = {}
        self._problems: list[str] = []

    def handle(self, event: JobEvent) -> None:
        record = event.record
        key = record.display
        with self._lock:
            if event.kind is EventKind.WAITING_FOR_TARGET:
                writers = event.data.get("writers")
                self._waiting[key] = [str(w) for w in writers] if isinstance(writers, list) else []
            elif event.kind in (EventKind.TRIGGERED, EventKind.ADOPTED, EventKind.STARTED):
                self._waiting.pop(key, None)
                self._running.setdefault(key, Running(key, record.target, self._clock()))
            elif event.kind is EventKind.PROGRESS:
                percentage = event.data.get("percentage")
                run = self._running.setdefault(key, Running(key, record.target, self._clock()))
                if isinstance(percentage, int | float):
                    run.percentage = float(percentage)
            elif event.kind is EventKind.FINISHED:
                self._waiting.pop(key, None)
                self._running.pop(key, None)
                self._done.add(key)
                if record.result.is_problem:
                    self._problems.append(f"{key}: {record.result.value}")

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(
                total=self.total,
                done=len(self._done),
                elapsed=self._clock() - self._started,
                running=[Running(**vars(r)) for r in self._running.values()],
                waiting={k: list(v) for k, v in self._waiting.items()},
                problems=list(self._problems),
            )

    def elapsed(self) -> float:
        return self._clock() - self._started


def format_elapsed(seconds: float) -> str:
    """``75`` → ``"1:15"``, ``3725`` → ``"1:02:05"``."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
