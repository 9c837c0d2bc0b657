"""Enable a job's destination (and the job) for its run, and restore exactly what was there.

For targets with ``manage_destination_state``: some sites keep the NAS destination disabled
between runs so JetBackup's own schedule cannot write to it. jetbackup-remote disabled every
destination at the end whatever it had found, so the next run skipped every server; we put
back precisely the prior state, and only once the job has ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Protocol

from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.models import BackupJob
from jbremote.lifecycle.clock import Clock
from jbremote.lifecycle.events import EventKind
from jbremote.lifecycle.retry import RemoteError, retry_read

if TYPE_CHECKING:
    from jbremote.lifecycle.job import LifecycleSettings
    from jbremote.lifecycle.result import JobRecord


class _Emit(Protocol):
    def __call__(self, kind: EventKind, message: str, **data: object) -> None: ...


@dataclass
class StateGuard:
    client: JetBackupClient
    clock: Clock
    emit: _Emit
    enabled_destinations: list[str] = field(default_factory=list)
    enabled_job: str | None = None

    def prepare(self, job: BackupJob, settings: LifecycleSettings) -> BackupJob:
        """Enable what the run needs; return the job as it is now. Record what to restore."""
        wanted = [d for d in job.destination if d in settings.target_destinations]
        for dest_id in wanted:
            dest = retry_read(partial(self.client.get_destination, dest_id), self.clock)
            if dest.disabled:
                self.client.set_destination_state(dest_id, disabled=False)
                self.enabled_destinations.append(dest_id)
                self.emit(
                    EventKind.STATE_CHANGED,
                    f"enabled destination {dest.name or dest_id} for the run",
                )
        if job.disabled:
            self.client.set_backup_job_disabled(job.id, disabled=False)
            self.enabled_job = job.id
            self.emit(EventKind.STATE_CHANGED, f"enabled job {job.name or job.id} for the run")
        if self.enabled_destinations or self.enabled_job:
            return retry_read(lambda: self.client.get_backup_job(job.id), self.clock)
        return job

    def restore(self, job_ended: bool, record: JobRecord) -> None:
        """Put back the prior state, never while the job may still be writing."""
        if not (self.enabled_destinations or self.enabled_job):
            return
        if not job_ended:
            record.notes.append(
                "destination/job state left enabled because the job is still running; "
                "`jbremote doctor --fix` restores it once the job ended"
            )
            return
        try:
            if self.enabled_job:
                self.client.set_backup_job_disabled(self.enabled_job, disabled=True)
            for dest_id in self.enabled_destinations:
                self.client.set_destination_state(dest_id, disabled=True)
        except RemoteError as exc:
            record.notes.append(f"could not restore the prior disabled state: {exc}")
            return
        self.emit(EventKind.STATE_RESTORED, "restored the prior disabled state")
        self.enabled_destinations.clear()
        self.enabled_job = None
