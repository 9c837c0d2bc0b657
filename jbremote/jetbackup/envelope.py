"""The response envelope every ``jetbackup5api`` call returns, and the errors around it.

``{"success": 1|0, "message": str, "system": {...}, "data": ...}`` (docs.jetbackup.com v5.2
API introduction). Success is judged by ``success``, never by the exit status: the tool
exits 0 even for unknown functions (docs/jetbackup-quirks.md#exit-status).

The output comes from a server that may be compromised: anything that is not a sane envelope
(not JSON, numbers with thousands of digits, nesting deeper than :data:`MAX_DEPTH`, more than
:data:`MAX_OUTPUT_BYTES`) is a :class:`GarbageOutputError`, never a crash, and every text that
leaves this module is escaped to one line (:func:`jbremote.text.one_line`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jbremote.jetbackup.models import parse_flag
from jbremote.text import one_line

# JetBackup's objects nest about six levels deep; far deeper is a bomb for code that recurses.
MAX_DEPTH = 32
# Far above the transport's own cap (16 MiB by default): a guard for transports without one.
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
_CONTAINERS = (dict, list)


class JetBackupError(Exception):
    """A JetBackup call did not give a usable answer."""

    def __init__(self, function: str, message: str) -> None:
        super().__init__(f"{function}: {message}")
        self.function = function
        self.reason = message


class ApiError(JetBackupError):
    """JetBackup answered ``success: 0``; ``reason`` is its (sanitised) message."""


class GarbageOutputError(JetBackupError):
    """The output is not a JetBackup envelope; carries a short, escaped excerpt."""

    def __init__(self, function: str, problem: str, output: bytes | str) -> None:
        self.excerpt = one_line(output, 120)
        super().__init__(function, f"{problem}; output starts: {self.excerpt!r}")


class RemoteCommandError(JetBackupError):
    """The remote command failed without any envelope (e.g. binary missing, gate denial)."""

    def __init__(self, function: str, exit_status: int, stderr: bytes) -> None:
        self.exit_status = exit_status
        detail = one_line(stderr.strip(), 200) or "no output"
        super().__init__(function, f"exit status {exit_status}: {detail}")


@dataclass(frozen=True)
class Envelope:
    success: bool
    message: str
    data: Any
    system: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        value = self.system.get("version", "") if isinstance(self.system, dict) else ""
        return one_line(str(value), 40) if isinstance(value, str | int | float) else ""


def parse_envelope(
    function: str, stdout: bytes, exit_status: int = 0, stderr: bytes = b""
) -> Envelope:
    """Given a call's raw output, return its envelope. Raise a :class:`JetBackupError`.

    Raise :class:`ApiError` for ``success: 0``, :class:`GarbageOutputError` for anything that is
    not an envelope, :class:`RemoteCommandError` when there is no output and the exit status
    is non-zero.
    """
    if len(stdout) > MAX_OUTPUT_BYTES:
        raise GarbageOutputError(
            function, f"output is larger than {MAX_OUTPUT_BYTES} bytes", stdout
        )
    text = stdout.decode("utf-8", errors="replace").strip()
    if not text:
        if exit_status != 0:
            raise RemoteCommandError(function, exit_status, stderr)
        raise GarbageOutputError(function, "empty output", stderr)
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):  # ValueError: also integers of 4300+ digits
        raise GarbageOutputError(function, "output is not JSON", text) from None
    if _deeper_than(payload, MAX_DEPTH):
        raise GarbageOutputError(function, f"JSON nested deeper than {MAX_DEPTH} levels", text)
    if not isinstance(payload, dict) or "success" not in payload:
        raise GarbageOutputError(function, "JSON is not a JetBackup envelope", text)
    try:
        success = parse_flag(payload["success"])
    except ValueError:
        raise GarbageOutputError(function, "'success' is not a flag", text) from None
    message = payload.get("message")
    message = one_line(message, 500) if isinstance(message, str) else ""
    if not success:
        raise ApiError(function, message or "success: 0 without a message")
    system = payload.get("system")
    return Envelope(True, message, payload.get("data"), system if isinstance(system, dict) else {})


def _deeper_than(value: Any, limit: int) -> bool:
    """Return whether ``value`` nests lists/objects more than ``limit`` levels (no recursion).

    Walks one level at a time; ``json.loads`` makes exact ``dict``/``list`` objects only.
    """
    level = [value] if type(value) in _CONTAINERS else []
    for _ in range(limit):
        level = [
            child
            for item in level
            for child in (item.values() if type(item) is dict else item)
            if type(child) in _CONTAINERS
        ]
        if not level:
            return False
    return bool(level)
