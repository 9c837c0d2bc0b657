"""Settings the Prefect server should run with for jbremote, in one place.

Used by the systemd unit and compose file (tests check they carry the same values), by the
temporary server Prefect starts when ``PREFECT_API_URL`` is unset, and by the test and bench
servers, so what is measured is what is shipped.

* Filesystem lease storage: a tag slot held across a server restart is released, not leaked
  (docs/prefect-notes.md).
* The task-run recorder writes in batches once a second instead of once per event. On SQLite
  a write that lands while the next job of a lane takes its target's slot makes that request
  fail with "database is locked"; Prefect's client retries it only after 2 s, and the storage
  idles for those 2 s at every hand-off (measured: 60–100 % of hand-offs; docs/performance.md).
  Task states reach the UI up to a second later instead.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

SERVER_SETTINGS: dict[str, str] = {
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
}


def apply_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """Put :data:`SERVER_SETTINGS` into ``environ`` (default: this process) where not set, for a
    temporary server Prefect starts from this process."""
    target: MutableMapping[str, str] = os.environ if environ is None else environ
    for name, value in SERVER_SETTINGS.items():
        target.setdefault(name, value)
