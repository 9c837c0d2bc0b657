"""The flow's alert glue: lenient config reading, send decisions, links, the crash hook."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

from jbremote.config.models import Notifications
from jbremote.notify.deliver import Delivery
from jbremote.notify.flowrun import (
    delivery_rows,
    flow_run_url,
    load_notifications,
    on_crashed,
    on_failure,
    should_send,
    tally,
)
from tests.unit.notify.receivers import JsonReceiver


def write(path: Path, data: Any) -> str:
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_notifications_are_read_even_when_the_rest_of_the_config_is_broken(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", {"jobs": "nonsense", "notifications": {"retries": 4}})
    loaded = load_notifications(config)
    assert loaded is not None and loaded.retries == 4
    assert load_notifications(write(tmp_path / "n.yaml", {"servers": {}})) == Notifications()
    assert (
        load_notifications(write(tmp_path / "b.yaml", {"notifications": {"retries": -1}})) is None
    )
    assert load_notifications(tmp_path / "missing.yaml") is None


@pytest.mark.parametrize(
    ("dry_run", "in_dry_run", "asked", "sends"),
    [
        (False, False, None, True),
        (True, False, None, False),
        (True, True, None, True),
        (False, False, False, False),  # demo runs
        (True, False, True, True),
    ],
)
def test_should_send(dry_run: bool, in_dry_run: bool, asked: bool | None, sends: bool) -> None:
    notifications = Notifications(send_in_dry_run=in_dry_run)
    assert should_send(notifications, dry_run, asked) is sends


def test_flow_run_url_prefers_the_config_then_prefect() -> None:
    with temporary_settings({PREFECT_UI_URL: "http://prefect.lan:4200/"}):
        assert flow_run_url(Notifications(), "abc") == "http://prefect.lan:4200/runs/flow-run/abc"
        mine = Notifications(ui_url="https://ops.example.net/prefect")
        assert flow_run_url(mine, "abc") == "https://ops.example.net/prefect/runs/flow-run/abc"
    with temporary_settings(restore_defaults={PREFECT_UI_URL, PREFECT_API_URL}):
        assert flow_run_url(Notifications(), "abc") == ""


def test_delivery_rows_and_tally() -> None:
    deliveries = [
        Delivery("job_failed", "url #1 (mailto://…@mx.example.net)", True, subject="web1/a"),
        Delivery("job_failed", "url #2", False, "refused", subject="web1/a", attempts=3),
        Delivery("cycle_completed", "url #1", True, sent=False),
    ]
    assert tally(deliveries) == "1 sent, 1 would send (dry run), 1 failed"
    rows = delivery_rows(deliveries)
    assert [r["outcome"] for r in rows] == [
        "sent",
        "failed after 3 attempts: refused",
        "would send",
    ]
    assert set(rows[0]) == {"event", "about", "destination", "outcome", "title"}


def test_crash_hook_sends_could_not_run_once_from_the_run_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with JsonReceiver() as hook:
        monkeypatch.setenv("HOOK", hook.url("/crash"))
        notifications = {"urls": [{"url": "env:HOOK"}], "ui_url": "http://ui.lan"}
        config = write(tmp_path / "c.yaml", {"notifications": notifications})
        run = SimpleNamespace(id=uuid.uuid4(), parameters={"config_path": config}, name="x")
        state = SimpleNamespace(
            name="Crashed", message="Execution was aborted by a termination signal."
        )
        on_crashed(None, run, state)  # type: ignore[arg-type]
        on_failure(None, run, state)  # type: ignore[arg-type]  # already reported
    assert len(hook.posts) == 1
    body = hook.bodies[0]
    assert body["title"].startswith(
        "[jbremote] Backup cycle could not run: the flow run ended Crashed"
    )
    assert "termination signal" in body["message"]
    assert f"http://ui.lan/runs/flow-run/{run.id}" in body["message"]


def test_crash_hook_of_a_dry_run_only_says_what_it_would_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with JsonReceiver() as hook:
        monkeypatch.setenv("HOOK", hook.url("/crash"))
        config = write(tmp_path / "c.yaml", {"notifications": {"urls": [{"url": "env:HOOK"}]}})
        params = {"config_path": config, "dry_run": True}
        run = SimpleNamespace(id=uuid.uuid4(), parameters=params, name="x")
        on_crashed(None, run, SimpleNamespace(name="Crashed", message="boom"))  # type: ignore[arg-type]
    assert hook.posts == []
