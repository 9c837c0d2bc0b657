"""Full backup cycles: real Prefect server, the real flow, simulated JetBackup servers.

Assertions come from the simulator's ledger (what the storage saw) and call log.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)

from flows.backup_cycle import backup_cycle
from jbremote.sim import ledger
from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import DestinationSpec, FleetSpec, JobSpec, ServerSpec
from tests.end_to_end.conftest import SshdFleet

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

FAST = {"poll_interval": 0.5, "startup_timeout": 20.0, "job_timeout": 3600.0}


def spec_of(servers: list[ServerSpec], **orchestration: float) -> FleetSpec:
    return FleetSpec(servers, orchestration={**FAST, **orchestration})


def server(name: str, target: str, *jobs: JobSpec) -> ServerSpec:
    return ServerSpec(name, [DestinationSpec("nas", target)], list(jobs))


def job(name: str, duration: float = 1.0, **knobs: Any) -> JobSpec:
    return JobSpec(
        name, ["nas"], duration=duration, start_delay=knobs.pop("start_delay", 0.2), **knobs
    )


def run(config_path: Path, **params: Any) -> tuple[Any, dict[str, Any]]:
    state = backup_cycle(str(config_path), return_state=True, **params)
    summary = state.result(raise_on_failure=False)
    assert isinstance(summary, dict), summary
    return state, {r["label"] and f"{r['server']}/{r['label']}": r for r in summary["records"]}


def intervals(state_dir: Path) -> dict[tuple[str, str], tuple[float, float]]:
    return {
        (i.server, i.job_id): (i.started, i.ended)
        for i in ledger.writer_intervals(state_dir)
        if i.ended
    }


def test_cycle_runs_each_job_once_one_writer_per_target_lanes_overlap(
    prefect_api: str, sim_fleet: Callable[[FleetSpec], SimFleet]
) -> None:
    spec = spec_of(
        [
            server("srv01", "nas1", job("a", priority=0), job("b", priority=5)),
            server("srv02", "nas1", job("c")),
            server("srv03", "nas2", job("d", 2.0), job("e")),
        ]
    )
    fleet = sim_fleet(spec)
    state, records = run(fleet.config_path)

    assert state.is_completed() and state.name == "Completed"
    assert {r["result"] for r in records.values()} == {"completed"}
    assert set(ledger.runs_per_job(fleet.state_dir).values()) == {1}
    assert ledger.max_writers(fleet.state_dir, spec.target_of()) == {"nas1": 1, "nas2": 1}
    assert not ledger.stop_calls(fleet.state_dir)
    # one SSH connection per server for the whole cycle
    assert set(ledger.connections_per_server(fleet.state_dir).values()) == {1}

    spans = intervals(fleet.state_dir)
    ids = {f"{s.name}/{j.name}": (s.name, s.job_id(j.name)) for s in spec.servers for j in s.jobs}
    # order inside lane nas1: priority first (b), then config order (a, c)
    starts = [spans[ids[k]][0] for k in ("srv01/b", "srv01/a", "srv02/c")]
    assert starts == sorted(starts)
    # the two lanes ran at the same time
    nas1 = (
        min(spans[ids[k]][0] for k in ("srv01/a", "srv01/b", "srv02/c")),
        max(spans[ids[k]][1] for k in ("srv01/a", "srv01/b", "srv02/c")),
    )
    nas2 = (
        min(spans[ids[k]][0] for k in ("srv03/d", "srv03/e")),
        max(spans[ids[k]][1] for k in ("srv03/d", "srv03/e")),
    )
    assert min(nas1[1], nas2[1]) - max(nas1[0], nas2[0]) > 1.0

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["backup-cycle-summary"])),
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
            ),
        )
        assert len(artifacts) == 1 and "5 jobs: 5 completed" in (artifacts[0].description or "")
        limit = client.read_global_concurrency_limit_by_name("tag:nas:nas1")
        assert limit.limit == 1 and limit.active_slots == 0


def test_outcomes_map_and_one_failure_does_not_stop_the_rest(
    prefect_api: str, sim_fleet: Callable[[FleetSpec], SimFleet]
) -> None:
    spec = spec_of(
        [
            server(
                "srv01",
                "nas1",
                job("ok"),
                job("partial", outcomes=[101]),
                job("failed", outcomes=[102]),
                job("aborted", outcomes=[103]),
                job("odd", outcomes=[104]),
                job("last"),
            )
        ]
    )
    fleet = sim_fleet(spec)
    state, records = run(fleet.config_path)

    assert state.is_failed()
    results = {k: (r["result"], r["status_code"]) for k, r in records.items()}
    assert results == {
        "srv01/ok": ("completed", 100),
        "srv01/partial": ("partially completed", 101),
        "srv01/failed": ("failed", 102),
        "srv01/aborted": ("aborted", 103),
        "srv01/odd": ("unknown status", 104),
        "srv01/last": ("completed", 100),
    }
    assert records["srv01/failed"]["log_tail"], "the log tail is kept for a failure"

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
            )
        )
    names = {r.name.split("/")[-1]: (r.state.type.value, r.state.name) for r in runs if r.state}
    assert names["partial"] == ("COMPLETED", "PartiallyCompleted")
    assert names["failed"] == ("FAILED", "Failed")
    assert names["aborted"] == ("FAILED", "Aborted")
    assert names["odd"] == ("FAILED", "UnknownStatus")
    assert names["last"] == ("COMPLETED", "Completed")


def test_short_job_timeout_and_adoption(
    prefect_api: str, sim_fleet: Callable[[FleetSpec], SimFleet]
) -> None:
    spec = spec_of(
        [
            server(
                "srv01", "nas1", job("blink", 0.2, start_delay=0.05), job("long", 4.0), job("next")
            ),
            server("srv02", "nas2", job("busy", 3.0)),
        ],
        poll_interval=2.0,
    )
    fleet = sim_fleet(spec)
    # "busy" is already running (JetBackup's own schedule) when the cycle starts
    from jbremote.jetbackup.client import JetBackupClient
    from jbremote.sim.transport import SimTransport

    busy = spec.server("srv02").job_id("busy")
    JetBackupClient(SimTransport(fleet.store, "srv02")).run_backup_job_manually(busy)
    config = fleet.config_path.read_text().replace("job_timeout: 3600.0", "job_timeout: 1.5")
    fleet.config_path.write_text(config)

    state, records = run(fleet.config_path)

    assert records["srv01/blink"]["result"] == "completed", "a job ending between two polls ran"
    long = records["srv01/long"]
    assert long["result"] == "completed" and long["timed_out"] and long["overran_by"] > 1
    spans = intervals(fleet.state_dir)
    long_end = spans[("srv01", spec.server("srv01").job_id("long"))][1]
    next_start = spans[("srv01", spec.server("srv01").job_id("next"))][0]
    assert next_start >= long_end, "the lane stays held until the overrunning job ended"
    assert records["srv02/busy"]["adopted"] and records["srv02/busy"]["result"] == "completed"
    assert ledger.triggers_per_job(fleet.state_dir)[("srv02", busy)] == 1
    assert not ledger.stop_calls(fleet.state_dir)
    assert state.name == "CompletedWithProblems"


def test_two_cycles_started_together_keep_one_writer_per_target(
    prefect_api: str, sim_fleet: Callable[[FleetSpec], SimFleet]
) -> None:
    spec = spec_of(
        [
            server("srv01", "nas1", job("a", 1.5), job("b", 1.5)),
            server("srv02", "nas1", job("c", 1.5)),
        ]
    )
    fleet = sim_fleet(spec)
    code = "import sys; from flows.backup_cycle import backup_cycle; s = backup_cycle(sys.argv[1], return_state=True); sys.exit(0 if s.is_completed() else 1)"
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_LEVEL": "WARNING"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(fleet.config_path)], env=env)
        for _ in range(2)
    ]
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    assert ledger.max_writers(fleet.state_dir, spec.target_of()) == {"nas1": 1}
    runs = ledger.runs_per_job(fleet.state_dir)
    assert all(1 <= n <= 2 for n in runs.values()) and len(runs) == 3
    assert not ledger.stop_calls(fleet.state_dir)


def test_cycle_over_real_sshd_uses_one_connection_per_server(
    prefect_api: str, sshd_fleet: Callable[[FleetSpec], SshdFleet]
) -> None:
    spec = spec_of([server("srv01", "nas1", job("a"), job("b")), server("srv02", "nas1", job("c"))])
    fleet = sshd_fleet(spec)
    state, _ = run(fleet.config_path)
    assert state.name == "Completed", state.message
    assert ledger.max_writers(fleet.state_dir, spec.target_of()) == {"nas1": 1}
    assert set(ledger.runs_per_job(fleet.state_dir).values()) == {1}
    assert ledger.connections_per_server(fleet.state_dir) == {"srv01": 1, "srv02": 1}


def test_dry_run_triggers_nothing(
    prefect_api: str, sim_fleet: Callable[[FleetSpec], SimFleet]
) -> None:
    spec = spec_of([server("srv01", "nas1", job("a"), job("b"))])
    fleet = sim_fleet(spec)
    state, records = run(fleet.config_path, dry_run=True)
    assert state.name == "DryRun"
    assert {r["result"] for r in records.values()} == {"planned"}
    assert not ledger.triggers_per_job(fleet.state_dir)
    assert all(c["function"] in ("getBackupJob",) for c in ledger.calls(fleet.state_dir))
