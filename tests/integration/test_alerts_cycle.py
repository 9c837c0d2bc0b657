"""Alerts from real backup cycles: simulated fleet over SSH, a real Prefect server, and real
receivers on 127.0.0.1 (an SMTP server for ``mailto://``, an HTTP server for ``json://``).

The URLs carry a recognisable fake password and path token; no log line, artifact, mail
or webhook body may ever contain them.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogHandler

from flows.backup_cycle import backup_cycle
from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import FleetSpec
from tests.secret_scan import register
from tests.unit.notify.receivers import JsonReceiver, MailReceiver, closed_port, wait_until

pytestmark = pytest.mark.prefect

PASSWORD = "Fake-Pw-9xQ7-s3cret"
TOKEN = "tok3n-Zr81-webhook"
register(PASSWORD, TOKEN)  # the suite-wide scan (tests/secret_scan.py) looks for them everywhere
UI = "http://prefect.example.net:4200"


def fleet_spec(problems: bool) -> FleetSpec:
    """4 servers × 1 job, each on its own target (lanes side by side), ~1 s per job."""
    targets = ("nas1", "nas2", "nas3", "nas4")
    spec = FleetSpec.uniform(4, 1, targets=targets, duration=1.0, start_delay=0.2)
    if problems:
        spec.servers[0].jobs[0].outcomes = [101]  # srv01: partial
        spec.servers[1].jobs[0].outcomes = [102]  # srv02: failed
    spec.orchestration.update(poll_interval=0.5, startup_timeout=20.0, job_timeout=3600.0)
    return spec


def configure(fleet: SimFleet, notifications: dict[str, Any], timeouts: dict[str, float]) -> str:
    """Add ``notifications`` and per-job timeouts (by server) to the fleet's config."""
    data = yaml.safe_load(fleet.config_path.read_text())
    for job in data["jobs"]:
        if job["server"] in timeouts:
            job["timeout"] = timeouts[job["server"]]
    data["notifications"] = notifications
    fleet.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(fleet.config_path)


def api_logs(flow_run_id: Any) -> list[str]:
    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        flt = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        return [log.message for log in client.read_logs(log_filter=flt)]


def artifacts(flow_run_id: Any) -> dict[str, tuple[Any, str]]:
    """Return {key (or id): (data, description)} of the flow run's artifacts."""
    with get_client(sync_client=True) as client:
        flt = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        found = client.read_artifacts(artifact_filter=flt)
    return {str(a.key or a.id): (a.data, a.description or "") for a in found}


def kind_of(subject: str) -> str:
    for words, kind in (
        ("could not run", "cycle_failed"),
        ("Backup cycle", "cycle_completed"),
        ("past its timeout", "job_timed_out"),
        ("after overrunning", "job_overran"),
        ("partially completed", "job_partial"),
        ("failed", "job_failed"),
        ("completed", "job_completed"),
    ):
        if words in subject:
            return kind
    return subject


