"""Pauses of targets and jobs: what is stored, and what a cycle holds back."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from jbremote import pause as pauses
from jbremote.config.load import validate_data
from jbremote.config.models import Config
from jbremote.cycle.plan import plan_lanes
from jbremote.lifecycle.result import Result
from jbremote.sim.fleetspec import FleetSpec

NOW = datetime(2026, 11, 22, 9, 14, 3, tzinfo=timezone.utc)


class MemoryStore:
    def __init__(self, value: Any = None) -> None:
        self.value = value
        self.writes = 0

    def read(self) -> Any:
        return self.value

    def write(self, value: dict[str, Any]) -> None:
        json.dumps(value)  # what Prefect stores must be JSON
        self.value = value
        self.writes += 1


@pytest.fixture
def config() -> Config:
    # srv01, srv03 -> nas1; srv02 -> nas2; each with job1, job2
    spec = FleetSpec.uniform(3, 2, targets=("nas1", "nas2"))
    ports = {s.name: 2200 + i for i, s in enumerate(spec.servers)}
    return validate_data(spec.config(ports, Path("/k"), Path("/kh")))


def test_pause_target_stores_who_when_why_in_documented_shape() -> None:
    store = MemoryStore()
    entry = pauses.pause("target", "nas1", "  RAID   rebuild ", by="ops@box", store=store, now=NOW)

    assert entry.reason == "RAID rebuild"
    assert store.value == {
        "targets": {
            "nas1": {"by": "ops@box", "at": "2026-11-22T09:14:03+00:00", "reason": "RAID rebuild"}
        },
        "jobs": {},
    }
    assert pauses.paused(store).targets["nas1"] == entry


def test_pause_job_keeps_existing_target_pause_and_resume_removes_only_it() -> None:
    store = MemoryStore()
    pauses.pause("target", "nas1", "rebuild", by="a", store=store, now=NOW)
    pauses.pause("job", "srv02/job1", "account migration", by="b", store=store, now=NOW)

    removed = pauses.resume("job", "srv02/job1", store=store)

    assert removed is not None and removed.reason == "account migration"
    now = pauses.paused(store)
    assert set(now.targets) == {"nas1"} and not now.jobs


def test_resume_of_what_is_not_paused_returns_none_and_writes_nothing() -> None:
    store = MemoryStore({"targets": {}, "jobs": {}})
    assert pauses.resume(pauses.Kind.TARGET, "nas9", store=store) is None
    assert store.writes == 0


def test_pause_again_replaces_reason() -> None:
    store = MemoryStore()
    pauses.pause("target", "nas1", "first", store=store, now=NOW)
    pauses.pause("target", "nas1", "second", store=store, now=NOW)
    assert pauses.paused(store).targets["nas1"].reason == "second"


@pytest.mark.parametrize(
    ("name", "reason", "message"),
    [
        ("nas1", "   ", "reason is required"),
        ("nas1", "x" * 201, "limited to 200"),
        ("", "why", "1-120 printable"),
        ("nas\n1", "why", "1-120 printable"),
    ],
)
def test_pause_refuses_bad_input(name: str, reason: str, message: str) -> None:
    store = MemoryStore()
    with pytest.raises(pauses.PauseError, match=message):
        pauses.pause("target", name, reason, store=store)
    assert store.writes == 0


def test_pause_refuses_unknown_kind() -> None:
    with pytest.raises(ValueError):
        pauses.pause("server", "web1", "why", store=MemoryStore())


def test_pause_refuses_when_value_would_not_fit_in_a_prefect_variable() -> None:
    store = MemoryStore()
    with pytest.raises(pauses.PauseError, match="too many pauses"):
        for i in range(100):
            pauses.pause("job", f"job-{i:03d}", "r" * 150, by="ops", store=store, now=NOW)
    assert len(json.dumps(store.value)) <= pauses.MAX_VALUE_CHARS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, 2], "must be an object"),
        ("not json", "is not JSON"),
        ({"targets": [], "jobs": {}}, "targets must be an object"),
        ({"targets": {"nas1": "yes"}}, "targets.nas1 must be an object"),
        ({"targets": {"nas1": {"reason": 5}}}, "text fields"),
        ({"servers": {}}, "unknown keys: servers"),
    ],
)
def test_broken_stored_value_is_an_error_not_a_guess(value: Any, message: str) -> None:
    with pytest.raises(pauses.PauseError, match=message):
        pauses.paused(MemoryStore(value))


def test_value_edited_in_the_ui_as_json_text_is_read() -> None:
    text = json.dumps({"jobs": {"job1": {"reason": "why"}}})
    assert pauses.paused(MemoryStore(text)).jobs["job1"].reason == "why"


def test_no_variable_means_nothing_paused() -> None:
    assert not pauses.paused(MemoryStore(None))


def test_apply_pauses_drops_paused_jobs_and_reports_them_skipped_as_paused(
    config: Config,
) -> None:
    store = MemoryStore()
    pauses.pause("target", "nas2", "RAID rebuild", by="ops@box", store=store, now=NOW)
    pauses.pause("job", "srv01/job2", "moving accounts", by="ops@box", store=store, now=NOW)
    lanes, _ = plan_lanes(config)

    kept, held = pauses.apply_pauses(lanes, pauses.paused(store))

    assert [(lane.target, [j.display for j in lane.jobs]) for lane in kept] == [
        ("nas1", ["srv01/job1", "srv03/job1", "srv03/job2"])
    ]
    assert {r.display: r.result for r in held} == {
        "srv01/job2": Result.SKIPPED,
        "srv02/job1": Result.SKIPPED,
        "srv02/job2": Result.SKIPPED,
    }
    reasons = {r.display: r.reason for r in held}
    assert reasons["srv02/job1"] == (
        "paused: RAID rebuild (target nas2, by ops@box, 2026-11-22 09:14 UTC)"
    )
    assert reasons["srv01/job2"].startswith("paused: moving accounts (job srv01/job2")


@pytest.mark.parametrize("name", ["job1", "srv02/job1"])
def test_job_pause_matches_label_everywhere_or_server_and_label(config: Config, name: str) -> None:
    store = MemoryStore()
    pauses.pause("job", name, "why", store=store)
    lanes, _ = plan_lanes(config)
    _, held = pauses.apply_pauses(lanes, pauses.paused(store))
    expected = {"srv01/job1", "srv02/job1", "srv03/job1"} if name == "job1" else {"srv02/job1"}
    assert {r.display for r in held} == expected


def test_job_pause_by_id(config: Config) -> None:
    job = config.jobs[3]
    store = MemoryStore()
    pauses.pause("job", job.id, "why", store=store)
    lanes, _ = plan_lanes(config)
    _, held = pauses.apply_pauses(lanes, pauses.paused(store))
    assert [r.job_id for r in held] == [job.id]


def test_job_pause_is_reported_before_its_target_pause(config: Config) -> None:
    store = MemoryStore()
    pauses.pause("target", "nas1", "target reason", store=store)
    pauses.pause("job", "srv01/job1", "job reason", store=store)
    lanes, _ = plan_lanes(config)
    _, held = pauses.apply_pauses(lanes, pauses.paused(store))
    reasons = {r.display: r.reason for r in held}
    assert reasons["srv01/job1"].startswith("paused: job reason")
    assert reasons["srv03/job1"].startswith("paused: target reason")


def test_nothing_paused_keeps_lanes_as_planned(config: Config) -> None:
    lanes, _ = plan_lanes(config)
    kept, held = pauses.apply_pauses(lanes, pauses.Paused())
    assert kept == lanes and held == []


def test_matching_names_what_a_pause_would_hold_back(config: Config) -> None:
    assert pauses.matching(config, "target", "nas1") == ["nas1"]
    assert pauses.matching(config, "target", "nas9") == []
    assert pauses.matching(config, "job", "job2") == ["srv01/job2", "srv02/job2", "srv03/job2"]
    assert pauses.matching(config, "job", "srv03/job2") == ["srv03/job2"]
    assert pauses.matching(config, "job", "nope") == []
