"""The per-job lifecycle against the simulator, on a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from jbremote.lifecycle.events import EventKind
from jbremote.lifecycle.result import Result
from jbremote.sim import ledger
from jbremote.sim.fleetspec import FleetSpec
from tests.unit.world import World


def world(tmp_path: Path, servers: int = 1, jobs: int = 1, **knobs: object) -> World:
    orchestration = {
        k: knobs.pop(k)
        for k in list(knobs)
        if k in ("poll_interval", "startup_timeout", "job_timeout")
    }
    spec = FleetSpec.uniform(servers, jobs, **{"duration": 100.0, "start_delay": 2.0, **knobs})
    return World(tmp_path, spec, **orchestration)  # type: ignore[arg-type]


def test_job_completes_with_one_trigger_and_a_full_record(tmp_path: Path) -> None:
    w = world(tmp_path)
    record = w.run()
    assert record.result is Result.COMPLETED and record.reason == ""
    assert (record.status_code, record.status_meaning) == (100, "100 completed")
    assert record.group_id and record.log_id
    assert record.duration == pytest.approx(100.0, abs=1)
    assert w.runs() == 1 and not ledger.stop_calls(w.state_dir)
    kinds = [k for k in w.kinds() if k is not EventKind.PROGRESS]
    assert kinds == [EventKind.TRIGGERED, EventKind.STARTED, EventKind.FINISHED]
    assert record.ended_at is not None and w.clock.now() - record.ended_at <= 0.25 + 1e-6, (
        "the end is noticed within the fine poll spacing despite a 30 s poll interval"
    )
    # no hammering: a 100 s job at a 30 s interval, about a third of the polls in its last second
    assert len(ledger.calls(w.state_dir, "getQueueGroup")) <= 22


@pytest.mark.parametrize(
    ("code", "result"),
    [
        (101, Result.PARTIAL),
        (102, Result.FAILED),
        (103, Result.ABORTED),
        (104, Result.UNKNOWN_STATUS),
    ],
)
def test_final_status_decides_the_outcome_with_evidence(
    tmp_path: Path, code: int, result: Result
) -> None:
    w = world(tmp_path, outcomes=[code])
    record = w.run()
    assert record.result is result and record.status_code == code
    assert str(code) in record.reason
    assert record.notes, "the accounts that did not complete are listed"
    assert record.log_tail, "the log tail is fetched for anything but completed"


def test_job_ending_between_two_polls_counts_as_run(tmp_path: Path) -> None:
    w = world(tmp_path, duration=0.5, start_delay=0.1, poll_interval=300.0)
    record = w.run()
    assert record.result is Result.COMPLETED
    assert w.runs() == 1


def test_job_that_never_starts_fails_after_the_startup_timeout(tmp_path: Path) -> None:
    w = world(tmp_path, never_starts=True, startup_timeout=120.0)
    started = w.clock.now()
    record = w.run()
    assert record.result is Result.NOT_STARTED
    assert "no run appeared within 120 s" in record.reason
    assert 120 <= w.clock.now() - started <= 125
    assert ledger.triggers_per_job(w.state_dir).total() == 1


def test_disabled_job_is_not_triggered(tmp_path: Path) -> None:
    w = world(tmp_path, disabled=True)
    record = w.run()
    assert record.result is Result.FAILED and "disabled in JetBackup" in record.reason
    assert not ledger.triggers_per_job(w.state_dir)


def test_timeout_warns_once_and_keeps_waiting_for_the_real_end(tmp_path: Path) -> None:
    w = world(tmp_path, duration=1000.0, job_timeout=300.0)
    record = w.run()
    assert w.kinds().count(EventKind.TIMED_OUT) == 1
    assert record.result is Result.COMPLETED and record.timed_out
    assert record.overran_by == pytest.approx(700.0, abs=35)
    assert not ledger.stop_calls(w.state_dir)
    warning = next(e for e in w.events if e.kind is EventKind.TIMED_OUT)
    assert "keeps running" in warning.message


def test_running_job_is_adopted_not_triggered_again(tmp_path: Path) -> None:
    w = world(tmp_path)
    job = w.job("srv01", "job1")
    w.client("srv01").run_backup_job_manually(job.id)  # JetBackup's own schedule, say
    w.clock.advance(10)
    record = w.run()
    assert record.adopted and record.result is Result.COMPLETED
    assert ledger.triggers_per_job(w.state_dir)[("srv01", job.id)] == 1
    assert w.runs() == 1
    assert EventKind.ADOPTED in w.kinds() and EventKind.TRIGGERED not in w.kinds()


def test_lane_waits_for_another_writer_on_the_target_and_never_stops_it(tmp_path: Path) -> None:
    w = world(tmp_path, servers=2)
    other = w.job("srv02", "job1")
    w.client("srv02").run_backup_job_manually(other.id)
    record = w.run("srv01", "job1")
    assert record.result is Result.COMPLETED
    assert record.waited_for_target >= 90
    assert w.max_writers() == {"nas1": 1}
    assert not ledger.stop_calls(w.state_dir)
    waiting = next(e for e in w.events if e.kind is EventKind.WAITING_FOR_TARGET)
    assert "srv02/job1" in waiting.message


def test_unmanaged_job_on_the_same_destination_is_waited_for(tmp_path: Path) -> None:
    w = world(tmp_path, jobs=2)
    w.config.jobs.pop()  # job2 now belongs to JetBackup's own schedule only
    unmanaged = w.spec.server("srv01").job_id("job2")
    w.client("srv01").run_backup_job_manually(unmanaged)
    record = w.run("srv01", "job1")
    assert record.result is Result.COMPLETED and record.waited_for_target > 0
    assert w.max_writers() == {"nas1": 1}


def test_flaky_api_is_retried_and_the_job_runs_once(tmp_path: Path) -> None:
    w = world(tmp_path)
    with w.store.edit("srv01") as state:
        state.faults.fail_rate = 0.3
        state.faults.seed = 7
    record = w.run()
    assert record.result is Result.COMPLETED
    assert w.runs() == 1


def test_garbage_answer_to_the_trigger_is_settled_by_reading(tmp_path: Path) -> None:
    w = world(tmp_path)
    with w.store.edit("srv01") as state:
        state.faults.garbage_functions = ["runBackupJobManually"]
        state.faults.garbage_rate = 1.0
    record = w.run()
    assert record.result is Result.COMPLETED
    assert ledger.triggers_per_job(w.state_dir).total() == 1 and w.runs() == 1


def test_refused_trigger_is_retried_then_reported(tmp_path: Path) -> None:
    w = world(tmp_path)
    with w.store.edit("srv01") as state:
        state.faults.fail_functions = ["runBackupJobManually"]
        state.faults.fail_rate = 1.0
    record = w.run()
    assert record.result is Result.NOT_STARTED
    assert record.reason.startswith("JetBackup refused the trigger")
    assert ledger.triggers_per_job(w.state_dir).total() == 3 and w.runs() == 0


def test_unreachable_server_fails_the_job_with_the_cause(tmp_path: Path) -> None:
    w = world(tmp_path)
    with w.store.edit("srv01") as state:
        state.faults.garbage_rate = 1.0
        state.faults.garbage_kind = "html"
    record = w.run()
    assert record.result is Result.FAILED
    # the job and its target are read side by side: either read may report first
    assert record.reason.startswith(("getBackupJob:", "listQueueGroups:"))
    assert "not JSON" in record.reason
    assert not ledger.triggers_per_job(w.state_dir)


def test_stop_before_start_skips_and_stop_while_running_leaves_the_job_alone(
    tmp_path: Path,
) -> None:
    w = world(tmp_path, duration=1000.0)
    w.cycle.stop.set()
    assert w.run().result is Result.SKIPPED
    w.cycle.stop.clear()

    def stop_after_start(event: object) -> None:
        if getattr(event, "kind", None) is EventKind.STARTED:
            w.cycle.stop.set()

    w.cycle.emit = stop_after_start
    record = w.run()
    assert record.result is Result.STILL_RUNNING and "left running" in record.reason
    assert not ledger.stop_calls(w.state_dir)


def test_an_unreachable_peer_does_not_block_the_target_and_is_noted(tmp_path: Path) -> None:
    w = world(tmp_path, servers=2)
    with w.store.edit("srv02") as state:
        state.faults.garbage_rate = 1.0
    record = w.run("srv01", "job1")
    assert record.result is Result.COMPLETED
    assert any("could not check srv02 for other writers" in note for note in record.notes)
