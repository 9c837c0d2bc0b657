"""The live progress of ``jbremote run``, built from job events."""

from __future__ import annotations

from jbremote.lifecycle.events import EventKind, JobEvent
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.progress import CycleProgress, format_elapsed


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(server: str, label: str, target: str = "nas1") -> JobRecord:
    return JobRecord(server=server, job_id="a" * 24, label=label, target=target)


def test_progress_follows_a_cycle_from_events() -> None:
    clock = Clock()
    progress = CycleProgress(3, clock=clock)
    first, second, third = (
        record("web1", "acc"),
        record("web2", "acc"),
        record("web3", "dirs", "nas2"),
    )

    progress.handle(JobEvent(EventKind.TRIGGERED, first, "web1/acc: triggered"))
    progress.handle(JobEvent(EventKind.PROGRESS, first, "41%", {"percentage": 41.0}))
    progress.handle(
        JobEvent(
            EventKind.WAITING_FOR_TARGET, third, "waits", {"writers": ["web9/other (not managed)"]}
        )
    )
    clock.now += 75
    snap = progress.snapshot()
    assert (snap.total, snap.done, snap.elapsed) == (3, 0, 75.0)
    assert [(r.display, r.target, r.percentage) for r in snap.running] == [
        ("web1/acc", "nas1", 41.0)
    ]
    assert snap.waiting == {"web3/dirs": ["web9/other (not managed)"]}

    first.result = Result.COMPLETED
    progress.handle(JobEvent(EventKind.FINISHED, first, "web1/acc: completed"))
    progress.handle(JobEvent(EventKind.STARTED, third, "started"))
    second.result = Result.FAILED
    progress.handle(JobEvent(EventKind.FINISHED, second, "web2/acc: failed"))
    snap = progress.snapshot()
    assert snap.done == 2
    assert [r.display for r in snap.running] == ["web3/dirs"]
    assert snap.waiting == {}
    assert snap.problems == ["web2/acc: failed"]


def test_snapshot_is_a_copy() -> None:
    progress = CycleProgress(1)
    job = record("web1", "acc")
    progress.handle(JobEvent(EventKind.STARTED, job, "started"))
    snap = progress.snapshot()
    snap.running[0].percentage = 99.0
    assert progress.snapshot().running[0].percentage is None


def test_format_elapsed() -> None:
    assert [format_elapsed(s) for s in (0, 75, 3725)] == ["0:00", "1:15", "1:02:05"]
