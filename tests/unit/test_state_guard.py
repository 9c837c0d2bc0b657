"""Enabling a destination for a run and restoring exactly what was there, even after a crash."""

from __future__ import annotations

from pathlib import Path

from jbremote.lifecycle.events import EventKind
from jbremote.lifecycle.journal import StateJournal
from jbremote.lifecycle.result import Result
from jbremote.sim.fleetspec import DestinationSpec, FleetSpec, JobSpec, ServerSpec
from tests.unit.world import World


def world(tmp_path: Path, dest_disabled: bool = True, job_disabled: bool = False) -> World:
    server = ServerSpec(
        "srv01",
        [DestinationSpec("nas", "nas1", disabled=dest_disabled)],
        [JobSpec("job1", ["nas"], duration=100.0, start_delay=2.0, disabled=job_disabled)],
    )
    return World(tmp_path, FleetSpec([server]), manage_state=True)


def states(w: World) -> tuple[bool, bool]:
    client = w.client("srv01")
    dest = client.get_destination(w.spec.server("srv01").destination_id("nas"))
    job = client.get_backup_job(w.spec.server("srv01").job_id("job1"))
    return dest.disabled, job.disabled


def test_disabled_destination_and_job_are_enabled_for_the_run_then_restored(tmp_path: Path) -> None:
    w = world(tmp_path, job_disabled=True)
    record = w.run()
    assert record.result is Result.COMPLETED
    assert states(w) == (True, True)
    assert w.kinds().count(EventKind.STATE_CHANGED) == 2 and EventKind.STATE_RESTORED in w.kinds()
    assert StateJournal(tmp_path / "jbremote-state").entries() == []


def test_enabled_destination_is_left_alone(tmp_path: Path) -> None:
    w = world(tmp_path, dest_disabled=False)
    assert w.run().result is Result.COMPLETED
    assert states(w) == (False, False)
    assert EventKind.STATE_CHANGED not in w.kinds()


def test_state_is_not_restored_while_the_job_writes_and_a_later_run_restores_the_original(
    tmp_path: Path,
) -> None:
    w = world(tmp_path)
    journal = StateJournal(tmp_path / "jbremote-state")

    def stop_after_start(event: object) -> None:
        if getattr(event, "kind", None) is EventKind.STARTED:
            w.cycle.stop.set()

    w.cycle.emit = stop_after_start
    assert w.run().result is Result.STILL_RUNNING
    assert states(w) == (False, False), "never disabled while the job still writes"
    (left,) = journal.entries()
    assert (left.kind, left.prior_disabled) == ("destination", True)

    # A new process later: the job has ended; the next run takes over the journal entry.
    w.cycle.stop.clear()
    w.cycle.emit = w.events.append
    w.clock.advance(500)
    assert w.run().result is Result.COMPLETED
    assert states(w) == (True, False), "the state found before the first change is restored"
    assert journal.entries() == []
