"""Queue functions: groups, items, stop (docs.jetbackup.com v5.3 Queues)."""

from __future__ import annotations

from typing import Any

from jbremote.jetbackup.call import Call, parse_list, parse_message, parse_object
from jbremote.jetbackup.command import validate_id
from jbremote.jetbackup.models import QueueGroup, QueueItem
from jbremote.jetbackup.status import QueueType


def list_queue_groups(
    queue_type: QueueType = QueueType.BACKUP, limit: int = 50, newest_first: bool = True
) -> Call[list[QueueGroup]]:
    """``listQueueGroups type=… sort[created]=… limit=…``: ``data.groups``."""
    return Call(
        "listQueueGroups",
        (("type", int(queue_type)), ("sort[created]", -1 if newest_first else 1), ("limit", limit)),
        parse_list(QueueGroup, "groups"),
    )


def get_queue_group(group_id: str) -> Call[QueueGroup]:
    """``getQueueGroup _id=…``."""
    return Call(
        "getQueueGroup",
        (("_id", validate_id(group_id, "queue group id")),),
        parse_object(QueueGroup),
    )


def list_queue_items(group_id: str, limit: int = 1000) -> Call[list[QueueItem]]:
    """``listQueueItems group_id=…``: per-account items of a group."""
    return Call(
        "listQueueItems",
        (("group_id", validate_id(group_id, "queue group id")), ("limit", limit)),
        parse_list(QueueItem, "items"),
    )


def stop_queue_group(group_id: str) -> Call[Any]:
    """``stopQueueGroup _id=…``: sends a stop signal. Only ever on an operator's explicit order."""
    return Call(
        "stopQueueGroup",
        (("_id", validate_id(group_id, "queue group id")),),
        parse_message,
        mutating=True,
    )
