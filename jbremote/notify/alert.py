"""What each alert says: its event, its dedupe key, its title and bodies.

Builders take a job's :class:`~jbremote.lifecycle.result.JobRecord` (or a cycle's records)
and return an :class:`Alert` rendered once, at the moment of the event: the background
sender only delivers it. Which event a finished job stands for is decided by
:func:`end_event`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from jbremote.config.models import Event
from jbremote.cycle.summary import counts, format_duration, format_time, notes_of, verdict
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.notify.render import Message, one_line, render_markdown, render_text
from jbremote.text import printable

MAX_ROW_NOTES = 300
MAX_REASON = 2000


class Level(str, Enum):
    """How bad it is; maps to Apprise's notify types (icons, colours)."""

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"


@dataclass(frozen=True)
class AlertContext:
    """What every alert of one cycle shares."""

    cycle_id: str = ""
    flow_run_url: str = ""
    include_log_tail: bool = False
    log_tail_bytes: int = 4096
    test: bool = False  # ``jbremote notify test``: marked as a test in the title


@dataclass(frozen=True)
class Alert:
    event: Event
    key: tuple[str, ...]  # one alert per key: event + job + queue group (or cycle)
    subject: str  # "srv01/accounts" or "cycle"
    title: str
    text: str
    markdown: str
    level: Level
    also: frozenset[Event] = field(default_factory=frozenset)

    @property
    def events(self) -> frozenset[Event]:
        """Every event this alert stands for (a URL following any of them gets it)."""
        return self.also | {self.event}


_FAILED_WORDS = {
    Result.FAILED: ("Backup failed", "failed"),
    Result.ABORTED: ("Backup aborted", "was aborted"),
    Result.UNKNOWN_STATUS: ("Backup ended with an unknown status", "ended with an unknown status"),
    Result.NOT_STARTED: ("Backup did not start", "did not start"),
}


def end_event(record: JobRecord) -> tuple[Event, frozenset[Event]] | None:
    """Given a final record, return (its event, other events it also stands for), or None.

    Failure beats partial beats overran beats completed; a job that overran its timeout
    and then failed is one ``job_failed`` alert that also counts as ``job_overran``.
    """
    overran = frozenset({Event.JOB_OVERRAN}) if record.timed_out else frozenset()
    if record.result.is_failure:
        return Event.JOB_FAILED, overran
    if record.result is Result.PARTIAL:
        return Event.JOB_PARTIAL, overran
    if record.result is Result.COMPLETED:
        return (
            (Event.JOB_OVERRAN, frozenset()) if record.timed_out else (Event.JOB_COMPLETED, overran)
        )
    return None  # skipped, left running, planned: the cycle summary tells


def job_key(event: Event, record: JobRecord, ctx: AlertContext) -> tuple[str, ...]:
    # A run that never got a queue group is unique within its cycle.
    run = record.group_id or f"cycle:{ctx.cycle_id}"
    return (event.value, record.server, record.job_id, run)


def job_alert(
    event: Event,
    record: JobRecord,
    ctx: AlertContext,
    now: float,
    history: Sequence[str] = (),
    also: frozenset[Event] = frozenset(),
) -> Alert:
    """Return the alert for one job: ``job_timed_out`` while it runs, else its end event."""
    display = printable(record.display, 160)
    headline, lead, level = _job_words(event, record, display, now)
    message = Message(_title(ctx, f"{headline}: {display}"), lead, _job_fields(record, now))
    message.lists.append(("Notes", _job_notes(record)))
    message.lists.append(("What happened", [printable(h, 300) for h in history]))
    message.link = ctx.flow_run_url
    if ctx.include_log_tail and record.log_tail and ctx.log_tail_bytes > 0:
        message.code_title = f"JetBackup log tail (last {ctx.log_tail_bytes} bytes)"
        message.code = tail_bytes(printable(record.log_tail, 1 << 20), ctx.log_tail_bytes)
    return _alert(event, job_key(event, record, ctx), record.display, message, level, also)


def _job_words(event: Event, record: JobRecord, display: str, now: float) -> tuple[str, str, Level]:
    timeout = format_duration(record.timeout)
    over = _overrun_sentence(record)
    if event is Event.JOB_TIMED_OUT:
        running = format_duration(now - record.started_at) if record.started_at else "?"
        lead = (
            f"The backup job {display} has been running for {running}, past its timeout of "
            f"{timeout}. jbremote never stops a job: it keeps running and {record.target} "
            "stays reserved for it until JetBackup says it ended."
        )
        return "Backup past its timeout (still running)", lead, Level.WARNING
    if event is Event.JOB_FAILED:
        headline, verb = _FAILED_WORDS.get(record.result, _FAILED_WORDS[Result.FAILED])
        return headline, f"The backup job {display} {verb}.{over}", Level.FAILURE
    if event is Event.JOB_PARTIAL:
        lead = (
            f"The backup job {display} partially completed: some accounts were not backed up.{over}"
        )
        return "Backup partially completed", lead, Level.WARNING
    if event is Event.JOB_OVERRAN:
        lead = f"The backup job {display} completed after running past its timeout.{over}"
        return "Backup completed after overrunning its timeout", lead, Level.WARNING
    return "Backup completed", f"The backup job {display} completed.", Level.SUCCESS


