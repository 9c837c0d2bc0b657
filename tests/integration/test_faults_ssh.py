"""Faults of real SSH while a job runs: one real OpenSSH sshd per simulated JetBackup server.

The cycle (:class:`jbremote.cycle.runner.Cycle`, without Prefect) talks to each server through
the production SSH transport; the simulator runs as the sshd's forced command. The test kills
connections, restarts or stops sshd, rotates host keys and revokes our key while a job runs,
and judges only by the simulator's ledger and call log: one writer per target, one successful
trigger and one run per job, no stop call, one final record per job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jbremote.config import load_config
from jbremote.cycle.connections import connection_pool
from jbremote.cycle.runner import Cycle
from jbremote.lifecycle.clock import FakeClock
from jbremote.lifecycle.events import EventKind, JobEvent
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.sim import ledger, timeline
from jbremote.sim.fleetspec import DestinationSpec, FleetSpec, JobSpec, ServerSpec
from tests.end_to_end.conftest import SshdFleet
from tests.sshd_harness import SshdServer, require_sshd

pytestmark = [pytest.mark.sshd, pytest.mark.slow]


def spec_of(*servers: tuple[str, str, float], hangs: bool = False) -> FleetSpec:
    """One job ``job1`` of ``duration`` seconds per (server, target, duration)."""
    specs = [
        ServerSpec(
            name,
            [DestinationSpec("nas", target)],
            [JobSpec("job1", ["nas"], duration=duration, start_delay=0.2, hangs=hangs)],
        )
        for name, target, duration in servers
    ]
    return FleetSpec(specs, orchestration={"poll_interval": 0.5, "startup_timeout": 20.0})


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Callable[..., SshdFleet]]:
    require_sshd()
    made: list[SshdFleet] = []

    def start(spec: FleetSpec, **ssh: Any) -> SshdFleet:
        fleet = SshdFleet(spec, tmp_path / f"fleet{len(made)}")
        made.append(fleet)
        data = yaml.safe_load(fleet.config_path.read_text())
        data["ssh_defaults"].update(connect_timeout=5.0, command_timeout=20.0, **ssh)
        data["orchestration"]["state_dir"] = str(tmp_path / "jbremote-state")
        fleet.config_path.write_text(yaml.safe_dump(data))
        return fleet

    yield start
    for fleet in made:
        fleet.stop()


class Runner:
    """Runs jobs of a cycle in threads; calls ``act`` on each event (in the job's thread)."""

    def __init__(self, fleet: SshdFleet, clock: Any = None) -> None:
        self.fleet = fleet
        self.config = load_config(fleet.config_path)
        self.events: list[JobEvent] = []
        self.actions: list[tuple[EventKind, str, Callable[[], None]]] = []
        self.pool = connection_pool(self.config)
        self.cycle = Cycle(self.config, self.pool.get, emit=self._emit, clock=clock)

    def _emit(self, event: JobEvent) -> None:
        self.events.append(event)
        for entry in list(self.actions):
            kind, server, action = entry
            if event.kind is kind and event.record.server == server:
                self.actions.remove(entry)
                action()

    def on(self, kind: EventKind, server: str, action: Callable[[], None]) -> None:
        self.actions.append((kind, server, action))

    def run(self, *servers: str, timeout: float = 60.0) -> dict[str, JobRecord]:
        records: dict[str, JobRecord] = {}

        def one(server: str) -> None:
            job = self.config.job(self.fleet.spec.server(server).job_id("job1"))
            records[server] = self.cycle.run_job(job)

        threads = [threading.Thread(target=one, args=(s,), daemon=True) for s in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        self.pool.close_all()
        assert set(records) == set(servers), f"jobs still running after {timeout} s"
        return records

    def kinds(self, server: str) -> list[EventKind]:
        return [e.kind for e in self.events if e.record.server == server]

    def message(self, kind: EventKind, server: str) -> str:
        return next(e.message for e in self.events if e.kind is kind and e.record.server == server)


def assert_ledger(fleet: SshdFleet, ran: list[str], failed: tuple[str, ...] = ()) -> None:
    state = fleet.state_dir
    assert set(ledger.max_writers(state, fleet.spec.target_of()).values()) <= {1}
    ok = [c for c in ledger.calls(state, "runBackupJobManually") if c["success"]]
    assert sorted(c["server"] for c in ok) == sorted(ran), "one successful trigger per job"
    assert sorted(s for s, _ in ledger.runs_per_job(state)) == sorted(ran), "one run per job"
    assert ledger.stop_calls(state) == []
    for server in failed:
        assert not ledger.calls(state, "runBackupJobManually") or all(
            c["server"] != server for c in ledger.calls(state, "runBackupJobManually")
        )


def run_end(fleet: SshdFleet, server: str) -> Any:
    """When the job's run really ended, as JetBackup reports it (whole seconds)."""
    end = timeline.planned_end(fleet.store.load(server).runs[-1])
    assert end is not None
    return pytest.approx(end, abs=1.0)


def trust_current_keys(sshd: SshdServer) -> None:
    """What ``jbremote trust`` does after a legitimate key change: known_hosts gets the new key."""
    lines = []
    for path in sshd.host_keys.values():
        key_type, blob = Path(f"{path}.pub").read_text().split()[:2]
        lines.append(f"[127.0.0.1]:{sshd.port} {key_type} {blob}\n")
    sshd.known_hosts.write_text("".join(lines))


# -- connection trouble mid-job -----------------------------------------------------------------
def test_connections_dropped_mid_poll_reconnect_and_the_job_is_not_triggered_again(
    fleet: Callable[..., SshdFleet],
) -> None:
    f = fleet(spec_of(("srv01", "nas1", 4.0)))
    runner = Runner(f)

    def drop_twice() -> None:
        time.sleep(0.8)
        assert f.sshd["srv01"].drop_connections() >= 1
        time.sleep(1.0)
        f.sshd["srv01"].drop_connections()

    runner.on(
        EventKind.STARTED, "srv01", lambda: threading.Thread(target=drop_twice, daemon=True).start()
    )
    record = runner.run("srv01")["srv01"]

    assert record.result is Result.COMPLETED, record.reason
    assert record.ended_at == run_end(f, "srv01")
    assert ledger.connections_per_server(f.state_dir)["srv01"] >= 2, "it reconnected"
    assert runner.kinds("srv01").count(EventKind.FINISHED) == 1
    assert_ledger(f, ["srv01"])


def test_sshd_restarted_mid_job_reconnects_and_keeps_polling(
    fleet: Callable[..., SshdFleet],
) -> None:
    f = fleet(spec_of(("srv01", "nas1", 4.0), ("srv02", "nas1", 1.0)))
    runner = Runner(f)
    runner.on(EventKind.STARTED, "srv01", f.sshd["srv01"].restart)
    records = runner.run("srv01")
    records |= runner.run("srv02")

    assert {r.result for r in records.values()} == {Result.COMPLETED}
    assert records["srv01"].ended_at == run_end(f, "srv01")
    assert ledger.connections_per_server(f.state_dir)["srv01"] >= 2
    assert_ledger(f, ["srv01", "srv02"])


def test_sshd_down_for_a_while_mid_job_loses_contact_once_and_holds_the_lane(
    fleet: Callable[..., SshdFleet],
) -> None:
    f = fleet(spec_of(("srv01", "nas1", 6.0)), connect_retries=0)
    runner = Runner(f)
    sshd = f.sshd["srv01"]

    def outage() -> None:
        sshd.stop()
        threading.Timer(3.0, sshd.start).start()

    runner.on(EventKind.STARTED, "srv01", outage)
    record = runner.run("srv01")["srv01"]

    assert record.result is Result.COMPLETED and record.ended_at == run_end(f, "srv01")
    assert runner.kinds("srv01").count(EventKind.CONTACT_LOST) == 1
    assert runner.kinds("srv01").count(EventKind.CONTACT_RESTORED) == 1
    lost = runner.message(EventKind.CONTACT_LOST, "srv01")
    assert "Connection refused" in lost and "still holding nas1" in lost
    assert_ledger(f, ["srv01"])


def test_host_key_changed_mid_job_holds_the_lane_until_the_key_is_trusted(
    fleet: Callable[..., SshdFleet],
) -> None:
    f = fleet(spec_of(("srv01", "nas1", 3.0)))
    runner = Runner(f)
    sshd = f.sshd["srv01"]
    runner.on(EventKind.STARTED, "srv01", sshd.rotate_host_keys)
    # The operator checks the new key and trusts it a few seconds later.
    runner.on(
        EventKind.CONTACT_LOST,
        "srv01",
        lambda: threading.Timer(2.0, trust_current_keys, (sshd,)).start(),
    )
    record = runner.run("srv01")["srv01"]

    lost = runner.message(EventKind.CONTACT_LOST, "srv01")
    assert "persistent" in lost and "HOST KEY CHANGED" in lost
    assert record.result is Result.COMPLETED and record.ended_at == run_end(f, "srv01")
    restored = next(e for e in runner.events if e.kind is EventKind.CONTACT_RESTORED)
    assert restored.record is record
    assert_ledger(f, ["srv01"])


# -- servers that cannot be used from the start -----------------------------------------------------
def test_down_unauthorised_and_changed_key_servers_fail_with_the_cause_the_rest_runs(
    fleet: Callable[..., SshdFleet],
) -> None:
    f = fleet(
        spec_of(
            ("srv01", "nas1", 1.0),
            ("down", "nas1", 1.0),
            ("nokey", "nas1", 1.0),
            ("newkey", "nas1", 1.0),
        ),
        connect_retries=1,
    )
    f.sshd["down"].stop()
    stranger = f.sshd["nokey"].add_client_key("stranger", authorize=False)
    f.sshd["nokey"].authorized_keys.write_text(Path(f"{stranger}.pub").read_text())
    f.sshd["newkey"].rotate_host_keys()
    # A fake clock: the bounded retries against the dead server cost no real time.
    runner = Runner(f, clock=FakeClock(start=time.time()))
    started = time.monotonic()
    records = runner.run("down", "nokey", "newkey")
    records |= runner.run("srv01")

    assert time.monotonic() - started < 30
    assert records["srv01"].result is Result.COMPLETED
    causes = {s: records[s].reason for s in ("down", "nokey", "newkey")}
    assert {records[s].result for s in causes} == {Result.FAILED}, causes
    assert "Connection refused" in causes["down"]
    assert "refused key" in causes["nokey"]
    assert "HOST KEY CHANGED" in causes["newkey"]
    notes = " ".join(records["srv01"].notes)
    assert all(f"could not check {s} for other writers" in notes for s in causes)
    assert f.sshd["nokey"].accepted_logins() == 0
    assert_ledger(f, ["srv01"], failed=("down", "nokey", "newkey"))


# -- a hanging job, as `jbremote status` shows it -------------------------------------------------------
def test_hanging_job_warns_holds_its_target_and_shows_in_status(
    fleet: Callable[..., SshdFleet],
) -> None:
    from typer.testing import CliRunner

    from jbremote.cli.main import app

    f = fleet(spec_of(("srv01", "nas1", 1.0), hangs=True))
    data = yaml.safe_load(f.config_path.read_text())
    data["jobs"][0]["timeout"] = 1.5
    f.config_path.write_text(yaml.safe_dump(data))
    runner = Runner(f)
    seen: dict[str, Any] = {}

    def look_then_end() -> None:
        result = CliRunner().invoke(app, ["status", "--json", "-c", str(f.config_path)])
        seen["exit"], seen["out"] = result.exit_code, result.stdout
        with f.store.edit("srv01") as state:  # JetBackup finishes it 2 s from now
            run = state.runs[-1]
            run.hangs, run.duration = False, time.time() + 2.0 - run.start_at

    runner.on(EventKind.TIMED_OUT, "srv01", look_then_end)
    record = runner.run("srv01")["srv01"]

    import json

    status = json.loads(seen["out"])
    assert seen["exit"] == 0
    (target,) = status["targets"]
    assert [(h["server"], h["label"]) for h in target["holders"]] == [("srv01", "job1")]
    assert status["jobs"][0]["running"] is True
    assert runner.kinds("srv01").count(EventKind.TIMED_OUT) == 1
    assert record.result is Result.COMPLETED and record.timed_out
    assert record.ended_at == run_end(f, "srv01")
    assert_ledger(f, ["srv01"])
