"""A run's life through the API with a hand-driven clock: queued, processing, final status."""

from __future__ import annotations

from typing import Any

import pytest

from jbremote.sim.views import iso


def test_trigger_progresses_from_queued_to_processing_to_completed(sim: Any) -> None:
    t0 = sim.clock.now
    answer = sim.trigger()
    assert answer["success"] == 1
    assert answer["data"]["_id"] == sim.job_id()
    assert answer["data"]["running"] == 1

    (group,) = sim.groups()
    assert (group["status"], group["started"], group["ended"]) == (1, None, None)
    assert group["data"] == {"_id": sim.job_id()}
    assert group["created"] == iso(t0) == "2023-11-14T22:13:20+00:00"
    assert sim.call("getBackupJob", {"_id": sim.job_id()})["data"]["running"] == 1

    sim.clock.advance(40)  # started at t0+10, 30 % through
    (group,) = sim.groups()
    assert group["status"] == 2
    assert group["started"] == iso(t0 + 10)
    assert group["ended"] is None
    early = group["progress"]["percentage"]
    sim.clock.advance(40)
    (group,) = sim.groups()
    assert 0 < early < group["progress"]["percentage"] < 100
    assert group["items_completed"] < group["items"]

    sim.clock.advance(30)  # t0+110: ended
    (group,) = sim.groups()
    assert group["status"] == 100
    assert group["ended"] == iso(t0 + 110)
    assert group["items_completed"] == group["items"] == 3
    assert group["progress"]["percentage"] == 100
    job = sim.call("getBackupJob", {"_id": sim.job_id()})["data"]
    assert job["running"] == 0
    assert job["last_completed"] == iso(t0 + 110)


@pytest.mark.parametrize("outcome", [100, 101, 102, 103, 104])
def test_run_ends_with_the_configured_final_status(make_sim: Any, outcome: int) -> None:
    sim = make_sim(outcomes=[outcome])
    sim.trigger()
    sim.clock.advance(110)
    (group,) = sim.groups()
    assert group["status"] == outcome
    assert group["ended"] is not None
    items = sim.call("listQueueItems", {"group_id": group["_id"]})["data"]["items"]
    statuses = [i["status"] for i in items]
    expected = {
        100: [100, 100, 100],
        101: [100, 100, 102],
        102: [102, 102, 102],
        103: [103, 103, 103],
        104: [104, 104, 104],
    }
    assert statuses == expected[outcome]


def test_outcomes_are_used_in_turn_per_run(make_sim: Any) -> None:
    sim = make_sim(outcomes=[102, 100])
    for _ in range(3):
        sim.trigger()
        sim.clock.advance(200)
    assert [g["status"] for g in sim.groups(**{"sort[created]": 1})] == [102, 100, 102]


@pytest.mark.parametrize("wait", [0, 50])  # queued, processing
def test_retrigger_of_an_active_job_makes_no_second_run(sim: Any, wait: float) -> None:
    sim.trigger()
    sim.clock.advance(wait)
    again = sim.trigger()
    assert again["success"] == 1
    assert again["data"]["running"] == 1
    assert len(sim.groups()) == 1
    sim.clock.advance(200)
    sim.trigger()
    assert len(sim.groups()) == 2


def test_disabled_job_answers_short_success_and_never_runs(make_sim: Any) -> None:
    sim = make_sim(disabled=True)
    answer = sim.trigger()
    assert answer["success"] == 1
    assert not answer["data"]
    assert len(sim.run("runBackupJobManually", {"_id": sim.job_id()}).stdout) < 400
    sim.clock.advance(500)
    assert sim.groups() == []
    assert sim.call("getBackupJob", {"_id": sim.job_id()})["data"]["running"] == 0


def test_manage_backup_job_toggles_disabled(sim: Any) -> None:
    job_id = sim.job_id()
    reply = sim.call("manageBackupJob", {"_id": job_id, "action": "modify", "disabled": True})
    assert reply["data"]["disabled"] == 1
    sim.trigger()
    assert sim.groups() == []
    sim.call("manageBackupJob", {"_id": job_id, "action": "modify", "disabled": False})
    sim.trigger()
    assert len(sim.groups()) == 1


