"""What a cycle leaves in the Prefect UI: progress while it runs, a table when it ends."""

from __future__ import annotations

import contextvars
import logging
import threading
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
    """A progress artifact on the flow run: jobs done / total.

    Updates are written ``delay`` seconds after a job ends, from a timer thread: a job's end is
    exactly when the next job of its lane takes the target's slot, and on a SQLite-backed
    Prefect server a write at that instant makes the slot request fail once and be retried
    two seconds later (docs/performance.md). Progress can wait; the storage should not.
    """

    def __init__(self, total: int, delay: float = 1.0) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.delay = delay
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        # The timer thread writes with this thread's Prefect settings (API URL, client): a
        # bare thread would not see settings made with ``temporary_settings``.
        self._context = contextvars.copy_context()
        created = create_progress_artifact(0.0, description=f"0 of {total} jobs done")
        self.artifact_id = cast(UUID, created)  # sync call: a UUID, not a coroutine

    def job_done(self) -> None:
        with self._lock:
            self.done += 1
            if self._timer is None:
                self._timer = threading.Timer(self.delay, self._write_in_context)
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        """Write the final figure now (the cycle ends)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._write()

    def _write_in_context(self) -> None:
        self._context.copy().run(self._write)

    def _write(self) -> None:
        with self._lock:
            self._timer = None
            done = self.done
        try:
            update_progress_artifact(
                self.artifact_id,
                100.0 * done / self.total,
                description=f"{done} of {self.total} jobs done",
            )
        except Exception as exc:  # cosmetic: never let it disturb the cycle
            logging.getLogger("jbremote").debug("progress artifact not updated: %s", exc)


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
