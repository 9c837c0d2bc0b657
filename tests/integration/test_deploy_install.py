"""From nothing to "scheduled and running": install.sh, the units it renders, a real cycle.

One module-wide setup, as an operator would do it, but into a temp prefix:

1. ``deployments/install.sh --prefix P --config <simulated fleet>`` writes the code, the
   config, the env file (fresh API password) and the systemd units;
2. the Prefect server is started from the rendered server unit (its environment, basic
   auth, filesystem lease storage, UI), only its port changed to a free one;
3. ``install.sh`` again, now with ``--api-url``: creates the pool and deploys prefect.yaml;
4. the worker is started from the rendered worker unit.

The tests then check the deployment, run it, look at it in a browser, knock without
credentials, and stop the worker the way systemd would.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.schedules import CronSchedule

from jbremote.sim import ledger
from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import FleetSpec
from tests.deploy_browser import Browser, browser_missing_reason
from tests.deploy_prefect import (
    REPO,
    VENV,
    api,
    cli,
    healthy,
    run_deployment,
    wait_final,
    wait_until,
)
from tests.deploy_units import Unit, UnitProcess, read_env_file
from tests.prefect_server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.prefect]

SCREENSHOT = REPO / "docs" / "ui-flow-run.png"
FAST = {"poll_interval": 0.5, "startup_timeout": 20.0, "job_timeout": 3600.0}


@dataclass
class Box:
    prefix: Path
    fleet: SimFleet
    api_url: str
    auth: str
    server: UnitProcess
    worker: UnitProcess
    deploy_output: str
    tmp: Path

    @property
    def config(self) -> Path:
        return self.prefix / "etc/jbremote/jbremote.yaml"

    @property
    def env_file(self) -> Path:
        return self.prefix / "etc/jbremote/jbremote.env"

    @property
    def cli_env(self) -> dict[str, str]:
        """What an operator's shell has after sourcing the env file (port made free)."""
        env = {**self.worker.env, "PREFECT_HOME": str(self.tmp / "cli-home")}
        return env


