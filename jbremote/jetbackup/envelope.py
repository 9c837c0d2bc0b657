"""The response envelope every ``jetbackup5api`` call returns, and the errors around it.

``{"success": 1|0, "message": str, "system": {...}, "data": ...}`` (docs.jetbackup.com v5.2
API introduction). Success is judged by ``success``, never by the exit status: the tool
exits 0 even for unknown functions (docs/jetbackup-quirks.md#exit-status).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jbremote.jetbackup.models import parse_flag
from jbremote.text import printable


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
        self.excerpt = printable(output, 120)
        super().__init__(function, f"{problem}; output starts: {self.excerpt!r}")


class RemoteCommandError(JetBackupError):
    """The remote command failed without any envelope (e.g. binary missing, gate denial)."""

    def __init__(self, function: str, exit_status: int, stderr: bytes) -> None:
        self.exit_status = exit_status
        detail = printable(stderr.strip(), 200) or "no output"
        super().__init__(function, f"exit status {exit_status}: {detail}")


@dataclass(frozen=True)
class Envelope:
    success: bool
    message: str
    data: Any
    system: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.system.get("version", "")) if isinstance(self.system, dict) else ""


def parse_envelope(
    function: str, stdout: bytes, exit_status: int = 0, stderr: bytes = b""
) -> Envelope:
    """Given a call's raw output, return its envelope. Raise a :class:`JetBackupError`.

    Raise :class:`ApiError` for ``success: 0``, :class:`GarbageOutputError` for anything that is
    not an envelope, :class:`RemoteCommandError` when there is no output and the exit status
    is non-zero.
    """
    text = stdout.decode("utf-8", errors="replace").strip()
    if not text:
        if exit_status != 0:
            raise RemoteCommandError(function, exit_status, stderr)
        raise GarbageOutputError(function, "empty output", stderr)
    try:
        payload = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise GarbageOutputError(function, "output is not JSON", text) from None
    if not isinstance(payload, dict) or "success" not in payload:
        raise GarbageOutputError(function, "JSON is not a JetBackup envelope", text)
    try:
        success = parse_flag(payload["success"])
    except ValueError:
        raise GarbageOutputError(function, "'success' is not a flag", text) from None
    message = payload.get("message")
    message = printable(message, 500) if isinstance(message, str) else ""
    if not success:
        raise ApiError(function, message or "success: 0 without a message")
    system = payload.get("system")
    return Envelope(True, message, payload.get("data"), system if isinstance(system, dict) else {})
