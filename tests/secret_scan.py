"""Suite-wide check that no test secret ever reaches a log line, a run log or an artifact.

Tests register the fake secrets they use (:func:`register`). A handler on the root logger
checks every record emitted in this process; the Prefect server fixture scans every run log
(also those of flow runs in subprocesses) and every artifact before it stops. Any hit fails the
session, naming where the secret appeared but never the secret itself.
"""

from __future__ import annotations

import logging
import threading

SECRETS: set[str] = set()
LEAKS: list[str] = []
_lock = threading.Lock()


def register(*values: str) -> None:
    """Declare fake secrets a test uses (at least 8 characters, so a hit is meaningful)."""
    with _lock:
        SECRETS.update(v for v in values if len(v) >= 8)


def check(text: str, where: str) -> None:
    with _lock:
        secrets = list(SECRETS)
    for secret in secrets:
        if secret in text:
            with _lock:
                LEAKS.append(f"{where}: contains the test secret {secret[:3]}…")


class ScanHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]!r}"
        check(text, f"log record of {record.name}")


def scan_prefect(api_url: str) -> int:
    """Scan every run log and artifact on the Prefect server; return how many were read."""
    from prefect.client.orchestration import get_client

    read = 0
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            logs = client.read_logs(limit=200, offset=offset)
            for log in logs:
                check(log.message, f"Prefect run log ({api_url})")
            read += len(logs)
            offset += len(logs)
            if len(logs) < 200:
                break
        offset = 0
        while True:
            artifacts = client.read_artifacts(limit=200, offset=offset)
            for artifact in artifacts:
                check(
                    f"{artifact.data} {artifact.description}",
                    f"artifact {artifact.key or artifact.id}",
                )
            read += len(artifacts)
            offset += len(artifacts)
            if len(artifacts) < 200:
                break
    return read
