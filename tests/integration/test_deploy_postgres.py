"""Scale-out on PostgreSQL: two workers, two cycles at once, and a server restart mid-lane.

A real PostgreSQL cluster (initdb in a temp dir), a Prefect server on it with the
filesystem lease storage the server unit uses, the repository's prefect.yaml deployed with
the documented command, and two process workers on the one pool, each taking one run at a
time. What the storage saw comes from the simulator's ledger.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.objects import FlowRun, StateType

from jbremote.sim import ledger
from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import FleetSpec
from tests.deploy_postgres import PostgresCluster, postgres_missing_reason
from tests.deploy_prefect import REPO, api, cli, start_worker, wait_final, wait_until
from tests.prefect_server import PrefectServer

pytestmark = [pytest.mark.slow, pytest.mark.prefect]

FAST = {"poll_interval": 0.5, "startup_timeout": 20.0, "job_timeout": 3600.0}


class PostgresPrefectServer(PrefectServer):
    """The shared test server helper, on PostgreSQL (it already uses filesystem leases)."""

    def __init__(self, home: Path, database_url: str) -> None:
        super().__init__(home)
        self.database_url = database_url

    def env(self) -> dict[str, str]:
        return {**super().env(), "PREFECT_API_DATABASE_CONNECTION_URL": self.database_url}


@dataclass
class Stack:
    postgres: PostgresCluster
    server: PostgresPrefectServer
    env: dict[str, str]  # a client's environment: CLI and workers
    workers: dict[str, subprocess.Popen[bytes]]
    logs: dict[str, Path]
    tmp: Path


def _fleet(spec: FleetSpec, path: Path) -> SimFleet:
    spec.orchestration = dict(FAST)
    return SimFleet(spec, path).start()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = postgres_missing_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("pg-stack")
    postgres = PostgresCluster().start()
    server = PostgresPrefectServer(tmp / "server-home", postgres.url)
    workers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        server.start(timeout=120)
        env = {
            "PATH": os.environ["PATH"],
            "LANG": "C.UTF-8",
            "PREFECT_HOME": str(tmp / "client-home"),
            "PREFECT_API_URL": server.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "JBREMOTE_HOME": str(REPO),  # runs start in the checkout, as in development
        }
        pool = cli(env, "work-pool", "create", "jbremote", "--type", "process")
        assert pool.returncode == 0, pool.stdout + pool.stderr
        # the documented command, from the repository (deployer's env without JBREMOTE_HOME)
        deploy_env = {k: v for k, v in env.items() if k != "JBREMOTE_HOME"}
        deployed = cli(deploy_env, "deploy", "--all", cwd=REPO)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        logs = {name: tmp / f"{name}.log" for name in ("worker-a", "worker-b")}
        for name, log in logs.items():
            workers[name] = start_worker(name, env, log, "--limit", "1")
        yield Stack(postgres, server, env, workers, logs, tmp)
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                os.killpg(worker.pid, 9)
                worker.wait()
        server.stop()
        postgres.stop()


def _start(client: SyncPrefectClient, deployment: str, **parameters: object) -> UUID:
    found = client.read_deployment_by_name(deployment)
    return client.create_flow_run_from_deployment(found.id, parameters=parameters).id


def _overlap(a: FlowRun, b: FlowRun) -> float:
    assert a.start_time and a.end_time and b.start_time and b.end_time
    return (min(a.end_time, b.end_time) - max(a.start_time, b.start_time)).total_seconds()


def test_two_workers_run_two_cycles_at_once_one_writer_per_target(
    stack: Stack, tmp_path: Path
) -> None:
    spec = FleetSpec.uniform(4, 2, targets=("nas1", "nas2"), duration=1.5, start_delay=0.2)
    fleet = _fleet(spec, tmp_path / "fleet")
    try:
        config = str(fleet.config_path)
        with api(stack.server.api_url) as client:
            # the nightly deployment and an operator's ad-hoc cycle, over the same targets
            runs = [
                _start(client, "backup-cycle/backup-cycle", config_path=config),
                _start(client, "backup-cycle/adhoc", config_path=config),
            ]
            first, second = (wait_final(client, r, 180) for r in runs)
    finally:
        fleet.stop()

    assert first.state_type == second.state_type == StateType.COMPLETED, (first.state, second.state)
    assert _overlap(first, second) > 3, "the two cycles did not run at the same time"
    # one run per worker (each takes one at a time). Both may try to submit the same run
    # (the loser is told to abort); the run's own log lines show who really ran it.
    ran = {
        name: {str(r) for r in runs if f"/flow-run/{r}" in log.read_text()}
        for name, log in stack.logs.items()
    }
    assert sorted(len(p) for p in ran.values()) == [1, 1], ran
    # both cycles ran every job, yet the storage never saw two writers at once
    assert ledger.max_writers(fleet.state_dir, spec.target_of()) == {"nas1": 1, "nas2": 1}
    assert (
        all(n >= 1 for n in ledger.runs_per_job(fleet.state_dir).values())
        and len(ledger.runs_per_job(fleet.state_dir)) == 8
    )
    # the history is in PostgreSQL
    ids = ", ".join(f"'{r}'" for r in runs)
    assert stack.postgres.query(f"select count(*) from flow_run where id in ({ids})") == "2"


def test_server_restart_while_a_lane_is_held_does_not_leave_it_stuck(
    stack: Stack, tmp_path: Path
) -> None:
    spec = FleetSpec.uniform(1, 2, targets=("nas-restart",), duration=10.0, start_delay=0.2)
    fleet = _fleet(spec, tmp_path / "fleet")
    limit_name = "tag:nas:nas-restart"
    long_job, short_job = (fleet.job_id("srv01", j) for j in ("job1", "job2"))
    try:
        config = str(fleet.config_path)
        with api(stack.server.api_url) as client:
            held = _start(client, "backup-cycle/adhoc", config_path=config, jobs=[long_job])
            wait_until(
                lambda: _exists(client, limit_name) and _active(client, limit_name) == 1,
                90,
                "the lane was never held",
            )

        restart_started = time.monotonic()
        stack.server.stop()
        stack.server.start(timeout=120)
        restart_seconds = time.monotonic() - restart_started

        with api(stack.server.api_url) as client:
            held_run = wait_final(client, held, 120)
            assert held_run.state_type == StateType.COMPLETED, held_run.state
            # the slot taken before the restart was given back when the job ended
            wait_until(
                lambda: _active(client, limit_name) == 0,
                30,
                "the lane's slot stayed taken after the restart",
            )
            after = _start(client, "backup-cycle/adhoc", config_path=config, jobs=[short_job])
            after_run = wait_final(client, after, 120)
    finally:
        fleet.stop()

    assert restart_seconds < 60
    assert after_run.state_type == StateType.COMPLETED, after_run.state
    assert ledger.runs_per_job(fleet.state_dir) == {("srv01", long_job): 1, ("srv01", short_job): 1}


def _active(client: SyncPrefectClient, name: str) -> int:
    return client.read_global_concurrency_limit_by_name(name).active_slots


def _exists(client: SyncPrefectClient, name: str) -> bool:
    from prefect.exceptions import ObjectNotFound

    try:
        client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        return False
    return True
