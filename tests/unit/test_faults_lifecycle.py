"""Fault injection at the lifecycle level: hours of simulated JetBackup time in milliseconds.

Each scenario runs real jobs through the real client, wire format and simulator on one fake
clock (tests/unit/world.py); a :class:`FaultyTransport` in front of the simulator fails calls
the way a network, an sshd or a server's keys fail. Every scenario is judged from the
simulator's ledger and call log (what the storage saw), never from jbremote's own account:

* at most one writer per target at any instant;
* exactly one *successful* trigger and one real run per job that ran (none for one that
  could not start), and no stop call, ever;
* exactly one final record per job (one ``finished`` event).

docs/reliability.md maps each scenario to what jbremote guarantees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jbremote.jetbackup.client import JetBackupClient
from jbremote.lifecycle.events import EventKind, JobEvent
from jbremote.lifecycle.journal import StateJournal
from jbremote.lifecycle.polling import PollPolicy
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.sim import ledger, timeline
from jbremote.sim.fleetspec import DestinationSpec, FleetSpec, JobSpec, ServerSpec
from jbremote.sim.state import GARBAGE_KINDS
from jbremote.sim.transport import SimTransport
from jbremote.status import fleet_status
from jbremote.transport.base import (
    AuthenticationError,
    CommandResult,
    ConnectError,
    HostKeyError,
    Transport,
    TransportError,
)
from jbremote.transport.settings import SshSettings
from tests.unit.world import World

REFUSED = "cannot connect to 127.0.0.1:22: Connection refused (gave up after 4 attempts)"


# -- the faulty network ------------------------------------------------------------------------
@dataclass
class NetFault:
    """How calls to one server fail while ``now < until`` (and, if set, ``times`` remain).

    ``refused``: nothing is sent (connection refused). ``reset``: the command reaches the
    server and runs, then the connection dies before the answer (``maybe_executed``).
    ``auth`` / ``hostkey``: the SSH handshake is refused for good.
    """

    kind: str
    until: float = math.inf
    functions: tuple[str, ...] = ()
    times: int | None = None


class FaultyTransport:
    """A SimTransport behind a network that fails as the world's :class:`NetFault` says."""

    def __init__(self, inner: SimTransport, world: FaultyWorld) -> None:
        self.inner = inner
        self.world = world
        self.name = inner.name

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        function = argv[list(argv).index("-F") + 1]
        fault = self.world.active_fault(self.name, function)
        if fault is None:
            return self.inner.run(argv, timeout)
        self.world.injected.append((self.name, function, fault.kind))
        if fault.kind == "refused":
            raise ConnectError(self.name, REFUSED)
        if fault.kind == "auth":
            raise AuthenticationError(
                self.name, "the server refused key /etc/jbremote/id_ed25519 for user 'root'"
            )
        if fault.kind == "hostkey":
            raise HostKeyError(
                self.name, "WARNING: HOST KEY CHANGED for [127.0.0.1]:22! Refusing to connect."
            )
        assert fault.kind == "reset", fault
        self.inner.run(argv, timeout)  # it ran on the server; the answer is lost
        raise TransportError(
            self.name, "connection lost while jetbackup5api was running", maybe_executed=True
        )

    def close(self) -> None:
        self.inner.close()


class FaultyWorld(World):
    def __init__(self, tmp_path: Path, spec: FleetSpec, **kwargs: Any) -> None:
        self.faults: dict[str, NetFault] = {}
        self.injected: list[tuple[str, str, str]] = []
        self.hooks: list[Callable[[JobEvent], None]] = []
        super().__init__(tmp_path, spec, **kwargs)
        self.cycle.emit = self._emit

    def _emit(self, event: JobEvent) -> None:
        self.events.append(event)
        for hook in list(self.hooks):
            hook(event)

    def transport(self, server: str) -> FaultyTransport:  # type: ignore[override]
        return FaultyTransport(super().transport(server), self)

    def active_fault(self, server: str, function: str) -> NetFault | None:
        fault = self.faults.get(server)
        if fault is None or self.clock.now() >= fault.until:
            return None
        if fault.functions and function not in fault.functions:
            return None
        if fault.times is not None:
            if fault.times <= 0:
                return None
            fault.times -= 1
        return fault

    def on(self, kind: EventKind, action: Callable[[], None]) -> None:
        """Run ``action`` once, the first time an event of ``kind`` is emitted."""
        done: list[bool] = []

        def hook(event: JobEvent) -> None:
            if event.kind is kind and not done:
                done.append(True)
                action()

        self.hooks.append(hook)

    def set_faults(self, server: str = "srv01", **knobs: Any) -> None:
        with self.store.edit(server) as state:
            for key, value in knobs.items():
                setattr(state.faults, key, value)