def unpack_release(dest: Path) -> Path:
    """Copy what a release tarball holds into ``dest`` (a fixed snapshot of the repo)."""
    for name in ("pyproject.toml", "README.md", "prefect.yaml"):
        shutil.copy2(REPO / name, dest / name)
    for name in ("jbremote", "flows", "deployments", "docs"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def install(source: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/")}
    script = source / "deployments" / "install.sh"
    result = subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, f"install.sh {args}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    tmp = tmp_path_factory.mktemp("box")
    (tmp / "release").mkdir()
    spec = FleetSpec.uniform(3, 1, targets=("nas1", "nas2"), duration=1.0, start_delay=0.2)
    spec.orchestration = dict(FAST)
    fleet = SimFleet(spec, tmp / "fleet").start()
    prefix = tmp / "prefix"
    processes: list[UnitProcess] = []
    try:
        source = unpack_release(tmp / "release")
        base = ["--prefix", str(prefix), "--venv", str(VENV)]
        install(source, *base, "--config", str(fleet.config_path))

        port = free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        units = prefix / "etc/systemd/system"
        server = UnitProcess(
            Unit.load(units / "jbremote-prefect-server.service"),
            tmp / "server.log",
            PREFECT_SERVER_API_PORT=str(port),
            PREFECT_API_URL=api_url,  # the UI's API address follows it
        ).start()
        processes.append(server)
        wait_until(lambda: healthy(api_url), 120, f"server never healthy:\n{server.log()}")

        deployed = install(source, *base, "--config", str(fleet.config_path), "--api-url", api_url)

        worker = UnitProcess(
            Unit.load(units / "jbremote-prefect-worker.service"),
            tmp / "worker.log",
            PREFECT_API_URL=api_url,
            PREFECT_WORKER_QUERY_SECONDS="1",
        ).start()
        processes.append(worker)
        auth = read_env_file(prefix / "etc/jbremote/jbremote.env")["PREFECT_API_AUTH_STRING"]
        yield Box(prefix, fleet, api_url, auth, server, worker, deployed.stdout, tmp)
    finally:
        for process in reversed(processes):
            process.kill()
        fleet.stop()


def test_install_writes_units_env_and_config_for_its_prefix(box: Box) -> None:
    env_file = box.env_file
    assert oct(env_file.stat().st_mode & 0o777) == "0o640"
    env = read_env_file(env_file)
    assert env["PREFECT_API_AUTH_STRING"] == env["PREFECT_SERVER_API_AUTH_STRING"]
    user, _, password = env["PREFECT_API_AUTH_STRING"].partition(":")
    assert user == "admin" and len(password) >= 32 and "CHANGE-ME" not in password
    assert env["JBREMOTE_HOME"] == str(box.prefix / "opt/jbremote/app")
    assert box.config.read_text() == box.fleet.config_path.read_text()
    # the server wrote the UI's files into its state dir, not into the virtualenv
    assert (box.prefix / "var/lib/jbremote/prefect/ui/v2/index.html").exists()
    for unit in (box.prefix / "etc/systemd/system").iterdir():
        text = unit.read_text()
        # every path of the install points into the prefix; the venv is the one given
        for line in text.splitlines():
            if line.startswith(
                ("ExecStart", "ExecStop", "EnvironmentFile", "Environment=PREFECT_HOME")
            ):
                assert str(box.prefix) in line or str(VENV) in line, line


def test_second_install_only_creates_the_pool_and_deploys(box: Box) -> None:
    out = box.deploy_output
    done = out.split("Done:")[1].split("\n\n")[0]
    assert "created work pool jbremote (process)" in done
    assert "deployed prefect.yaml" in done
    assert "wrote" not in done and "installed the code" not in done, out
    assert "Deployment 'backup-cycle/backup-cycle' successfully" in out
    assert "Deployment 'backup-cycle/adhoc' successfully" in out
    assert f"Prefect UI:  {box.api_url.removesuffix('/api')}" in out


def test_deployment_has_named_nightly_cron_in_berlin_and_cancel_new_limit(box: Box) -> None:
    with api(box.api_url, box.auth) as client:
        nightly = client.read_deployment_by_name("backup-cycle/backup-cycle")
        adhoc = client.read_deployment_by_name("backup-cycle/adhoc")
        pool = client.read_work_pool("jbremote")
        wait_until(
            lambda: client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[nightly.id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])
                    )
                ),
            ),
            60,
            "the scheduler created no run for the nightly schedule",
        )
        scheduled = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[nightly.id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
        )

    assert pool.type == "process"
    [schedule] = nightly.schedules
    assert schedule.slug == "nightly" and schedule.active
    assert isinstance(schedule.schedule, CronSchedule)
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("15 1 * * *", "Europe/Berlin")
    # the runs the scheduler made are at 01:15 Berlin time, with the deployment's parameters
    berlin = {
        r.expected_start_time.astimezone(ZoneInfo("Europe/Berlin"))
        for r in scheduled
        if r.expected_start_time
    }
    assert len(berlin) == len(scheduled)
    assert {(t.hour, t.minute) for t in berlin} == {(1, 15)}
    assert {r.parameters["config_path"] for r in scheduled} == {str(box.config)}

    assert nightly.parameters == {"config_path": str(box.config)}
    assert nightly.work_pool_name == "jbremote"
    assert nightly.global_concurrency_limit and nightly.global_concurrency_limit.limit == 1
    assert (
        nightly.concurrency_options
        and nightly.concurrency_options.collision_strategy == "CANCEL_NEW"
    )
    assert nightly.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $JBREMOTE_HOME }}"}}
    ]
    assert adhoc.schedules == []
    assert adhoc.concurrency_options and adhoc.concurrency_options.collision_strategy == "ENQUEUE"


def test_worker_runs_the_deployment_and_a_second_run_meanwhile_is_cancelled(box: Box) -> None:
    first = run_deployment(box.cli_env, "backup-cycle/backup-cycle")
    second = run_deployment(box.cli_env, "backup-cycle/backup-cycle")
    with api(box.api_url, box.auth) as client:
        runs = {r: wait_final(client, r, 150) for r in (first, second)}
        states = sorted((run.state_type, run.state_name) for run in runs.values() if run.state)
        done = next(r for r in runs.values() if r.state_type == StateType.COMPLETED)
        cancelled = next(r for r in runs.values() if r.state_type == StateType.CANCELLED)
        history = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[done.deployment_id]))
        )
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[done.id]))
        )
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[done.id])), limit=200
        )

    assert states == [
        (StateType.CANCELLED, "Cancelled"),
        (StateType.COMPLETED, "Completed"),
    ], states
    assert cancelled.state and "concurrency limit" in (cancelled.state.message or "")
    assert done.id in {r.id for r in history}
    assert done.parameters["config_path"] == str(box.config)
    summary = next(a for a in artifacts if a.key == "backup-cycle-summary")
    assert summary.type == "table" and "3 jobs: 3 completed" in (summary.description or "")
    # the run started in the installed code directory (the pull step), not in the repo
    messages = [log.message for log in logs]
    assert any("set_working_directory' completed" in m for m in messages), messages
    assert set(ledger.runs_per_job(box.fleet.state_dir).values()) == {1}
    assert ledger.max_writers(box.fleet.state_dir, box.fleet.spec.target_of()) == {
        "nas1": 1,
        "nas2": 1,
    }
    (box.tmp / "completed-run").write_text(f"{done.id} {done.name}")


