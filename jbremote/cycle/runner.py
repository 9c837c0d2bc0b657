"""Run the jobs of one cycle: the shared context every job of the cycle uses.

Prefect-free: the flow in ``flows/`` decides *when* a job runs (lanes, slots); this decides
*how*: which connection, which settings, who else writes to the target.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from jbremote.config.models import Config, Job, default_state_dir
from jbremote.cycle.writers import TargetWriters
from jbremote.jetbackup.client import JetBackupClient
from jbremote.lifecycle.clock import Clock, SystemClock
from jbremote.lifecycle.events import EventSink, ignore
from jbremote.lifecycle.job import JobLifecycle, LifecycleSettings
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.lifecycle.retry import RemoteError, retry_read
from jbremote.transport.base import Transport


def new_record(job: Job) -> JobRecord:
    return JobRecord(server=job.server, job_id=job.id, label=job.label, target=job.target)


class Cycle:
    """Everything the jobs of one cycle share: config, connections, clock, stop signal."""

    def __init__(
        self,
        config: Config,
        transport_for: Callable[[str], Transport],
        emit: EventSink = ignore,
        clock: Clock | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.transport_for = transport_for
        self.emit = emit
        self.stop = stop or threading.Event()
        self.clock = clock or SystemClock(self.stop)
        self._clients: dict[str, JetBackupClient] = {}
        self._writers: dict[str, TargetWriters] = {}
        self._lock = threading.Lock()

    def client_for(self, server: str) -> JetBackupClient:
        with self._lock:
            client = self._clients.get(server)
            if client is None:
                spec = self.config.servers[server]
                timeout = spec.command_timeout or self.config.ssh_defaults.command_timeout
                client = JetBackupClient(self.transport_for(server), spec.api_command, timeout)
                self._clients[server] = client
            return client

    def writers_on(self, target: str) -> TargetWriters:
        with self._lock:
            probe = self._writers.get(target)
            if probe is None:
                probe = self._writers[target] = TargetWriters(self.config, target, self.client_for)
            return probe

    def settings_for(self, job: Job) -> LifecycleSettings:
        orchestration = self.config.orchestration
        target = self.config.targets[job.target]
        return LifecycleSettings(
            poll_interval=orchestration.poll_interval,
            startup_timeout=orchestration.startup_timeout,
            timeout=job.timeout or orchestration.job_timeout,
            manage_state=target.manage_destination_state,
            target_destinations=tuple(target.destinations.get(job.server, ())),
            log_tail_bytes=self.config.notifications.log_tail_bytes,
            state_dir=(orchestration.state_dir or default_state_dir()).expanduser(),
        )

    def run_job(self, job: Job) -> JobRecord:
        """Run ``job`` to its final record (the caller holds the target's writer slot)."""
        record = new_record(job)
        if self.stop.is_set():
            record.result, record.reason = (
                Result.SKIPPED,
                "the cycle was stopped before this job started",
            )
            return record
        probe = self.writers_on(job.target)
        lifecycle = JobLifecycle(
            record,
            self.client_for(job.server),
            self.settings_for(job),
            self.clock,
            self.emit,
            lane_probe=lambda: probe.look(exclude=(job.server, job.id)),
            stop=self.stop,
        )
        record = lifecycle.run()
        for server, error in sorted(probe.unreachable.items()):
            record.notes.append(
                f"could not check {server} for other writers on {job.target}: {error}"
            )
        return record

    def check_job(self, job: Job) -> JobRecord:
        """Dry run: read the job's state, change nothing. PLANNED when reachable, else FAILED."""
        record = new_record(job)
        client = self.client_for(job.server)
        try:
            remote = retry_read(lambda: client.get_backup_job(job.id), self.clock, backoff=(1.0,))
        except RemoteError as exc:
            record.result, record.reason = Result.FAILED, f"not reachable: {exc}"
            return record
        record.result = Result.PLANNED
        state = "running now (would be adopted)" if remote.running else "idle"
        disabled = ", disabled in JetBackup" if remote.disabled else ""
        record.notes.append(f"JetBackup job {remote.name!r}: {state}{disabled}")
        return record


def skipped(job: Job, reason: str) -> JobRecord:
    record = new_record(job)
    record.result, record.reason = Result.SKIPPED, reason
    return record
