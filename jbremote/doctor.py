"""``jbremote doctor``: what a crash, a kill or a restart can leave behind, and the safe repairs.

Four checks (docs/reliability.md, "jbremote doctor"):

* **leaked lane slots** — a ``nas:<target>`` slot counted in Prefect without a live lease holder
  (:mod:`flows.lane_limits`). ``--fix`` frees it, but only when the same leak is seen twice a
  few seconds apart, so a slot being acquired at that moment is never taken away.
* **zombie flow runs** — see :func:`zombie_reason`. ``--fix`` marks the run and its unfinished
  task runs ``Crashed``; Prefect then releases any slot they still held.
* **journal entries** — destination/job state jbremote enabled for a run and did not restore
  (``changes.json``, :mod:`jbremote.lifecycle.journal`). ``--fix`` restores an entry once
  JetBackup says its job is not running and no running job uses the destination, and only
  while no live ``backup-cycle`` run could be about to use it.
* **servers** — every configured server is asked (the journal check needs them anyway).

Prefect is asked only when ``PREFECT_API_URL`` is set (never a temporary local server) and is
imported only then. Nothing here ever triggers or stops a job.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from jbremote.config.models import Config, default_state_dir
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.status import is_finished
from jbremote.lifecycle.journal import Change, StateJournal
from jbremote.remote import ServerErrors, TransportFactory, ask_each, describe, open_client

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

FLOW_NAME = "backup-cycle"
HEARTBEAT_EVENT = "prefect.flow-run.heartbeat"
#: Well above Prefect's heartbeat interval (PREFECT_FLOWS_HEARTBEAT_FREQUENCY, 180 s).
DEFAULT_STALE_AFTER = 900.0


def iso(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, tz=timezone.utc).isoformat()


@dataclass
class SlotFinding:
    tag: str
    limit: int
    active_slots: int
    holders: list[str]  # task run ids holding a live lease
    leaked: int


@dataclass
class TaskFacts:
    name: str
    state: str  # state type: PENDING, RUNNING, COMPLETED, …
    changed: float  # when it entered that state
    holds_slot: bool  # a live lease on a lane slot
    id: str = ""


@dataclass
class RunFacts:
    """What Prefect says about one RUNNING ``backup-cycle`` flow run."""

    id: str
    name: str
    changed: float  # when it entered RUNNING
    tasks: list[TaskFacts] = field(default_factory=list)
    last_heartbeat: float | None = None


@dataclass
class ZombieRun:
    id: str
    name: str
    since: str | None
    quiet_seconds: float
    reason: str
    unfinished_tasks: list[str]
    fixed: bool = False


def quiet_seconds(run: RunFacts, now: float) -> float:
    """Seconds since the run's last sign of life: a state change (its own or a task run's)
    or a heartbeat."""
    signs = [run.changed, *(t.changed for t in run.tasks)]
    if run.last_heartbeat is not None:
        signs.append(run.last_heartbeat)
    return now - max(signs)


def zombie_reason(run: RunFacts, now: float, stale_after: float) -> str | None:
    """Given a RUNNING ``backup-cycle`` run, return why it is a zombie, or None if it may live.

    Quiet time: since the last sign of life — the run's or any task run's state change, or a
    heartbeat (Prefect's flow engine sends one every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``,
    180 s by default). A run is a zombie when it has been quiet for ``stale_after`` and none of
    its task runs is alive. A task run is alive when it holds a live lane-slot lease (a running
    job's task renews it every 45 s), or — only for runs that never sent a heartbeat, where
    nothing else tells — when it is PENDING or RUNNING.
    """
    quiet = quiet_seconds(run, now)
    if quiet < stale_after:
        return None
    unfinished = [t for t in run.tasks if t.state in ("PENDING", "RUNNING")]
    if any(t.holds_slot for t in run.tasks):
        return None
    minutes = f"{quiet / 60:.0f} min"
    if not unfinished:
        return f"no job task is waiting or running and nothing happened for {minutes}"
    if run.last_heartbeat is None:
        return None  # without heartbeats a running task may be alive: cannot tell
    names = ", ".join(t.name for t in unfinished)
    return (
        f"its process stopped: no heartbeat for {minutes} and its unfinished task runs "
        f"({names}) hold no slot"
    )


@dataclass
class JournalFinding:
    server: str
    kind: str
    object_id: str
    job_id: str
    prior_disabled: bool
    changed_at: str | None
    status: str  # restorable | restored | job running | destination in use | server unreachable | …
    detail: str = ""


@dataclass
class ServerFinding:
    name: str
    reachable: bool
    error: str | None = None


@dataclass
class Report:
    fix: bool
    prefect_checked: bool
    prefect_url: str | None = None
    prefect_error: str | None = None
    slots: list[SlotFinding] = field(default_factory=list)
    zombies: list[ZombieRun] = field(default_factory=list)
    live_cycles: list[str] = field(default_factory=list)
    journal_path: str = ""
    journal: list[JournalFinding] = field(default_factory=list)
    servers: list[ServerFinding] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """What is still wrong (after ``--fix``, what it could not repair)."""
        left = [f"Prefect: {self.prefect_error}"] if self.prefect_error else []
        left += [f"{s.leaked} leaked slot(s) of tag:{s.tag}" for s in self.slots if s.leaked]
        left += [f"zombie flow run {z.name}" for z in self.zombies if not z.fixed]
        left += [
            f"journal: {j.server}/{j.kind}/{j.object_id} ({j.status})"
            for j in self.journal
            if j.status != "restored"
        ]
        left += [f"server {s.name} unreachable" for s in self.servers if not s.reachable]
        return left

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "problems": self.problems}


# -- the journal and the servers ------------------------------------------------------------------
@dataclass(frozen=True)
class _Busy:
    """A server's running jobs and the destinations they write to, per JetBackup."""

    jobs: frozenset[str]
    destinations: frozenset[str]


def _busy(server: str, client: JetBackupClient) -> _Busy:
    jobs = client.list_backup_jobs()
    groups = client.list_queue_groups(limit=200)
    running = {g.job_id for g in groups if g.job_id and not is_finished(g.status)}
    running |= {j.id for j in jobs if j.running}
    destinations = {d for j in jobs if j.id in running for d in j.destination}
    return _Busy(frozenset(running), frozenset(destinations))


def _verdict(change: Change, busy: _Busy | None, error: str | None, known: bool) -> str:
    if not known:
        return "server not in the config"
    if busy is None:
        return f"server unreachable: {error}"
    if change.job_id in busy.jobs:
        return "job running"
    if change.kind == "destination" and change.object_id in busy.destinations:
        return "destination in use by a running job"
    return "restorable"


def _restore(client: JetBackupClient, change: Change) -> None:
    if change.kind == "job":
        client.set_backup_job_disabled(change.object_id, disabled=change.prior_disabled)
    else:
        client.set_destination_state(change.object_id, disabled=change.prior_disabled)


def check_journal_and_servers(
    config: Config, report: Report, fix: bool, factory: TransportFactory | None = None
) -> None:
    """Ask every server what runs; list (and with ``fix`` restore) the journal's entries."""
    state_dir = (config.orchestration.state_dir or default_state_dir()).expanduser()
    journal = StateJournal(state_dir)
    report.journal_path = str(journal.path)
    answers = {a.server: a for a in ask_each(config, list(config.servers), _busy, factory)}
    report.servers = [ServerFinding(n, a.error is None, a.error) for n, a in answers.items()]
    entries = journal.entries() if journal.path.exists() else []
    for change in entries:
        answer = answers.get(change.server)
        busy = answer.value if answer else None
        status = _verdict(change, busy, answer.error if answer else None, answer is not None)
        report.journal.append(
            JournalFinding(
                change.server,
                change.kind,
                change.object_id,
                change.job_id,
                change.prior_disabled,
                iso(change.changed_at),
                status,
            )
        )
    restorable = [j for j in report.journal if j.status == "restorable"]
    if not (fix and restorable):
        return
    if report.prefect_error:
        report.notes.append(
            "journal entries were not restored: Prefect could not be asked whether a "
            "backup-cycle run is in progress"
        )
        return
    if report.live_cycles:
        report.notes.append(
            "journal entries were not restored: a backup-cycle run is in progress "
            f"({', '.join(report.live_cycles)}) and restores its own changes; run "
            "`jbremote doctor --fix` again once it has ended"
        )
        return
    by_key = {c.key: c for c in entries}
    for server in sorted({j.server for j in restorable}):
        with open_client(config, server, factory) as client:
            for finding in (j for j in restorable if j.server == server):
                change = by_key[f"{finding.server}/{finding.kind}/{finding.object_id}"]
                try:
                    _restore(client, change)
                except ServerErrors as exc:
                    finding.status, finding.detail = "restore failed", describe(exc)
                    continue
                journal.remove(change)
                finding.status = "restored"
                state = "disabled" if change.prior_disabled else "enabled"
                report.actions.append(
                    f"restored {change.kind} {change.object_id} on {server} to {state}"
                )


# -- Prefect ----------------------------------------------------------------------------------------
def prefect_url() -> str | None:
    """The configured ``PREFECT_API_URL`` (None: unset, doctor then skips the Prefect checks)."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or None


def _timestamp(value: Any) -> float:
    return float(value.timestamp()) if value is not None else 0.0


def running_cycles(client: SyncPrefectClient, holders: set[str]) -> list[RunFacts]:
    """Return the facts of every RUNNING ``backup-cycle`` flow run."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))
        ),
        limit=200,
    )
    found = []
    for run in runs:
        facts = RunFacts(str(run.id), run.name, _timestamp(run.state and run.state.timestamp))
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])), limit=200
        )
        for task in tasks:
            kind = task.state.type.value if task.state else "PENDING"
            changed = _timestamp(task.state and task.state.timestamp)
            holds = str(task.id) in holders
            facts.tasks.append(TaskFacts(task.name, kind, changed, holds, str(task.id)))
        beats = client.read_events(
            filter=EventFilter(
                event=EventNameFilter(name=[HEARTBEAT_EVENT]),
                resource=EventResourceFilter(id=[f"prefect.flow-run.{run.id}"]),
            ),
            limit=1,
        )
        if beats.events:
            facts.last_heartbeat = _timestamp(beats.events[0].occurred)
        found.append(facts)
    return found


