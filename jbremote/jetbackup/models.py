"""Typed views of the JetBackup 5 objects jbremote reads.

Remote output is parsed leniently where the docs leave the spelling open (flags printed as
``1``/``0``, ``true``/``false``, ``""`` or ``null``; timestamps as ISO strings, empty or epoch
seconds) and strictly where it matters (ids, status codes). Unknown fields are ignored.

The server is not trusted: every text field arrives with control characters, bidi overrides and
lone surrogates escaped and its length capped (:mod:`jbremote.text`), so no model carries an
escape sequence or a forged line into a terminal, log or alert. Timestamps out of range and
non-finite flags are parse errors, never crashes.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from jbremote.text import one_line, printable

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
        if not math.isfinite(value):
            raise ValueError(f"not a flag: {value!r}")
        return value != 0
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"not a flag: {value!r:.40}")


def parse_time(value: Any) -> datetime | None:
    """Return a JetBackup timestamp (ISO-8601, epoch seconds, empty) as an aware datetime."""
    if value in (None, "", 0, False):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # 1e20, inf, nan: not a crash
            raise ValueError(f"timestamp out of range: {value!r:.40}") from None
    if isinstance(value, str):
        try:
            parsed = (
                datetime.fromisoformat(value.replace("Z", "+00:00")) if len(value) < 64 else None
            )
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValueError(f"not a timestamp: {one_line(value, 40)!r}")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise ValueError(f"not a timestamp: {one_line(repr(value), 40)}")


def _list_or_empty(value: Any) -> Any:
    # Empty lists print as "" or null in some renderings; numeric-keyed maps stand for lists.
    if value in (None, ""):
        return []
    if isinstance(value, dict):
        return list(value.values())
    return value


def _line(limit: int) -> BeforeValidator:
    def clean(value: Any) -> Any:
        return one_line(value, limit) if isinstance(value, str) else value

    return BeforeValidator(clean)


MAX_LOG_TEXT = 1 << 20  # characters of log text kept (the end: that is where failures are)
_ID = re.compile(r"^[0-9a-f]{24}$")


def _log_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if len(value) > MAX_LOG_TEXT:
        return "…" + printable(value[-MAX_LOG_TEXT:], MAX_LOG_TEXT)
    return printable(value, MAX_LOG_TEXT)


def _id_or_empty(value: Any) -> str:
    # A link to another object (a log): one that is not an id is dropped, not followed.
    return value if isinstance(value, str) and _ID.match(value) else ""


Flag = Annotated[bool, BeforeValidator(parse_flag)]
Time = Annotated[datetime | None, BeforeValidator(parse_time)]
Id = Annotated[str, Field(alias="_id", pattern=r"^[0-9a-f]{24}$")]
Name = Annotated[str, _line(200)]
Message = Annotated[str, _line(1000)]
LogText = Annotated[str, BeforeValidator(_log_text)]
LinkId = Annotated[str, BeforeValidator(_id_or_empty)]


class JbObject(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Destination(JbObject):
    id: Id
    name: Name = ""
    type: Name = ""
    disabled: Flag = False
    readonly: Flag = False


class BackupJob(JbObject):
    id: Id
    name: Name = ""
    type: int | None = None
    destination: Annotated[list[Name], BeforeValidator(_list_or_empty)] = []
    destination_details: Annotated[list[Destination], BeforeValidator(_list_or_empty)] = []
    running: Flag = False
    state: int | None = None
    disabled: Flag = False
    last_run: Time = None
    next_run: Time = None
    last_completed: Time = None


class Progress(JbObject):
    percentage: float = 0.0
    name: Name = ""
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
    log_id: LinkId = ""
    log_file: Message = ""
    progress: Progress | None = None
    execution_time: int = 0
    data: dict[str, Any] = {}

    @property
    def job_id(self) -> str | None:
        """The backup job this group runs: ``data._id`` (docs/jetbackup-quirks.md#group-to-job).

        ``None`` when missing or not an id: it is compared, shown and sent back to the server.
        """
        value = self.data.get("_id") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) and _ID.match(value) else None


class QueueItem(JbObject):
    id: Id
    group_id: LinkId = ""
    status: int = 0
    message: Message = ""
    owner_name: Name = ""
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
    file: Message = ""
    content: LogText = ""


class LogItem(QueueItem):
    pass