def world(
    tmp_path: Path,
    servers: int = 1,
    jobs: int = 1,
    manage_state: bool = False,
    targets: tuple[str, ...] = ("nas1",),
    **knobs: Any,
) -> FaultyWorld:
    orchestration = {
        k: knobs.pop(k)
        for k in list(knobs)
        if k in ("poll_interval", "startup_timeout", "job_timeout")
    }
    spec = FleetSpec.uniform(
        servers, jobs, targets=targets, **{"duration": 1000.0, "start_delay": 2.0, **knobs}
    )
    return FaultyWorld(tmp_path, spec, manage_state=manage_state, **orchestration)


# -- what every scenario must keep --------------------------------------------------------------
def successful_triggers(w: World) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for call in ledger.calls(w.state_dir, "runBackupJobManually"):
        if call["success"]:
            key = (call["server"], call["params"]["_id"])
            found[key] = found.get(key, 0) + 1
    return found


def assert_invariants(w: World, records: Sequence[JobRecord], ran: Sequence[JobRecord]) -> None:
    """The ledger agrees: one writer per target, one trigger and run per job that ran, no stop,
    one final record per job."""
    assert set(w.max_writers().values()) <= {1}
    ran_keys = {(r.server, r.job_id) for r in ran}
    assert successful_triggers(w) == dict.fromkeys(
        {k for k in ran_keys if not any(r.adopted for r in ran if (r.server, r.job_id) == k)}, 1
    )
    assert dict(ledger.runs_per_job(w.state_dir)) == dict.fromkeys(ran_keys, 1)
    assert ledger.stop_calls(w.state_dir) == []
    finished = [e.record for e in w.events if e.kind is EventKind.FINISHED]
    assert sorted(id(r) for r in finished) == sorted(id(r) for r in records)


def group_of(w: World, server: str = "srv01") -> timeline.RunView:
    state = w.store.load(server)
    return timeline.view(state.runs[-1], w.clock.now())


def end_of_run(w: World, server: str = "srv01") -> float:
    state = w.store.load(server)
    end = timeline.planned_end(state.runs[-1])
    assert end is not None
    return end


def count(w: World, kind: EventKind) -> int:
    return w.kinds().count(kind)


