"""After-the-fact checks on a simulated fleet: who wrote when, and what the client called.

A run *writes* during ``[started, ended)`` (see :func:`jbremote.sim.timeline.writer_interval`);
a hanging run writes until ``now``. Two intervals that only touch at an endpoint do not overlap,
so "one writer per target" holds when a job starts the instant the previous one ends.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jbremote.sim import timeline
from jbremote.sim.store import SimStore

TargetMap = Mapping[tuple[str, str], str]  # (server, destination id) -> target name


@dataclass(frozen=True)
class WriterInterval:
    server: str
    job_id: str
    group_id: str
    destination_ids: tuple[str, ...]
    started: float
    ended: float | None  # None: still writing (a hanging run)

    def targets(self, target_of: TargetMap) -> set[str]:
        return {t for d in self.destination_ids if (t := target_of.get((self.server, d)))}


def writer_intervals(state_dir: Path | str) -> list[WriterInterval]:
    """Return every run's writer interval in ``state_dir``, sorted by start time."""
    store = SimStore(state_dir)
    result = []
    for name in store.servers():
        for run in store.load(name).runs:
            interval = timeline.writer_interval(run)
            if interval is not None:
                started, ended = interval
                dests = tuple(run.destination_ids)
                result.append(WriterInterval(name, run.job_id, run.group_id, dests, started, ended))
    return sorted(result, key=lambda i: i.started)


def max_simultaneous(
    intervals: Iterable[WriterInterval], target_of: TargetMap, now: float | None = None
) -> dict[str, int]:
    """Given writer intervals and where each destination writes, return the largest number of
    runs writing to each target at the same instant. Open intervals end at ``now``.

    Targets nobody wrote to are absent. Ends sort before starts at equal times: touching
    intervals count as one writer.
    """
    end_of_open = time.time() if now is None else now
    events: dict[str, list[tuple[float, int]]] = {}
    for interval in intervals:
        end = interval.ended if interval.ended is not None else end_of_open
        if end <= interval.started:
            continue
        for target in interval.targets(target_of):
            events.setdefault(target, []).extend([(interval.started, 1), (end, -1)])
    result = {}
    for target, points in events.items():
        current = peak = 0
        for _, delta in sorted(points):  # (t, -1) sorts before (t, +1)
            current += delta
            peak = max(peak, current)
        result[target] = peak
    return result


def max_writers(
    state_dir: Path | str, target_of: TargetMap, now: float | None = None
) -> dict[str, int]:
    """Return :func:`max_simultaneous` over every run in ``state_dir``."""
    return max_simultaneous(writer_intervals(state_dir), target_of, now)


def calls(state_dir: Path | str, function: str | None = None) -> list[dict[str, Any]]:
    """Return the call-log records, optionally only those of ``function``."""
    records = SimStore(state_dir).read_calls()
    return [r for r in records if function is None or r["function"] == function]


def triggers_per_job(state_dir: Path | str) -> Counter[tuple[str, str]]:
    """Return how often ``runBackupJobManually`` was called per (server, job id)."""
    return Counter(
        (r["server"], r["params"].get("_id", "")) for r in calls(state_dir, "runBackupJobManually")
    )


def runs_per_job(state_dir: Path | str) -> Counter[tuple[str, str]]:
    """Return how many runs really queued per (server, job id)."""
    store = SimStore(state_dir)
    return Counter((name, run.job_id) for name in store.servers() for run in store.load(name).runs)


def stop_calls(state_dir: Path | str) -> list[dict[str, Any]]:
    """Return the ``stopQueueGroup`` and ``stopAllQueueGroup`` call records."""
    stops = ("stopQueueGroup", "stopAllQueueGroup")
    return [r for r in calls(state_dir) if r["function"] in stops]


def connections_per_server(state_dir: Path | str) -> dict[str, int]:
    """Return how many distinct SSH connections (``SSH_CONNECTION`` ids) called each server.

    Calls without a connection id (local calls) are not counted.
    """
    seen: dict[str, set[str]] = {}
    for record in calls(state_dir):
        if record.get("ssh_connection"):
            seen.setdefault(record["server"], set()).add(record["ssh_connection"])
    return {server: len(ids) for server, ids in seen.items()}
