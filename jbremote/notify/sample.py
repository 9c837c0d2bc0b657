"""``jbremote notify test``: one sample of each enabled event, through the real alert path.

The samples are built from made-up records by the same builders and sent by the same
:class:`~jbremote.notify.notifier.Notifier` (routing, per-URL filters, retries, redaction)
as a cycle's alerts; only the title says ``[jbremote test]``.
"""

from __future__ import annotations

import time
import uuid

from jbremote.config.models import Config, Event
from jbremote.jetbackup.status import meaning
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.notify.alert import Alert, AlertContext, cycle_alert, cycle_failed_alert, job_alert
from jbremote.notify.deliver import Delivery
from jbremote.notify.destination import resolve
from jbremote.notify.notifier import Notifier
from jbremote.notify.policy import enabled_events
from jbremote.notify.sender import Logger

SAMPLE_LOG = (
    "[2026-01-01 02:00:00] Starting backup job to the sample target\n"
    '[2026-01-01 02:41:07] Account "sample": Error: destination not reachable\n'
    "[2026-01-01 02:41:08] Backup job finished: Failed\n"
)


def send_samples(config: Config, send: bool = True, log: Logger | None = None) -> list[Delivery]:
    """Send one sample alert of every event some URL would get; return every delivery.

    With ``send=False`` nothing leaves the machine: each delivery says what would be sent
    (``sent=False``), and ``ok`` tells whether the URL could be resolved and loaded.
    Waits at most ``notifications.flush_timeout`` seconds.
    """
    notifications = config.notifications
    destinations = resolve(notifications)
    run = uuid.uuid4().hex
    ctx = AlertContext(
        cycle_id=f"test-{run}",
        flow_run_url="",
        include_log_tail=notifications.include_log_tail,
        log_tail_bytes=notifications.log_tail_bytes,
        test=True,
    )
    notifier = Notifier(notifications, ctx, send=send, log=log, destinations=destinations)
    now = time.time()
    for event in enabled_events(notifications, destinations):
        notifier.publish(sample_alert(event, ctx, now, group=f"test-{run}"))
    return notifier.close()


def sample_alert(event: Event, ctx: AlertContext, now: float, group: str) -> Alert:
    """Return a realistic alert for ``event`` built from a made-up record."""
    if event is Event.CYCLE_FAILED:
        return cycle_failed_alert("sample: the SSH connection to web1 was refused", ctx)
    if event is Event.CYCLE_COMPLETED:
        records = [
            _record(Result.COMPLETED, now, "accounts", 100, group + "-1"),
            _record(Result.PARTIAL, now, "directories", 101, group + "-2"),
            _record(Result.FAILED, now, "databases", 102, group + "-3"),
        ]
        return cycle_alert(records, ctx)
    results = {
        Event.JOB_FAILED: (Result.FAILED, 102),
        Event.JOB_PARTIAL: (Result.PARTIAL, 101),
        Event.JOB_OVERRAN: (Result.COMPLETED, 100),
        Event.JOB_COMPLETED: (Result.COMPLETED, 100),
        Event.JOB_TIMED_OUT: (Result.PLANNED, 0),
    }
    result, status = results[event]
    record = _record(result, now, "accounts", status, group)
    if event in (Event.JOB_TIMED_OUT, Event.JOB_OVERRAN):
        record.timed_out = True
        record.timeout = 1800.0
    if event is Event.JOB_TIMED_OUT:
        record.ended_at, record.status_code, record.status_meaning = None, None, ""
    elif event is Event.JOB_OVERRAN:
        record.overran_by = max((record.duration or 0) - 1800.0, 0.0)
    return job_alert(event, record, ctx, now, [f"sample event for {event.value}"])


def _record(result: Result, now: float, label: str, status: int, group: str) -> JobRecord:
    record = JobRecord(
        server="web1",
        job_id="0123456789abcdef01234567",
        label=f"sample-{label}",
        target="nas1",
        result=result,
        status_code=status,
        status_meaning=meaning(status),
        group_id=group,
        started_at=now - 2520.0,
        ended_at=now,
        timeout=28800.0,
    )
    if result is not Result.COMPLETED:
        record.reason = f"JetBackup status {record.status_meaning}"
        record.log_tail = SAMPLE_LOG
        record.notes.append('sample: 1 account not backed up ("sample": destination not reachable)')
    return record
