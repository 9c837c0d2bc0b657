"""What a run looks like at a given instant, computed from its stored timestamps.

Nothing ticks in the simulator. A run stores when it was queued (``created``), when it will start
(``start_at``), how long it takes (``duration``; ``hangs`` means forever), its final status and, if
someone stopped it, ``stopped_at``. Every API call asks :func:`view` what that means at ``now``.

Queue group statuses. Documented (docs.jetbackup.com v5.3 "Backup Account" hook, "Queue Object
Status"): 100 completed, 101 partially completed, 102 failed, 103 aborted. For groups that have
not finished the simulator uses **1 = queued/pending** (the value seen in the docs right after
``rerunFailedQueueGroup``) and **2 = processing** — an ASSUMPTION: JetBackup does not document
it (jetbackup-remote assumes 2). A robust client treats every status below 100 as "not finished"
and any status of 100 or more, including undocumented ones such as 104, as final.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jbremote.sim.state import Run

QUEUED = 1
PROCESSING = 2
COMPLETED = 100
PARTIAL = 101
FAILED = 102
ABORTED = 103

_ITEM_MESSAGES = {
    QUEUED: "Pending",
    PROCESSING: "Processing",
    COMPLETED: "Backup completed successfully",
    FAILED: "Backup failed",
    ABORTED: "Backup aborted",
}


@dataclass(frozen=True)
class RunView:
    """A run at one instant. ``fraction`` is progress in 0..1 (below 1 until the run ends)."""

    status: int
    started: float | None
    ended: float | None
    fraction: float
    items_completed: int

    @property
    def finished(self) -> bool:
        return self.ended is not None


@dataclass(frozen=True)
class ItemView:
    """One per-account queue item at one instant."""

    index: int
    status: int
    started: float | None
    ended: float | None
    message: str


def planned_end(run: Run) -> float | None:
    """Return when ``run`` ends (or ended): its stop time, else start + duration; None if hanging."""
    if run.stopped_at is not None:
        return run.stopped_at
    if run.hangs:
        return None
    return run.start_at + run.duration


def writer_interval(run: Run) -> tuple[float, float | None] | None:
    """Return ``[start, end)`` during which ``run`` writes to its destinations, or None if never.

    ``end`` is None while a hanging run goes on. A run stopped before it started, or one that
    failed at its first instant (disabled destination), wrote nothing.
    """
    end = planned_end(run)
    if end is not None and end <= run.start_at:
        return None
    return run.start_at, end


def _fraction(run: Run, until: float) -> float:
    if run.duration <= 0:
        return 1.0
    return min(max((until - run.start_at) / run.duration, 0.0), 1.0)


def view(run: Run, now: float) -> RunView:
    """Given a run and the current time, return its status, start/end times and progress."""
    end = planned_end(run)
    if end is not None and now >= end:
        stopped = run.stopped_at is not None
        started = None if stopped and end <= run.start_at else run.start_at
        status = ABORTED if stopped else run.outcome
        fraction = _fraction(run, end) if started is not None else 0.0
        if run.fail_reason or started is None:
            done = 0
        elif stopped:
            done = min(math.floor(fraction * run.items), run.items - 1)
        else:
            done = run.items
        return RunView(status, started, end, fraction, max(done, 0))
    if now >= run.start_at:
        fraction = min(_fraction(run, now), 0.99)
        done = min(math.floor(fraction * run.items), run.items - 1)
        return RunView(PROCESSING, run.start_at, None, fraction, max(done, 0))
    return RunView(QUEUED, None, None, 0.0, 0)


def _final_item_status(run: Run, index: int) -> int:
    if run.outcome == FAILED:
        return FAILED
    if run.outcome == PARTIAL:
        # Partial: the last account failed, the others completed.
        return FAILED if index == run.items - 1 else COMPLETED
    return run.outcome


def items(run: Run, now: float) -> list[ItemView]:
    """Given a run and the time, return its per-account items, each with its own time slice.

    Item ``i`` runs during the ``i``-th equal slice of the run's duration; the last item of a
    hanging run never ends. A stopped run aborts the item in progress and every later one.
    """
    current = view(run, now)
    slice_len = run.duration / run.items if run.items else 0.0
    result = []
    for i in range(run.items):
        start = run.start_at + i * slice_len
        end: float | None = start + slice_len
        if run.hangs and i == run.items - 1:
            end = None
        if run.fail_reason and current.status == FAILED:
            result.append(ItemView(i, FAILED, None, current.ended, run.fail_reason))
            continue
        started: float | None
        stop = run.stopped_at if run.stopped_at is not None and now >= run.stopped_at else None
        if end is not None and now >= end and (stop is None or end <= stop):
            status, started, ended = _final_item_status(run, i), start, end
        elif stop is not None:
            status, started, ended = ABORTED, (start if start < stop else None), stop
        elif now >= start:
            status, started, ended = PROCESSING, start, None
        else:
            status, started, ended = QUEUED, None, None
        message = _ITEM_MESSAGES.get(status, f"Backup ended with status {status}")
        result.append(ItemView(i, status, started, ended, message))
    return result
