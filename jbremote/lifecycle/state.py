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
from jbremote.lifecycle.journal import Change, StateJournal
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
    server: str = ""
    journal: StateJournal | None = None
    changed: list[Change] = field(default_factory=list)

    def take_over(self, job_id: str) -> None:
        """Make the journal's entries for ``job_id`` (left by a run that crashed) ours to
        restore, so their original prior state is what gets restored after this run."""
        if self.journal is None or not self.journal.path.exists():
            return  # nothing to take over; and no state directory is created for nothing
        for change in self.journal.entries(self.server, job_id):
            if change not in self.changed:
                self.changed.append(change)

    def prepare(self, job: BackupJob, settings: LifecycleSettings) -> BackupJob:
        """Enable what the run needs; return the job as it is now. Record what to restore.

        Changes left by a run that crashed are taken over from the journal (:meth:`take_over`).
        Setting a state is idempotent, so those calls get the same bounded retries as reads.
        """
        self.take_over(job.id)
        wanted = [d for d in job.destination if d in settings.target_destinations]
        for dest_id in wanted:
            dest = retry_read(partial(self.client.get_destination, dest_id), self.clock)
            if dest.disabled:
                self._change("destination", dest_id, job.id)
                self._set("destination", dest_id, disabled=False)
                self.emit(
                    EventKind.STATE_CHANGED,
                    f"enabled destination {dest.name or dest_id} for the run",
                )
        if job.disabled:
            self._change("job", job.id, job.id)
            self._set("job", job.id, disabled=False)
            self.emit(EventKind.STATE_CHANGED, f"enabled job {job.name or job.id} for the run")
        if self.changed:
            return retry_read(lambda: self.client.get_backup_job(job.id), self.clock)
        return job

    def _change(self, kind: str, object_id: str, job_id: str) -> None:
        # Write ahead: the record exists before the change is sent.
        change = Change(self.server, kind, object_id, job_id, True, self.clock.now())
        if self.journal is not None:
            change = self.journal.record(change)
        if change not in self.changed:
            self.changed.append(change)

    def _set(self, kind: str, object_id: str, disabled: bool) -> None:
        """Set a job's or destination's disabled flag, retried like a read (it is idempotent)."""
        if kind == "job":
            retry_read(
                partial(self.client.set_backup_job_disabled, object_id, disabled), self.clock
            )
        else:
            retry_read(partial(self.client.set_destination_state, object_id, disabled), self.clock)

    def restore(self, job_ended: bool, record: JobRecord) -> None:
        """Put back the prior state, never while the job may still be writing."""
        if not self.changed:
            return
        if not job_ended:
            record.notes.append(
                "destination/job state left enabled because the job is still running; "
                "the next run of the job or `jbremote doctor --fix` restores it once the job ended"
            )
            return
        for change in list(self.changed):
            try:
                self._set(change.kind, change.object_id, disabled=change.prior_disabled)
            except RemoteError as exc:
                record.notes.append(
                    f"could not restore the {change.kind} {change.object_id}: {exc}"
                )
                continue
            if self.journal is not None:
                self.journal.remove(change)
            self.changed.remove(change)
        if not self.changed:
            self.emit(EventKind.STATE_RESTORED, "restored the prior disabled state")
