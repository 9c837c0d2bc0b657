"""What the alerts say: event choice, titles, bodies, escaping, the log tail cap."""

from __future__ import annotations

import pytest

from jbremote.config.models import Event
from jbremote.lifecycle.result import Result
from jbremote.notify.alert import (
    AlertContext,
    Level,
    cycle_alert,
    cycle_failed_alert,
    end_event,
    job_alert,
    tail_bytes,
)
from tests.unit.notify.conftest import NOW, record

CTX = AlertContext(cycle_id="c1", flow_run_url="http://ui.example:4200/runs/flow-run/abc")
OVERRAN = frozenset({Event.JOB_OVERRAN})


@pytest.mark.parametrize(
    ("result", "timed_out", "expected"),
    [
        (Result.FAILED, False, (Event.JOB_FAILED, frozenset())),
        (Result.ABORTED, False, (Event.JOB_FAILED, frozenset())),
        (Result.UNKNOWN_STATUS, False, (Event.JOB_FAILED, frozenset())),
        (Result.NOT_STARTED, False, (Event.JOB_FAILED, frozenset())),
        (Result.FAILED, True, (Event.JOB_FAILED, OVERRAN)),
        (Result.PARTIAL, False, (Event.JOB_PARTIAL, frozenset())),
        (Result.PARTIAL, True, (Event.JOB_PARTIAL, OVERRAN)),
        (Result.COMPLETED, True, (Event.JOB_OVERRAN, frozenset())),
        (Result.COMPLETED, False, (Event.JOB_COMPLETED, frozenset())),
        (Result.SKIPPED, False, None),
        (Result.STILL_RUNNING, True, None),
    ],
)
def test_end_event_picks_one_event_per_finished_job(
    result: Result, timed_out: bool, expected: tuple[Event, frozenset[Event]] | None
) -> None:
    assert end_event(record(result, timed_out=timed_out)) == expected


def test_job_failed_alert_names_cause_status_times_and_link() -> None:
    alert = job_alert(Event.JOB_FAILED, record(reason="JetBackup status 102 failed"), CTX, NOW)
    assert alert.title == "[jbremote] Backup failed: web1/accounts"
    assert alert.level is Level.FAILURE and alert.subject == "web1/accounts"
    assert alert.key == ("job_failed", "web1", "0123456789abcdef01234567", "g1")
    for text in (alert.text, alert.markdown):
        for expected in ("102 failed", "nas1", "2m05s", "1h00m00s", CTX.flow_run_url):
            assert expected in text, (expected, text)
    assert "JetBackup status: 102 failed" in alert.text
    assert "Duration:         2m05s" in alert.text
    assert f"[Open the flow run in Prefect]({CTX.flow_run_url})" in alert.markdown


def test_job_alert_without_a_group_is_keyed_to_its_cycle() -> None:
    never = record(Result.NOT_STARTED, group_id="", status_code=None, status_meaning="")
    alert = job_alert(Event.JOB_FAILED, never, CTX, NOW)
    assert alert.key[-1] == "cycle:c1"
    assert alert.title == "[jbremote] Backup did not start: web1/accounts"
    assert "JetBackup status: none (no run ended)" in alert.text
    assert "Queue group" not in alert.text


def test_timed_out_alert_says_it_keeps_running_for_how_long() -> None:
    running = record(Result.PLANNED, ended_at=None, timed_out=True, status_meaning="", timeout=60.0)
    alert = job_alert(Event.JOB_TIMED_OUT, running, CTX, NOW, history=["02:00:00 triggered"])
    assert alert.title == "[jbremote] Backup past its timeout (still running): web1/accounts"
    assert alert.level is Level.WARNING
    assert "running for 2m05s, past its timeout of 1m00s" in alert.text
    assert "keeps running and nas1" in alert.text
    assert "Running for:" in alert.text and "still running" in alert.text
    assert "  - 02:00:00 triggered" in alert.text


def test_overrun_is_told_in_the_end_alert() -> None:
    done = record(Result.COMPLETED, timed_out=True, overran_by=65.0, timeout=60.0)
    alert = job_alert(Event.JOB_OVERRAN, done, CTX, NOW)
    assert alert.title == "[jbremote] Backup completed after overrunning its timeout: web1/accounts"
    assert "It overran its timeout of 1m00s by 1m05s." in alert.text
    assert "1m00s (overran by 1m05s)" in alert.text
    failed = job_alert(
        Event.JOB_FAILED, record(timed_out=True, overran_by=5.0), CTX, NOW, also=OVERRAN
    )
    assert failed.events == {Event.JOB_FAILED, Event.JOB_OVERRAN}
    assert "overran its timeout" in failed.text


