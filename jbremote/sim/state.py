"""The state of one simulated JetBackup 5 server, as dataclasses that round-trip through JSON.

A server holds configuration (``destinations``, ``jobs``), history (``runs``, one per trigger that
really queued work) and fault knobs (``faults``). Times are epoch floats; they are rendered as
ISO-8601 only by :mod:`jbremote.sim.views`. Everything a run will do is fixed when it is queued
(start delay, duration, outcome), so later knob changes never rewrite history.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

FORMAT_VERSION = 1
FLAG_STYLES: tuple[str, ...] = ("int", "bool", "empty")
GARBAGE_KINDS: tuple[str, ...] = ("text", "truncated_json", "html", "empty", "wrong_shape")

T = TypeVar("T")


def stable_id(*parts: str) -> str:
    """Given some strings, return a 24-hex id that depends only on them (fleet builders use it)."""
    return hashlib.blake2b(":".join(parts).encode(), digest_size=12).hexdigest()


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    # Unknown keys are dropped so an older state file still loads after a field is retired.
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Destination:
    """A backup destination. ``type`` is JetBackup's string type (``Localv2``, ``S3``, ``SSH``)."""

    id: str
    name: str
    type: str = "Localv2"
    disabled: bool = False


@dataclass
class Job:
    """A backup job plus the simulator knobs that decide what its runs do.

    ``outcomes`` are final queue-group statuses used in turn, one per run (cycling); unknown codes
    such as 104 are allowed on purpose. ``never_starts``: the trigger is answered as accepted but
    nothing is queued (JetBackup aborting it through a hook). ``hangs``: the run starts and never
    ends. ``accounts``: how many per-account queue items a run has.
    """

    id: str
    name: str
    destination_ids: list[str]
    type: int = 1
    disabled: bool = False
    duration: float = 60.0
    start_delay: float = 1.0
    outcomes: list[int] = field(default_factory=lambda: [100])
    never_starts: bool = False
    hangs: bool = False
    accounts: int = 3
    last_run: float | None = None


@dataclass
class Run:
    """One queue group (and its log) created by an accepted trigger.

    ``start_at``/``duration``/``hangs``/``outcome`` are copied from the job when queued.
    ``stopped_at`` is set by ``stopQueueGroup``; ``cleared`` by ``clearQueue`` (the run stays in
    the file for the ledger and the logs, but leaves the queue listing).
    """

    group_id: str
    log_id: str
    job_id: str
    job_name: str
    destination_ids: list[str]
    created: float
    start_at: float
    duration: float
    hangs: bool
    outcome: int
    items: int
    fail_reason: str | None = None
    stopped_at: float | None = None
    cleared: bool = False


@dataclass
class Faults:
    """Server-level fault knobs; they can be changed at any time through the store.

    ``fail_functions``/``garbage_functions`` restrict a fault to those API functions (empty: all).
    ``seed`` makes the random draws reproducible (``None``: fresh entropy on every call).
    """

    slow_seconds: float = 0.0
    fail_rate: float = 0.0
    fail_functions: list[str] = field(default_factory=list)
    garbage_rate: float = 0.0
    garbage_functions: list[str] = field(default_factory=list)
    garbage_kind: str = "text"
    exit_status_on_error: int = 0
    seed: int | None = 0
    flag_style: str = "int"

    def validate(self) -> None:
        """Raise ValueError if a knob is out of range."""
        if not 0.0 <= self.fail_rate <= 1.0 or not 0.0 <= self.garbage_rate <= 1.0:
            raise ValueError("fail_rate and garbage_rate must be within 0..1")
        if self.garbage_kind not in GARBAGE_KINDS:
            raise ValueError(f"garbage_kind must be one of {GARBAGE_KINDS}")
        if self.flag_style not in FLAG_STYLES:
            raise ValueError(f"flag_style must be one of {FLAG_STYLES}")
        if self.slow_seconds < 0:
            raise ValueError("slow_seconds must not be negative")


@dataclass
class ServerState:
    """Everything one simulated server knows. ``calls`` counts API calls (it seeds the RNG)."""

    name: str
    destinations: list[Destination] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    version: str = "5.3.3"
    tier: str = "EDGE"
    calls: int = 0
    id_counter: int = 0

    @property
    def owner_id(self) -> str:
        return stable_id(self.name, "root")

    def job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.id == job_id), None)

    def destination(self, dest_id: str) -> Destination | None:
        return next((d for d in self.destinations if d.id == dest_id), None)

    def run_by_group(self, group_id: str) -> Run | None:
        return next((r for r in self.runs if r.group_id == group_id), None)

    def run_by_log(self, log_id: str) -> Run | None:
        return next((r for r in self.runs if r.log_id == log_id), None)

    def runs_of(self, job_id: str) -> list[Run]:
        return [r for r in self.runs if r.job_id == job_id]

    def new_id(self, now: float) -> str:
        """Return a fresh ObjectId-like id: creation second, a per-server salt, a counter."""
        self.id_counter += 1
        salt = hashlib.blake2b(self.name.encode(), digest_size=5).hexdigest()
        return f"{int(now) & 0xFFFFFFFF:08x}{salt}{self.id_counter & 0xFFFFFF:06x}"

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerState:
        """Given a decoded state file, return the server. Raise ValueError on another format."""
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported state format {data.get('format')!r}")
        return cls(
            name=data["name"],
            destinations=[_from_dict(Destination, d) for d in data.get("destinations", [])],
            jobs=[_from_dict(Job, j) for j in data.get("jobs", [])],
            runs=[_from_dict(Run, r) for r in data.get("runs", [])],
            faults=_from_dict(Faults, data.get("faults", {})),
            version=data.get("version", "5.3.3"),
            tier=data.get("tier", "EDGE"),
            calls=data.get("calls", 0),
            id_counter=data.get("id_counter", 0),
        )
