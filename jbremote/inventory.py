"""``jbremote list``: the configured jobs, and with ``--remote`` what each server really has.

The remote view lists every backup job (id, name, type, destinations) and destination of each
server, marks what the config already uses, and for each job not yet configured suggests the
config entry, so writing the config is copy-paste.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from jbremote.config.models import Config
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.models import BackupJob, Destination
from jbremote.remote import TransportFactory, ask_each, select_servers

# Backup job types (docs.jetbackup.com v5.3 manageBackupJob; 3 from the backup hook docs).
JOB_TYPES = {1: "accounts", 2: "directories", 3: "JetBackup config", 4: "server backup"}


def configured_jobs(config: Config, servers: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Return the configured jobs (optionally of some servers) in config order, as plain data."""
    names = select_servers(config, servers)
    return [
        {
            "id": job.id,
            "server": job.server,
            "target": job.target,
            "label": job.label,
            "priority": job.priority,
            "enabled": job.enabled,
            "timeout": job.timeout,
        }
        for job in config.jobs
        if job.server in names
    ]


@dataclass
class RemoteDestination:
    id: str
    name: str
    type: str
    disabled: bool
    target: str | None  # the configured target listing it for this server


@dataclass
class RemoteJob:
    id: str
    name: str
    type: int | None
    type_name: str
    disabled: bool
    running: bool
    destinations: list[dict[str, str]]
    configured: bool
    suggested_target: str | None  # a target one of its destinations belongs to


@dataclass
class ServerInventory:
    server: str
    reachable: bool
    error: str | None = None
    jobs: list[RemoteJob] = field(default_factory=list)
    destinations: list[RemoteDestination] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read(client: JetBackupClient) -> tuple[list[BackupJob], list[Destination]]:
    return client.list_backup_jobs(), client.list_destinations()


def remote_inventory(
    config: Config, servers: Sequence[str] | None = None, factory: TransportFactory | None = None
) -> list[ServerInventory]:
    """Return each server's jobs and destinations (default: all servers), in config order."""
    names = select_servers(config, servers)
    answers = ask_each(config, names, lambda _server, client: _read(client), factory)
    return [
        _inventory(config, a.server, a.value)
        if a.value is not None
        else ServerInventory(a.server, False, a.error)
        for a in answers
    ]


def _inventory(
    config: Config, server: str, found: tuple[list[BackupJob], list[Destination]]
) -> ServerInventory:
    jobs, destinations = found
    target_of = {
        dest_id: target
        for target, spec in config.targets.items()
        for dest_id in spec.destinations.get(server, ())
    }
    names = {d.id: d.name for d in destinations}
    for job in jobs:  # jobs also carry their destinations' details
        for detail in job.destination_details:
            names.setdefault(detail.id, detail.name)
    configured = {j.id for j in config.jobs if j.server == server}
    result = ServerInventory(server, True)
    result.destinations = [
        RemoteDestination(d.id, d.name, d.type, d.disabled, target_of.get(d.id))
        for d in destinations
    ]
    for job in jobs:
        targets = [target_of[d] for d in job.destination if d in target_of]
        result.jobs.append(
            RemoteJob(
                id=job.id,
                name=job.name,
                type=job.type,
                type_name=JOB_TYPES.get(job.type or 0, f"type {job.type}"),
                disabled=job.disabled,
                running=job.running,
                destinations=[{"id": d, "name": names.get(d, "")} for d in job.destination],
                configured=job.id in configured,
                suggested_target=targets[0] if targets else None,
            )
        )
    return result


def suggested_entries(inventories: Sequence[ServerInventory]) -> list[dict[str, Any]]:
    """Return config ``jobs:`` entries for every remote job the config does not have yet.

    A job whose destinations belong to no configured target gets ``target: CHOOSE`` (which does
    not validate until replaced, on purpose).
    """
    return [
        {
            "id": job.id,
            "server": inv.server,
            "target": job.suggested_target or "CHOOSE",
            "label": job.name,
        }
        for inv in inventories
        for job in inv.jobs
        if not job.configured
    ]
