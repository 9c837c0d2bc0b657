"""List and get functions: paging, sorting, filters, the group → job → log links."""

from __future__ import annotations

from typing import Any

from jbremote.jetbackup.command import ID_PATTERN


def _three_runs(sim: Any) -> list[str]:
    """Run job1, job2, job1 one after another; return the group ids, oldest first."""
    for job in ("job1", "job2", "job1"):
        sim.trigger(job)
        sim.clock.advance(200)
    return [g["_id"] for g in sim.groups(**{"sort[created]": 1})]


def test_list_queue_groups_sorts_limits_and_skips(sim: Any) -> None:
    ids = _three_runs(sim)
    assert len(set(ids)) == 3
    newest = sim.call("listQueueGroups", {"type": 1, "sort[created]": -1, "limit": 2})["data"]
    assert [g["_id"] for g in newest["groups"]] == ids[::-1][:2]
    assert newest["total"] == 3
    skipped = sim.groups(**{"sort[created]": -1, "skip": 2})
    assert [g["_id"] for g in skipped] == [ids[0]]


def test_list_queue_groups_requires_a_valid_type(sim: Any) -> None:
    _three_runs(sim)
    out = sim.run("listQueueGroups")
    assert out.exit_status == 0
    reply = sim.call("listQueueGroups")
    assert reply["success"] == 0
    assert reply["message"]
    assert sim.call("listQueueGroups", {"type": 2})["data"] == {"groups": [], "total": 0}
    assert sim.call("listQueueGroups", {"type": 3})["success"] == 0


def test_get_queue_group_returns_the_group_with_log_contents(sim: Any) -> None:
    sim.trigger()
    (group,) = sim.groups()
    got = sim.call("getQueueGroup", {"_id": group["_id"]})["data"]
    assert got["_id"] == group["_id"]
    assert got["log_file"].endswith(f"/queue/1_{group['_id']}.log")
    assert "log_contents" in got
    item = sim.call("listQueueItems", {"group_id": group["_id"]})["data"]["items"][0]
    # The client validates every id it sends back (stopQueueGroup, getLog, …).
    for some_id in (got["_id"], got["log_id"], item["_id"], got["progress"]["_id"]):
        assert ID_PATTERN.match(some_id), some_id
    assert sim.call("getQueueGroup", {"_id": "0" * 24})["success"] == 0


def test_list_backup_jobs_pages_and_counts(sim: Any) -> None:
    data = sim.call("listBackupJobs")["data"]
    assert data["total"] == 2
    assert [j["name"] for j in data["jobs"]] == ["job1", "job2"]
    assert data["jobs"][0]["destination_details"][0]["_id"] == sim.dest_id()
    page = sim.call("listBackupJobs", {"limit": 1, "skip": 1})["data"]
    assert ([j["name"] for j in page["jobs"]], page["total"]) == (["job2"], 2)


def test_list_destinations_and_unknown_ids(sim: Any) -> None:
    data = sim.call("listDestinations")["data"]
    assert {d["name"] for d in data["destinations"]} == {"nas", "other"}
    assert data["total"] == 2
    assert data["destinations"][0]["type"] == "Localv2"
    assert sim.call("getBackupJob", {"_id": "0" * 24})["success"] == 0
    assert sim.call("getDestination", {"_id": "0" * 24})["success"] == 0


def test_logs_link_to_the_job_and_carry_items(sim: Any) -> None:
    ids = _three_runs(sim)
    job_logs = sim.call(
        "listLogs",
        {
            "find[type]": 1,
            "find[info.ID]": sim.job_id("job1"),
            "sort[start_time]": -1,
            "limit": 1,
        },
    )["data"]
    assert job_logs["total"] == 2
    (log,) = job_logs["logs"]
    newest_group = sim.call("getQueueGroup", {"_id": ids[2]})["data"]
    assert log["_id"] == newest_group["log_id"]
    assert log["info"]["ID"] == sim.job_id("job1")
    assert log["status"] == 1

    full = sim.call("getLog", {"_id": log["_id"], "content": True})["data"]
    assert "Backup job finished: Completed" in full["content"]
    assert "content" not in sim.call("getLog", {"_id": log["_id"]})["data"]

    items = sim.call("listLogItems", {"log_id": log["_id"]})["data"]
    assert items["total"] == 3
    first = items["items"][0]
    assert (first["status"], first["group_id"]) == (100, ids[2])
    item = sim.call("getLogItem", {"log_id": log["_id"], "_id": first["_id"]})["data"]
    assert item["data"]["account"] == "acct01"
    assert sim.call("getLogItem", {"_id": first["_id"]})["success"] == 0


def test_log_of_a_running_job_grows_with_time(sim: Any) -> None:
    sim.trigger()
    (group,) = sim.groups()
    before = sim.call("getLog", {"_id": group["log_id"], "content": True})["data"]
    sim.clock.advance(60)
    during = sim.call("getLog", {"_id": group["log_id"], "content": True})["data"]
    assert before["status"] == during["status"] == 0
    assert before["end_time"] is None
    assert len(during["content"]) > len(before["content"])
    assert "acct01" in during["content"]
    assert "acct02" not in during["content"]


def test_queue_items_show_each_account_in_its_slice(sim: Any) -> None:
    sim.trigger()
    (group,) = sim.groups()
    sim.clock.advance(60)
    items = sim.call("listQueueItems", {"group_id": group["_id"]})["data"]["items"]
    assert [i["status"] for i in items] == [100, 2, 1]
    got = sim.call("getQueueItem", {"_id": items[1]["_id"]})["data"]
    assert got["data"]["account"] == "acct02"


def test_clear_queue_hides_finished_groups_but_keeps_logs(sim: Any) -> None:
    _three_runs(sim)
    sim.trigger()
    reply = sim.call("clearQueue")
    assert reply["message"] == "Queue cleared successfully"
    assert [g["status"] for g in sim.groups()] == [1]
    assert sim.call("listLogs")["data"]["total"] == 4


def test_stop_all_queue_groups_aborts_every_active_group(sim: Any) -> None:
    sim.trigger("job1")
    sim.trigger("job2")
    reply = sim.call("stopAllQueueGroup")
    assert reply["success"] == 1
    assert [g["status"] for g in sim.groups()] == [103, 103]


def test_manage_backup_job_create_adds_a_job(sim: Any) -> None:
    params = [("action", "create"), ("name", "new job"), ("destination[0]", sim.dest_id())]
    created = sim.call("manageBackupJob", params)["data"]
    assert created["name"] == "new job"
    assert created["destination"] == [sim.dest_id()]
    assert sim.call("listBackupJobs")["data"]["total"] == 3
    bad = sim.call("manageBackupJob", [("action", "create"), ("name", "x")])
    assert bad["success"] == 0
    assert sim.call("manageBackupJob", {"action": "rename"})["success"] == 0