def test_log_tail_only_when_asked_and_capped_in_bytes() -> None:
    tail = "first line\n" + "é" * 300 + "\nlast line ```` fenced\n"
    failed = record(log_tail=tail)
    assert "log tail" not in job_alert(Event.JOB_FAILED, failed, CTX, NOW).text
    ctx = AlertContext(cycle_id="c1", include_log_tail=True, log_tail_bytes=64)
    alert = job_alert(Event.JOB_FAILED, failed, ctx, NOW)
    shown = alert.text.split("JetBackup log tail (last 64 bytes):\n", 1)[1]
    lines = [line.removeprefix("    ") for line in shown.rstrip("\n").splitlines()]
    assert len("\n".join(lines).encode()) <= 64
    assert lines[-1] == "last line ```` fenced" and "first line" not in shown
    assert "`````text\n" in alert.markdown, "the fence is longer than any backtick run inside"


def test_tail_bytes_never_splits_a_character() -> None:
    assert tail_bytes("aé", 1) == ""
    assert tail_bytes("aé", 2) == "é"
    assert tail_bytes("abc", 10) == "abc"


def test_hostile_remote_text_is_escaped_in_both_bodies() -> None:
    hostile = record(
        label="acc\x1b[31m<img src=x>[click](http://evil)",
        reason="bad \u202e thing",
        notes=["**bold** \x07 _x_"],
    )
    alert = job_alert(Event.JOB_FAILED, hostile, CTX, NOW)
    for text in (alert.title, alert.text, alert.markdown):
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "\\x1b[31m" in alert.text and "\\u202e" in alert.text
    assert "[click](http://evil)" not in alert.markdown
    assert "\\[click\\]\\(http://evil\\)" in alert.markdown
    assert "\\<img src=x\\>" in alert.markdown
    assert "\\*\\*bold\\*\\*" in alert.markdown


def test_title_stays_on_one_line() -> None:
    alert = job_alert(Event.JOB_FAILED, record(label="two\nlines\tand tab"), CTX, NOW)
    assert "\n" not in alert.title and "\t" not in alert.title


def test_cycle_summary_counts_and_lists_problems_first() -> None:
    records = [
        record(Result.COMPLETED, label="ok", status_meaning="100 completed"),
        record(Result.PARTIAL, label="half", status_meaning="101 partially completed"),
        record(Result.FAILED, label="broken"),
        record(Result.COMPLETED, label="slow", timed_out=True, overran_by=10.0),
    ]
    alert = cycle_alert(records, CTX, undelivered=["job_failed web1/broken to url #2: refused"])
    assert alert.title == (
        "[jbremote] Backup cycle finished: 4 jobs: 2 completed, 1 partially completed, 1 failed"
    )
    assert alert.level is Level.FAILURE and alert.key == ("cycle_completed", "c1")
    assert "3 jobs need attention" in alert.text
    assert "Overran timeout:" in alert.text
    order = [alert.text.index(f"- web1/{name} —") for name in ("broken", "half", "slow", "ok")]
    assert order == sorted(order)
    assert "result: failed; target: nas1" in alert.text
    assert "| web1/broken | failed | nas1 |" in alert.markdown
    assert "job_failed web1/broken to url #2: refused" in alert.text
    assert CTX.flow_run_url in alert.text


def test_cycle_summary_level_follows_the_worst_job() -> None:
    ok = record(Result.COMPLETED)
    assert cycle_alert([ok], CTX).level is Level.SUCCESS
    assert cycle_alert([ok, record(Result.PARTIAL)], CTX).level is Level.WARNING
    assert cycle_alert([record(Result.COMPLETED, timed_out=True)], CTX).level is Level.WARNING
    dry = cycle_alert([record(Result.PLANNED)], CTX, dry_run=True)
    assert dry.title == "[jbremote] Backup cycle dry run: 1 job: 1 planned"


def test_cycle_failed_alert_keeps_long_details_in_a_block() -> None:
    reason = "ConfigError: jbremote.yaml: 2 problems\n  jobs[0].id: bad\n  servers.x: bad"
    alert = cycle_failed_alert(reason, CTX, "/etc/jbremote/jbremote.yaml")
    assert (
        alert.title
        == "[jbremote] Backup cycle could not run: ConfigError: jbremote.yaml: 2 problems jobs[0].id: bad servers.x: bad"
    )
    assert alert.level is Level.FAILURE and alert.key == ("cycle_failed", "c1")
    assert "Config:" in alert.text and "/etc/jbremote/jbremote.yaml" in alert.text
    assert "    jobs[0].id: bad" in alert.text
    assert "```text\nConfigError" in alert.markdown


def test_test_alerts_say_so_in_the_title() -> None:
    ctx = AlertContext(cycle_id="t", test=True)
    assert job_alert(Event.JOB_FAILED, record(), ctx, NOW).title.startswith("[jbremote test] ")
