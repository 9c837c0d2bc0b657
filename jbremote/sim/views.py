"""The API objects a simulated server returns: job, destination, queue group, item, log.

Objects are built in a *canonical* form: flags are Python ``bool`` and absent timestamps are
``None``. :mod:`jbremote.sim.output` renders flags in the server's ``flag_style`` afterwards, so
``find``/``sort`` in list calls work on one representation. Field names and example values come
from docs/jetbackup5-api reference §4 and §9; values nobody documented are plausible constants.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from jbremote.sim import timeline
from jbremote.sim.state import Destination, Job, Run, ServerState, stable_id

JsonDict = dict[str, Any]
QUEUE_LOG_DIR = "/usr/local/jetapps/var/log/jetbackup5/queue"
BACKUP_QUEUE_TYPE = 1
STATUS_NAMES = {
    timeline.QUEUED: "Pending",
    timeline.PROCESSING: "Processing",
    timeline.COMPLETED: "Completed",
    timeline.PARTIAL: "Partially Completed",
    timeline.FAILED: "Failed",
    timeline.ABORTED: "Aborted",
}
# ASSUMPTION: JB5 log status codes are undocumented. The simulator mirrors the per-account hook
# list (1 completed, 2 partial, 3 failed, 4 aborted), uses 0 while the run is not finished and
# passes any other final code through unchanged.
_LOG_STATUS = {100: 1, 101: 2, 102: 3, 103: 4}


def iso(t: float | None) -> str | None:
    """Return epoch seconds as ISO-8601 with a ``+00:00`` offset, as the API prints times."""
    if t is None:
        return None
    return datetime.fromtimestamp(int(t), timezone.utc).isoformat()


def system_object(server: ServerState) -> JsonDict:
    return {
        "version": server.version,
        "version_panel": server.version,
        "tier": server.tier,
        "type": "cPanel",
        "retry_ms": 0,
        "disableui": False,
        "dr": False,
        "agreement_panel": False,
        "agreement": False,
        "licenseIssue": False,
    }


def destination_object(server: ServerState, dest: Destination, now: float) -> JsonDict:
    writing = any(
        dest.id in r.destination_ids and timeline.view(r, now).status == timeline.PROCESSING
        for r in server.runs
    )
    return {
        "_id": dest.id,
        "name": dest.name,
        "type": dest.type,
        "job_type": 1,
        "owner": server.owner_id,
        "owner_name": "root",
        "count": sum(dest.id in j.destination_ids for j in server.jobs),
        "hidden": False,
        "readonly": False,
        "disabled": dest.disabled,
        "disk_limit": 0,
        "disk_usage": {"usage": 0, "free": 4 * 1024**4, "total": 4 * 1024**4},
        "threads": 0,
        "dr": False,
        "reindex": False,
        "running": writing,
        "options": {},
    }


def job_object(server: ServerState, job: Job, now: float, accepted: bool = False) -> JsonDict:
    """Return the backup job object. ``accepted`` renders it as a just-accepted trigger does.

    ``running`` is true while one of the job's runs is queued or processing (the docs' trigger
    example already shows ``running: 1``); ``state`` is 2 then, 0 otherwise (meaning undocumented).
    """
    runs = server.runs_of(job.id)
    running = accepted or any(not timeline.view(r, now).finished for r in runs)
    completed = [
        v.ended
        for v in (timeline.view(r, now) for r in runs)
        if v.ended is not None and v.status == timeline.COMPLETED
    ]
    details = [d for d in server.destinations if d.id in job.destination_ids]
    return {
        "_id": job.id,
        "name": job.name,
        "type": job.type,
        "contains": 511,
        "structure": 1,
        "options": 0,
        "state": 2 if running else 0,
        "running": running,
        "disabled": job.disabled,
        "destination": list(job.destination_ids),
        "destination_details": [destination_object(server, d, now) for d in details],
        "last_run": iso(job.last_run),
        "next_run": None,
        "last_completed": iso(max(completed)) if completed else None,
        "owner": server.owner_id,
        "owner_name": "root",
        "retry_failed": 0,
        "time": 0,
        "monitor": {"ranfor": 0, "notran": 0},
        "schedules": [],
        "encrypted": False,
        "manually_retain": 14,
        "exclude_list": [],
    }


def account_name(index: int) -> str:
    return f"acct{index + 1:02d}"


def item_id(run: Run, index: int) -> str:
    return stable_id(run.group_id, "item", str(index))


def log_file(run: Run) -> str:
    return f"{QUEUE_LOG_DIR}/{BACKUP_QUEUE_TYPE}_{run.group_id}.log"


def _seconds(start: float | None, end: float | None, now: float) -> int:
    return 0 if start is None else int((end if end is not None else now) - start)


def group_object(server: ServerState, run: Run, now: float) -> JsonDict:
    """Return the queue group of ``run``; ``data._id`` links it to the backup job."""
    v = timeline.view(run, now)
    current = min(v.items_completed, run.items - 1)
    status_time = v.ended if v.finished else v.started if v.started is not None else run.created
    percentage = 100 if v.finished and v.items_completed == run.items else int(v.fraction * 100)
    failed = v.finished and v.status in (timeline.PARTIAL, timeline.FAILED)
    return {
        "_id": run.group_id,
        "owner": server.owner_id,
        "owner_name": "root",
        "created": iso(run.created),
        "started": iso(v.started),
        "ended": iso(v.ended),
        "type": BACKUP_QUEUE_TYPE,
        "items": run.items,
        "items_completed": v.items_completed,
        "status": v.status,
        "status_time": iso(status_time),
        "finalize": v.finished,
        "can_rerun": failed,
        "rerun_failed": False,
        "log_id": run.log_id,
        "progress": {
            "_id": stable_id(run.group_id, "progress"),
            "group_id": run.group_id,
            "item_id": item_id(run, current),
            "name": account_name(current),
            "total": run.items,
            "completed": v.items_completed,
            "subtotal": 0,
            "subcompleted": 0,
            "name_files": "",
            "total_files": 0,
            "completed_files": 0,
            "percentage": percentage,
            "percentage_sub": 0,
            "percentage_files": 0,
        },
        "execution_time": _seconds(v.started, v.ended, now),
        "actual_time": _seconds(run.created, v.ended, now),
        "log_file": log_file(run),
        "data": {"_id": run.job_id},
    }


def item_objects(server: ServerState, run: Run, now: float) -> list[JsonDict]:
    """Return the per-account queue items of ``run`` (log items have the same shape)."""
    return [
        {
            "_id": item_id(run, it.index),
            "owner": server.owner_id,
            "owner_name": account_name(it.index),
            "created": iso(run.created),
            "started": iso(it.started),
            "ended": iso(it.ended),
            "execution_time": _seconds(it.started, it.ended, now),
            "type": BACKUP_QUEUE_TYPE,
            "group_id": run.group_id,
            "log_id": run.log_id,
            "priority": 50,
            "status": it.status,
            "message": it.message,
            "file": f"{QUEUE_LOG_DIR}/{BACKUP_QUEUE_TYPE}_{run.group_id}/{item_id(run, it.index)}.log",
            "data": {"_id": run.job_id, "manually": True, "account": account_name(it.index)},
        }
        for it in timeline.items(run, now)
    ]


def log_object(server: ServerState, run: Run, now: float) -> JsonDict:
    """Return the log of ``run``; ``info.ID`` is the job id (``listLogs find[info.ID]=…``)."""
    v = timeline.view(run, now)
    names = [d.name for d in server.destinations if d.id in run.destination_ids]
    status = _LOG_STATUS.get(v.status, v.status) if v.finished else 0
    return {
        "_id": run.log_id,
        "start_time": iso(run.created),
        "end_time": iso(v.ended),
        "execution_time": _seconds(v.started, v.ended, now),
        "actual_time": _seconds(run.created, v.ended, now),
        "info": {"Backup Job": run.job_name, "ID": run.job_id, "Destination": ", ".join(names)},
        "status": status,
        "type": BACKUP_QUEUE_TYPE,
        "file": log_file(run),
        "items": log_file(run).removesuffix(".log") + ".items",
    }


def log_text(server: ServerState, run: Run, now: float) -> str:
    """Return the log file's text as far as it has been written at ``now``."""

    def line(t: float, text: str) -> str:
        stamp = datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return f"[{stamp}] {text}"

    v = timeline.view(run, now)
    names = ", ".join(d.name for d in server.destinations if d.id in run.destination_ids)
    lines = [line(run.created, f'Backup job "{run.job_name}" ({run.job_id}) added to the queue')]
    if v.started is not None:
        lines.append(line(v.started, f'Starting backup job "{run.job_name}" to "{names}"'))
    if run.fail_reason and v.ended is not None:
        lines.append(line(v.ended, f"Error: {run.fail_reason}"))
    for it in timeline.items(run, now):
        if it.ended is not None and it.started is not None:
            lines.append(line(it.ended, f'Account "{account_name(it.index)}": {it.message}'))
    if run.stopped_at is not None and v.ended is not None:
        lines.append(line(v.ended, "Stop signal received, aborting backup job"))
    if v.ended is not None:
        name = STATUS_NAMES.get(v.status, f"status {v.status}")
        lines.append(line(v.ended, f"Backup job finished: {name}"))
    return "\n".join(lines) + "\n"
