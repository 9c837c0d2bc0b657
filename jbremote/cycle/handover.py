"""The lane hand-over: the next job of a lane is triggered by the job before it.

When JetBackup says a job ended, its task still holds the lane's writer slot. Right then,
in that task, the next job of the lane (``writers`` positions further) is looked at — the
job itself and every writer on the target, read side by side — and, if it may start at
once, triggered. Its own task, once Prefect hands it the slot, confirms and follows the run
instead of triggering it. The storage idles only for the reads and the trigger; Prefect's
hand-over of the slot (a few API round trips) happens while the next job is already on its
way.

The rules are the lifecycle's (:meth:`JobLifecycle.trigger_ahead`): one look, one trigger,
no waiting and no retries. A job that runs already, another writer on the target, a disabled
job, destination state to prepare, a refused trigger, a stop: the hand-over steps aside and
the next job's task does the usual preflight, starting from the look just made when it is
at most :data:`FRESH` seconds old.

Why the slot may go free for a moment: between the two tasks, another cycle's job of the
same target can take it. That job's own preflight then sees ours queued or running on the
target and waits for it (invariant: never two writers), just as it would for a run that
JetBackup's own schedule started.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from jbremote.config.models import Job
from jbremote.cycle.plan import Lane
from jbremote.lifecycle.events import EventSink, JobEvent
from jbremote.lifecycle.job import JobLifecycle, Look

#: how old a look made for a job before it began may be when the job uses it
FRESH = 1.0

Key = tuple[str, str]


def key(job: Job) -> Key:
    return (job.server, job.id)


@dataclass
class HeldEvents:
    """An event sink that holds events until :meth:`release` names where they go: the
    events of a job triggered at a hand-over belong to that job's own task, which has not
    begun yet."""

    _held: list[JobEvent] = field(default_factory=list)
    _sink: EventSink | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: JobEvent) -> None:
        with self._lock:
            if self._sink is None:
                self._held.append(event)
                return
            sink = self._sink
        sink(event)

    def release(self, sink: EventSink) -> None:
        with self._lock:
            held, self._held, self._sink = self._held, [], sink
        for event in held:
            sink(event)


@dataclass
class Handed:
    """A job triggered at a hand-over, waiting for its task."""

    lifecycle: JobLifecycle
    events: HeldEvents


class HandOvers:
    """Who follows whom in each lane; looks and triggered jobs waiting for their tasks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._successors: dict[Key, Job] = {}
        self._looks: dict[Key, tuple[float, Look]] = {}
        self._handed: dict[Key, Handed] = {}

    def plan(self, lanes: Sequence[Lane]) -> None:
        """Each job's successor is the job that takes its place in the lane (``writers``
        positions further)."""
        with self._lock:
            for lane in lanes:
                for index, job in enumerate(lane.jobs[: -lane.writers or None]):
                    self._successors[key(job)] = lane.jobs[index + lane.writers]

    def successor_of(self, job: Job) -> Job | None:
        with self._lock:
            return self._successors.get(key(job))

    def keep_look(self, job: Job, look: Look, taken_at: float) -> None:
        with self._lock:
            self._looks[key(job)] = (taken_at, look)

    def take_look(self, job: Job, now: float) -> Look | None:
        """The look kept for ``job``, if it is at most :data:`FRESH` seconds old."""
        with self._lock:
            entry = self._looks.pop(key(job), None)
        if entry is None or now - entry[0] > FRESH:
            return None
        return entry[1]

    def hand(self, job: Job, handed: Handed) -> None:
        with self._lock:
            self._handed[key(job)] = handed

    def take_handed(self, job: Job) -> Handed | None:
        with self._lock:
            return self._handed.pop(key(job), None)
