"""Pause one storage target or one job, outside the deployment, until someone resumes it.

Why not pause the deployment's schedule: a redeploy (``prefect deploy``, an upgrade with
``deployments/install.sh``) re-activates paused schedules and un-pauses the deployment
(verified with Prefect 3.8.8, docs/operations.md). Pauses therefore live in the Prefect
Variable ``jbremote-paused``, which no deploy touches, and every cycle reads it before it
starts a job. A paused job still gets its record: result ``skipped``, reason
``paused: <why> (<who>, <when>)``.

The Variable's value (editable in the UI, but :func:`pause` / :func:`resume` are the way)::

    {"targets": {"nas1": {"by": "root@backup1", "at": "2026-11-22T09:14:03+00:00",
                          "reason": "RAID rebuild"}},
     "jobs": {"web1/accounts": {"by": "…", "at": "…", "reason": "…"}}}

A job pause names the job by id, by label (every job with that label) or as
``server/label``, like the cycle's ``jobs`` filter. Changes are read-modify-write: two
operators pausing within the same instant can lose one change (the last write wins).

Prefect is imported lazily: only :class:`VariableStore` talks to the API.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Protocol

from jbremote.config.models import Config, Job
from jbremote.cycle.plan import Lane
from jbremote.lifecycle.result import JobRecord, Result

VARIABLE = "jbremote-paused"
MAX_REASON = 200
MAX_NAME = 120
# Prefect refuses a Variable value whose JSON is 5,000 characters or longer.
MAX_VALUE_CHARS = 4999


class PauseError(ValueError):
    """A pause request or the stored pauses are not usable; the message says why."""


class Kind(str, Enum):
    TARGET = "target"
    JOB = "job"

    @property
    def section(self) -> str:
        return "targets" if self is Kind.TARGET else "jobs"


@dataclass(frozen=True)
class Pause:
    kind: Kind
    name: str
    reason: str
    by: str = ""
    at: str = ""  # ISO 8601, UTC

    def describe(self) -> str:
        """``paused: RAID rebuild (target nas1, by root@box, 2026-11-22 09:14 UTC)``."""
        when = self.at[:16].replace("T", " ") + " UTC" if self.at else ""
        who = ", ".join(p for p in (f"{self.kind.value} {self.name}", f"by {self.by}", when) if p)
        return f"paused: {self.reason or 'no reason given'} ({who})"

    def to_value(self) -> dict[str, str]:
        return {"by": self.by, "at": self.at, "reason": self.reason}


@dataclass(frozen=True)
class Paused:
    """Every current pause."""

    targets: Mapping[str, Pause] = field(default_factory=dict)
    jobs: Mapping[str, Pause] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.targets or self.jobs)

    def all(self) -> list[Pause]:
        return [*self.targets.values(), *self.jobs.values()]

    def of(self, kind: Kind) -> Mapping[str, Pause]:
        return self.targets if kind is Kind.TARGET else self.jobs

    def for_job(self, job: Job) -> Pause | None:
        """Return the pause that holds ``job`` back (its own before its target's), or None."""
        for name in job_names(job):
            if name in self.jobs:
                return self.jobs[name]
        return self.targets.get(job.target)

    def to_value(self) -> dict[str, dict[str, dict[str, str]]]:
        return {
            "targets": {n: p.to_value() for n, p in sorted(self.targets.items())},
            "jobs": {n: p.to_value() for n, p in sorted(self.jobs.items())},
        }

    @classmethod
    def from_value(cls, value: Any) -> Paused:
        """Given the Variable's value (None when it does not exist), return the pauses.

        Raise :class:`PauseError` if the value does not have the documented shape: a cycle
        must not guess which jobs an operator meant to hold back.
        """
        if value is None:
            return cls()
        if isinstance(value, str):  # set by hand in the UI as a JSON string
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise PauseError(f"Variable {VARIABLE!r} is not JSON") from None
        if not isinstance(value, dict):
            raise PauseError(f"Variable {VARIABLE!r} must be an object with targets and jobs")
        unknown = sorted(set(value) - {"targets", "jobs"})
        if unknown:
            raise PauseError(f"Variable {VARIABLE!r} has unknown keys: {', '.join(unknown)}")
        sections: dict[Kind, dict[str, Pause]] = {}
        for kind in Kind:
            entries = value.get(kind.section)
            entries = {} if entries is None else entries
            if not isinstance(entries, dict):
                raise PauseError(f"Variable {VARIABLE!r}: {kind.section} must be an object")
            sections[kind] = {}
            for name, entry in entries.items():
                if not isinstance(entry, dict) or not all(
                    isinstance(entry.get(k, ""), str) for k in ("by", "at", "reason")
                ):
                    raise PauseError(
                        f"Variable {VARIABLE!r}: {kind.section}.{name} must be an object "
                        "with text fields by, at, reason"
                    )
                sections[kind][name] = Pause(
                    kind, name, entry.get("reason", ""), entry.get("by", ""), entry.get("at", "")
                )
        return cls(targets=sections[Kind.TARGET], jobs=sections[Kind.JOB])


class Store(Protocol):
    """Where pauses are kept: ``read`` returns the stored value or None."""

    def read(self) -> Any: ...

    def write(self, value: dict[str, Any]) -> None: ...


class VariableStore:
    """The Prefect Variable ``jbremote-paused`` on the server of the current settings."""

    def __init__(self, name: str = VARIABLE) -> None:
        self.name = name

    def read(self) -> Any:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            variable = client.read_variable_by_name(self.name)
        return None if variable is None else variable.value

    def write(self, value: dict[str, Any]) -> None:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import VariableCreate, VariableUpdate
        from prefect.exceptions import ObjectAlreadyExists

        with get_client(sync_client=True) as client:
            if client.read_variable_by_name(self.name) is not None:
                client.update_variable(VariableUpdate(name=self.name, value=value))
                return
            try:
                client.create_variable(
                    VariableCreate(name=self.name, value=value, tags=["jbremote"])
                )
            except ObjectAlreadyExists:  # created by someone else just now
                client.update_variable(VariableUpdate(name=self.name, value=value))


def paused(store: Store | None = None) -> Paused:
    """Return every current pause. Raise :class:`PauseError` if the stored value is broken."""
    return Paused.from_value((store or VariableStore()).read())


def pause(
    kind: Kind | str,
    name: str,
    reason: str,
    *,
    by: str | None = None,
    store: Store | None = None,
    now: datetime | None = None,
) -> Pause:
    """Pause target or job ``name`` with ``reason``; return the stored pause.

    Pausing what is already paused replaces the reason, who and when. ``by`` defaults to
    ``user@host``. Raise :class:`PauseError` for an empty or over-long name or reason, or
    when the pauses would no longer fit in a Prefect Variable.
    """
    kind = Kind(kind)
    name = _checked_name(name)
    reason = " ".join(reason.split())
    if not reason:
        raise PauseError("say why (a reason is required): the cycle reports it for each job")
    if len(reason) > MAX_REASON:
        raise PauseError(f"the reason is limited to {MAX_REASON} characters")
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    entry = Pause(kind, name, reason, by or _who(), when.isoformat(timespec="seconds"))
    store = store or VariableStore()
    current = paused(store)
    updated = _with(current, kind, {**current.of(kind), name: entry})
    value = updated.to_value()
    if len(json.dumps(value)) > MAX_VALUE_CHARS:
        raise PauseError("too many pauses to store: resume some first (or use shorter reasons)")
    store.write(value)
    return entry


def resume(kind: Kind | str, name: str, *, store: Store | None = None) -> Pause | None:
    """Lift the pause of target or job ``name``; return it, or None if it was not paused."""
    kind = Kind(kind)
    store = store or VariableStore()
    current = paused(store)
    entries = dict(current.of(kind))
    removed = entries.pop(name.strip(), None)
    if removed is not None:
        store.write(_with(current, kind, entries).to_value())
    return removed


def apply_pauses(lanes: Sequence[Lane], pauses: Paused) -> tuple[list[Lane], list[JobRecord]]:
    """Given planned lanes, return (lanes without paused jobs, a skipped record per paused job).

    Lanes left empty are dropped; the order inside each lane is kept.
    """
    kept: list[Lane] = []
    held: list[JobRecord] = []
    for lane in lanes:
        jobs = []
        for job in lane.jobs:
            hold = pauses.for_job(job)
            if hold is None:
                jobs.append(job)
            else:
                held.append(
                    JobRecord(
                        server=job.server,
                        job_id=job.id,
                        label=job.label,
                        target=job.target,
                        result=Result.SKIPPED,
                        reason=hold.describe(),
                    )
                )
        if jobs:
            kept.append(replace(lane, jobs=tuple(jobs)))
    return kept, held


def job_names(job: Job) -> list[str]:
    """The names a job pause may use for ``job``: id, ``server/label``, label."""
    names = [job.id]
    if job.label:
        names += [f"{job.server}/{job.label}", job.label]
    return names


def matching(config: Config, kind: Kind | str, name: str) -> list[str]:
    """Return what ``name`` would hold back in ``config`` (job displays, or the target).

    An empty list means the name matches nothing: a CLI should refuse it (with the known
    names) rather than store a pause that never applies.
    """
    kind = Kind(kind)
    if kind is Kind.TARGET:
        return [name] if name in config.targets else []
    return [job.display for job in config.jobs if name in job_names(job)]


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise PauseError(f"a name must be 1-{MAX_NAME} printable characters")
    return name


def _with(current: Paused, kind: Kind, entries: Mapping[str, Pause]) -> Paused:
    if kind is Kind.TARGET:
        return Paused(targets=entries, jobs=current.jobs)
    return Paused(targets=current.targets, jobs=entries)


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
