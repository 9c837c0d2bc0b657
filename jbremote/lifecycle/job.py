"""One job's run, from preflight to a verified record: trigger → started → finished → verified.

Guarantees (the invariants users rely on):

* a job that is already queued or running is adopted and waited for, never triggered again;
* the trigger is sent at most once; a transport error after sending it is resolved by
  reading JetBackup's state, never by sending it again;
* the job is never stopped: past its timeout we warn and keep waiting, so the lane
  (the target's writer slot held by the caller) stays held until JetBackup says it ended;
* destination/job state changed for the run is restored only after the job ended.

The class is Prefect- and SSH-free: it talks to a :class:`JetBackupClient` (any transport),
sleeps on an injected :class:`Clock` and reports through an :data:`EventSink`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.envelope import ApiError, JetBackupError
from jbremote.jetbackup.models import BackupJob, QueueGroup
from jbremote.jetbackup.status import is_finished, meaning
from jbremote.lifecycle.clock import Clock
from jbremote.lifecycle.events import EventKind, EventSink, JobEvent
from jbremote.lifecycle.journal import StateJournal
from jbremote.lifecycle.polling import PollPolicy
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.lifecycle.retry import RemoteError, is_transient, retry_read
from jbremote.lifecycle.state import StateGuard
from jbremote.lifecycle.verify import verify
from jbremote.transport.base import TransportError

T = TypeVar("T")
TRIGGER_RETRY_DELAYS = (2.0, 5.0)


@dataclass(frozen=True)
class LifecycleSettings:
    poll_interval: float = 30.0
    startup_timeout: float = 120.0
    timeout: float = 8 * 3600.0
    manage_state: bool = False
    #: this server's destination ids that belong to the job's target
    target_destinations: tuple[str, ...] = ()
    log_tail_bytes: int = 4096
    #: where the journal of changed destination/job state lives (None: no journal)
    state_dir: Path | None = None

    @property
    def confirm_interval(self) -> float:
        # Confirming a start is cheap and decides how soon a short job is noticed.
        return min(self.poll_interval, 2.0)


@dataclass(frozen=True)
class LaneView:
    """The job's target at one instant, as its lane probe read it."""

    #: who else writes to the target now (descriptions), this job excluded
    writers: list[str]
    #: the job's own server's queue groups, when the probe read them on the way
    own_groups: list[QueueGroup] | None = None


LaneProbe = Callable[[], LaneView]
#: the job as JetBackup describes it, and its target, read at the same moment
Look = tuple[BackupJob, LaneView]


def no_other_writers() -> LaneView:
    return LaneView([])


class Stopped(Exception):
    """A stop (shutdown, cancellation) was requested."""


