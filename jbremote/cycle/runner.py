"""Run the jobs of one cycle: the shared context every job of the cycle uses.

Prefect-free: the flow in ``flows/`` decides *when* a job runs (lanes, slots); this decides
*how*: which connection, which settings, who else writes to the target.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from jbremote.config.models import Config, Job, default_state_dir
from jbremote.cycle.plan import Lane
from jbremote.cycle.writers import TargetWriters
from jbremote.jetbackup.client import JetBackupClient
from jbremote.lifecycle.clock import Clock, SystemClock
from jbremote.lifecycle.events import EventSink, ignore
from jbremote.lifecycle.job import JobLifecycle, LifecycleSettings, Look
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.lifecycle.retry import RemoteError, retry_read
from jbremote.transport.base import Transport

#: how old a look made for a job before it began may be when the job uses it
FRESH = 1.0


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
        self._successors: dict[tuple[str, str], Job] = {}
        self._looks: dict[tuple[str, str], tuple[float, Future[Look]]] = {}
        self._begun: set[tuple[str, str]] = set()
        #: called (from the job's thread) when :meth:`run_job` begins a job
        self.on_begin: Callable[[Job], None] = lambda job: None

    def plan(self, lanes: Sequence[Lane]) -> None:
        """Tell the cycle the order of its lanes: each job's successor is the job that takes
        its place in the lane (``writers`` positions further)."""
        with self._lock:
            for lane in lanes:
                for index, job in enumerate(lane.jobs[: -lane.writers or None]):
                    self._successors[(job.server, job.id)] = lane.jobs[index + lane.writers]

    def has_begun(self, job: Job) -> bool:
        """Whether :meth:`run_job` was called for ``job`` (its task holds the lane's slot)."""
        with self._lock:
            return (job.server, job.id) in self._begun

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
        with self._lock:
            self._begun.add((job.server, job.id))
        self.on_begin(job)
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
            first_look=lambda: self._take_look(job),
        )
        record = lifecycle.run()
        self.prepare_successor(job)
        for server, error in sorted(probe.unreachable.items()):
            record.notes.append(
                f"could not check {server} for other writers on {job.target}: {error}"
            )
        return record

    def prepare_successor(self, job: Job) -> None:
        """``job`` ended: read what its successor in the lane needs before triggering (the
        job and the target), now, while Prefect hands the lane's slot over.

        Only reads. The successor uses them if they are at most :data:`FRESH` seconds old
        when it begins, else it reads again; they were made after ``job`` ended, so they are
        as good as its own first reads.
        """
        with self._lock:
            successor = self._successors.get((job.server, job.id))
        if successor is None or self.stop.is_set():
            return
        future: Future[Look] = Future()
        with self._lock:
            self._looks[(successor.server, successor.id)] = (self.clock.now(), future)

        def look() -> None:
            try:
                client = self.client_for(successor.server)
                probe = self.writers_on(successor.target)
                with ThreadPoolExecutor(max_workers=1) as pool:
                    remote = pool.submit(client.get_backup_job, successor.id)
                    view = probe.look(exclude=(successor.server, successor.id))
                    future.set_result((remote.result(), view))
            except BaseException as exc:  # the successor reads again, with retries
                future.set_exception(exc)

        threading.Thread(target=look, name=f"look-{successor.server}", daemon=True).start()

    def _take_look(self, job: Job) -> Look | None:
        with self._lock:
            entry = self._looks.pop((job.server, job.id), None)
        if entry is None:
            return None
        taken_at, future = entry
        try:
            look = future.result(timeout=max(FRESH - (self.clock.now() - taken_at), 0.0))
        except Exception:  # not ready in time (TimeoutError) or the reads failed
            return None
        return look if self.clock.now() - taken_at <= FRESH else None

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
