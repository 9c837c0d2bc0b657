"""Run the jobs of one cycle: the shared context every job of the cycle uses.

Prefect-free: the flow in ``flows/`` decides *when* a job runs (lanes, slots); this decides
*how*: which connection, which settings, who else writes to the target.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from jbremote.config.models import Config, Job, default_state_dir
from jbremote.cycle.handover import Handed, HandOvers, HeldEvents, key
from jbremote.cycle.plan import Lane
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
        self.handovers = HandOvers()
        self._begun: set[tuple[str, str]] = set()
        #: called (from the job's thread) when :meth:`run_job` begins a job
        self.on_begin: Callable[[Job], None] = lambda job: None

    def plan(self, lanes: Sequence[Lane]) -> None:
        """Tell the cycle the order of its lanes, for the hand-over between their jobs."""
        self.handovers.plan(lanes)

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
            self._begun.add(key(job))
        self.on_begin(job)
        handed = self.handovers.take_handed(job)
        if handed is not None:  # triggered at the hand-over: its events and its run are ours now
            handed.events.release(self.emit)
            lifecycle = handed.lifecycle
        elif self.stop.is_set():
            return skipped(job, "the cycle was stopped before this job started")
        else:
            lifecycle = self._lifecycle(job, new_record(job), self.emit)
        done: list[bool] = []

        def hand_over() -> None:  # once: when JetBackup says the job ended, else after the run
            if not done:
                done.append(True)
                self._hand_over(job)

        lifecycle.on_end = hand_over
        record = lifecycle.run()
        hand_over()  # the job never started, or failed: its successor's look decides
        probe = self.writers_on(job.target)
        for server, error in sorted(probe.unreachable.items()):
            record.notes.append(
                f"could not check {server} for other writers on {job.target}: {error}"
            )
        return record

    def _lifecycle(self, job: Job, record: JobRecord, emit: EventSink) -> JobLifecycle:
        probe = self.writers_on(job.target)
        return JobLifecycle(
            record,
            self.client_for(job.server),
            self.settings_for(job),
            self.clock,
            emit,
            lane_probe=lambda: probe.look(exclude=key(job)),
            stop=self.stop,
            first_look=lambda: self.handovers.take_look(job, self.clock.now()),
        )

    def _hand_over(self, job: Job) -> None:
        """``job`` ended and its task still holds the lane: look at its successor and trigger
        it if it may start at once (:mod:`jbremote.cycle.handover`)."""
        successor = self.handovers.successor_of(job)
        if successor is None or self.stop.is_set():
            return
        events = HeldEvents()
        lifecycle = self._lifecycle(successor, new_record(successor), events)
        taken_at = self.clock.now()
        try:
            look = lifecycle.look_once()
        except Exception:  # the successor reads again in its own task, with retries
            return
        try:
            ahead = lifecycle.trigger_ahead(look)
        except Exception:  # a bug: never let it spoil this job's record
            logging.getLogger("jbremote").exception("hand-over to %s failed", successor.id)
            # Once the trigger may have gone out, only reading JetBackup's state may decide.
            ahead = lifecycle.record.started_at is not None
        if ahead:
            self.handovers.hand(successor, Handed(lifecycle, events))
        else:
            self.handovers.keep_look(successor, look, taken_at)

    def left_behind(self, job: Job) -> JobRecord | None:
        """The record of a job triggered at a hand-over whose own task never ran (the cycle
        was stopped or cancelled meanwhile): it runs in JetBackup, nobody follows it."""
        handed = self.handovers.take_handed(job)
        if handed is None:
            return None
        record = handed.lifecycle.record
        record.result = Result.STILL_RUNNING
        record.reason = (
            "triggered at the lane's hand-over; the cycle stopped before following it, the job "
            "was left running in JetBackup"
        )
        handed.events.release(self.emit)
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
