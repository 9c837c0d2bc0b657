"""Who else is writing to a storage target right now, according to JetBackup itself.

Before a job is triggered its lane asks every server that can write to the target. A writer
is an unfinished backup queue group whose job is one of ours on this target, or whose job
sends to one of this target's destinations (JetBackup's own schedule, a run left over from
a crash). We wait for such writers; we never stop them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from jbremote.config.models import Config
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.models import QueueGroup
from jbremote.jetbackup.status import is_finished
from jbremote.lifecycle.job import LaneView
from jbremote.lifecycle.retry import RemoteError

MAX_PARALLEL = 16


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
        #: servers that could not be asked last time, with the error
        self.unreachable: dict[str, str] = {}

    def __call__(self, exclude: tuple[str, str] | None = None) -> list[str]:
        """Return descriptions of the target's current writers, except ``exclude`` (server, job id)."""
        return self.look(exclude).writers

    def look(self, exclude: tuple[str, str] | None = None) -> LaneView:
        """Return the target's writers except ``exclude`` (server, job id), and the queue groups
        of ``exclude``'s server, read on the way (its job needs them too).

        Servers are asked in parallel (each call is a round trip). A server that cannot be
        asked is left out and remembered in :attr:`unreachable`: one dead server must not block
        a whole target, and the caller notes that it could not be checked. The job's own
        server is never left out: an error there propagates.
        """
        own = exclude[0] if exclude else None
        answers: dict[str, tuple[list[str], list[QueueGroup]]] = {}
        if len(self.servers) == 1:
            answers[self.servers[0]] = self._look_at(self.servers[0], exclude)
        else:
            with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(self.servers))) as pool:
                futures = [pool.submit(self._look_at, s, exclude) for s in self.servers]
            for server, future in zip(self.servers, futures, strict=True):
                try:
                    answers[server] = future.result()
                except RemoteError as exc:
                    if server == own:
                        raise
                    with self._lock:
                        self.unreachable[server] = str(exc)
        writers = [writer for found, _ in answers.values() for writer in found]
        own_groups = answers[own][1] if own in answers else None
        return LaneView(writers, own_groups)

    def _look_at(
        self, server: str, exclude: tuple[str, str] | None
    ) -> tuple[list[str], list[QueueGroup]]:
        client = self.client_for(server)
        writers = []
        groups = client.list_queue_groups()
        for group in groups:
            job_id = group.job_id
            if job_id is None or is_finished(group.status) or (server, job_id) == exclude:
                continue
            if (server, job_id) in self.managed:
                job = self.managed[(server, job_id)]
                writers.append(f"{server}/{job.label or job_id}")
            elif self._writes_here(client, server, job_id):
                writers.append(f"{server}/{job_id} (not managed by jbremote)")
        with self._lock:
            self.unreachable.pop(server, None)
        return writers, groups

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
