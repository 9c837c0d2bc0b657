"""Backup-job functions: list, get, trigger, enable/disable (docs.jetbackup.com v5.3 BackupJobs)."""

from __future__ import annotations

from jbremote.jetbackup.call import Call, parse_list, parse_object
from jbremote.jetbackup.command import validate_id
from jbremote.jetbackup.models import BackupJob


def list_backup_jobs(limit: int = 1000, skip: int = 0) -> Call[list[BackupJob]]:
    """``listBackupJobs``: every job (``data.jobs``). List calls cap at 100 unless limited."""
    return Call("listBackupJobs", (("limit", limit), ("skip", skip)), parse_list(BackupJob, "jobs"))


def get_backup_job(job_id: str) -> Call[BackupJob]:
    """``getBackupJob _id=…``: the job object (``running`` is truthy while it runs)."""
    return Call("getBackupJob", (("_id", validate_id(job_id, "job id")),), parse_object(BackupJob))


def run_backup_job_manually(job_id: str) -> Call[BackupJob]:
    """``runBackupJobManually _id=…``: queue the job. Answers with the job, not a queue group.

    Success means only "added to the queue": hooks or conditions may still abort it, so the
    caller must confirm the start (docs/jetbackup-quirks.md#trigger-is-asynchronous).
    """
    return Call(
        "runBackupJobManually",
        (("_id", validate_id(job_id, "job id")),),
        parse_object(BackupJob),
        mutating=True,
    )


def set_backup_job_disabled(job_id: str, disabled: bool) -> Call[BackupJob]:
    """``manageBackupJob action=modify _id=… disabled=0|1`` in one ``-D`` (several are ignored)."""
    return Call(
        "manageBackupJob",
        (("action", "modify"), ("_id", validate_id(job_id, "job id")), ("disabled", disabled)),
        parse_object(BackupJob),
        mutating=True,
    )
