"""Turn a finished queue group into the job's outcome, with evidence when it went wrong."""

from __future__ import annotations

from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.envelope import JetBackupError
from jbremote.jetbackup.models import QueueGroup
from jbremote.jetbackup.status import Outcome, meaning, outcome_of
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.lifecycle.retry import RemoteError
from jbremote.text import printable
from jbremote.transport.base import TransportError

_RESULTS = {
    Outcome.COMPLETED: Result.COMPLETED,
    Outcome.PARTIAL: Result.PARTIAL,
    Outcome.FAILED: Result.FAILED,
    Outcome.ABORTED: Result.ABORTED,
    Outcome.UNKNOWN: Result.UNKNOWN_STATUS,
}
MAX_ITEM_NOTES = 10


def verify(record: JobRecord, group: QueueGroup, client: JetBackupClient, tail_bytes: int) -> None:
    """Given the job's final queue group, fill in ``record``'s outcome and evidence.

    The group's status decides (100 completed, 101 partial, 102 failed, 103 aborted, anything
    else is an unknown status and a problem). On anything but completed, the log tail and the
    accounts that did not complete are fetched; failing to fetch them is only a note.
    """
    record.group_id = group.id
    record.status_code = group.status
    record.status_meaning = meaning(group.status)
    record.log_id = group.log_id
    if group.started is not None:
        record.started_at = group.started.timestamp()
    if group.ended is not None:
        record.ended_at = group.ended.timestamp()
    record.result = _RESULTS[outcome_of(group.status)]
    record.reason = (
        "" if record.result is Result.COMPLETED else f"JetBackup status {record.status_meaning}"
    )
    if record.result is Result.COMPLETED:
        return
    try:
        items = client.list_queue_items(group.id)
        bad = [i for i in items if i.status != 100]
        for item in bad[:MAX_ITEM_NOTES]:
            name = item.owner_name or str(item.data.get("account", item.id))
            record.notes.append(
                f"{printable(name, 64)}: {meaning(item.status)} {printable(item.message, 200)}".rstrip()
            )
        if len(bad) > MAX_ITEM_NOTES:
            record.notes.append(f"… and {len(bad) - MAX_ITEM_NOTES} more accounts not completed")
    except RemoteError as exc:
        record.notes.append(f"could not list the queue items: {exc}")
    if group.log_id and tail_bytes > 0:
        try:
            log = client.get_log(group.log_id, content=True)
            record.log_tail = printable(log.content[-tail_bytes:], tail_bytes)
        except (JetBackupError, TransportError, ValueError) as exc:
            record.notes.append(f"could not read log {group.log_id}: {exc}")
