"""The lane hand-off read: when a job ends, its successor's first reads are made at once.

The successor uses them only while fresh (``FRESH`` seconds), and never when the cycle is
stopping; otherwise it reads again. Either way it triggers at most once.
"""

from __future__ import annotations

from pathlib import Path

from jbremote.cycle import runner
from jbremote.cycle.plan import plan_lanes
from jbremote.lifecycle.result import Result
from jbremote.sim import ledger
from jbremote.sim.fleetspec import FleetSpec
from tests.unit.world import World


def two_in_a_lane(tmp_path: Path) -> World:
    spec = FleetSpec.uniform(2, 1, duration=20.0, start_delay=2.0)
    w = World(tmp_path, spec)
    lanes, _ = plan_lanes(w.config)
    assert [[j.server for j in lane.jobs] for lane in lanes] == [["srv01", "srv02"]]
    w.cycle.plan(lanes)
    return w


def wait_for_the_look(w: World, server: str = "srv02") -> None:
    key = (server, w.spec.server(server).job_id("job1"))
    w.cycle._looks[key][1].result(timeout=10)


def calls_on(w: World, server: str, since: int) -> list[str]:
    return [c["function"] for c in ledger.calls(w.state_dir)[since:] if c["server"] == server]


def test_successor_triggers_on_the_reads_made_at_the_hand_off(tmp_path: Path) -> None:
    w = two_in_a_lane(tmp_path)
    assert w.run("srv01").result is Result.COMPLETED
    wait_for_the_look(w)
    before = len(ledger.calls(w.state_dir))
    record = w.run("srv02")
    assert record.result is Result.COMPLETED
    made = calls_on(w, "srv02", before)
    assert made[0] == "runBackupJobManually", made
    assert ledger.triggers_per_job(w.state_dir).total() == 2
    assert w.max_writers() == {"nas1": 1}


def test_stale_reads_are_made_again(tmp_path: Path) -> None:
    w = two_in_a_lane(tmp_path)
    w.run("srv01")
    wait_for_the_look(w)
    w.clock.advance(runner.FRESH + 1.0)
    before = len(ledger.calls(w.state_dir))
    assert w.run("srv02").result is Result.COMPLETED
    made = calls_on(w, "srv02", before)
    assert made.index("getBackupJob") < made.index("runBackupJobManually"), made


def test_a_job_running_since_the_look_is_adopted_not_triggered(tmp_path: Path) -> None:
    """The look said idle; the job was queued from elsewhere right after. Still one run."""
    w = two_in_a_lane(tmp_path)
    w.run("srv01")
    wait_for_the_look(w)
    w.clock.advance(runner.FRESH + 0.5)
    w.client("srv02").run_backup_job_manually(w.spec.server("srv02").job_id("job1"))
    record = w.run("srv02")
    assert record.result is Result.COMPLETED and record.adopted
    assert w.runs("srv02") == 1


def test_no_look_while_the_cycle_stops(tmp_path: Path) -> None:
    w = two_in_a_lane(tmp_path)
    w.cycle.stop.set()
    before = len(ledger.calls(w.state_dir))
    w.cycle.prepare_successor(w.job("srv01", "job1"))
    assert not w.cycle._looks
    assert calls_on(w, "srv02", before) == []


def test_last_job_of_a_lane_has_no_successor(tmp_path: Path) -> None:
    w = two_in_a_lane(tmp_path)
    w.cycle.prepare_successor(w.job("srv02", "job1"))
    assert not w.cycle._looks
