"""Log functions: listLogs, getLog (``content=1`` adds the text as ``content``), listLogItems,
getLogItem (needs ``log_id`` and ``_id``).

Every run has a log from the moment it is queued; ``clearQueue`` does not remove logs.
"""

from __future__ import annotations

from jbremote.sim.functions.base import ApiError, Call, Reply, boolean, page, required
from jbremote.sim.state import Run
from jbremote.sim.views import item_objects, log_object, log_text


def _run(call: Call, param: str) -> Run:
    run = call.server.run_by_log(required(call, param))
    if run is None:
        raise ApiError("Log not found")
    return run


def list_logs(call: Call) -> Reply:
    logs, total = page(call, [log_object(call.server, r, call.now) for r in call.server.runs])
    return Reply({"logs": logs, "total": total})


def get_log(call: Call) -> Reply:
    run = _run(call, "_id")
    log = log_object(call.server, run, call.now)
    if boolean(call, "content"):
        log["content"] = log_text(call.server, run, call.now)
    return Reply(log)


def list_log_items(call: Call) -> Reply:
    run = _run(call, "log_id")
    items, total = page(call, item_objects(call.server, run, call.now))
    return Reply({"items": items, "total": total})


def get_log_item(call: Call) -> Reply:
    run = _run(call, "log_id")
    wanted = required(call, "_id")
    for item in item_objects(call.server, run, call.now):
        if item["_id"] == wanted:
            return Reply(item)
    raise ApiError("Log Item not found")
