"""The simulated API functions, by their JetBackup names.

Each module follows a section of the API docs (BackupJobs, Destinations, Queues, Logs).
:func:`dispatch` turns an :class:`~jbremote.sim.functions.base.ApiError` into ``success: 0``.
"""

from __future__ import annotations

from jbremote.sim.functions import destinations, jobs, logs, queues
from jbremote.sim.functions.base import ApiError, Call, Handler, Reply

FUNCTIONS: dict[str, Handler] = {
    "listBackupJobs": jobs.list_backup_jobs,
    "getBackupJob": jobs.get_backup_job,
    "runBackupJobManually": jobs.run_backup_job_manually,
    "manageBackupJob": jobs.manage_backup_job,
    "listDestinations": destinations.list_destinations,
    "getDestination": destinations.get_destination,
    "manageDestination": destinations.manage_destination,
    "manageDestinationState": destinations.manage_destination_state,
    "listQueueGroups": queues.list_queue_groups,
    "getQueueGroup": queues.get_queue_group,
    "listQueueItems": queues.list_queue_items,
    "getQueueItem": queues.get_queue_item,
    "stopQueueGroup": queues.stop_queue_group,
    "stopAllQueueGroup": queues.stop_all_queue_group,
    "clearQueue": queues.clear_queue,
    "listLogs": logs.list_logs,
    "getLog": logs.get_log,
    "listLogItems": logs.list_log_items,
    "getLogItem": logs.get_log_item,
}


def dispatch(call: Call, function: str) -> Reply:
    """Given a call and a function name, run the handler and return its reply.

    An unknown function or a bad parameter gives ``success: 0`` with a message (the real tool
    answers such calls with rc 0 too, per jetbackup-remote). The state in ``call.server`` may have
    changed; the caller saves it.
    """
    handler = FUNCTIONS.get(function)
    if handler is None:
        if function == "":
            # jetbackup-remote: `-F ""` lists the functions (format unknown; this is a guess).
            return Reply([], "No function provided. Available: " + ", ".join(FUNCTIONS), False)
        return Reply([], f"Function {function} not found", False)
    try:
        return handler(call)
    except ApiError as exc:
        return Reply([], str(exc), False)


__all__ = ["FUNCTIONS", "ApiError", "Call", "Reply", "dispatch"]
