"""Queue functions: listQueueGroups, getQueueGroup, listQueueItems, getQueueItem,
stopQueueGroup, stopAllQueueGroup, clearQueue.

Only backup queue groups (type 1) exist in the simulator; other types list empty. A stop takes
effect at once: the group ends as 103 aborted at that instant (the docs only promise a "stop
signal"). Stopping a group that has already finished answers ``success: 0`` (ASSUMPTION: the
docs say the function works on pending or processing groups, not what it does otherwise).
"""

from __future__ import annotations

from jbremote.sim import timeline
from jbremote.sim.functions.base import ApiError, Call, Reply, integer, page, required
from jbremote.sim.state import Run
from jbremote.sim.views import BACKUP_QUEUE_TYPE, group_object, item_objects

QUEUE_TYPES = (1, 2, 4, 8)  # backup, restore, download, reindex (docs §5)
STOP_MESSAGE = "Queue Group stop signal sent"
STOP_ALL_MESSAGE = "Stop signal sent to all queue groups"
CLEAR_MESSAGE = "Queue cleared successfully"


def _run(call: Call, param: str) -> Run:
    run = call.server.run_by_group(required(call, param))
    if run is None or run.cleared:
        raise ApiError("Queue Group not found")
    return run


def list_queue_groups(call: Call) -> Reply:
    queue_type = integer(call, "type", 0)
    if queue_type not in QUEUE_TYPES:
        raise ApiError("No valid queue type provided")
    runs = [r for r in call.server.runs if not r.cleared]
    if queue_type != BACKUP_QUEUE_TYPE:
        runs = []
    groups, total = page(call, [group_object(call.server, r, call.now) for r in runs])
    return Reply({"groups": groups, "total": total})


def get_queue_group(call: Call) -> Reply:
    group = group_object(call.server, _run(call, "_id"), call.now)
    return Reply({**group, "log_contents": ""})


def list_queue_items(call: Call) -> Reply:
    run = _run(call, "group_id")
    items, total = page(call, item_objects(call.server, run, call.now))
    return Reply({"items": items, "total": total})


def get_queue_item(call: Call) -> Reply:
    wanted = required(call, "_id")
    for run in call.server.runs:
        if run.cleared:
            continue
        for item in item_objects(call.server, run, call.now):
            if item["_id"] == wanted:
                return Reply(item)
    raise ApiError("Queue Item not found")


def _stop(run: Run, now: float) -> bool:
    if timeline.view(run, now).finished:
        return False
    run.stopped_at = now
    return True


def stop_queue_group(call: Call) -> Reply:
    if not _stop(_run(call, "_id"), call.now):
        raise ApiError("Queue Group is not pending or processing")
    return Reply([], STOP_MESSAGE)


def stop_all_queue_group(call: Call) -> Reply:
    for run in call.server.runs:
        _stop(run, call.now)
    return Reply([], STOP_ALL_MESSAGE)


def clear_queue(call: Call) -> Reply:
    """Hide every finished group from the queue; runs and logs stay (docs: clearQueue)."""
    for run in call.server.runs:
        if timeline.view(run, call.now).finished:
            run.cleared = True
    return Reply([], CLEAR_MESSAGE)