# -- connection trouble while the job runs -------------------------------------------------------
def test_connection_reset_mid_poll_keeps_polling_and_never_retriggers(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.on(EventKind.STARTED, lambda: w.faults.update(srv01=NetFault("reset", w.clock.now() + 600)))
    record = w.run()

    assert record.result is Result.COMPLETED
    assert count(w, EventKind.CONTACT_LOST) == 1 and count(w, EventKind.CONTACT_RESTORED) == 1
    assert any(f == ("srv01", "getQueueGroup", "reset") for f in w.injected)
    assert record.ended_at == end_of_run(w), "the end JetBackup reports, not a guess"
    assert_invariants(w, [record], [record])


def test_server_unreachable_right_after_the_trigger_holds_the_lane_until_the_job_is_seen(
    tmp_path: Path,
) -> None:
    # Longer than the bounded read retries (~30 s): the job may be writing, so the lifecycle
    # must neither fail nor trigger again; it waits for contact, then confirms and polls.
    w = world(tmp_path)
    w.on(
        EventKind.TRIGGERED, lambda: w.faults.update(srv01=NetFault("refused", w.clock.now() + 300))
    )
    record = w.run()

    assert record.result is Result.COMPLETED, record.reason
    assert count(w, EventKind.CONTACT_LOST) == 1
    lost = next(e for e in w.events if e.kind is EventKind.CONTACT_LOST)
    assert "Connection refused" in lost.message and "still holding nas1" in lost.message
    assert w.clock.now() >= end_of_run(w)
    assert_invariants(w, [record], [record])


def test_server_unreachable_after_the_trigger_past_the_startup_timeout_is_judged_on_contact(
    tmp_path: Path,
) -> None:
    # Contact comes back after the startup timeout; the run JetBackup queued meanwhile counts.
    w = world(tmp_path, startup_timeout=60.0)
    w.on(
        EventKind.TRIGGERED, lambda: w.faults.update(srv01=NetFault("refused", w.clock.now() + 600))
    )
    record = w.run()
    assert record.result is Result.COMPLETED, record.reason
    assert_invariants(w, [record], [record])


def test_trigger_whose_answer_is_lost_is_settled_by_reading_never_resent(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.faults["srv01"] = NetFault("reset", functions=("runBackupJobManually",), times=1)
    record = w.run()

    assert record.result is Result.COMPLETED
    assert len(ledger.calls(w.state_dir, "runBackupJobManually")) == 1, "never sent twice"
    triggered = next(e for e in w.events if e.kind is EventKind.TRIGGERED)
    assert "answer lost" in triggered.message
    assert_invariants(w, [record], [record])


def test_trigger_that_could_not_be_sent_is_sent_again_once_nothing_started(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.faults["srv01"] = NetFault("refused", functions=("runBackupJobManually",), times=1)
    record = w.run()

    assert record.result is Result.COMPLETED
    assert len(ledger.calls(w.state_dir, "runBackupJobManually")) == 1, "the refused one never ran"
    assert_invariants(w, [record], [record])


def test_host_key_change_mid_job_is_reported_as_persistent_and_the_lane_stays_held(
    tmp_path: Path,
) -> None:
    w = world(tmp_path)
    w.on(EventKind.STARTED, lambda: w.faults.update(srv01=NetFault("hostkey", w.clock.now() + 900)))
    record = w.run()

    lost = next(e for e in w.events if e.kind is EventKind.CONTACT_LOST)
    assert "persistent" in lost.message and "HOST KEY CHANGED" in lost.message
    assert record.result is Result.COMPLETED and record.ended_at == end_of_run(w)
    assert_invariants(w, [record], [record])


# -- servers that cannot be used at all ----------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "cause", "retried"),
    [
        ("refused", "Connection refused", True),
        ("auth", "refused key", False),
        ("hostkey", "HOST KEY CHANGED", False),
    ],
)
def test_unusable_server_fails_its_jobs_with_the_cause_and_the_others_run(
    tmp_path: Path, kind: str, cause: str, retried: bool
) -> None:
    w = world(tmp_path, servers=2, jobs=2, duration=100.0)
    w.faults["srv02"] = NetFault(kind)
    records = [w.run("srv01", "job1"), w.run("srv02", "job1"), w.run("srv02", "job2")]
    records.append(w.run("srv01", "job2"))

    ok = [r for r in records if r.server == "srv01"]
    bad = [r for r in records if r.server == "srv02"]
    assert {r.result for r in ok} == {Result.COMPLETED}
    assert {r.result for r in bad} == {Result.FAILED}
    assert all(cause in r.reason for r in bad), [r.reason for r in bad]
    assert all(any("could not check srv02" in n for n in r.notes) for r in ok)
    attempts = sum(1 for s, f, _ in w.injected if s == "srv02" and f == "getBackupJob")
    # transient trouble is retried a bounded number of times; a refused key or host key never
    assert attempts == (2 * 6 if retried else 2)
    assert_invariants(w, records, ok)


# -- a struggling JetBackup ------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_fifth_of_api_calls_failing_still_runs_each_job_once(tmp_path: Path, seed: int) -> None:
    w = world(tmp_path, servers=2, jobs=2, duration=300.0, manage_state=True)
    for server in ("srv01", "srv02"):
        w.set_faults(server, fail_rate=0.2, seed=seed)
        with w.store.edit(server) as state:
            state.destinations[0].disabled = True
    records = [w.run(s, j) for s in ("srv01", "srv02") for j in ("job1", "job2")]

    # A refused trigger is certain not to have run: it is tried three times in all, so once in
    # ~125 jobs JetBackup refuses every attempt and the job did not start, with the cause.
    ran = [r for r in records if r.result is Result.COMPLETED]
    refused = [r for r in records if r not in ran]
    assert len(ran) >= 3, [r.reason for r in records]
    for r in refused:
        assert r.result is Result.NOT_STARTED and "JetBackup refused the trigger" in r.reason
    failed = [c for c in ledger.calls(w.state_dir) if not c["success"]]
    assert len(failed) >= 5, "the fault knob really bit"
    for server in ("srv01", "srv02"):
        assert w.store.load(server).destinations[0].disabled, "prior state restored"
    assert StateJournal(tmp_path / "jbremote-state").entries() == []
    assert_invariants(w, records, ran)


def test_slow_api_within_the_command_timeout_only_slows_the_job_down(tmp_path: Path) -> None:
    w = world(tmp_path, duration=600.0)
    w.set_faults(slow_seconds=40.0)  # command_timeout is 120 s
    record = w.run()
    assert record.result is Result.COMPLETED
    assert record.ended_at == end_of_run(w)
    assert_invariants(w, [record], [record])


def test_api_slower_than_the_command_timeout_mid_job_holds_the_lane_then_recovers(
    tmp_path: Path,
) -> None:
    w = world(tmp_path)

    def slow_for_a_while() -> None:
        w.set_faults(slow_seconds=500.0)
        w.on(EventKind.CONTACT_LOST, lambda: w.set_faults(slow_seconds=0.0))

    w.on(EventKind.STARTED, slow_for_a_while)
    record = w.run()

    lost = next(e for e in w.events if e.kind is EventKind.CONTACT_LOST)
    assert "no answer within 120 s" in lost.message
    assert record.result is Result.COMPLETED and count(w, EventKind.CONTACT_RESTORED) == 1
    assert_invariants(w, [record], [record])


def test_api_that_never_answers_in_time_fails_the_job_before_any_trigger(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.set_faults(slow_seconds=500.0)
    started = w.clock.now()
    record = w.run()
    assert record.result is Result.FAILED and "no answer within 120 s" in record.reason
    # Bounded: 6 attempts and their backoff. The job and its target are read side by side;
    # the fake clock adds up the waits of both reads, real time would overlap them.
    assert w.clock.now() - started < 2 * (6 * 120 + 31)
    assert_invariants(w, [record], [])


@pytest.mark.parametrize("kind", GARBAGE_KINDS)
def test_garbage_output_is_retried_and_each_job_runs_once(tmp_path: Path, kind: str) -> None:
    w = world(tmp_path, jobs=2, duration=200.0)
    w.set_faults(garbage_rate=0.3, garbage_kind=kind, seed=11)
    records = [w.run("srv01", "job1"), w.run("srv01", "job2")]

    assert {r.result for r in records} == {Result.COMPLETED}, [r.reason for r in records]
    assert any(c["garbage"] == kind for c in ledger.calls(w.state_dir))
    assert_invariants(w, records, records)


# -- jobs that misbehave ----------------------------------------------------------------------------
def test_job_that_never_starts_fails_after_the_startup_timeout_with_the_cause(
    tmp_path: Path,
) -> None:
    w = world(tmp_path, jobs=2, startup_timeout=120.0, duration=100.0)
    w.edit_job("srv01", "job1", never_starts=True)
    first, second = w.run("srv01", "job1"), w.run("srv01", "job2")

    assert first.result is Result.NOT_STARTED
    assert "no run appeared within 120 s" in first.reason and "JetBackup's Alerts" in first.reason
    assert second.result is Result.COMPLETED, "the lane moves on"
    assert successful_triggers(w) == {("srv01", first.job_id): 1, ("srv01", second.job_id): 1}
    assert dict(ledger.runs_per_job(w.state_dir)) == {("srv01", second.job_id): 1}
    assert ledger.stop_calls(w.state_dir) == []


def test_hanging_job_warns_once_holds_the_lane_and_shows_in_status(tmp_path: Path) -> None:
    w = world(tmp_path, hangs=True, job_timeout=300.0)
    seen: dict[str, Any] = {}

    def look_then_end_it() -> None:
        # What `jbremote status` shows while the job hangs past its timeout.
        def factory(settings: SshSettings) -> Transport:
            return SimTransport(w.store, settings.name, clock=w.clock.now)

        status = fleet_status(w.config, factory=factory)
        seen["holders"] = [(h.server, h.label) for t in status.targets for h in t.holders]
        seen["running"] = [j.running for j in status.jobs if j.server == "srv01"]
        seen["at"] = w.clock.now()
        # End the hang by editing the simulator: JetBackup finishes 500 s from now.
        with w.store.edit("srv01") as state:
            run = state.runs[-1]
            run.hangs, run.duration = False, w.clock.now() + 500 - run.start_at

    w.on(EventKind.TIMED_OUT, look_then_end_it)
    record = w.run("srv01", "job1")

    assert count(w, EventKind.TIMED_OUT) == 1
    warning = next(e for e in w.events if e.kind is EventKind.TIMED_OUT)
    assert "keeps running and nas1 stays held" in warning.message
    assert seen["holders"] == [("srv01", "job1")] and seen["running"] == [True]
    assert record.result is Result.COMPLETED and record.timed_out
    assert record.ended_at == end_of_run(w) and record.ended_at >= seen["at"] + 500
    assert record.overran_by is not None and record.overran_by > 500
    assert_invariants(w, [record], [record])


def test_poll_delay_stays_finite_however_long_a_job_is_polled() -> None:
    # 2.0**polls overflowed after 1024 polls (~8.5 h at 30 s): the lifecycle crashed mid-job.
    policy = PollPolicy(30.0)
    assert policy.next_delay(elapsed=3 * 86400, polls=5000) == 30.0
    assert 0.5 <= policy.next_delay(elapsed=3 * 86400, polls=5000, percentage=99.0) <= 30.0


# -- shutdowns and crashes -----------------------------------------------------------------------
def manage_state_world(tmp_path: Path) -> FaultyWorld:
    server = ServerSpec(
        "srv01",
        [DestinationSpec("nas", "nas1", disabled=True)],
        [JobSpec("job1", ["nas"], duration=1000.0, start_delay=2.0)],
    )
    return FaultyWorld(tmp_path, FleetSpec([server]), manage_state=True)


def destination_disabled(w: World) -> bool:
    client = JetBackupClient(SimTransport(w.store, "srv01", clock=w.clock.now))
    return client.get_destination(w.spec.server("srv01").destination_id("nas")).disabled


def test_stop_mid_job_leaves_it_running_untouched_and_records_it(tmp_path: Path) -> None:
    w = manage_state_world(tmp_path)
    w.on(EventKind.STARTED, w.cycle.stop.set)
    record = w.run()

    assert record.result is Result.STILL_RUNNING and "left running" in record.reason
    assert group_of(w).status < 100, "still queued or writing"
    assert not destination_disabled(w), "its destination is not disabled under it"
    assert len(StateJournal(tmp_path / "jbremote-state").entries()) == 1
    assert_invariants(w, [record], [record])


def test_crash_mid_job_then_next_run_adopts_it_and_restores_the_journal(tmp_path: Path) -> None:
    w = manage_state_world(tmp_path)
    journal = StateJournal(tmp_path / "jbremote-state")

    def die() -> None:
        raise SystemExit("killed")  # as far as this process is concerned, SIGKILL

    w.on(EventKind.STARTED, die)
    with pytest.raises(SystemExit):
        w.run()
    assert not destination_disabled(w), "a crash never disables a destination under a writer"
    assert len(journal.entries()) == 1

    # A new process, while the orphaned run still writes: adopt it, do not trigger again.
    w.hooks.clear()
    w.clock.advance(100)
    record = w.run()
    assert record.adopted and record.result is Result.COMPLETED
    assert record.ended_at == end_of_run(w)
    assert destination_disabled(w), "the state found before the crashed run is restored"
    assert journal.entries() == []
    assert successful_triggers(w) == {("srv01", record.job_id): 1}
    assert dict(ledger.runs_per_job(w.state_dir)) == {("srv01", record.job_id): 1}
    assert ledger.stop_calls(w.state_dir) == []


def test_unexpected_error_mid_job_never_restores_state_under_a_writer(tmp_path: Path) -> None:
    w = manage_state_world(tmp_path)

    def bug() -> None:
        raise RuntimeError("a bug")

    w.on(EventKind.STARTED, bug)
    with pytest.raises(RuntimeError):
        w.run()
    assert group_of(w).status < 100
    assert not destination_disabled(w)
    assert len(StateJournal(tmp_path / "jbremote-state").entries()) == 1
