"""Summaries of a cycle's records: counts, the per-job table, a one-line verdict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from jbremote.lifecycle.result import JobRecord, Result

COLUMNS = ("server", "job", "target", "result", "start", "duration", "JetBackup status", "notes")


def counts(records: Sequence[JobRecord]) -> dict[str, int]:
    tally = Counter(r.result.value for r in records)
    return {result.value: tally[result.value] for result in Result if tally[result.value]}


def verdict(records: Sequence[JobRecord]) -> str:
    """One line: ``8 jobs: 6 completed, 1 partially completed, 1 failed``."""
    parts = ", ".join(f"{n} {name}" for name, n in counts(records).items())
    return f"{len(records)} job{'s' if len(records) != 1 else ''}: {parts or 'none'}"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def format_time(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def notes_of(record: JobRecord) -> str:
    parts = []
    if record.reason:
        parts.append(record.reason)
    if record.adopted:
        parts.append("adopted a run already in progress")
    if record.timed_out:
        over = f" by {format_duration(record.overran_by)}" if record.overran_by is not None else ""
        parts.append(f"overran its timeout{over}")
    if record.waited_for_target >= 1:
        parts.append(f"waited {format_duration(record.waited_for_target)} for the target")
    parts += record.notes
    return "; ".join(parts)


def table_rows(records: Sequence[JobRecord]) -> list[dict[str, Any]]:
    """The per-job table (the cycle artifact, the CLI summary, the completion alert)."""
    return [
        {
            "server": r.server,
            "job": r.label or r.job_id,
            "target": r.target,
            "result": r.result.value,
            "start": format_time(r.started_at),
            "duration": format_duration(r.duration),
            "JetBackup status": r.status_meaning,
            "notes": notes_of(r),
        }
        for r in records
    ]
