"""Backup job functions: listBackupJobs, getBackupJob, runBackupJobManually, manageBackupJob.

Trigger behaviour the docs leave open (reference §7, §10) and how the simulator decides it:

* already queued or processing → ``success: 1`` with the job object and **no** second run
  (ASSUMPTION; JetBackup documents no error for it);
* disabled job → a short ``success: 1`` answer with empty ``data`` and no run (what
  jetbackup-remote observed in production: a ~219-byte answer, rc 0, never running);
* ``never_starts`` knob → the normal accepted answer (``running: 1``) but nothing is queued, as
  when a hook aborts the job (the docs say such aborts only reach the Alerts section);
* every destination disabled → the run is queued, and fails (102) the moment it starts with a
  "destination disabled" log line (ASSUMPTION; checked when the trigger is accepted).
"""

from __future__ import annotations

from jbremote.sim import timeline
from jbremote.sim.functions.base import (
    ApiError,
    Call,
    Reply,
    boolean,
    bracketed,
    integer,
    page,
    required,
)
from jbremote.sim.state import Job, Run
from jbremote.sim.views import job_object

# The text of the docs' runBackupJobManually example, typo included.
RUN_MESSAGE = (
    "Backup Job will be added to the queue. Please note that this job may not run and will be "
    "aborted by hooks or there conditions. If this job will be aborted it will be logged in the "
    "alerts section."
)
DISABLED_MESSAGE = "Backup Job is disabled"
DESTINATION_DISABLED = "All destinations of this backup job are disabled, skipping"


def _job(call: Call) -> Job:
    job = call.server.job(required(call, "_id"))
    if job is None:
        raise ApiError("Backup Job not found")
    return job


def list_backup_jobs(call: Call) -> Reply:
    objects = [job_object(call.server, j, call.now) for j in call.server.jobs]
    jobs, total = page(call, objects)
    return Reply({"jobs": jobs, "total": total})


def get_backup_job(call: Call) -> Reply:
    return Reply(job_object(call.server, _job(call), call.now))


def run_backup_job_manually(call: Call) -> Reply:
    server, now = call.server, call.now
    job = _job(call)
    if job.disabled:
        return Reply([], DISABLED_MESSAGE)
    previous = server.runs_of(job.id)
    if any(not timeline.view(r, now).finished for r in previous):
        return Reply(job_object(server, job, now), RUN_MESSAGE)
    job.last_run = now
    if not job.never_starts:
        server.runs.append(_new_run(call, job, len(previous)))
    return Reply(job_object(server, job, now, accepted=True), RUN_MESSAGE)


def _new_run(call: Call, job: Job, index: int) -> Run:
    server, now = call.server, call.now
    dests = [server.destination(d) for d in job.destination_ids]
    dead = not dests or all(d is None or d.disabled for d in dests)
    outcome = job.outcomes[index % len(job.outcomes)] if job.outcomes else timeline.COMPLETED
    return Run(
        group_id=server.new_id(now),
        log_id=server.new_id(now),
        job_id=job.id,
        job_name=job.name,
        destination_ids=list(job.destination_ids),
        created=now,
        start_at=now + job.start_delay,
        duration=0.0 if dead else job.duration,
        hangs=job.hangs and not dead,
        outcome=timeline.FAILED if dead else outcome,
        items=max(job.accounts, 1),
        fail_reason=DESTINATION_DISABLED if dead else None,
    )


def manage_backup_job(call: Call) -> Reply:
    """``action=modify`` (``_id``; ``disabled``, ``name``) or ``action=create``.

    Create takes ``name``, ``type`` and ``destination[n]`` and gives the new job default knobs.
    """
    action = required(call, "action")
    disabled = boolean(call, "disabled")
    if action == "modify":
        job = _job(call)
    elif action == "create":
        server = call.server
        dests = list(bracketed(call, "destination").values())
        unknown = [d for d in dests if server.destination(d) is None]
        if not dests or unknown:
            raise ApiError("No valid destination provided")
        name = required(call, "name")
        job = Job(server.new_id(call.now), name, dests)
        job.type = integer(call, "type", 1)
        server.jobs.append(job)
    else:
        raise ApiError(f"Invalid action {action!r}")
    if disabled is not None:
        job.disabled = disabled
    job.name = call.params.get("name") or job.name
    return Reply(job_object(call.server, job, call.now))
