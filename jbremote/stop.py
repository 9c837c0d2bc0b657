"""``jbremote stop``: the only way jbremote ever stops a JetBackup job.

An operator names a server and a job (its id, or the label it has in the config; the id of an
active queue group works too, as in jetbackup-remote). We find the job's active — queued or
processing — backup queue group, the CLI asks for confirmation, and ``stopQueueGroup`` sends
JetBackup's stop signal. JetBackup answers at once and aborts asynchronously; the group then
ends as 103 aborted, which a running cycle records as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from jbremote.config.models import Config
from jbremote.errors import CannotRun
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.command import ID_PATTERN
from jbremote.jetbackup.models import QueueGroup
from jbremote.jetbackup.status import is_finished, meaning
from jbremote.remote import ServerErrors


@dataclass(frozen=True)
class StopRequest:
    server: str
    job_id: str | None  # None when the operator named a queue group id
    reference: str  # what the operator typed

    @property
    def name(self) -> str:
        return f"{self.server}/{self.reference}"


def parse_request(config: Config, server: str, job: str) -> StopRequest:
    """Check the operator's arguments before anything is contacted.

    ``job`` is a 24-hex id (job or queue group) or the label of a job configured on ``server``.
    Raise :class:`CannotRun` for an unknown server or anything else.
    """
    if server not in config.servers:
        known = ", ".join(config.servers) or "none"
        raise CannotRun(f"unknown server {server!r} (known: {known})")
    if ID_PATTERN.match(job):
        return StopRequest(server, job, job)
    labelled = [j for j in config.jobs if j.server == server and j.label == job]
    if len(labelled) == 1:
        return StopRequest(server, labelled[0].id, job)
    raise CannotRun(
        f"{job!r} is neither a JetBackup id (24 lowercase hex characters) nor the label of one "
        f"job configured on {server}"
    )


@dataclass(frozen=True)
class Found:
    """The queue group to stop and what it runs."""

    group: QueueGroup
    job_id: str
    job_name: str

    def describe(self) -> str:
        g = self.group
        progress = f", {g.progress.percentage:.0f}%" if g.progress is not None else ""
        since = g.started or g.created
        when = f", since {since:%Y-%m-%d %H:%M:%S %Z}" if since else ""
        name = f"{self.job_name} ({self.job_id})" if self.job_name else self.job_id
        return f"{name}: queue group {g.id}, {meaning(g.status)}{progress}{when}"


def find_active_group(client: JetBackupClient, request: StopRequest) -> Found:
    """Return the active queue group of the requested job. Raise :class:`CannotRun` if none."""
    groups = [g for g in client.list_queue_groups(limit=200) if not is_finished(g.status)]
    mine = [g for g in groups if g.job_id == request.job_id]
    if not mine:
        mine = [g for g in groups if g.id == request.reference]
    if not mine:
        raise CannotRun(
            f"nothing to stop: {request.name} has no queued or running backup on {request.server}"
        )
    group = mine[0]  # newest first
    job_id = group.job_id or request.job_id or ""
    name = ""
    if job_id:
        try:
            name = client.get_backup_job(job_id).name
        except ServerErrors:  # the name is only for the confirmation line
            name = ""
    return Found(group, job_id, name)


def send_stop(client: JetBackupClient, found: Found) -> str:
    """Send ``stopQueueGroup`` for ``found``; return JetBackup's message."""
    return client.stop_queue_group(found.group.id) or "(JetBackup sent no message)"
