"""What a cycle leaves in the Prefect UI: progress while it runs, a table when it ends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from jbremote.cycle.plan import Lane
from jbremote.cycle.summary import table_rows, verdict
from jbremote.lifecycle.result import JobRecord

SUMMARY_KEY = "backup-cycle-summary"
PLAN_KEY = "backup-cycle-plan"


class Progress:
    """A progress artifact on the flow run: jobs done / total."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.done = 0
        created = create_progress_artifact(0.0, description=f"0 of {total} jobs done")
        self.artifact_id = cast(UUID, created)  # sync call: a UUID, not a coroutine

    def job_done(self) -> None:
        self.done += 1
        update_progress_artifact(
            self.artifact_id,
            100.0 * self.done / self.total,
            description=f"{self.done} of {self.total} jobs done",
        )


def publish_summary(records: Sequence[JobRecord]) -> None:
    create_table_artifact(table_rows(records), key=SUMMARY_KEY, description=verdict(records))


def publish_plan(lanes: Sequence[Lane], records: Sequence[JobRecord]) -> None:
    lines = ["# Backup cycle plan (dry run)", ""]
    for lane in lanes:
        lines.append(f"## Target `{lane.target}` — {lane.writers} writer(s) at a time")
        lines += [
            f"{i}. {job.server}/{job.label or job.id} (priority {job.priority})"
            for i, job in enumerate(lane.jobs, 1)
        ]
        lines.append("")
    create_markdown_artifact("\n".join(lines), key=PLAN_KEY, description="lanes and order")
    create_table_artifact(table_rows(records), description=verdict(records))
