"""What a job's lifecycle tells the outside world while it runs (logs, alerts, the UI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from jbremote.lifecycle.result import JobRecord


class EventKind(str, Enum):
    WAITING_FOR_TARGET = "waiting_for_target"  # another writer is on the target
    ADOPTED = "adopted"  # the job was already queued/running: waiting for it instead
    TRIGGERED = "triggered"
    STARTED = "started"  # JetBackup confirmed the run (a queue group exists)
    PROGRESS = "progress"
    TIMED_OUT = "timed_out"  # the warning: the job keeps running and the lane stays held
    CONTACT_LOST = "contact_lost"
    CONTACT_RESTORED = "contact_restored"
    STATE_CHANGED = "state_changed"  # destination/job enabled for the run
    STATE_RESTORED = "state_restored"
    FINISHED = "finished"  # the record is final


@dataclass(frozen=True)
class JobEvent:
    kind: EventKind
    record: JobRecord
    message: str
    data: dict[str, Any] = field(default_factory=dict)


EventSink = Callable[[JobEvent], None]


def ignore(event: JobEvent) -> None:
    """An event sink that drops everything."""
