"""The one record every job of a cycle ends with."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Result(str, Enum):
    COMPLETED = "completed"
    PARTIAL = "partially completed"
    FAILED = "failed"
    ABORTED = "aborted"
    UNKNOWN_STATUS = "unknown status"
    NOT_STARTED = "did not start"
    SKIPPED = "skipped"
    STILL_RUNNING = "still running"  # left running at shutdown; never stopped by us
    PLANNED = "planned"  # dry run

    @property
    def is_problem(self) -> bool:
        """Whether the operator must hear about it (alerts, a failed flow run)."""
        return self not in (Result.COMPLETED, Result.SKIPPED, Result.PLANNED)

    @property
    def is_failure(self) -> bool:
        """Whether the job failed outright (the flow run ends Failed)."""
        return self in (Result.FAILED, Result.ABORTED, Result.UNKNOWN_STATUS, Result.NOT_STARTED)


@dataclass
class JobRecord:
    """What happened to one job in one cycle. Exactly one per job, whatever happened."""

    server: str
    job_id: str
    label: str
    target: str
    result: Result = Result.PLANNED
    reason: str = ""
    status_code: int | None = None
    status_meaning: str = ""
    group_id: str = ""
    log_id: str = ""
    adopted: bool = False
    started_at: float | None = None
    ended_at: float | None = None
    timeout: float | None = None
    timed_out: bool = False
    overran_by: float | None = None
    waited_for_target: float = 0.0
    log_tail: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def display(self) -> str:
        return f"{self.server}/{self.label or self.job_id}"

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(self.ended_at - self.started_at, 0.0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["result"] = self.result.value
        data["duration"] = self.duration
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        """Rebuild a record from :meth:`to_dict` output (derived keys are ignored)."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["result"] = Result(fields.get("result", Result.PLANNED.value))
        return cls(**fields)
