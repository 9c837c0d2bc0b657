"""Server-level fault knobs: failures, garbage, slowness, flag styles — reproducible by seed."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from jbremote.sim import ledger
from jbremote.sim.api import FAULT_MESSAGE


def _set(sim: Any, **knobs: Any) -> None:
    with sim.store.edit("srv01") as server:
        for name, value in knobs.items():
            setattr(server.faults, name, value)


def _success_pattern(make_sim: Any, seed: int) -> list[int]:
    sim = make_sim()
    _set(sim, fail_rate=0.5, seed=seed)
    return [sim.call("listBackupJobs")["success"] for _ in range(24)]


def test_fail_rate_is_reproducible_for_a_seed(make_sim: Any) -> None:
    first = _success_pattern(make_sim, seed=7)
    assert _success_pattern(make_sim, seed=7) == first
    assert 0 in first and 1 in first
    assert _success_pattern(make_sim, seed=8) != first


def test_failed_call_has_a_message_and_no_effect(sim: Any) -> None:
    _set(sim, fail_rate=1.0)
    out = sim.run("runBackupJobManually", {"_id": sim.job_id()})
    reply = json.loads(out.stdout)
    assert (out.exit_status, reply["success"], reply["message"]) == (0, 0, FAULT_MESSAGE)
    _set(sim, fail_rate=0.0)
    assert sim.groups() == []


def test_fail_functions_limits_failures_to_those_functions(sim: Any) -> None:
    _set(sim, fail_rate=1.0, fail_functions=["getBackupJob"])
    assert sim.call("getBackupJob", {"_id": sim.job_id()})["success"] == 0
    assert sim.call("listBackupJobs")["success"] == 1


@pytest.mark.parametrize("kind", ["text", "truncated_json", "html", "empty"])
def test_garbage_output_is_not_json(sim: Any, kind: str) -> None:
    _set(sim, garbage_rate=1.0, garbage_kind=kind)
    out = sim.run("listBackupJobs")
    assert out.exit_status == 0
    with pytest.raises(ValueError):
        json.loads(out.stdout)
    assert sim.store.read_calls()[-1]["garbage"] == kind


def test_wrong_shape_garbage_is_json_without_the_envelope(sim: Any) -> None:
    _set(sim, garbage_rate=1.0, garbage_kind="wrong_shape")
    parsed = json.loads(sim.run("listBackupJobs").stdout)
    assert "success" not in parsed


def test_garbage_answer_to_a_trigger_still_queues_the_run(sim: Any) -> None:
    _set(sim, garbage_rate=1.0, garbage_functions=["runBackupJobManually"])
    out = sim.run("runBackupJobManually", {"_id": sim.job_id()})
    assert not out.stdout.startswith(b"{")
    assert len(sim.groups()) == 1  # listQueueGroups is not garbled


def test_unknown_garbage_kind_is_rejected_when_set(sim: Any) -> None:
    with pytest.raises(ValueError), sim.store.edit("srv01") as server:
        server.faults.garbage_kind = "noise"
    assert sim.store.load("srv01").faults.garbage_kind == "text"


def test_slow_seconds_sleeps_after_the_call_took_effect(sim: Any) -> None:
    _set(sim, slow_seconds=2.5)
    sim.trigger()
    assert sim.slept == [2.5]
    assert ledger.runs_per_job(sim.store.state_dir)[("srv01", sim.job_id())] == 1


def test_slow_seconds_really_delays_the_answer(sim: Any) -> None:
    from jbremote.sim.service import handle_command

    _set(sim, slow_seconds=0.05)
    start = time.monotonic()
    handle_command(sim.store, "srv01", "jetbackup5api -F listBackupJobs -O json")
    assert time.monotonic() - start >= 0.05


@pytest.mark.parametrize(
    ("style", "true", "false", "absent"),
    [("int", 1, 0, None), ("bool", True, False, None), ("empty", 1, "", "")],
)
def test_flag_style_renders_flags_and_absent_values(
    sim: Any, style: str, true: Any, false: Any, absent: Any
) -> None:
    _set(sim, flag_style=style)
    job = sim.trigger()["data"]
    assert (job["running"], type(job["running"])) == (true, type(true))
    assert (job["disabled"], type(job["disabled"])) == (false, type(false))
    (group,) = sim.groups()
    assert group["ended"] == absent
    assert group["status"] == 1  # integers are never restyled
    reply = sim.call("getBackupJob", {"_id": sim.job_id()})
    assert reply["success"] == 1
