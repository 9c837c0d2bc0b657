"""``jbremote status``: what JetBackup itself says right now, across the fleet.

Per server: reachable or not, the JetBackup version (the envelope's ``system.version``) and the
jobs queued or running with their progress. Per storage target: who holds it now — any
unfinished backup queue group whose job is configured on that target or sends to one of the
target's destinations (the same rule the cycle waits on, :mod:`jbremote.cycle.writers`) — and
since when. Per configured job: its last result, from the newest finished queue group (JetBackup's
documented codes 100–103), else from its newest finished backup log. Two calls per server (plus
one per configured job without a finished queue group), all servers at once; no Prefect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from jbremote.config.models import Config, Job
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.models import BackupJob, Log, QueueGroup
from jbremote.jetbackup.status import is_finished, meaning, outcome_of
from jbremote.remote import TransportFactory, ask_each, select_servers

GROUP_LIMIT = 200  # newest backup queue groups read per server


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class ActiveJob:
    """A backup queue group that has not finished: queued or running."""

    job_id: str
    name: str
    label: str | None  # the configured label; None when jbremote does not manage the job
    group_id: str
    status: int
    status_meaning: str
    progress: float | None
    items: int
    items_completed: int
    created: str | None
    started: str | None


@dataclass
class ServerStatus:
    name: str
    host: str
    port: int
    reachable: bool
    error: str | None = None
    version: str | None = None
    active: list[ActiveJob] = field(default_factory=list)


@dataclass
class Holder:
    """Someone writing to a target now, according to JetBackup."""

    server: str
    job_id: str
    name: str  # the job's name in JetBackup
    label: str | None  # its label in the config; None when jbremote does not manage it
    managed: bool
    group_id: str
    status: int
    status_meaning: str
    since: str | None  # when the group started processing, else when it was queued


@dataclass
class TargetStatus:
    name: str
    writers: int
    holders: list[Holder] = field(default_factory=list)
    #: servers that may write to this target but could not be asked (or were not selected)
    unknown_servers: list[str] = field(default_factory=list)


@dataclass
class LastResult:
    outcome: str
    status: int
    status_meaning: str
    started: str | None
    ended: str | None
    group_id: str | None
    log_id: str | None
    source: str  # "queue" (queue group, documented codes) or "log" (log status, undocumented)


@dataclass
class JobStatus:
    server: str
    id: str
    label: str
    target: str
    enabled: bool
    running: bool | None = None
    last: LastResult | None = None
    error: str | None = None


@dataclass
class FleetStatus:
    servers: list[ServerStatus]
    targets: list[TargetStatus]
    jobs: list[JobStatus]

    @property
    def all_reachable(self) -> bool:
        return all(s.reachable for s in self.servers)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Snapshot:
    """The raw answers of one server."""

    version: str
    jobs: list[BackupJob]
    groups: list[QueueGroup]
    logs: dict[str, Log | None]


def _snapshot(config: Config, server: str, client: JetBackupClient) -> _Snapshot:
    jobs = client.list_backup_jobs()
    version = client.last_envelope.version if client.last_envelope else ""
    groups = client.list_queue_groups(limit=GROUP_LIMIT)
    finished = {g.job_id for g in groups if is_finished(g.status)}
    logs: dict[str, Log | None] = {}
    for job in config.jobs:
        if job.server == server and job.id not in finished:
            # The newest log may belong to a run still going: take the newest that ended.
            ended = [log for log in client.list_logs(job.id, limit=3) if log.end_time]
            logs[job.id] = ended[0] if ended else None
    return _Snapshot(version, jobs, groups, logs)


def fleet_status(
    config: Config, servers: Sequence[str] | None = None, factory: TransportFactory | None = None
) -> FleetStatus:
    """Return the status of ``servers`` (default: all), their targets and configured jobs.

    Raise :class:`~jbremote.errors.CannotRun` for an unknown server name.
    """
    names = select_servers(config, servers)
    answers = ask_each(config, names, lambda name, client: _snapshot(config, name, client), factory)
    snaps = {a.server: a.value for a in answers if a.value is not None}
    errors = {a.server: a.error for a in answers if a.error is not None}
    labels = {(j.server, j.id): j.label for j in config.jobs}

    server_rows = []
    for name in names:
        spec, snap = config.servers[name], snaps.get(name)
        row = ServerStatus(name, spec.host, spec.port, snap is not None, errors.get(name))
        if snap is not None:
            row.version = snap.version or None
            job_names = {j.id: j.name for j in snap.jobs}
            row.active = [
                _active(g, job_names.get(g.job_id or "", ""), labels.get((name, g.job_id or "")))
                for g in snap.groups
                if not is_finished(g.status) and g.job_id
            ]
        server_rows.append(row)

    targets = [_target(config, t, names, snaps) for t in _targets_of(config, names)]
    jobs = [
        _job(j, snaps.get(j.server), errors.get(j.server)) for j in config.jobs if j.server in names
    ]
    return FleetStatus(server_rows, targets, jobs)


def _active(group: QueueGroup, name: str, label: str | None) -> ActiveJob:
    progress = group.progress.percentage if group.progress is not None else None
    return ActiveJob(
        job_id=group.job_id or "",
        name=name,
        label=label,
        group_id=group.id,
        status=group.status,
        status_meaning=meaning(group.status),
        progress=progress,
        items=group.items,
        items_completed=group.items_completed,
        created=iso(group.created),
        started=iso(group.started),
    )


def _target_servers(config: Config, target: str) -> list[str]:
    spec = config.targets[target]
    found = {j.server for j in config.jobs if j.target == target} | set(spec.destinations)
    return [s for s in config.servers if s in found]


def _targets_of(config: Config, servers: Sequence[str]) -> list[str]:
    return [t for t in config.targets if set(_target_servers(config, t)) & set(servers)]


def _target(
    config: Config, target: str, asked: Sequence[str], snaps: Mapping[str, _Snapshot]
) -> TargetStatus:
    spec = config.targets[target]
    row = TargetStatus(target, spec.writers)
    managed = {(j.server, j.id): j.label for j in config.jobs if j.target == target}
    for server in _target_servers(config, target):
        snap = snaps.get(server)
        if server not in asked or snap is None:
            row.unknown_servers.append(server)
            continue
        ours = set(spec.destinations.get(server, ()))
        destinations = {j.id: set(j.destination) for j in snap.jobs}
        names = {j.id: j.name for j in snap.jobs}
        for group in snap.groups:
            job_id = group.job_id
            if job_id is None or is_finished(group.status):
                continue
            is_managed = (server, job_id) in managed
            if is_managed or destinations.get(job_id, set()) & ours:
                row.holders.append(
                    Holder(
                        server=server,
                        job_id=job_id,
                        name=names.get(job_id, ""),
                        label=managed.get((server, job_id)),
                        managed=is_managed,
                        group_id=group.id,
                        status=group.status,
                        status_meaning=meaning(group.status),
                        since=iso(group.started or group.created),
                    )
                )
    return row


def _job(job: Job, snap: _Snapshot | None, error: str | None) -> JobStatus:
    row = JobStatus(job.server, job.id, job.label, job.target, job.enabled)
    if snap is None:
        row.error = error or "server not reachable"
        return row
    remote = next((j for j in snap.jobs if j.id == job.id), None)
    if remote is None:
        row.error = f"no job {job.id} on {job.server}"
    mine = [g for g in snap.groups if g.job_id == job.id]
    row.running = any(not is_finished(g.status) for g in mine) or bool(remote and remote.running)
    finished = [g for g in mine if is_finished(g.status)]
    if finished:
        # Groups come newest first; sorting on `created` keeps that true whatever the order.
        group = max(finished, key=lambda g: g.created.timestamp() if g.created else 0.0)
        row.last = LastResult(
            outcome=outcome_of(group.status).value,
            status=group.status,
            status_meaning=meaning(group.status),
            started=iso(group.started),
            ended=iso(group.ended),
            group_id=group.id,
            log_id=group.log_id or None,
            source="queue",
        )
    elif (log := snap.logs.get(job.id)) is not None:
        row.last = LastResult(
            outcome="see log",
            status=log.status,
            status_meaning=f"log status {log.status} (JetBackup 5 log codes are undocumented)",
            started=iso(log.start_time),
            ended=iso(log.end_time),
            group_id=None,
            log_id=log.id,
            source="log",
        )
    return row