def test_ui_shows_the_run_and_its_cycle_artifact_after_login(box: Box) -> None:
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    marker = box.tmp / "completed-run"
    if not marker.exists():
        pytest.skip("needs the completed run of the previous test")
    run_id, name = marker.read_text().split()
    base = box.api_url.removesuffix("/api")
    with Browser(box.tmp / "browser") as browser:
        browser.get(f"{base}/v2/runs/flow-run/{run_id}")
        # the server has basic auth: the UI asks for the user:password first
        browser.type(browser.find("input[type=password]"), box.auth)
        browser.click(browser.find("button[type=submit]"))
        browser.wait_for_text(name, "Completed", "backup-cycle", "Work Pool", "jbremote")
        tab = browser.find("//*[@role='tab' and normalize-space()='Artifacts']", using="xpath")
        browser.click(tab)
        browser.wait_for_text("backup-cycle-summary", "3 jobs: 3 completed")
        time.sleep(1)  # let the timeline finish drawing
        shot = box.tmp / "ui-flow-run.png"
        browser.screenshot(shot)
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("JBREMOTE_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, SCREENSHOT)


def _post(url: str, auth: str | None) -> int:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_api_refuses_requests_without_the_right_credentials(box: Box) -> None:
    flows = f"{box.api_url}/flows/filter"
    assert _post(flows, None) == 401
    assert _post(flows, "admin:wrong") == 401
    assert _post(flows, box.auth) == 200
    assert healthy(box.api_url)  # /health stays open: install.sh and monitors use it

    without = {k: v for k, v in box.cli_env.items() if k != "PREFECT_API_AUTH_STRING"}
    refused = cli(without, "deployment", "ls")
    assert refused.returncode != 0 and "401" in refused.stdout + refused.stderr
    allowed = cli(box.cli_env, "deployment", "ls")
    assert allowed.returncode == 0 and "backup-cycle/adhoc" in allowed.stdout


def test_drain_past_its_time_stops_the_cycle_instead_of_leaving_it_running(
    box: Box, tmp_path: Path
) -> None:
    spec = FleetSpec.uniform(1, 2, targets=("nas-long",), duration=40.0, start_delay=0.2)
    spec.orchestration = dict(FAST)
    fleet = SimFleet(spec, tmp_path / "fleet").start()
    try:
        run_id = run_deployment(
            box.cli_env, "backup-cycle/adhoc", f"config_path={fleet.config_path}"
        )
        wait_until(
            lambda: ledger.writer_intervals(fleet.state_dir), 90, "the long job never started"
        )
        env = {
            **box.worker.env,
            "JBREMOTE_DRAIN_SECONDS": "1",
            "JBREMOTE_STOP_GRACE_SECONDS": "90",
            "JBREMOTE_DRAIN_POLL_SECONDS": "0.5",
        }
        drain = subprocess.run(
            box.worker.unit.command("ExecStop", mainpid=box.worker.pid),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        with api(box.api_url, box.auth) as client:
            run = wait_final(client, run_id, 30)
    finally:
        fleet.stop()

    assert "asking flow runs" in drain.stdout and "flow runs ended" in drain.stdout, drain.stdout
    # ended (Cancelled by the cycle's own stop, or Crashed), never a zombie "Running"
    assert run.state_type in (StateType.CANCELLED, StateType.CRASHED), run.state
    assert ledger.stop_calls(fleet.state_dir) == []  # the JetBackup job itself was left alone
    assert box.worker.process is not None and box.worker.process.poll() is None


def test_worker_stop_drains_the_running_cycle_then_exits_on_sigterm(box: Box) -> None:
    run_id = run_deployment(box.cli_env, "backup-cycle/adhoc")
    with api(box.api_url, box.auth) as client:
        wait_until(
            lambda: client.read_flow_run(run_id).state_type == StateType.RUNNING,
            90,
            "the ad-hoc run never started",
        )
        box.worker.env["JBREMOTE_DRAIN_POLL_SECONDS"] = "0.5"
        drain = box.worker.run_stop_command(timeout=120)  # what systemd runs first
        run = client.read_flow_run(run_id)

    assert drain.returncode == 0, drain.stderr
    assert "waiting up to 900s" in drain.stdout and "is idle" in drain.stdout, drain.stdout
    # the drain returned only once the cycle had ended, and it ended normally
    assert run.state_type == StateType.COMPLETED, run.state
    seconds = box.worker.terminate(timeout=20)  # then systemd's SIGTERM (KillMode=mixed)
    assert seconds < 15
    assert box.worker.process is not None and box.worker.process.returncode is not None
