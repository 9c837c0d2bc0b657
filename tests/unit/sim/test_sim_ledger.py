"""Writer intervals and the maximum number of simultaneous writers per target."""

from __future__ import annotations

from typing import Any

from jbremote.sim import ledger
from jbremote.sim.ledger import WriterInterval, max_simultaneous

TARGETS = {("a", "d1"): "nas1", ("b", "d1"): "nas1", ("a", "d2"): "nas2"}


def _iv(server: str, dest: str, start: float, end: float | None) -> WriterInterval:
    return WriterInterval(server, "j" * 24, f"g{start}", (dest,), start, end)


def test_overlapping_intervals_on_one_target_count_twice() -> None:
    intervals = [_iv("a", "d1", 0, 10), _iv("b", "d1", 5, 15)]
    assert max_simultaneous(intervals, TARGETS) == {"nas1": 2}


def test_touching_intervals_do_not_overlap() -> None:
    intervals = [_iv("a", "d1", 0, 10), _iv("b", "d1", 10, 20), _iv("a", "d1", 20, 30)]
    assert max_simultaneous(intervals, TARGETS) == {"nas1": 1}


def test_targets_are_counted_separately_and_unmapped_destinations_ignored() -> None:
    intervals = [_iv("a", "d1", 0, 10), _iv("a", "d2", 0, 10), _iv("b", "d9", 0, 10)]
    assert max_simultaneous(intervals, TARGETS) == {"nas1": 1, "nas2": 1}


def test_open_interval_lasts_until_now() -> None:
    intervals = [_iv("a", "d1", 0, None), _iv("b", "d1", 50, 60)]
    assert max_simultaneous(intervals, TARGETS, now=40) == {"nas1": 1}
    assert max_simultaneous(intervals, TARGETS, now=55) == {"nas1": 2}


def test_three_way_peak_is_found_among_staggered_runs() -> None:
    intervals = [_iv("a", "d1", 0, 30), _iv("b", "d1", 10, 20), _iv("a", "d1", 15, 40)]
    assert max_simultaneous(intervals, TARGETS) == {"nas1": 3}


def _targets(sim: Any) -> dict[tuple[str, str], str]:
    return {("srv01", sim.dest_id("nas")): "nas1"}


def test_runs_of_a_server_give_writer_intervals(make_sim: Any) -> None:
    sim = make_sim(start_delay=0.0, duration=50.0)  # job1 and job2 both last 50 s
    sim.trigger("job1")
    sim.clock.advance(50)
    sim.trigger("job2")  # starts the instant job1 ends
    sim.clock.advance(100)
    state = sim.store.state_dir
    assert ledger.max_writers(state, _targets(sim), now=sim.clock.now) == {"nas1": 1}
    sim.trigger("job1")
    sim.clock.advance(10)
    sim.trigger("job2")
    assert ledger.max_writers(state, _targets(sim), now=sim.clock.now) == {"nas1": 2}
    intervals = ledger.writer_intervals(state)
    assert [(i.started, i.ended) for i in intervals[:2]] == [
        (sim.clock.now - 160, sim.clock.now - 110),
        (sim.clock.now - 110, sim.clock.now - 60),
    ]


def test_stopped_before_start_and_destination_failures_write_nothing(sim: Any) -> None:
    sim.trigger("job1")  # queued for 10 s
    (group,) = sim.groups()
    sim.call("stopQueueGroup", {"_id": group["_id"]})
    sim.call("manageDestinationState", {"_id": sim.dest_id(), "disabled": True})
    sim.trigger("job2")
    sim.clock.advance(100)
    assert ledger.writer_intervals(sim.store.state_dir) == []


def test_call_log_helpers_count_triggers_stops_and_connections(sim: Any) -> None:
    for port in (1000, 1000, 1001):
        sim.raw(
            f"jetbackup5api -F runBackupJobManually -D _id={sim.job_id()} -O json",
            connection=f"127.0.0.1 {port} 127.0.0.1 22",
        )
    (group,) = sim.groups()
    sim.call("stopQueueGroup", {"_id": group["_id"]})
    state = sim.store.state_dir
    assert ledger.triggers_per_job(state) == {("srv01", sim.job_id()): 3}
    assert ledger.runs_per_job(state) == {("srv01", sim.job_id()): 1}
    assert [c["params"]["_id"] for c in ledger.stop_calls(state)] == [group["_id"]]
    assert ledger.connections_per_server(state) == {"srv01": 2}
