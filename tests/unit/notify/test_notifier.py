"""Routing, once-only delivery, bounded retries and a bounded flush (Apprise scripted)."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from jbremote.config.models import Event
from jbremote.lifecycle.events import EventKind, JobEvent
from jbremote.lifecycle.result import Result
from jbremote.notify.alert import AlertContext
from jbremote.notify.notifier import Notifier
from jbremote.sim.fleetspec import FleetSpec
from tests.unit.notify.conftest import ScriptedTransport, notifications, record
from tests.unit.world import World


def notifier(transport: ScriptedTransport, send: bool = True, **fields: Any) -> Notifier:
    fields.setdefault("urls", [{"url": "env:NOTIFY_A"}, {"url": "env:NOTIFY_B"}])
    ctx = AlertContext(cycle_id=uuid.uuid4().hex)
    return Notifier(notifications(**fields), ctx, send=send, transport=transport)  # type: ignore[arg-type]


def finished(result: Result = Result.FAILED, **fields: Any) -> JobEvent:
    fields.setdefault("group_id", uuid.uuid4().hex)
    return JobEvent(EventKind.FINISHED, record(result, **fields), "done")


def test_notifier_one_end_alert_per_job(urls: dict[str, str]) -> None:
    transport = ScriptedTransport()
    n = notifier(transport, urls=[{"url": "env:NOTIFY_A"}])
    n.on_event(finished())
    n.on_event(finished(Result.PARTIAL))  # same job, another group: still its one end
    n.close()
    assert transport.titles(1) == ["[jbremote] Backup failed: web1/accounts"]


def test_notifier_sends_each_alert_once_per_url(urls: dict[str, str]) -> None:
    transport = ScriptedTransport()
    n = notifier(transport)
    event = finished()
    n.on_event(event)
    n.on_event(event)  # the same event again (a retried poll): no second alert
    n.job_ended(event.record)
    deliveries = n.close()
    assert sorted(transport.calls) == [
        (1, "[jbremote] Backup failed: web1/accounts"),
        (2, "[jbremote] Backup failed: web1/accounts"),
    ]
    assert [(d.event, d.ok, d.attempts, d.sent) for d in deliveries] == [
        ("job_failed", True, 1, True)
    ] * 2
    assert {d.destination for d in deliveries} == {
        "url #1 (json://…@127.0.0.1)",
        "url #2 (mailto://…@mail.example.net)",
    }


def test_notifier_dedupes_across_notifiers_by_queue_group(urls: dict[str, str]) -> None:
    transport = ScriptedTransport()
    event = finished(group_id="shared-group")
    for _ in range(2):  # e.g. two cycles in one process adopting the same run
        n = notifier(transport, urls=[{"url": "env:NOTIFY_A"}])
        n.on_event(event)
        n.close()
    assert len(transport.calls) == 1


def test_notifier_runs_without_group_are_separate_per_cycle(urls: dict[str, str]) -> None:
    transport = ScriptedTransport()
    for _ in range(2):
        n = notifier(transport, urls=[{"url": "env:NOTIFY_A"}])
        n.on_event(finished(Result.NOT_STARTED, group_id=""))
        n.close()
    assert len(transport.calls) == 2


def test_notifier_routes_by_url_events(urls: dict[str, str]) -> None:
    transport = ScriptedTransport()
    n = notifier(
        transport,
        urls=[{"url": "env:NOTIFY_A", "events": ["cycle_completed"]}, {"url": "env:NOTIFY_B"}],
    )
    n.on_event(finished(Result.PARTIAL))
    n.on_event(finished(Result.COMPLETED, server="web2"))  # job_completed is off by default
    n.cycle_completed([record(Result.PARTIAL), record(Result.COMPLETED)])
    n.close()
    assert transport.titles(1) == [
        "[jbremote] Backup cycle finished: 2 jobs: 1 completed, 1 partially completed"
    ]
    assert [t.split(":")[0] for t in transport.titles(2)] == [
        "[jbremote] Backup partially completed",
        "[jbremote] Backup cycle finished",
    ]


def test_notifier_timeout_warning_then_overrun_from_a_real_lifecycle(
    tmp_path: Path, urls: dict[str, str]
) -> None:
    world = World(tmp_path, FleetSpec.uniform(1, 1, duration=1000.0), job_timeout=300.0)
    world.run()
    transport = ScriptedTransport()
    n = notifier(transport, urls=[{"url": "env:NOTIFY_A"}])
    for event in world.events + world.events:  # replayed: every event seen twice
        n.on_event(event)
    n.close()
    assert [t.split(":")[0] for t in transport.titles(1)] == [
        "[jbremote] Backup past its timeout (still running)",
        "[jbremote] Backup completed after overrunning its timeout",
    ]


def test_notifier_timeout_alert_is_a_snapshot_of_the_moment(urls: dict[str, str]) -> None:
    transport = ScriptedTransport(delay=0.05)
    n = notifier(transport, urls=[{"url": "env:NOTIFY_A"}])
    running = record(Result.PLANNED, ended_at=None, timed_out=True, status_meaning="")
    n.on_event(JobEvent(EventKind.TIMED_OUT, running, "past its timeout"))
    running.result, running.status_meaning = Result.FAILED, "102 failed"  # the job goes on
    n.close()
    assert transport.titles(1) == [
        "[jbremote] Backup past its timeout (still running): web1/accounts"
    ]
    assert "102 failed" not in n.deliveries[0].title


def test_notifier_retries_a_bounded_number_of_times_then_one_try_per_alert(
    urls: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    transport = ScriptedTransport({1: ["refused"]})
    n = notifier(transport, urls=[{"url": "env:NOTIFY_A"}], retries=2, retry_delay=0.01)
    n.on_event(finished())
    n.on_event(finished(Result.PARTIAL, server="web2"))
    deliveries = n.close()
    assert [(d.ok, d.attempts, d.error) for d in deliveries] == [
        (False, 3, "refused"),
        (False, 1, "refused"),
    ]
    assert deliveries[0].outcome == "failed after 3 attempts: refused"
    assert "could not be sent to url #1 (json://…@127.0.0.1) (3 attempts): refused" in caplog.text
    assert "Pa55-word-A" not in caplog.text and "tokenAAAA1111" not in caplog.text


def test_notifier_retry_succeeds_and_service_recovers(urls: dict[str, str]) -> None:
    transport = ScriptedTransport({1: ["timeout", ""]})
    n = notifier(transport, urls=[{"url": "env:NOTIFY_A"}], retries=2)
    n.on_event(finished())
    [delivery] = n.close()
    assert (delivery.ok, delivery.attempts, delivery.outcome) == (True, 2, "sent (attempt 2)")


def test_notifier_close_is_bounded_even_when_a_service_hangs(urls: dict[str, str]) -> None:
    transport = ScriptedTransport(delay=3.0)
    n = notifier(transport, urls=[{"url": "env:NOTIFY_A"}])
    n.on_event(finished())
    n.on_event(finished(Result.PARTIAL, server="web2"))
    started = time.monotonic()
    deliveries = n.close(timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert [(d.ok, d.error) for d in deliveries] == [
        (False, "still being sent when the cycle ended (result unknown)"),
        (False, "not sent: the cycle ended first"),
    ]


def test_notifier_gives_up_retries_that_would_end_after_the_deadline(urls: dict[str, str]) -> None:
    transport = ScriptedTransport({1: ["down"]})
    n = notifier(transport, urls=[{"url": "env:NOTIFY_A"}], retries=5, retry_delay=30)
    n.on_event(finished())
    started = time.monotonic()
    [delivery] = n.close(timeout=1.0)
    assert time.monotonic() - started < 0.5, "a 30 s retry delay is not waited for"
    assert (delivery.ok, delivery.attempts) == (False, 1)


def test_notifier_dry_run_only_says_what_it_would_send(
    urls: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    transport = ScriptedTransport()
    n = notifier(transport, send=False)
    n.cycle_completed([record(Result.PLANNED)], dry_run=True)
    deliveries = n.close()
    assert transport.calls == []
    assert [(d.ok, d.sent, d.outcome) for d in deliveries] == [(True, False, "would send")] * 2
    assert (
        "alerts: would send '[jbremote] Backup cycle dry run: 1 job: 1 planned' to url #1"
        in caplog.text
    )


def test_notifier_unresolvable_url_is_reported_not_raised(
    urls: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("NOTIFY_B")
    transport = ScriptedTransport()
    n = notifier(transport)
    n.on_event(finished())
    by_url = {d.destination: d for d in n.close()}
    assert by_url["url #1 (json://…@127.0.0.1)"].ok
    assert by_url["url #2"].error == "env:NOTIFY_B: environment variable NOTIFY_B is not set"
    assert "url #2 cannot be used" in caplog.text


def test_notifier_summary_catches_up_on_jobs_without_a_finished_event(urls: dict[str, str]) -> None:
    transport = ScriptedTransport()
    n = notifier(transport, urls=[{"url": "env:NOTIFY_A"}])
    n.cycle_completed([record(Result.FAILED, reason="the task ended Crashed")])
    n.close()
    assert [t.split(":")[0] for t in transport.titles(1)] == [
        "[jbremote] Backup failed",
        "[jbremote] Backup cycle finished",
    ]


def test_notifier_summary_lists_alerts_that_failed_earlier(urls: dict[str, str]) -> None:
    transport = ScriptedTransport({2: ["refused", ""]})
    n = notifier(transport, retries=0)
    n.on_event(finished())
    deadline = time.monotonic() + 2
    while len(n.deliveries) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    n.cycle_completed([record()])
    n.close()
    summary = [a for a in n.deliveries if a.event == Event.CYCLE_COMPLETED.value]
    assert len(summary) == 2 and all(d.ok for d in summary)
    texts = [a.text for _, a in transport.alerts if a.event is Event.CYCLE_COMPLETED]
    undelivered = "job_failed web1/accounts to url #2 (mailto://…@mail.example.net): refused"
    assert all(f"Alerts not delivered:\n  - {undelivered}" in text for text in texts)


def test_notifier_event_sink_never_raises(
    urls: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr("jbremote.notify.notifier.job_alert", broken)
    n = notifier(ScriptedTransport())
    n.on_event(finished())  # must not raise
    assert "could not handle finished" in caplog.text
