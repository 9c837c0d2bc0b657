"""The Prefect task that runs one backup job, and how its record becomes a task state."""

from __future__ import annotations

import logging
import threading

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.states import Cancelled, Completed, Failed

from jbremote.cycle import observers
from jbremote.cycle.runner import Cycle
from jbremote.lifecycle.events import EventKind, JobEvent
from jbremote.lifecycle.result import JobRecord, Result

# The flow registers its cycle here; task threads of the same flow run look it up by key.
# (A Cycle holds connections and locks: not something to pass as a task parameter.)
CYCLES: dict[str, Cycle] = {}
_LOCK = threading.Lock()

_WARNINGS = {EventKind.WAITING_FOR_TARGET, EventKind.TIMED_OUT, EventKind.CONTACT_LOST}


def register(key: str, cycle: Cycle) -> None:
    with _LOCK:
        CYCLES[key] = cycle


def unregister(key: str) -> None:
    with _LOCK:
        CYCLES.pop(key, None)


def log_event(event: JobEvent) -> None:
    """Event sink: job events go to observers and become run log lines (warnings for what an
    operator must see)."""
    observers.publish(event)
    if event.kind is EventKind.PROGRESS:
        return  # the progress artifact and the UI show it; a line per poll is noise
    try:
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = get_run_logger()
    except Exception:
        logger = logging.getLogger("jbremote")
    logger.log(logging.WARNING if event.kind in _WARNINGS else logging.INFO, event.message)


def state_for(record: JobRecord) -> State:
    """Map a record to the task's final state. Partial and overran runs get their own names."""
    message = f"{record.result.value}" + (f": {record.reason}" if record.reason else "")
    if record.result is Result.COMPLETED:
        return Completed(
            name="Overran" if record.timed_out else "Completed", message=message, data=record
        )
    if record.result is Result.PARTIAL:
        return Completed(name="PartiallyCompleted", message=message, data=record)
    if record.result is Result.SKIPPED:
        return Completed(name="Skipped", message=message, data=record)
    if record.result is Result.STILL_RUNNING:
        return Cancelled(name="LeftRunning", message=message, data=record)
    names = {
        Result.ABORTED: "Aborted",
        Result.NOT_STARTED: "NotStarted",
        Result.UNKNOWN_STATUS: "UnknownStatus",
    }
    return Failed(name=names.get(record.result, "Failed"), message=message, data=record)


@task(
    name="backup-job",
    task_run_name="{target}: {server}/{label}",
    retries=0,  # never: a retry could trigger a backup twice
    cache_policy=NO_CACHE,
)
def backup_job(cycle_key: str, job_id: str, server: str, label: str, target: str) -> State:
    """Run one JetBackup job to its end while holding its target's writer slot (the tag)."""
    cycle = CYCLES[cycle_key]
    return state_for(cycle.run_job(cycle.config.job(job_id)))
