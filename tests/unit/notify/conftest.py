"""Helpers for the alert tests: notifications configs, records, a scripted transport."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from jbremote.config.models import Notifications
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.notify.alert import Alert
from jbremote.notify.destination import Destination

NOW = 1_800_000_000.0


def notifications(**fields: Any) -> Notifications:
    return Notifications.model_validate({"retry_delay": 0.01, "flush_timeout": 5, **fields})


def record(result: Result = Result.FAILED, **fields: Any) -> JobRecord:
    values: dict[str, Any] = {
        "server": "web1",
        "job_id": "0123456789abcdef01234567",
        "label": "accounts",
        "target": "nas1",
        "result": result,
        "status_code": 102,
        "status_meaning": "102 failed",
        "group_id": "g1",
        "started_at": NOW - 125.0,
        "ended_at": NOW,
        "timeout": 3600.0,
        **fields,
    }
    return JobRecord(**values)


class ScriptedTransport:
    """Stands in for Apprise: ``script[index]`` is a list of errors to return in turn
    ("" = success; the last entry repeats). Records every attempt."""

    def __init__(self, script: dict[int, list[str]] | None = None, delay: float = 0.0) -> None:
        self.script = script or {}
        self.delay = delay
        self.calls: list[tuple[int, str]] = []
        self.alerts: list[tuple[int, Alert]] = []
        self.lock = threading.Lock()

    def check(self, destination: Destination) -> str:
        return destination.error

    def send(self, alert: Alert, destination: Destination) -> str:
        if destination.error:  # like the real one: an unusable URL is never tried
            return destination.error
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.calls.append((destination.index, alert.title))
            self.alerts.append((destination.index, alert))
            errors = self.script.get(destination.index, [""])
            return errors.pop(0) if len(errors) > 1 else errors[0]

    def titles(self, index: int) -> list[str]:
        return [title for i, title in self.calls if i == index]


@pytest.fixture
def urls(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Two fake Apprise URLs in env:NOTIFY_A / env:NOTIFY_B (nothing listens there)."""
    values = {
        "NOTIFY_A": "json://alice:Pa55-word-A@127.0.0.1:9/hook/tokenAAAA1111",
        "NOTIFY_B": "mailto://bob:Pa55-word-B@mail.example.net?to=ops@example.net",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values
