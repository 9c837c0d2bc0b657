"""``jbremote run``: a real backup-cycle flow run on a real Prefect server, over SSH to a fleet."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jbremote.sim import ledger
from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import FleetSpec
from tests.unit.cli.conftest import jbremote

pytestmark = [pytest.mark.prefect, pytest.mark.slow]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimFleet]:
    # Three servers on nas1 (one lane, one writer), one on nas2; srv01's job ends partial.
    spec = FleetSpec.uniform(4, 1, duration=0.6, start_delay=0.1)
    spec.servers[3].destinations[0].target = "nas2"
    spec.servers[0].jobs[0].outcomes = [101]
    spec.orchestration.update(poll_interval=0.3, startup_timeout=15.0)
    with SimFleet(spec, tmp_path_factory.mktemp("run") / "fleet") as running:
        yield running


def cli(fleet: SimFleet, *args: str) -> Any:
    return jbremote("run", "-c", str(fleet.config_path), *args)


def triggers(fleet: SimFleet) -> list[dict[str, Any]]:
    return [c for c in ledger.calls(fleet.state_dir) if c["function"] == "runBackupJobManually"]


def test_run_json_is_a_flow_run_with_every_record_and_exit_1_for_a_partial_job(
    prefect_api: str, fleet: SimFleet
) -> None:
    result = cli(fleet, "--json")

    assert result.exit_code == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "problems"
    assert data["flow_run"]["state"] == "CompletedWithProblems"
    assert data["counts"] == {"completed": 3, "partially completed": 1}
    results = {(r["server"], r["target"], r["result"]) for r in data["records"]}
    assert results == {
        ("srv01", "nas1", "partially completed"),
        ("srv02", "nas1", "completed"),
        ("srv03", "nas1", "completed"),
        ("srv04", "nas2", "completed"),
    }
    assert len(triggers(fleet)) == 4
    assert ledger.max_writers(fleet.state_dir, fleet.spec.target_of()) == {"nas1": 1, "nas2": 1}

    # The run is in Prefect's history under its id, with the state the CLI reported.
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(data["flow_run"]["id"])
    assert run.name == data["flow_run"]["name"]
    assert run.state is not None and run.state.name == "CompletedWithProblems"

    # Progress went to stderr, one line per noteworthy event, counting jobs done.
    assert "lane nas1 (1 writer(s)): srv01/job1, srv02/job1, srv03/job1" in result.stderr
    assert "4/4 srv" in result.stderr and "started (queue group" in result.stderr


def test_run_dry_run_of_one_job_triggers_nothing(prefect_api: str, fleet: SimFleet) -> None:
    before = len(triggers(fleet))
    result = cli(fleet, "--dry-run", "--server", "srv02")
    assert result.exit_code == 0, result.stderr
    assert "DryRun: 1 job: 1 planned" in result.stdout
    assert "srv02" in result.stdout and "srv01" not in result.stdout
    assert len(triggers(fleet)) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "tape"], "unknown target: 'tape' (known: nas1, nas2)"),
        (["--job", "job9"], "unknown job: 'job9'"),
        (["--server", "srv04", "--target", "nas1"], "the filters select no job"),
    ],
)
def test_run_with_bad_filters_exits_2_before_contacting_anything(
    fleet: SimFleet, args: list[str], message: str
) -> None:
    calls = len(ledger.calls(fleet.state_dir))
    result = cli(fleet, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {message}")
    assert len(ledger.calls(fleet.state_dir)) == calls


def test_run_with_a_broken_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("servers: {}\n")
    result = jbremote("run", "-c", str(bad))
    assert result.exit_code == 2
    assert "targets: required" in result.stderr and "jobs: required" in result.stderr
