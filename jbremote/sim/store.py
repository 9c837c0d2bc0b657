"""The on-disk state of a simulated fleet: one JSON file per server plus a call log.

Layout of ``state_dir``::

    <server>.json   the server (ServerState.to_dict), replaced atomically on every change
    <server>.lock   flock(2) target; every read-modify-write holds it exclusively
    calls.jsonl     one JSON line per API call (appended under its own flock)

Each API call of the executable is a separate process, and the in-process SSH server runs calls
in threads; flock on a freshly opened descriptor serialises both. The lock lives in its own file
because the JSON file is replaced by rename, which would leave a lock on the old inode.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jbremote.sim.state import ServerState

CALL_LOG = "calls.jsonl"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class UnknownServerError(LookupError):
    """No state file for that server name."""


@contextmanager
def _locked(path: Path, exclusive: bool = True) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class SimStore:
    """A fleet's state directory. Safe to use from several processes and threads at once."""

    def __init__(self, state_dir: Path | str) -> None:
        self.state_dir = Path(state_dir)

    @property
    def calls_path(self) -> Path:
        return self.state_dir / CALL_LOG

    def _path(self, name: str, suffix: str) -> Path:
        if not _NAME.match(name):
            raise UnknownServerError(f"invalid server name {name!r:.70}")
        return self.state_dir / f"{name}{suffix}"

    def servers(self) -> list[str]:
        """Return the names of the servers in the directory, sorted."""
        return sorted(p.stem for p in self.state_dir.glob("*.json"))

    def _write(self, server: ServerState) -> None:
        path = self._path(server.name, ".json")
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(server.to_dict(), indent=1) + "\n")
        os.replace(tmp, path)

    def create(self, server: ServerState) -> None:
        """Write ``server`` as a new or replaced state file (creating ``state_dir`` if needed)."""
        server.faults.validate()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with _locked(self._path(server.name, ".lock")):
            self._write(server)

    def _read(self, name: str) -> ServerState:
        try:
            text = self._path(name, ".json").read_text()
        except FileNotFoundError:
            raise UnknownServerError(f"no simulated server named {name!r}") from None
        return ServerState.from_dict(json.loads(text))

    def load(self, name: str) -> ServerState:
        """Return a snapshot of server ``name``. Raise UnknownServerError."""
        lock = self._path(name, ".lock")
        if not lock.exists():
            raise UnknownServerError(f"no simulated server named {name!r}")
        with _locked(lock, exclusive=False):
            return self._read(name)

    @contextmanager
    def edit(self, name: str) -> Iterator[ServerState]:
        """Lock server ``name``, yield it for changes, save it on normal exit.

        Raise UnknownServerError if it does not exist, ValueError if a fault knob is invalid
        (nothing is saved then). Keep the block short: every API call to the server waits.

        >>> with store.edit("srv01") as server:  # doctest: +SKIP
        ...     server.faults.fail_rate = 0.5
        """
        lock = self._path(name, ".lock")
        if not lock.exists():
            raise UnknownServerError(f"no simulated server named {name!r}")
        with _locked(lock):
            server = self._read(name)
            yield server
            server.faults.validate()
            self._write(server)

    def append_call(self, record: dict[str, Any]) -> None:
        """Append one record to ``calls.jsonl`` as a single line."""
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.calls_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
        finally:
            os.close(fd)

    def read_calls(self) -> list[dict[str, Any]]:
        """Return every call record, oldest first (empty if no call was made)."""
        try:
            text = self.calls_path.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]
