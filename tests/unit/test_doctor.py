"""``jbremote doctor`` without Prefect: zombie rules, the journal, servers, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jbremote.config import Config
from jbremote.doctor import (
    Report,
    RunFacts,
    TaskFacts,
    check_journal_and_servers,
    diagnose,
    zombie_reason,
)
from jbremote.lifecycle.journal import Change, StateJournal
from jbremote.sim.fleetspec import DestinationSpec, FleetSpec, JobSpec, ServerSpec
from tests.unit.cli.conftest import jbremote, write_config
from tests.unit.cli.fleet import T0, Fleet

MIN = 60.0


# -- what a zombie is ------------------------------------------------------------------------------
def task(state: str, changed: float = T0, holds_slot: bool = False) -> TaskFacts:
    return TaskFacts("nas1: srv01/job1", state, changed, holds_slot)


@pytest.mark.parametrize(
    ("tasks", "heartbeat", "quiet_for", "zombie"),
    [
        # nothing waits or runs, nothing happened for long: the flow is stuck
        ([task("COMPLETED")], None, 20 * MIN, True),
        ([], T0, 20 * MIN, True),
        # ... but not before stale_after
        ([task("COMPLETED")], None, 10 * MIN, False),
        # a job holding its lane slot is alive, however long it runs
        ([task("RUNNING", holds_slot=True)], None, 600 * MIN, False),
        ([task("RUNNING", holds_slot=True)], T0, 600 * MIN, False),
        # heartbeats stopped and the running task holds no slot: the process is gone
        ([task("RUNNING")], T0, 20 * MIN, True),
        ([task("PENDING")], T0, 20 * MIN, True),
        # without heartbeats nothing tells a waiting/running task from a dead one
        ([task("RUNNING")], None, 600 * MIN, False),
        ([task("PENDING")], None, 600 * MIN, False),
    ],
)
def test_zombie_rule(
    tasks: list[TaskFacts], heartbeat: float | None, quiet_for: float, zombie: bool
) -> None:
    run = RunFacts("id", "merry-otter", T0, tasks, heartbeat)
    reason = zombie_reason(run, T0 + quiet_for, stale_after=15 * MIN)
    assert (reason is not None) is zombie, reason


def test_a_recent_heartbeat_or_state_change_keeps_a_run_alive() -> None:
    run = RunFacts("id", "merry-otter", T0, [task("RUNNING")], last_heartbeat=T0 + 50 * MIN)
    assert zombie_reason(run, T0 + 60 * MIN, stale_after=15 * MIN) is None
    run = RunFacts("id", "merry-otter", T0, [task("COMPLETED", changed=T0 + 55 * MIN)])
    assert zombie_reason(run, T0 + 60 * MIN, stale_after=15 * MIN) is None


def test_zombie_reason_says_why() -> None:
    run = RunFacts("id", "merry-otter", T0, [task("RUNNING")], last_heartbeat=T0)
    reason = zombie_reason(run, T0 + 20 * MIN, stale_after=15 * MIN)
    assert reason is not None and "no heartbeat for 20 min" in reason and "hold no slot" in reason


# -- the journal and the servers -------------------------------------------------------------------
def fleet_with_journal(tmp_path: Path) -> tuple[Fleet, Config, StateJournal]:
    spec = FleetSpec(
        [
            ServerSpec(
                "srv01",
                [DestinationSpec("nas", "nas1", disabled=False)],
                [JobSpec("job1", ["nas"]), JobSpec("job2", ["nas"])],
            ),
            ServerSpec("srv02", [DestinationSpec("nas", "nas1")], [JobSpec("job1", ["nas"])]),
            ServerSpec("srv03", [DestinationSpec("nas", "nas2")], [JobSpec("job1", ["nas"])]),
        ]
    )
    fleet = Fleet(spec, tmp_path)
    state_dir = tmp_path / "jbremote-state"
    orchestration = fleet.config.orchestration.model_copy(update={"state_dir": state_dir})
    config = fleet.config.model_copy(update={"orchestration": orchestration})
    return fleet, config, StateJournal(state_dir)


def left_enabled(fleet: Fleet, journal: StateJournal, server: str, job: str = "job1") -> Change:
    """What a killed run leaves: the destination enabled, the journal saying it was disabled."""
    dest = fleet.spec.server(server).destination_id("nas")
    change = Change(server, "destination", dest, fleet.job_id(server, job), True, T0)
    journal.record(change)
    return change


def disabled(fleet: Fleet, server: str) -> bool:
    return (
        fleet.client(server)
        .get_destination(fleet.spec.server(server).destination_id("nas"))
        .disabled
    )


def test_journal_entry_of_an_ended_job_is_listed_then_restored_with_fix(tmp_path: Path) -> None:
    fleet, config, journal = fleet_with_journal(tmp_path)
    left_enabled(fleet, journal, "srv02")

    report = Report(fix=False, prefect_checked=False)
    check_journal_and_servers(config, report, fix=False, factory=fleet.transport)
    (entry,) = report.journal
    assert (entry.server, entry.status, entry.prior_disabled) == ("srv02", "restorable", True)
    assert not disabled(fleet, "srv02") and len(journal.entries()) == 1, "nothing changed yet"

    report = Report(fix=True, prefect_checked=False)
    check_journal_and_servers(config, report, fix=True, factory=fleet.transport)
    assert report.journal[0].status == "restored" and report.ok
    assert report.actions == [f"restored destination {entry.object_id} on srv02 to disabled"]
    assert disabled(fleet, "srv02") and journal.entries() == []


def test_journal_entries_under_a_writer_or_unreachable_are_left_alone(tmp_path: Path) -> None:
    fleet, config, journal = fleet_with_journal(tmp_path)
    left_enabled(fleet, journal, "srv01", "job1")
    fleet.trigger("srv01", "job1")  # its job still runs
    left_enabled(fleet, journal, "srv02")
    fleet.trigger("srv02")  # another run of the same job: still running
    left_enabled(fleet, journal, "srv03")
    fleet.down.add("srv03")

    report = Report(fix=True, prefect_checked=False)
    check_journal_and_servers(config, report, fix=True, factory=fleet.transport)

    status = {j.server: j.status for j in report.journal}
    assert status["srv01"] == "job running" and status["srv02"] == "job running"
    assert status["srv03"].startswith("server unreachable: cannot connect")
    assert report.actions == [] and len(journal.entries()) == 3
    assert not disabled(fleet, "srv01") and not disabled(fleet, "srv02")
    assert [(s.name, s.reachable) for s in report.servers] == [
        ("srv01", True),
        ("srv02", True),
        ("srv03", False),
    ]
    assert not report.ok and len(report.problems) == 4


def test_destination_shared_with_another_running_job_is_not_disabled(tmp_path: Path) -> None:
    fleet, config, journal = fleet_with_journal(tmp_path)
    left_enabled(fleet, journal, "srv01", "job1")
    fleet.trigger("srv01", "job2")  # job1 ended, but job2 writes to the same destination

    report = Report(fix=True, prefect_checked=False)
    check_journal_and_servers(config, report, fix=True, factory=fleet.transport)
    assert report.journal[0].status == "destination in use by a running job"
    assert not disabled(fleet, "srv01") and len(journal.entries()) == 1


@pytest.mark.parametrize("why", ["live cycle", "prefect error"])
def test_no_journal_restore_while_a_cycle_may_be_using_it(tmp_path: Path, why: str) -> None:
    fleet, config, journal = fleet_with_journal(tmp_path)
    left_enabled(fleet, journal, "srv02")
    report = Report(fix=True, prefect_checked=True)
    if why == "live cycle":
        report.live_cycles = ["merry-otter"]
    else:
        report.prefect_error = "ConnectError: refused"

    check_journal_and_servers(config, report, fix=True, factory=fleet.transport)
    assert report.journal[0].status == "restorable" and report.actions == []
    assert "not restored" in report.notes[0]
    assert not disabled(fleet, "srv02") and len(journal.entries()) == 1


def test_without_prefect_doctor_checks_the_rest_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet, config, _ = fleet_with_journal(tmp_path)
    monkeypatch.setattr("jbremote.doctor.prefect_url", lambda: None)
    report = diagnose(config, factory=fleet.transport)
    assert not report.prefect_checked and report.ok
    assert "PREFECT_API_URL is not set" in report.notes[0]
    assert report.journal == [] and all(s.reachable for s in report.servers)


# -- the command -------------------------------------------------------------------------------------
def test_cli_doctor_json_and_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    fleet, config, journal = fleet_with_journal(tmp_path)
    monkeypatch.setattr("jbremote.doctor.prefect_url", lambda: None)
    monkeypatch.setattr("jbremote.remote.ssh_transport", fleet.transport)
    path = write_config(tmp_path / "jbremote.yaml", yaml.safe_load(config.model_dump_json()))

    clean = jbremote("doctor", "--json", "-c", str(path))
    assert clean.exit_code == 0, clean.stderr
    data = json.loads(clean.stdout)
    assert data["ok"] is True and data["problems"] == [] and data["prefect_checked"] is False

    change = left_enabled(fleet, journal, "srv02")
    found = jbremote("doctor", "-c", str(path))
    assert found.exit_code == 3
    assert "restorable" in found.stdout and "1 problem(s) left" in found.stdout
    assert "jbremote doctor --fix" in found.stdout

    fixed = jbremote("doctor", "--fix", "--json", "-c", str(path))
    assert fixed.exit_code == 0, fixed.stdout
    data = json.loads(fixed.stdout)
    assert data["actions"] == [f"restored destination {change.object_id} on srv02 to disabled"]
    assert data["journal"][0]["status"] == "restored"

    fleet.down.add("srv03")
    down = jbremote("doctor", "--json", "-c", str(path))
    assert down.exit_code == 3
    assert json.loads(down.stdout)["problems"] == ["server srv03 unreachable"]


def test_cli_doctor_bad_config_is_exit_2(tmp_path: Path) -> None:
    bad = write_config(tmp_path / "bad.yaml", {"servers": {}, "jobs": [{"id": "nope"}]})
    result = jbremote("doctor", "-c", str(bad))
    assert result.exit_code == 2 and "config problem" in result.stderr