class JobLifecycle:
    """Drive one job to its final :class:`JobRecord`."""

    def __init__(
        self,
        record: JobRecord,
        client: JetBackupClient,
        settings: LifecycleSettings,
        clock: Clock,
        emit: EventSink,
        lane_probe: LaneProbe = no_other_writers,
        stop: threading.Event | None = None,
        first_look: Callable[[], Look | None] = lambda: None,
    ) -> None:
        self.record = record
        self.client = client
        self.settings = settings
        self.clock = clock
        self._emit = emit
        self.lane_probe = lane_probe
        #: a look made for this job just before it began (at the lane's hand-over), if any
        self.first_look = first_look
        #: called the moment JetBackup says the job ended, before the record is completed
        self.on_end: Callable[[], None] = lambda: None
        self.stop = stop or threading.Event()
        self.record.timeout = settings.timeout
        self._warned_timeout = False
        self._contact_lost = False
        #: ids of the job's earlier queue groups, once it was triggered ahead (see trigger_ahead)
        self._ahead: set[str] | None = None

    # -- the run --------------------------------------------------------------------------
    def run(self) -> JobRecord:
        """Run the job to its end and return its record. Never raises for remote problems."""
        record = self._run()
        self.emit_event(EventKind.FINISHED, f"{record.display}: {record.result.value}")
        return record

    def _run(self) -> JobRecord:
        record = self.record
        journal = StateJournal(self.settings.state_dir) if self.settings.state_dir else None
        guard = StateGuard(self.client, self.clock, self.emit_event, record.server, journal)
        try:
            if self._ahead is not None:  # triggered at the lane's hand-over: follow it
                guard.take_over(record.job_id)
                group = self._confirm(self._ahead)
                if group is None:
                    return self.record
                return self._follow(group)
            job, group, known = self._wait_for_lane()
            # State a crashed run of this job changed is restored once this run has ended,
            # adopted or not (see the journal). Taken over only now that we know whether the
            # job runs: a failed read must never restore it under a writer.
            guard.take_over(job.id)
            if group is None:
                job = guard.prepare(job, self.settings) if self.settings.manage_state else job
                if job.disabled:
                    return self._finish(Result.FAILED, "the job is disabled in JetBackup")
                group = self._trigger_and_confirm(known)
                if group is None:
                    return self.record  # did not start; already finished
            return self._follow(group)
        except Stopped:
            if record.started_at is None:
                return self._finish(Result.SKIPPED, "the cycle was stopped before this job started")
            return self._finish(
                Result.STILL_RUNNING, "the cycle was stopped; the job was left running in JetBackup"
            )
        except RemoteError as exc:
            return self._finish(Result.FAILED, _describe(exc))
        finally:
            guard.restore(job_ended=_has_ended(record), record=record)

    def trigger_ahead(self, look: Look) -> bool:
        """Trigger this job now if ``look``, just made, shows it may start at once.

        Called at the lane's hand-over (:mod:`jbremote.cycle.handover`) by the job before it,
        whose task still holds the lane: the job idle and enabled, no other writer on the
        target, no destination state to prepare. One trigger, no retries, no waiting. Return
        whether it may have reached JetBackup; :meth:`run` then confirms and follows the run
        instead of triggering. Otherwise (also when JetBackup refused it or the connection
        failed before sending) nothing was queued and :meth:`run` does the usual preflight.
        """
        job, view = look
        groups = view.own_groups
        if (
            self.stop.is_set()
            or self.settings.manage_state
            or job.disabled
            or job.running
            or view.writers
            or groups is None
        ):
            return False
        known, active = self._runs_of_this_job(groups)
        if active is not None:
            return False
        record = self.record
        # Set before sending: whatever happens from here on, run() must not trigger again
        # unless it is certain the trigger never reached JetBackup.
        record.started_at, self._ahead = self.clock.now(), known
        try:
            self.client.run_backup_job_manually(record.job_id)
        except ApiError:
            record.started_at, self._ahead = None, None  # refused: nothing was queued
            return False
        except TransportError as exc:
            if not getattr(exc, "maybe_executed", False):
                record.started_at, self._ahead = None, None  # never sent
                return False
            self.emit_event(
                EventKind.TRIGGERED,
                f"{record.display}: trigger sent at the lane's hand-over, answer lost ({exc.reason})",
            )
        except JetBackupError as exc:
            self.emit_event(
                EventKind.TRIGGERED,
                f"{record.display}: trigger sent at the lane's hand-over, unreadable answer ({exc.reason})",
            )
        else:
            self.emit_event(
                EventKind.TRIGGERED, f"{record.display}: triggered at the lane's hand-over"
            )
        return True

    # -- phases ---------------------------------------------------------------------------
    def _follow(self, group: QueueGroup) -> JobRecord:
        """Poll the started run to its end and verify the outcome."""
        final = self._poll_until_end(group)
        self.on_end()
        verify(self.record, final, self.client, self.settings.log_tail_bytes)
        return self._finish(self.record.result, self.record.reason)

    def _wait_for_lane(self) -> tuple[BackupJob, QueueGroup | None, set[str]]:
        """Return (the job, its active group to adopt or None, ids of its existing groups).

        Waits while another writer is on the target; looks for an active run of this job
        after every wait, since JetBackup's own schedule may start it meanwhile.
        """
        waiting_since: float | None = None
        last_seen: list[str] = []
        look = self.first_look()
        while True:
            job, view = look or self._look()
            look = None
            groups = view.own_groups
            if groups is None:
                groups = self._read(lambda: self.client.list_queue_groups())
            known, active = self._runs_of_this_job(groups)
            if active is not None or job.running or not view.writers:
                if waiting_since is not None:
                    self.record.waited_for_target += self.clock.now() - waiting_since
                if active is not None or job.running:
                    return job, self._adopt(active, job), known
                return job, None, known
            if view.writers != last_seen:
                self.emit_event(
                    EventKind.WAITING_FOR_TARGET,
                    f"{self.record.display} waits: {', '.join(view.writers)} is writing to {self.record.target}",
                    writers=view.writers,
                )
                last_seen = view.writers
            waiting_since = waiting_since or self.clock.now()
            self._sleep(self.settings.poll_interval)

    def _runs_of_this_job(self, groups: list[QueueGroup]) -> tuple[set[str], QueueGroup | None]:
        """Return (ids of this job's queue groups, its unfinished one if any)."""
        mine = [g for g in groups if g.job_id == self.record.job_id]
        return {g.id for g in mine}, next((g for g in mine if not is_finished(g.status)), None)

    def look_once(self) -> Look:
        """:meth:`_look` without retries: the first error is raised (for the hand-over)."""
        return self._look(retry=False)

    def _look(self, retry: bool = True) -> Look:
        """Read the job and the target in one round: the calls go out side by side."""
        get_job = partial(self.client.get_backup_job, self.record.job_id)
        with ThreadPoolExecutor(max_workers=1) as pool:
            if retry:
                job = pool.submit(self._read, get_job)
                view = self._read(self.lane_probe)  # on error, leaving `with` waits for `job`
            else:
                job = pool.submit(get_job)
                view = self.lane_probe()
            return job.result(), view

    def _adopt(self, group: QueueGroup | None, job: BackupJob) -> QueueGroup:
        self.record.adopted = True
        self.record.started_at = self.clock.now()
        if group is None:
            group = self._wait_for_group(set(), deadline=None)
        self.record.group_id = group.id
        self.emit_event(
            EventKind.ADOPTED,
            f"{self.record.display} was already {meaning(group.status).split(' ', 1)[-1]} in JetBackup "
            f"(queue group {group.id}); waiting for it instead of triggering",
        )
        return group

    def _trigger_and_confirm(self, known: set[str]) -> QueueGroup | None:
        self.record.started_at = self.clock.now()
        if not self._trigger(known):
            return None
        return self._confirm(known)

    def _confirm(self, known: set[str]) -> QueueGroup | None:
        """Wait for the run the trigger queued (a queue group not in ``known``)."""
        record = self.record
        assert record.started_at is not None
        deadline = record.started_at + self.settings.startup_timeout
        try:
            group = self._wait_for_group(known, deadline)
        except TimeoutError:
            self._finish(
                Result.NOT_STARTED,
                f"JetBackup accepted the trigger but no run appeared within "
                f"{self.settings.startup_timeout:.0f} s (a hook or condition may have aborted it; "
                "see JetBackup's Alerts)",
            )
            return None
        record.group_id = group.id
        self.emit_event(EventKind.STARTED, f"{record.display}: started (queue group {group.id})")
        return group

    def _trigger(self, known: set[str]) -> bool:
        """Send the trigger; return whether it may have been accepted.

        The trigger is resent only when it certainly did not reach JetBackup's queue: JetBackup
        refused it (``success: 0``) or the connection failed before it was sent — and even then
        only after reading that no run of the job appeared. Anything ambiguous (lost answer,
        garbage output) is settled by reading state, never by sending it again.
        """
        record = self.record
        for delay in (*TRIGGER_RETRY_DELAYS, None):
            try:
                self.client.run_backup_job_manually(record.job_id)
            except ApiError as exc:
                refusal = f"JetBackup refused the trigger: {exc.reason}"
            except TransportError as exc:
                if getattr(exc, "maybe_executed", False):
                    self.emit_event(
                        EventKind.TRIGGERED,
                        f"{record.display}: trigger sent, answer lost ({exc.reason})",
                    )
                    return True
                refusal = f"could not send the trigger: {exc.reason}"
            except JetBackupError as exc:
                self.emit_event(
                    EventKind.TRIGGERED,
                    f"{record.display}: trigger sent, unreadable answer ({exc.reason})",
                )
                return True
            else:
                self.emit_event(EventKind.TRIGGERED, f"{record.display}: triggered")
                return True
            if self._started_anyway(known):
                return True
            if delay is None:
                self._finish(Result.NOT_STARTED, refusal)
                return False
            self.emit_event(
                EventKind.TRIGGERED, f"{record.display}: {refusal}; trying again in {delay:.0f} s"
            )
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _started_anyway(self, known: set[str]) -> bool:
        groups = self._read(lambda: self.client.list_queue_groups())
        return any(g.job_id == self.record.job_id and g.id not in known for g in groups)

    def _wait_for_group(self, known: set[str], deadline: float | None) -> QueueGroup:
        """Return the first queue group of this job not in ``known``; it may already be final.

        A job that ends between two polls is still found: its group exists with a final status.
        Called once the job was triggered or found running, so it may be writing: reads hold
        the lane for as long as contact is lost, and ``deadline`` is judged only on answers.
        """
        while True:
            groups = self._read_holding_lane(self.client.list_queue_groups)
            for group in groups:
                if group.job_id == self.record.job_id and group.id not in known:
                    return group
            if deadline is not None and self.clock.now() >= deadline:
                raise TimeoutError
            self._check_timeout()
            self._sleep(self.settings.confirm_interval)

    def _poll_until_end(self, group: QueueGroup) -> QueueGroup:
        """Poll the group until it has a final status (see :mod:`jbremote.lifecycle.polling`)."""
        policy = PollPolicy(self.settings.poll_interval)
        expected = self._previous_duration() if not is_finished(group.status) else None
        polls, percentage, last_shown = 0, None, -1.0
        processing_since = self.clock.now() if group.started is not None else None
        while not is_finished(group.status):
            self._check_timeout()
            elapsed = self.clock.now() - processing_since if processing_since is not None else 0.0
            self._sleep(policy.next_delay(elapsed, polls, percentage, expected))
            polls += 1
            group = self._read_holding_lane(partial(self.client.get_queue_group, group.id))
            if processing_since is None and group.started is not None:
                processing_since, polls = self.clock.now(), 0
            percentage = group.progress.percentage if group.progress is not None else None
            if percentage is not None and percentage != last_shown:
                last_shown = percentage
                self.emit_event(
                    EventKind.PROGRESS,
                    f"{self.record.display}: {percentage:.0f}%",
                    percentage=percentage,
                )
        self._check_timeout()
        return group

    def _previous_duration(self) -> float | None:
        """The job's last run time from JetBackup's logs: a hint for when to poll densely."""
        try:
            logs = self.client.list_logs(self.record.job_id, limit=3)
        except RemoteError:
            return None
        durations = [
            log.execution_time
            for log in logs
            if log.end_time is not None and log.execution_time > 0
        ]
        return float(durations[0]) if durations else None

    # -- helpers --------------------------------------------------------------------------
    def _check_timeout(self) -> None:
        record = self.record
        if self._warned_timeout or record.started_at is None:
            return
        elapsed = self.clock.now() - record.started_at
        if elapsed > self.settings.timeout:
            self._warned_timeout = True
            record.timed_out = True
            self.emit_event(
                EventKind.TIMED_OUT,
                f"{record.display} has run {elapsed / 60:.0f} min, past its timeout of "
                f"{self.settings.timeout / 60:.0f} min; it keeps running and {record.target} stays held",
            )

    def _read(self, fn: Callable[[], T]) -> T:
        """A read before or around the trigger: bounded retries, then the error propagates."""
        return retry_read(fn, self.clock, on_retry=lambda exc, delay: self._check_stop())

    def _read_holding_lane(self, fn: Callable[[], T]) -> T:
        """A read once the job may be writing: retried for as long as it takes, the lane stays held.

        Giving up would free the target while the job may still write, so we never do; the
        operator hears once that contact was lost, and once that it is back.
        """
        delay = 1.0
        while True:
            try:
                answer = fn()
            except RemoteError as exc:
                if not self._contact_lost:
                    self._contact_lost = True
                    kind = "transient" if is_transient(exc) else "persistent"
                    self.emit_event(
                        EventKind.CONTACT_LOST,
                        f"{self.record.display}: cannot read the job's state ({kind}: {_describe(exc)}); "
                        f"still holding {self.record.target} and retrying",
                    )
                self._check_timeout()
                self._sleep(delay)
                delay = min(delay * 2, max(self.settings.poll_interval, 60.0))
                continue
            if self._contact_lost:
                self._contact_lost = False
                self.emit_event(
                    EventKind.CONTACT_RESTORED, f"{self.record.display}: contact restored"
                )
            return answer

    def _sleep(self, seconds: float) -> None:
        self._check_stop()
        self.clock.sleep(seconds)
        self._check_stop()

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise Stopped

    def _finish(self, result: Result, reason: str) -> JobRecord:
        record = self.record
        record.result, record.reason = result, reason
        if record.ended_at is None and result not in (Result.STILL_RUNNING, Result.SKIPPED):
            record.ended_at = self.clock.now() if record.started_at is not None else None
        if record.timed_out and record.duration is not None and record.timeout is not None:
            record.overran_by = max(record.duration - record.timeout, 0.0)
        return record

    def emit_event(self, kind: EventKind, message: str, **data: object) -> None:
        self._emit(JobEvent(kind, self.record, message, dict(data)))


def _describe(exc: BaseException) -> str:
    return str(exc)


def _has_ended(record: JobRecord) -> bool:
    """Whether the job certainly stopped writing: it never started, or its record is final.

    An unexpected exception (a bug, ``SystemExit``) leaves the record unfinished: the job may
    still be writing, so changed destination/job state stays for the journal to restore.
    """
    if record.started_at is None:
        return True
    return record.result not in (Result.STILL_RUNNING, Result.PLANNED)