def test_alerts_problem_cycle_sends_each_alert_once_with_its_cause(
    prefect_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(1)  # everything, Apprise's TRACE lines included
    with (
        SimFleet(fleet_spec(problems=True), tmp_path / "fleet") as fleet,
        MailReceiver("ops", PASSWORD) as mail,
        JsonReceiver() as hook,
    ):
        monkeypatch.setenv("JB_MAIL_URL", mail.url())
        monkeypatch.setenv("JB_HOOK_URL", hook.url(f"/hooks/{TOKEN}", "jb", PASSWORD))
        config = configure(
            fleet,
            {
                "urls": [
                    {"url": "env:JB_MAIL_URL"},
                    {"url": "env:JB_HOOK_URL", "events": ["job_failed", "cycle_completed"]},
                ],
                "include_log_tail": True,
                "log_tail_bytes": 200,
                "ui_url": UI,
                "retries": 1,
                "retry_delay": 0.2,
                "flush_timeout": 15,
            },
            timeouts={"srv03": 0.5},  # srv03 overruns a tiny timeout, then completes
        )
        started = time.monotonic()
        state = backup_cycle(config, return_state=True)
        took = time.monotonic() - started
        assert wait_until(lambda: len(mail.messages) >= 5 and len(hook.posts) >= 2, 5)
        time.sleep(0.5)  # anything extra would show up now

    assert state.is_failed()  # srv02 failed
    run_id = state.state_details.flow_run_id
    subjects = mail.subjects()
    assert Counter(kind_of(s) for s in subjects) == {
        "job_partial": 1,
        "job_failed": 1,
        "job_timed_out": 1,
        "job_overran": 1,
        "cycle_completed": 1,
    }, subjects
    assert all(mail.logins), "the SMTP login used the password from the URL"
    by_kind = dict(zip((kind_of(s) for s in subjects), mail.texts(), strict=True))

    failed = by_kind["job_failed"]
    assert "srv02/job1" in next(s for s in subjects if kind_of(s) == "job_failed")
    for expected in ("102 failed", "nas2", "Duration:", "Started:", "Timeout:"):
        assert expected in failed, expected
    assert f"{UI}/runs/flow-run/{run_id}" in failed
    tail = failed.split("JetBackup log tail (last 200 bytes):", 1)[1]
    assert "Backup job finished" in tail
    assert len(tail.strip().encode()) <= 200 + 40  # the tail plus the mail's line breaks
    assert "101 partially completed" in by_kind["job_partial"]
    assert "srv03/job1" in by_kind["job_timed_out"] and "keeps running" in by_kind["job_timed_out"]
    assert "overran by" in by_kind["job_overran"] and "100 completed" in by_kind["job_overran"]
    summary = by_kind["cycle_completed"]
    assert "4 jobs: 2 completed, 1 partially completed, 1 failed" in summary
    for job in ("srv01/job1", "srv02/job1", "srv03/job1", "srv04/job1"):
        assert job in summary

    # The webhook follows only job_failed and cycle_completed.
    titles = [body["title"] for body in hook.bodies]
    assert [kind_of(t) for t in titles] == ["job_failed", "cycle_completed"], titles
    assert hook.bodies[0]["type"] == "failure"
    assert all(path == f"/hooks/{TOKEN}" for path, _, _ in hook.posts)

    # Nothing secret anywhere we can see.
    logs = api_logs(run_id)
    assert any("alerts: 7 sent" in line for line in logs), logs
    found = artifacts(run_id)
    assert "backup-cycle-alerts" in found
    seen = {
        "captured log": caplog.text,
        "Prefect run logs": "\n".join(logs),
        "artifacts": json.dumps(list(found.values())),
        "mail": "\n".join(mail.raw),
        "webhook bodies": json.dumps(hook.bodies),
    }
    for where, text in seen.items():
        assert PASSWORD not in text, where
        assert TOKEN not in text, where
    assert "Connection error" not in caplog.text
    assert took < 30, took


def test_alerts_dead_receiver_neither_fails_nor_holds_up_the_cycle(
    prefect_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        SimFleet(fleet_spec(problems=False), tmp_path / "fleet") as fleet,
        JsonReceiver() as hook,
    ):
        monkeypatch.setenv("JB_HOOK_URL", hook.url(f"/hooks/{TOKEN}"))
        monkeypatch.setenv("JB_DEAD_URL", f"json://jb:{PASSWORD}@127.0.0.1:{closed_port()}/{TOKEN}")
        notifications = {
            "urls": [{"url": "env:JB_DEAD_URL"}, {"url": "env:JB_HOOK_URL"}],
            "events": {"job_completed": True},
            "retries": 2,
            "retry_delay": 0.5,
            "flush_timeout": 10,
        }
        config = configure(fleet, notifications, timeouts={})
        state = backup_cycle(config, return_state=True)
        dry = backup_cycle(config, dry_run=True, return_state=True)

    assert state.is_completed(), state
    assert len(hook.posts) == 5, "the live URL got 4 successes (switched on) and the summary"
    # What alerting added to the cycle's end: from the verdict line to the alerts tally.
    ended = next(r.created for r in caplog.records if r.getMessage() == "4 jobs: 4 completed")
    flushed = next(
        r.created for r in caplog.records if r.getMessage() == "alerts: 5 sent, 5 failed"
    )
    assert 0 <= flushed - ended < 2.0, flushed - ended

    data, description = artifacts(state.state_details.flow_run_id)["backup-cycle-alerts"]
    rows = json.loads(data) if isinstance(data, str) else data
    dead = [r for r in rows if r["destination"] == "url #1 (json://…@127.0.0.1)"]
    assert len(dead) == 5 and all(r["outcome"].startswith("failed") for r in dead), dead
    # The first alert used its retries; then one attempt each until the URL works again.
    assert sorted(r["outcome"].startswith("failed after 3 attempts") for r in dead) == [
        False,
        False,
        False,
        False,
        True,
    ]
    assert "Connection error" in dead[0]["outcome"]
    assert description == "alerts: 5 sent, 5 failed"
    assert "could not be sent to url #1 (json://…@127.0.0.1)" in caplog.text

    assert dry.name == "DryRun"
    assert len(hook.posts) == 5, "a dry run sends nothing"
    assert "alerts: would send '[jbremote] Backup cycle dry run: 4 jobs: 4 planned'" in caplog.text
    for text in (caplog.text, json.dumps(rows)):
        assert PASSWORD not in text and TOKEN not in text


def test_alerts_config_that_cannot_load_sends_could_not_run_once(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with JsonReceiver() as hook:
        monkeypatch.setenv("JB_HOOK_URL", hook.url(f"/hooks/{TOKEN}", "jb", PASSWORD))
        config = tmp_path / "broken.yaml"
        broken = {
            "servers": {},
            "targets": {},
            "jobs": [{"id": "not-an-id", "server": "web1", "target": "nas1"}],
            "notifications": {"urls": [{"url": "env:JB_HOOK_URL"}], "ui_url": UI},
        }
        config.write_text(yaml.safe_dump(broken))
        state = backup_cycle(str(config), return_state=True)
        assert wait_until(lambda: len(hook.posts) >= 1, 5)
        time.sleep(0.5)

    assert state.is_failed()
    assert len(hook.posts) == 1, [b["title"] for b in hook.bodies]
    body = hook.bodies[0]
    assert "could not run" in body["title"] and body["type"] == "failure"
    assert "ConfigError" in body["message"] and "must be a JetBackup id" in body["message"]
    assert f"{UI}/runs/flow-run/{state.state_details.flow_run_id}" in body["message"]