def test_never_starts_accepts_the_trigger_but_queues_nothing(make_sim: Any) -> None:
    sim = make_sim(never_starts=True)
    answer = sim.trigger()
    assert answer["success"] == 1
    assert answer["data"]["running"] == 1
    sim.clock.advance(60)
    assert sim.groups() == []
    assert sim.call("getBackupJob", {"_id": sim.job_id()})["data"]["running"] == 0


def test_hanging_run_never_ends_until_stopped(make_sim: Any) -> None:
    sim = make_sim(hangs=True)
    sim.trigger()
    sim.clock.advance(100_000)
    (group,) = sim.groups()
    assert (group["status"], group["ended"]) == (2, None)
    assert group["progress"]["percentage"] < 100
    stop = sim.call("stopQueueGroup", {"_id": group["_id"]})
    assert (stop["success"], stop["message"], stop["data"]) == (
        1,
        "Queue Group stop signal sent",
        [],
    )
    (group,) = sim.groups()
    assert group["status"] == 103
    assert group["ended"] == iso(sim.clock.now)


def test_stop_of_processing_group_aborts_it_at_that_moment(sim: Any) -> None:
    sim.trigger()
    sim.clock.advance(60)  # 50 s into a 100 s run: first account done, second in progress
    (group,) = sim.groups()
    sim.call("stopQueueGroup", {"_id": group["_id"]})
    stopped_at = sim.clock.now
    sim.clock.advance(1000)
    (group,) = sim.groups()
    assert (group["status"], group["ended"]) == (103, iso(stopped_at))
    items = sim.call("listQueueItems", {"group_id": group["_id"]})["data"]["items"]
    assert [i["status"] for i in items] == [100, 103, 103]
    assert sim.call("getBackupJob", {"_id": sim.job_id()})["data"]["running"] == 0


def test_stop_of_queued_group_aborts_it_before_it_starts(sim: Any) -> None:
    sim.trigger()
    (group,) = sim.groups()
    sim.call("stopQueueGroup", {"_id": group["_id"]})
    sim.clock.advance(500)
    (group,) = sim.groups()
    assert (group["status"], group["started"]) == (103, None)


def test_stop_of_finished_group_is_refused(sim: Any) -> None:
    sim.trigger()
    sim.clock.advance(500)
    (group,) = sim.groups()
    reply = sim.call("stopQueueGroup", {"_id": group["_id"]})
    assert reply["success"] == 0
    assert sim.groups()[0]["status"] == 100


def test_job_with_all_destinations_disabled_fails_when_it_starts(sim: Any) -> None:
    reply = sim.call("manageDestinationState", {"_id": sim.dest_id(), "disabled": True})
    assert reply["data"]["disabled"] == 1
    sim.trigger()
    (group,) = sim.groups()
    assert group["status"] == 1
    items = sim.call("listQueueItems", {"group_id": group["_id"]})["data"]["items"]
    assert [i["status"] for i in items] == [1, 1, 1]
    sim.clock.advance(10)
    (group,) = sim.groups()
    assert (group["status"], group["ended"]) == (102, iso(sim.clock.now))
    items = sim.call("listQueueItems", {"group_id": group["_id"]})["data"]["items"]
    assert [i["status"] for i in items] == [102, 102, 102]
    log = sim.call("getLog", {"_id": group["log_id"], "content": True})["data"]
    assert "disabled" in log["content"]

    sim.call("manageDestination", {"_id": sim.dest_id(), "action": "modify", "disabled": False})
    assert sim.call("getDestination", {"_id": sim.dest_id()})["data"]["disabled"] == 0
    sim.trigger()
    sim.clock.advance(200)
    assert sim.groups(**{"sort[created]": -1})[0]["status"] == 100