def _overrun_sentence(record: JobRecord) -> str:
    if not record.timed_out:
        return ""
    by = f" by {format_duration(record.overran_by)}" if record.overran_by is not None else ""
    return f" It overran its timeout of {format_duration(record.timeout)}{by}."


def _job_fields(record: JobRecord, now: float) -> list[tuple[str, str]]:
    fields = [
        ("Server", printable(record.server, 80)),
        ("Job", f"{printable(record.label or record.job_id, 120)} (JetBackup id {record.job_id})"),
        ("Target", printable(record.target, 80)),
        ("Result", record.result.value if record.result is not Result.PLANNED else "still running"),
        ("JetBackup status", printable(record.status_meaning, 80) or "none (no run ended)"),
        ("Started", format_time(record.started_at) or "not started"),
    ]
    if record.duration is not None:
        fields.append(("Duration", format_duration(record.duration)))
    elif record.started_at is not None:
        fields.append(("Running for", format_duration(now - record.started_at)))
    timeout = format_duration(record.timeout) if record.timeout else "none"
    if record.timed_out and record.overran_by is not None:
        timeout += f" (overran by {format_duration(record.overran_by)})"
    elif record.timed_out:
        timeout += " (passed)"
    fields.append(("Timeout", timeout))
    if record.group_id:
        fields.append(("Queue group", printable(record.group_id, 64)))
    return fields


def _job_notes(record: JobRecord) -> list[str]:
    notes = [printable(record.reason, 500)] if record.reason else []
    if record.adopted:
        notes.append("the run was already in progress in JetBackup; jbremote waited for it")
    if record.waited_for_target >= 1:
        notes.append(f"waited {format_duration(record.waited_for_target)} for the target")
    return notes + [printable(note, 300) for note in record.notes]


def cycle_alert(
    records: Sequence[JobRecord],
    ctx: AlertContext,
    undelivered: Sequence[str] = (),
    dry_run: bool = False,
) -> Alert:
    """Return the one summary of a finished cycle: counts and the per-job table."""
    line = verdict(records)
    failed = sum(r.result.is_failure for r in records)
    problems = [r for r in records if r.result.is_problem or r.timed_out]
    what = "Backup cycle dry run" if dry_run else "Backup cycle finished"
    lead = f"{what}: {line}."
    if problems and not dry_run:
        lead += f" {len(problems)} job{'s' if len(problems) != 1 else ''} need attention."
    fields = [(name.capitalize(), str(n)) for name, n in counts(records).items()]
    overran = sum(r.timed_out for r in records)
    if overran:
        fields.append(("Overran timeout", str(overran)))
    message = Message(_title(ctx, f"{what}: {line}"), lead, fields)
    message.columns = [
        "job",
        "result",
        "target",
        "started",
        "duration",
        "JetBackup status",
        "notes",
    ]
    message.rows = [_row(r) for r in sorted(records, key=_severity)]
    message.lists.append(("Alerts not delivered", [printable(u, 300) for u in undelivered]))
    message.link = ctx.flow_run_url
    level = Level.FAILURE if failed else Level.WARNING if problems else Level.SUCCESS
    key = (Event.CYCLE_COMPLETED.value, ctx.cycle_id)
    return _alert(Event.CYCLE_COMPLETED, key, "cycle", message, level)


def _severity(record: JobRecord) -> int:
    if record.result.is_failure:
        return 0
    if record.result.is_problem:
        return 1
    return 2 if record.timed_out else 3


def _row(record: JobRecord) -> list[str]:
    return [
        printable(record.display, 160),
        record.result.value,
        printable(record.target, 80),
        format_time(record.started_at),
        format_duration(record.duration),
        printable(record.status_meaning, 80),
        printable(one_line(notes_of(record)), MAX_ROW_NOTES),
    ]


def cycle_failed_alert(reason: str, ctx: AlertContext, config_path: str = "") -> Alert:
    """Return the alert for a cycle that could not run (config, SSH, lanes, a crash)."""
    short = printable(one_line(reason), 120)
    lead = (
        "The backup cycle could not run, or stopped before it ended. Jobs it had not started "
        "did not run; jobs already running in JetBackup are never stopped by jbremote."
    )
    fields = [("Error", short)]
    if config_path:
        fields.append(("Config", printable(config_path, 300)))
    message = Message(_title(ctx, f"Backup cycle could not run: {short}"), lead, fields)
    if len(one_line(reason)) > 120 or "\n" in reason:
        message.code_title, message.code = "Details", printable(reason, MAX_REASON)
    message.link = ctx.flow_run_url
    key = (Event.CYCLE_FAILED.value, ctx.cycle_id)
    return _alert(Event.CYCLE_FAILED, key, "cycle", message, Level.FAILURE)


def _title(ctx: AlertContext, text: str) -> str:
    prefix = "[jbremote test]" if ctx.test else "[jbremote]"
    return one_line(f"{prefix} {text}")


def _alert(
    event: Event,
    key: tuple[str, ...],
    subject: str,
    message: Message,
    level: Level,
    also: frozenset[Event] = frozenset(),
) -> Alert:
    return Alert(
        event=event,
        key=key,
        subject=subject,
        title=message.title,
        text=render_text(message),
        markdown=render_markdown(message),
        level=level,
        also=also - {event},
    )


def tail_bytes(text: str, limit: int) -> str:
    """Return the end of ``text`` that fits in ``limit`` UTF-8 bytes (whole characters)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[-limit:].decode("utf-8", errors="ignore")