def _crash(client: SyncPrefectClient, run: RunFacts, reason: str) -> None:
    from uuid import UUID

    from prefect.states import Crashed

    message = f"marked Crashed by jbremote doctor: {reason}"
    for task in run.tasks:
        if task.state in ("PENDING", "RUNNING"):
            # Leaving RUNNING makes Prefect release the task's lane-slot leases.
            client.set_task_run_state(UUID(task.id), Crashed(message=message), force=True)
    client.set_flow_run_state(run.id, Crashed(message=message), force=True)


def check_prefect(report: Report, fix: bool, stale_after: float, now: float) -> None:
    """Lane slots and flow runs; with ``fix`` free confirmed leaks and crash zombies."""
    from prefect.client.orchestration import get_client

    from flows.lane_limits import lane_tags, reconcile_leaks, slot_report

    with get_client(sync_client=True) as client:
        tags = lane_tags(client)
        reports = [r for tag in tags if (r := slot_report(client, tag)) is not None]
        report.slots = [
            SlotFinding(r.tag, r.limit, r.active_slots, list(r.holders), r.leaked) for r in reports
        ]
        holders = {h for r in reports for h in r.holders}
        for run in running_cycles(client, holders):
            reason = zombie_reason(run, now, stale_after)
            if reason is None:
                report.live_cycles.append(run.name)
                continue
            unfinished = [t.name for t in run.tasks if t.state in ("PENDING", "RUNNING")]
            quiet = round(quiet_seconds(run, now))
            zombie = ZombieRun(run.id, run.name, iso(run.changed), quiet, reason, unfinished)
            report.zombies.append(zombie)
            if fix:
                _crash(client, run, reason)
                zombie.fixed = True
                report.actions.append(f"marked zombie flow run {run.name} ({run.id}) Crashed")
        leaked = [s.tag for s in report.slots if s.leaked]
        if fix and leaked:
            report.actions += reconcile_leaks(client, leaked)
            for finding in report.slots:
                now_report = slot_report(client, finding.tag)
                if now_report is not None:
                    finding.active_slots, finding.leaked = (
                        now_report.active_slots,
                        now_report.leaked,
                    )


def diagnose(
    config: Config,
    fix: bool = False,
    stale_after: float = DEFAULT_STALE_AFTER,
    factory: TransportFactory | None = None,
    now: float | None = None,
) -> Report:
    """Run every check (and with ``fix`` the safe repairs); return what was found and done."""
    url = prefect_url()
    report = Report(fix=fix, prefect_checked=url is not None, prefect_url=url)
    if url is None:
        report.notes.append("PREFECT_API_URL is not set: lane slots and flow runs were not checked")
    else:
        try:
            check_prefect(report, fix, stale_after, time.time() if now is None else now)
        except Exception as exc:  # an unreachable or failing Prefect API is one finding
            report.prefect_error = f"{type(exc).__name__}: {exc}"
    check_journal_and_servers(config, report, fix, factory)
    return report
