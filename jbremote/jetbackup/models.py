"""Typed views of the JetBackup 5 objects jbremote reads.

Remote output is parsed leniently where the docs leave the spelling open (flags printed as
``1``/``0``, ``true``/``false``, ``""`` or ``null``; timestamps as ISO strings, empty or epoch
seconds) and strictly where it matters (ids, status codes). Unknown fields are ignored.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_flag(value: Any) -> bool:
    """Return a JetBackup flag as a bool. Raise ValueError on anything else.

    >>> [parse_flag(v) for v in (1, "1", True, "true", 0, "", None, False)]
    [True, True, True, True, False, False, False, False]
    """
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"not a flag: {value!r:.40}")


def parse_time(value: Any) -> datetime | None:
    """Return a JetBackup timestamp (ISO-8601, epoch seconds, empty) as an aware datetime."""
    if value in (None, "", 0, False):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise ValueError(f"not a timestamp: {value!r:.40}")


def _list_or_empty(value: Any) -> Any:
    # Empty lists print as "" or null in some renderings; numeric-keyed maps stand for lists.
    if value in (None, ""):
        return []
    if isinstance(value, dict):
        return list(value.values())
    return value


Flag = Annotated[bool, BeforeValidator(parse_flag)]
Time = Annotated[datetime | None, BeforeValidator(parse_time)]
Id = Annotated[str, Field(alias="_id", pattern=r"^[0-9a-f]{24}$")]


class JbObject(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Destination(JbObject):
    id: Id
    name: str = ""
    type: str = ""
    disabled: Flag = False
    readonly: Flag = False


class BackupJob(JbObject):
    id: Id
    name: str = ""
    type: int | None = None
    destination: Annotated[list[str], BeforeValidator(_list_or_empty)] = []
    destination_details: Annotated[list[Destination], BeforeValidator(_list_or_empty)] = []
    running: Flag = False
    state: int | None = None
    disabled: Flag = False
    last_run: Time = None
    next_run: Time = None
    last_completed: Time = None


class Progress(JbObject):
    percentage: float = 0.0
    name: str = ""
    total: int = 0
    completed: int = 0


class QueueGroup(JbObject):
    id: Id
    type: int = 1
    status: int
    created: Time = None
    started: Time = None
    ended: Time = None
    status_time: Time = None
    items: int = 0
    items_completed: int = 0
    log_id: str = ""
    log_file: str = ""
    progress: Progress | None = None
    execution_time: int = 0
    data: dict[str, Any] = {}

    @property
    def job_id(self) -> str | None:
        """The backup job this group runs: ``data._id`` (docs/jetbackup-quirks.md#group-to-job)."""
        value = self.data.get("_id") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None


class QueueItem(JbObject):
    id: Id
    group_id: str = ""
    status: int = 0
    message: str = ""
    owner_name: str = ""
    started: Time = None
    ended: Time = None
    data: dict[str, Any] = {}


class Log(JbObject):
    id: Id
    start_time: Time = None
    end_time: Time = None
    execution_time: int = 0
    status: int = 0
    type: int = 0
    info: dict[str, Any] = {}
    file: str = ""
    content: str = ""


class LogItem(QueueItem):
    pass
