"""The executable, run as a separate process the way sshd or a shim runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from jbremote.jetbackup.command import api_argv
from jbremote.sim import ledger
from jbremote.sim.fleetspec import write_shim
from jbremote.transport.base import command_line


def _run(
    sim: Any, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    base = [sys.executable, "-m", "jbremote.sim.cli", "--state-dir", str(sim.store.state_dir)]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SSH_", "JBSIM_"))}
    return subprocess.run(
        [*base, "--server", "srv01", *args], env={**full_env, **(env or {})}, capture_output=True
    )


def test_executable_reads_ssh_original_command(sim: Any) -> None:
    command = command_line(api_argv("runBackupJobManually", [("_id", sim.job_id())]))
    env = {"SSH_ORIGINAL_COMMAND": command, "SSH_CONNECTION": "192.0.2.7 50123 192.0.2.1 22"}
    proc = _run(sim, env=env)
    assert proc.returncode == 0, proc.stderr
    reply = json.loads(proc.stdout)
    assert (reply["success"], reply["data"]["_id"]) == (1, sim.job_id())
    (record,) = sim.store.read_calls()
    assert record["ssh_connection"] == "192.0.2.7 50123 192.0.2.1 22"
    assert record["pid"] != os.getpid()
    assert ledger.runs_per_job(sim.store.state_dir)[("srv01", sim.job_id())] == 1


def test_executable_takes_api_arguments_when_no_ssh_command(sim: Any) -> None:
    proc = _run(sim, "--", "-F", "listBackupJobs", "-O", "json")
    assert json.loads(proc.stdout)["data"]["total"] == 2


def test_executable_reports_usage_errors_with_exit_status_1(sim: Any) -> None:
    proc = _run(sim, env={"SSH_ORIGINAL_COMMAND": "jetbackup5api -F a -F b"})
    assert proc.returncode == 1
    assert b"-F given twice" in proc.stderr
    proc = _run(sim, env={"SSH_ORIGINAL_COMMAND": ""})
    assert proc.returncode == 1


def test_concurrent_triggers_of_one_job_create_one_run(sim: Any) -> None:
    command = command_line(api_argv("runBackupJobManually", [("_id", sim.job_id())]))
    base = [sys.executable, "-m", "jbremote.sim.cli", "--state-dir", str(sim.store.state_dir)]
    env = {**os.environ, "SSH_ORIGINAL_COMMAND": command}
    procs = [
        subprocess.Popen([*base, "--server", "srv01"], env=env, stdout=subprocess.PIPE)
        for _ in range(6)
    ]
    replies = [json.loads(p.communicate()[0]) for p in procs]
    assert all(r["success"] == 1 for r in replies)
    state_dir = sim.store.state_dir
    assert ledger.triggers_per_job(state_dir)[("srv01", sim.job_id())] == 6
    assert ledger.runs_per_job(state_dir)[("srv01", sim.job_id())] == 1


def test_shim_stands_in_for_jetbackup5api(sim: Any, tmp_path: Path) -> None:
    shim = tmp_path / "bin" / "jetbackup5api"
    shim.parent.mkdir()
    write_shim(shim, sim.store.state_dir, "srv01")
    proc = subprocess.run([str(shim), "-F", "listDestinations", "-O", "json"], capture_output=True)
    assert json.loads(proc.stdout)["data"]["total"] == 2


def test_executable_imports_no_heavy_packages() -> None:
    # Every polled API call starts this module in a new process.
    probe = (
        "import sys, jbremote.sim.cli; "
        "heavy = {'paramiko', 'pydantic', 'prefect', 'yaml', 'cryptography'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True)
    assert proc.stdout.strip() == b"[]"
