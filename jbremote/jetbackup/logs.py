"""Log functions: list, get (with text), items (docs.jetbackup.com v5.3 Logs)."""

from __future__ import annotations

from jbremote.jetbackup.call import Call, parse_list, parse_object
from jbremote.jetbackup.command import ParamValue, validate_id
from jbremote.jetbackup.models import Log, LogItem

BACKUP_LOG_TYPE = 1


def list_logs(job_id: str | None = None, limit: int = 10) -> Call[list[Log]]:
    """``listLogs find[type]=1 [find[info.ID]=<job>] sort[start_time]=-1``: newest backup logs."""
    params: list[tuple[str, ParamValue]] = [("find[type]", BACKUP_LOG_TYPE)]
    if job_id is not None:
        params.append(("find[info.ID]", validate_id(job_id, "job id")))
    params += [("sort[start_time]", -1), ("limit", limit)]
    return Call("listLogs", tuple(params), parse_list(Log, "logs"))


def get_log(log_id: str, content: bool = False) -> Call[Log]:
    """``getLog _id=… content=0|1``: the log object, with its text when ``content``."""
    return Call(
        "getLog", (("_id", validate_id(log_id, "log id")), ("content", content)), parse_object(Log)
    )


def list_log_items(log_id: str, limit: int = 1000) -> Call[list[LogItem]]:
    """``listLogItems log_id=…`` (not ``_id``, whatever other tools send)."""
    return Call(
        "listLogItems",
        (("log_id", validate_id(log_id, "log id")), ("limit", limit)),
        parse_list(LogItem, "items"),
    )


def get_log_item(log_id: str, item_id: str) -> Call[LogItem]:
    """``getLogItem log_id=… _id=…`` (both are required)."""
    return Call(
        "getLogItem",
        (("log_id", validate_id(log_id, "log id")), ("_id", validate_id(item_id, "log item id"))),
        parse_object(LogItem),
    )
