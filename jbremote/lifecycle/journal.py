"""A write-ahead record of the JetBackup state jbremote changed, so a crash cannot orphan it.

Before jbremote enables a destination or a job for a run it writes down what it found
(disabled) in ``changes.json`` under the state directory; once the prior state is restored the
entry goes. If the process dies in between, the entry survives: the next run of that job takes
the *recorded* prior state as the one to restore (not the enabled state it now finds), and
``jbremote doctor`` lists (and with ``--fix`` restores) what is left.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_lock = threading.Lock()


@dataclass(frozen=True)
class Change:
    server: str
    kind: str  # "destination" or "job"
    object_id: str
    job_id: str  # the job whose run needed the change
    prior_disabled: bool
    changed_at: float

    @property
    def key(self) -> str:
        return f"{self.server}/{self.kind}/{self.object_id}"


class StateJournal:
    """The ``changes.json`` file of one state directory (safe across threads and processes)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir).expanduser() / "changes.json"

    def record(self, change: Change) -> Change:
        """Write ``change`` unless an entry for the object exists; return the entry in force.

        An existing entry wins: it holds the state found before the *first* change.
        """
        with self._edit() as entries:
            existing = entries.get(change.key)
            if existing is not None:
                return Change(**existing)
            entries[change.key] = asdict(change)
            return change

    def remove(self, change: Change) -> None:
        with self._edit() as entries:
            entries.pop(change.key, None)

    def entries(self, server: str | None = None, job_id: str | None = None) -> list[Change]:
        with self._edit(write=False) as entries:
            changes = [Change(**e) for e in entries.values()]
        return [
            c
            for c in changes
            if (server is None or c.server == server) and (job_id is None or c.job_id == job_id)
        ]

    @contextmanager
    def _edit(self, write: bool = True) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _lock, open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                entries: dict[str, Any] = (
                    json.loads(self.path.read_text()) if self.path.exists() else {}
                )
            except (OSError, ValueError):
                # A damaged journal must not stop backups; keep it aside for the operator.
                self.path.rename(self.path.with_suffix(f".damaged-{int(time.time())}"))
                entries = {}
            yield entries
            if write:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(entries, indent=2, sort_keys=True))
                os.replace(tmp, self.path)
