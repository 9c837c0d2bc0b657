"""What the rest of jbremote knows about running a remote command.

A transport runs an argument list on one server and returns a :class:`CommandResult`.
The SSH implementation (:mod:`jbremote.transport.ssh`) is the only code that touches the
network; tests and the simulator can plug in anything that satisfies :class:`Transport`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


def command_line(argv: Sequence[str]) -> str:
    """Return the one string SSH carries for ``argv``.

    SSH transmits a command as a single string. Each argument is quoted with POSIX rules
    (``shlex.join``), so a login shell would see exactly ``argv``; the server-side gate parses
    the same string with a fixed grammar and never hands it to a shell.
    """
    if not argv:
        raise ValueError("empty argument list")
    return shlex.join(argv)


@dataclass(frozen=True)
class CommandResult:
    """The outcome of one remote command.

    ``stdout``/``stderr`` are capped at the transport's limit; ``truncated`` says whether
    anything was cut.
    """

    exit_status: int
    stdout: bytes
    stderr: bytes
    duration: float = 0.0
    truncated: bool = False


class TransportError(Exception):
    """A remote command could not be run or its result could not be read."""

    #: ``True`` when trying again later may succeed (connection refused/reset, timeout).
    transient: bool = True

    def __init__(self, server: str, message: str, *, maybe_executed: bool = False) -> None:
        super().__init__(f"{server}: {message}")
        self.server = server
        self.reason = message
        #: ``True`` when the command was sent and may have run (the connection died or the
        #: timeout expired while waiting for its result). Never re-run such a command blindly:
        #: check the server's state first (a second "start backup" is not harmless).
        self.maybe_executed = maybe_executed


class ConnectError(TransportError):
    """The TCP connection or SSH handshake failed (refused, unreachable, reset)."""


class CommandTimeoutError(TransportError):
    """The command did not finish within its timeout.

    Raised with ``maybe_executed=True`` once the command was sent: it may still be running.
    """


class AuthenticationError(TransportError):
    """The server refused our key. Retrying does not help."""

    transient = False


class HostKeyError(TransportError):
    """The server's host key is unknown or differs from known_hosts. Never auto-accepted."""

    transient = False

    def __init__(self, server: str, message: str, fingerprint: str = "") -> None:
        super().__init__(server, message)
        #: The fingerprint of the key the server presented (``SHA256:...``), if known.
        self.fingerprint = fingerprint


class Transport(Protocol):
    """Runs argument lists on one server."""

    name: str

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        """Run ``argv`` remotely and return its result. Raise :class:`TransportError`."""
        ...

    def close(self) -> None:
        """Release any connection held."""
        ...
