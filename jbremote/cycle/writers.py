"""Who else is writing to a storage target right now, according to JetBackup itself.

Before a job is triggered its lane asks every server that can write to the target. A writer
is an unfinished backup queue group whose job is one of ours on this target, or whose job
sends to one of this target's destinations (JetBackup's own schedule, a run left over from
a crash). We wait for such writers; we never stop them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from jbremote.config.models import Config
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.status import is_finished


class TargetWriters:
    """A callable listing the writers on one target other than a given job."""

    def __init__(
        self, config: Config, target: str, client_for: Callable[[str], JetBackupClient]
    ) -> None:
        self.target = target
        self.client_for = client_for
        spec = config.targets[target]
        self.managed = {(j.server, j.id): j for j in config.jobs if j.target == target}
        self.destinations = {server: set(ids) for server, ids in spec.destinations.items()}
        self.servers = sorted({s for s, _ in self.managed} | set(self.destinations))
        self._job_destinations: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()

    def __call__(self, exclude: tuple[str, str] | None = None) -> list[str]:
        """Return descriptions of the target's current writers, except ``exclude`` (server, job id)."""
        writers = []
        for server in self.servers:
            client = self.client_for(server)
            for group in client.list_queue_groups():
                job_id = group.job_id
                if job_id is None or is_finished(group.status) or (server, job_id) == exclude:
                    continue
                if (server, job_id) in self.managed:
                    job = self.managed[(server, job_id)]
                    writers.append(f"{server}/{job.label or job_id}")
                elif self._writes_here(client, server, job_id):
                    writers.append(f"{server}/{job_id} (not managed by jbremote)")
        return writers

    def _writes_here(self, client: JetBackupClient, server: str, job_id: str) -> bool:
        ours = self.destinations.get(server)
        if not ours:
            return False
        key = (server, job_id)
        with self._lock:
            known = self._job_destinations.get(key)
        if known is None:
            known = set(client.get_backup_job(job_id).destination)
            with self._lock:
                self._job_destinations[key] = known
        return bool(known & ours)
