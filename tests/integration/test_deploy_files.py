"""The deployment files themselves: prefect.yaml, units, env templates, compose, scripts.

Fast checks that need no server: each file is read the way its consumer reads it (Prefect's
own prefect.yaml model, a YAML parser for compose, the shell for the scripts).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from prefect.cli.deploy._models import PrefectYamlModel, RawScheduleConfig
from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
from prefect.client.schemas.schedules import IntervalSchedule, RRuleSchedule

from flows.server_settings import SERVER_SETTINGS
from tests.deploy_prefect import REPO
from tests.deploy_units import Unit, read_env_file

DEPLOYMENTS = REPO / "deployments"
INSTALL = DEPLOYMENTS / "install.sh"
DRAIN = DEPLOYMENTS / "worker-drain.sh"
LEASES = "prefect.server.concurrency.lease_storage.filesystem"


def prefect_yaml() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "prefect.yaml").read_text())
    assert isinstance(data, dict)
    return data


def deployment(name: str) -> dict[str, Any]:
    return next(d for d in prefect_yaml()["deployments"] if d["name"] == name)


def test_prefect_yaml_is_valid_for_prefect_and_names_the_flow() -> None:
    model = PrefectYamlModel.model_validate(prefect_yaml())
    assert {d.name for d in model.deployments} == {"backup-cycle", "adhoc"}
    for d in model.deployments:
        assert d.entrypoint == "flows/backup_cycle.py:backup_cycle"
        assert d.work_pool and d.work_pool.name == "jbremote"
        assert d.parameters == {"config_path": "/etc/jbremote/jbremote.yaml"}
    path, _, function = "flows/backup_cycle.py:backup_cycle".partition(":")
    assert f"def {function}(" in (REPO / path).read_text()
    assert "definitions" in prefect_yaml()  # the anchors the deployments reuse


def test_nightly_schedule_is_named_with_explicit_timezone_and_cancel_new_limit() -> None:
    nightly = deployment("backup-cycle")
    [schedule] = nightly["schedules"]
    config = RawScheduleConfig.model_validate(schedule)
    assert (config.slug, config.cron, config.timezone, config.active) == (
        "nightly",
        "15 1 * * *",
        "Europe/Berlin",
        True,
    )
    assert nightly["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert deployment("adhoc")["concurrency_limit"]["collision_strategy"] == "ENQUEUE"
    assert deployment("adhoc")["schedules"] == []


def test_pull_step_moves_to_the_install_dir_named_by_the_worker() -> None:
    assert prefect_yaml()["pull"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $JBREMOTE_HOME }}"}}
    ]


def _commented_schedules() -> list[dict[str, Any]]:
    """The commented-out example schedules of prefect.yaml, uncommented and parsed."""
    lines = (REPO / "prefect.yaml").read_text().splitlines()
    # "      # - slug: …" starts an example, "      #   key: …" continues it
    block = [
        line.replace("      # ", "      ", 1)
        for line in lines
        if re.match(r"^      # (- |  )", line)
    ]
    parsed = yaml.safe_load("\n".join(block))
    assert isinstance(parsed, list)
    return parsed


def test_commented_schedule_examples_are_valid_and_mean_what_they_say() -> None:
    examples = {s["slug"]: s for s in _commented_schedules()}
    assert set(examples) == {"databases-every-6h", "before-migration-2027-03-15"}
    built = {}
    for slug, example in examples.items():
        config = RawScheduleConfig.model_validate(example)
        assert config.timezone == "Europe/Berlin" and config.parameters
        built[slug] = _schedule_config_to_deployment_schedule(example)["schedule"]

    interval = built["databases-every-6h"]
    assert isinstance(interval, IntervalSchedule)
    assert interval.interval.total_seconds() == 6 * 3600
    assert interval.anchor_date.utcoffset() is not None  # a bare time would be UTC

    once = built["before-migration-2027-03-15"]
    assert isinstance(once, RRuleSchedule)
    dates = list(once.to_rrule())
    assert dates == [datetime(2027, 3, 15, 22, 0, tzinfo=ZoneInfo("Europe/Berlin"))]


def unit(name: str) -> Unit:
    return Unit.load(DEPLOYMENTS / "systemd" / name)


def test_server_unit_listens_on_loopback_with_file_leases_and_env_file() -> None:
    server = unit("jbremote-prefect-server.service")
    env = dict(line.split("=", 1) for line in server.get("Environment"))
    assert env["PREFECT_SERVER_API_HOST"] == "127.0.0.1"
    assert env["PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE"] == LEASES
    assert {k: env.get(k) for k in SERVER_SETTINGS} == SERVER_SETTINGS
    assert env["PREFECT_HOME"] == "/var/lib/jbremote/prefect"
    assert server.get("EnvironmentFile") == ["/etc/jbremote/jbremote.env"]
    assert server.command("ExecStart") == ["/opt/jbremote/venv/bin/prefect", "server", "start"]
    assert server.get("User") == ["jbremote"]
    assert server.get("WantedBy", "Install") == ["multi-user.target"]


def test_worker_unit_drains_before_sigterm_and_names_the_install_dir() -> None:
    worker = unit("jbremote-prefect-worker.service")
    env = dict(line.split("=", 1) for line in worker.get("Environment"))
    assert env["JBREMOTE_HOME"] == "/opt/jbremote/app"
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    argv = worker.command("ExecStart")
    assert argv[:3] == ["/opt/jbremote/venv/bin/prefect", "worker", "start"]
    assert argv[argv.index("--pool") + 1] == "jbremote"
    assert worker.command("ExecStop", mainpid=42) == [
        "/opt/jbremote/app/deployments/worker-drain.sh",
        "42",
    ]
    assert worker.get("KillMode") == ["mixed"] and worker.get("KillSignal") == ["SIGTERM"]
    # the stop timeout covers the drain plus the grace the drain script may use
    stop = int(worker.get("TimeoutStopSec")[0].removesuffix("s"))
    assert stop > int(env["JBREMOTE_DRAIN_SECONDS"]) + int(env["JBREMOTE_STOP_GRACE_SECONDS"])
    assert "jbremote-prefect-server.service" in worker.get("After", "Unit")[0]


def test_env_template_pairs_server_and_client_auth_and_holds_no_secret() -> None:
    env = read_env_file(DEPLOYMENTS / "jbremote.env.example")
    assert env["PREFECT_SERVER_API_AUTH_STRING"] == env["PREFECT_API_AUTH_STRING"]
    assert env["PREFECT_API_AUTH_STRING"] == "admin:CHANGE-ME"
    assert env["JBREMOTE_HOME"] == "/opt/jbremote/app"
    assert env["PREFECT_API_URL"].startswith("http://127.0.0.1:4200/")


def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOYMENTS / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_wires_server_to_postgres_and_worker_to_server() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "prefect-server", "deploy", "worker"}
    server_env = services["prefect-server"]["environment"]
    url = server_env["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert url.startswith("postgresql+asyncpg://prefect:") and "@postgres:5432/prefect" in url
    assert server_env["PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE"] == LEASES
    assert {k: server_env.get(k) for k in SERVER_SETTINGS} == SERVER_SETTINGS
    command = services["prefect-server"]["command"]
    port = command[command.index("--port") + 1]
    assert services["prefect-server"]["ports"] == [f"127.0.0.1:{port}:{port}"]
    for client in ("deploy", "worker"):
        env = services[client]["environment"]
        assert env["PREFECT_API_URL"] == f"http://prefect-server:{port}/api"
        assert env["PREFECT_API_AUTH_STRING"] == server_env["PREFECT_SERVER_API_AUTH_STRING"]
    worker = services["worker"]
    assert worker["command"][:3] == ["prefect", "worker", "start"]
    assert worker["command"][worker["command"].index("--pool") + 1] == "jbremote"
    assert worker["environment"]["JBREMOTE_HOME"] == "/opt/jbremote/app"
    assert worker["init"] is True and worker["stop_signal"] == "SIGTERM"
    assert worker["depends_on"]["deploy"]["condition"] == "service_completed_successfully"
    assert "prefect --no-prompt deploy --all" in services["deploy"]["command"][-1]


def test_compose_dependencies_wait_for_healthchecks_that_exist() -> None:
    data = compose()
    services = data["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, (name, dependency)
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("/", ".")):
                assert source in data["volumes"], (name, source)


def test_compose_secrets_come_from_the_env_file_only() -> None:
    text = (DEPLOYMENTS / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    documented = set(
        re.findall(r"^#?([A-Z_]+)=", (DEPLOYMENTS / "compose.env.example").read_text(), re.M)
    )
    assert used <= documented, used - documented
    for secret in ("POSTGRES_PASSWORD", "PREFECT_AUTH_STRING"):
        assert re.search(rf"\$\{{{secret}:\?", text), f"{secret} must be required, not defaulted"


def test_dockerfile_copies_what_exists_and_the_image_matches_compose() -> None:
    dockerfile = (DEPLOYMENTS / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), source
    build = compose()["services"]["worker"]["build"]
    assert (DEPLOYMENTS / build["context"] / build["dockerfile"]).resolve() == (
        DEPLOYMENTS / "Dockerfile"
    )


def test_install_dry_run_changes_nothing_and_tells_each_step(tmp_path: Path) -> None:
    prefix = tmp_path / "box"
    result = subprocess.run(
        [
            "bash",
            str(INSTALL),
            "--prefix",
            str(prefix),
            "--dry-run",
            "--api-url",
            "http://127.0.0.1:9/api",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert not prefix.exists()
    for step in ("service user", "code", "virtualenv", "config", "systemd units", "services"):
        assert f"== {step}" in result.stdout
    assert "would write" in result.stdout and "prefect --no-prompt deploy --all" in result.stdout
    assert "Dry run: nothing was changed." in result.stdout


def test_install_refuses_unknown_options_and_a_missing_config(tmp_path: Path) -> None:
    bad = subprocess.run(["bash", str(INSTALL), "--frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown option --frobnicate" in bad.stderr
    missing = subprocess.run(
        ["bash", str(INSTALL), "--prefix", str(tmp_path), "--config", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_install_help_is_the_header() -> None:
    result = subprocess.run(["bash", str(INSTALL), "--help"], capture_output=True, text=True)
    assert (
        result.returncode == 0
        and "--prefix DIR" in result.stdout
        and "set -euo" not in result.stdout
    )


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_scripts_pass_shellcheck() -> None:
    result = subprocess.run(
        ["shellcheck", str(INSTALL), str(DRAIN)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def _fake_worker(child_seconds: float) -> subprocess.Popen[bytes]:
    """A process with one child, like a worker running one flow run."""
    return subprocess.Popen(["sh", "-c", f"sleep {child_seconds} & wait"], start_new_session=True)


def _drain(pid: int, drain: int, grace: int) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {
        **os.environ,
        "JBREMOTE_DRAIN_SECONDS": str(drain),
        "JBREMOTE_STOP_GRACE_SECONDS": str(grace),
        "JBREMOTE_DRAIN_POLL_SECONDS": "0.2",
    }
    started = time.monotonic()
    result = subprocess.run(
        [str(DRAIN), str(pid)], env=env, capture_output=True, text=True, timeout=60
    )
    return result, time.monotonic() - started


@pytest.mark.skipif(shutil.which("pgrep") is None, reason="pgrep not installed (procps)")
def test_drain_waits_for_a_run_that_ends_in_time() -> None:
    worker = _fake_worker(1.5)
    try:
        time.sleep(0.2)
        result, seconds = _drain(worker.pid, drain=30, grace=30)
        assert result.returncode == 0
        assert "waiting up to 30s" in result.stdout and "is idle" in result.stdout
        assert "asking flow runs" not in result.stdout
        assert 1.0 < seconds < 10
    finally:
        worker.kill()
        worker.wait()


@pytest.mark.skipif(shutil.which("pgrep") is None, reason="pgrep not installed (procps)")
def test_drain_asks_runs_still_going_after_the_drain_time_to_stop() -> None:
    worker = _fake_worker(600)
    try:
        time.sleep(0.2)
        result, seconds = _drain(worker.pid, drain=1, grace=20)
        assert result.returncode == 0
        assert "asking flow runs" in result.stdout and "flow runs ended" in result.stdout
        assert seconds < 10
        assert worker.wait(timeout=10) is not None  # its child got SIGTERM, so it returned
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def test_drain_without_a_worker_returns_at_once() -> None:
    result, seconds = _drain(2**22 + 12345, drain=30, grace=30)
    assert result.returncode == 0 and "no worker process" in result.stdout and seconds < 5
