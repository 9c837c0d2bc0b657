"""The resolved SSH settings for one server (config defaults already applied)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SshSettings:
    """Everything needed to open and use an SSH connection to one server.

    ``key_passphrase`` is the *resolved* passphrase (or ``None``); it is excluded from the repr.
    """

    name: str
    host: str
    port: int
    user: str
    key: Path | None
    known_hosts: Path
    connect_timeout: float = 10.0
    command_timeout: float = 120.0
    keepalive: float = 15.0
    connect_retries: int = 3
    max_output_bytes: int = 16 * 1024 * 1024
    key_passphrase: str | None = None

    def __repr__(self) -> str:
        return (
            f"SshSettings(name={self.name!r}, host={self.host!r}, port={self.port}, "
            f"user={self.user!r}, key={str(self.key) if self.key else None!r})"
        )
