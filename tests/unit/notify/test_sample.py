"""``jbremote notify test``: one sample per enabled event, through the real path."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from jbremote.config import validate_data
from jbremote.config.models import Config, Event
from jbremote.notify.sample import send_samples
from tests.unit.notify.receivers import JsonReceiver, closed_port

JOB = {"id": "0123456789abcdef01234567", "server": "web1", "target": "nas1"}


def config(notifications: dict[str, Any]) -> Config:
    return validate_data(
        {
            "ssh_defaults": {"key": "/tmp/key"},
            "servers": {"web1": {"host": "192.0.2.1"}},
            "targets": {"nas1": {}},
            "jobs": [JOB],
            "notifications": {"retry_delay": 0.01, "flush_timeout": 5, **notifications},
        }
    )


def test_samples_go_out_once_per_enabled_event_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with JsonReceiver() as hook:
        monkeypatch.setenv("HOOK_ALL", hook.url("/all"))
        monkeypatch.setenv("HOOK_FAILED", hook.url("/failed"))
        cfg = config(
            {
                "urls": [
                    {"url": "env:HOOK_ALL"},
                    {"url": "env:HOOK_FAILED", "events": ["job_failed"]},
                ],
                "include_log_tail": True,
            }
        )
        deliveries = send_samples(cfg)
    everything_but_success = [e.value for e in Event if e is not Event.JOB_COMPLETED]
    assert Counter(d.event for d in deliveries) == Counter([*everything_but_success, "job_failed"])
    assert all(d.ok and d.sent for d in deliveries)
    assert Counter(path for path, _, _ in hook.posts) == {"/all": 6, "/failed": 1}
    assert all(body["title"].startswith("[jbremote test] ") for body in hook.bodies)
    failed = next(b for p, _, b in hook.posts if p == "/failed")
    assert "102 failed" in failed["message"] and "destination not reachable" in failed["message"]


def test_samples_dry_run_sends_nothing_and_flags_broken_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOOK_DEAD", f"json://127.0.0.1:{closed_port()}/x")
    cfg = config(
        {
            "urls": [{"url": "env:HOOK_DEAD"}, {"url": "env:NOT_SET_ANYWHERE"}],
            "events": {"job_timed_out": False},
        }
    )
    deliveries = send_samples(cfg, send=False)
    assert all(not d.sent for d in deliveries)
    by_url = Counter((d.destination, d.ok) for d in deliveries)
    assert by_url == {("url #1 (json://…@127.0.0.1)", True): 5, ("url #2", False): 5}
    assert "job_timed_out" not in {d.event for d in deliveries}
    assert {d.error for d in deliveries if not d.ok} == {
        "env:NOT_SET_ANYWHERE: environment variable NOT_SET_ANYWHERE is not set"
    }


def test_samples_with_a_dead_url_report_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_DEAD", f"json://127.0.0.1:{closed_port()}/x")
    cfg = config({"urls": [{"url": "env:HOOK_DEAD", "events": ["cycle_failed"]}], "retries": 1})
    [delivery] = send_samples(cfg)
    assert (delivery.event, delivery.ok, delivery.attempts) == ("cycle_failed", False, 2)
    assert "Connection error" in delivery.error


def test_samples_without_urls_send_nothing() -> None:
    assert send_samples(config({})) == []
