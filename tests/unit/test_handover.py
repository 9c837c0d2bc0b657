"""The lane hand-over: a job that ends triggers the next job of its lane, while its task still
holds the lane, when one look shows the next job may start at once; otherwise the next job's
own task does the usual preflight. Either way a job is triggered at most once and never beside
another writer.
"""

from __future__ import annotations

from pathlib import Path

from jbremote.cycle import handover
from jbremote.cycle.plan import plan_lanes
from jbremote.lifecycle.events import EventKind
from jbremote.lifecycle.result import Result
from jbremote.sim import ledger
from jbremote.sim.fleetspec import FleetSpec
from tests.unit.world import World


def lane_of(tmp_path: Path, servers: int = 2, manage_state: bool = False) -> World:
    spec = FleetSpec.uniform(servers, 1, duration=20.0, start_delay=2.0)
    w = World(tmp_path, spec, manage_state=manage_state)
    lanes, _ = plan_lanes(w.config)
    assert [len(lane.jobs) for lane in lanes] == [servers]
    w.cycle.plan(lanes)
    return w


def triggers(w: World, server: str) -> int:
    return ledger.triggers_per_job(w.state_dir)[(server, w.spec.server(server).job_id("job1"))]


def events_of(w: World, server: str) -> list[tuple[EventKind, str]]:
    return [(e.kind, e.message) for e in w.events if e.record.server == server]


def set_faults(w: World, server: str, **knobs: object) -> None:
    with w.store.edit(server) as state:
        for name, value in knobs.items():
            setattr(state.faults, name, value)


def test_the_next_job_is_triggered_at_the_hand_over_and_followed_by_its_own_task(
    tmp_path: Path,
) -> None:
    w = lane_of(tmp_path)
    assert w.run("srv01").result is Result.COMPLETED
    assert triggers(w, "srv02") == 1, "triggered while srv01's task still held the lane"
    assert events_of(w, "srv02") == [], "its events wait for its own task"
    before = len(ledger.calls(w.state_dir))
    record = w.run("srv02")
    assert record.result is Result.COMPLETED and not record.adopted
    assert triggers(w, "srv02") == 1 and w.runs("srv02") == 1
    made = [c["function"] for c in ledger.calls(w.state_dir)[before:] if c["server"] == "srv02"]
    assert "runBackupJobManually" not in made and "getBackupJob" not in made, made
    kinds = [k for k, _ in events_of(w, "srv02") if k is not EventKind.PROGRESS]
    assert kinds == [EventKind.TRIGGERED, EventKind.STARTED, EventKind.FINISHED]
    assert "hand-over" in events_of(w, "srv02")[0][1]
    assert w.max_writers() == {"nas1": 1}


def test_a_job_running_already_is_left_to_its_task_which_adopts_it(tmp_path: Path) -> None:
    w = lane_of(tmp_path)
    w.client("srv02").run_backup_job_manually(w.spec.server("srv02").job_id("job1"))
    w.cycle._hand_over(w.job("srv01", "job1"))
    assert triggers(w, "srv02") == 1, "not triggered again"
    record = w.run("srv02")
    assert record.result is Result.COMPLETED and record.adopted
    assert w.runs("srv02") == 1


def test_another_writer_on_the_target_keeps_the_next_job_waiting(tmp_path: Path) -> None:
    w = lane_of(tmp_path, servers=3)
    w.client("srv03").run_backup_job_manually(w.spec.server("srv03").job_id("job1"))
    w.cycle._hand_over(w.job("srv01", "job1"))
    assert triggers(w, "srv02") == 0
    record = w.run("srv02")
    assert record.result is Result.COMPLETED and record.waited_for_target > 0
    assert w.max_writers() == {"nas1": 1}


def test_no_hand_over_while_the_cycle_stops(tmp_path: Path) -> None:
    w = lane_of(tmp_path)
    w.cycle.stop.set()
    before = len(ledger.calls(w.state_dir))
    w.cycle._hand_over(w.job("srv01", "job1"))
    assert ledger.calls(w.state_dir)[before:] == []
    assert w.run("srv02").result is Result.SKIPPED


def test_no_hand_over_when_destination_state_is_managed(tmp_path: Path) -> None:
    w = lane_of(tmp_path, manage_state=True)
    w.cycle._hand_over(w.job("srv01", "job1"))
    assert triggers(w, "srv02") == 0
    assert w.run("srv02").result is Result.COMPLETED and triggers(w, "srv02") == 1


def test_a_stop_after_the_hand_over_records_the_job_as_left_running(tmp_path: Path) -> None:
    w = lane_of(tmp_path)
    w.run("srv01")
    w.cycle.stop.set()
    record = w.run("srv02")
    assert record.result is Result.STILL_RUNNING, record.reason
    assert w.runs("srv02") == 1 and not ledger.stop_calls(w.state_dir)


def test_a_job_whose_task_never_ran_is_recorded_left_running(tmp_path: Path) -> None:
    w = lane_of(tmp_path)
    w.run("srv01")
    record = w.cycle.left_behind(w.job("srv02", "job1"))
    assert record is not None and record.result is Result.STILL_RUNNING
    assert "hand-over" in record.reason
    assert [k for k, _ in events_of(w, "srv02")] == [EventKind.TRIGGERED]
    assert w.cycle.left_behind(w.job("srv01", "job1")) is None


def test_a_refused_trigger_is_left_to_the_task_which_sends_it_again(tmp_path: Path) -> None:
    w = lane_of(tmp_path)
    set_faults(w, "srv02", fail_rate=1.0, fail_functions=["runBackupJobManually"])
    w.run("srv01")
    assert triggers(w, "srv02") == 1 and w.runs("srv02") == 0
    set_faults(w, "srv02", fail_rate=0.0)
    assert w.run("srv02").result is Result.COMPLETED
    assert triggers(w, "srv02") == 2 and w.runs("srv02") == 1


def test_an_unreadable_answer_to_the_trigger_is_confirmed_never_resent(tmp_path: Path) -> None:
    w = lane_of(tmp_path)
    set_faults(w, "srv02", garbage_rate=1.0, garbage_functions=["runBackupJobManually"])
    w.run("srv01")
    record = w.run("srv02")
    assert record.result is Result.COMPLETED
    assert triggers(w, "srv02") == 1 and w.runs("srv02") == 1
    assert "unreadable answer" in events_of(w, "srv02")[0][1]


def test_a_declined_hand_over_keeps_its_look_for_a_moment(tmp_path: Path) -> None:
    w = lane_of(tmp_path, manage_state=True)
    w.cycle._hand_over(w.job("srv01", "job1"))
    job = w.job("srv02", "job1")
    assert w.cycle.handovers.take_look(job, w.clock.now()) is not None
    w.cycle._hand_over(w.job("srv01", "job1"))
    later = w.clock.now() + handover.FRESH + 0.5
    assert w.cycle.handovers.take_look(job, later) is None, "stale: read again"
