"""JetBackup 5 enumerations and what their codes mean.

Final queue-group statuses are the official ones (docs.jetbackup.com v5.3 "Backup Account"
hook, "Queue Object Status"): 100 completed, 101 partially completed, 102 failed, 103 aborted.
Codes below 100 are not documented; 1 was seen on a re-queued group. We treat every code
below 100 as "not finished" and every other unknown code as a problem, never as success
(docs/jetbackup-quirks.md).
"""

from __future__ import annotations

from enum import Enum, IntEnum


class QueueType(IntEnum):
    BACKUP = 1
    RESTORE = 2
    DOWNLOAD = 4
    REINDEX = 8


class QueueStatus(IntEnum):
    PENDING = 1  # seen after rerunFailedQueueGroup; name not documented
    PROCESSING = 2  # assumption (jetbackup-remote, JetBackup MC); any < 100 is "not finished"
    COMPLETED = 100
    PARTIALLY_COMPLETED = 101
    FAILED = 102
    ABORTED = 103


class Outcome(str, Enum):
    """How a job run ended, as the operator sees it."""

    COMPLETED = "completed"
    PARTIAL = "partially completed"
    FAILED = "failed"
    ABORTED = "aborted"
    UNKNOWN = "unknown status"


_MEANINGS = {
    QueueStatus.PENDING: "queued",
    QueueStatus.PROCESSING: "processing",
    QueueStatus.COMPLETED: "completed",
    QueueStatus.PARTIALLY_COMPLETED: "partially completed",
    QueueStatus.FAILED: "failed",
    QueueStatus.ABORTED: "aborted",
}

_OUTCOMES = {
    100: Outcome.COMPLETED,
    101: Outcome.PARTIAL,
    102: Outcome.FAILED,
    103: Outcome.ABORTED,
}


def is_finished(status: int) -> bool:
    """Return whether a queue-group status code means the group has ended."""
    return status >= 100


def outcome_of(status: int) -> Outcome:
    """Given a final status code, return its outcome; an undocumented code is UNKNOWN."""
    return _OUTCOMES.get(status, Outcome.UNKNOWN)


def meaning(status: int) -> str:
    """Return a human description of a status code, e.g. ``"101 partially completed"``."""
    try:
        return f"{status} {_MEANINGS[QueueStatus(status)]}"
    except ValueError:
        kind = "not finished" if status < 100 else "not a documented JetBackup status"
        return f"{status} ({kind})"
