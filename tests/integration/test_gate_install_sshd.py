"""The authorized_keys line from install_instructions, as a real sshd reads it.

Here sshd has no ForceCommand of its own (``ForceCommand none`` comes first in its config and
sshd keeps the first value): the key's ``restrict,command="…",from="…"`` options are all that
stand between the key and a shell, exactly as on a server installed by following the steps.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sshd_harness import SshdServer

from jbremote.gate.install import install_instructions
from jbremote.jetbackup.call import Call, parse_message
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.envelope import RemoteCommandError
from jbremote.sim import ledger
from jbremote.sim.fleetspec import FleetSpec, write_shim
from jbremote.sim.store import SimStore
from jbremote.transport.base import AuthenticationError
from jbremote.transport.ssh import SshTransport

pytestmark = pytest.mark.sshd


def installed(
    sshd_factory: Any, tmp_path: Path, **options: Any
) -> tuple[SshdServer, Path, FleetSpec]:
    """Start sshd and install the gate on it by the book; return it, the state dir, the spec."""
    spec = FleetSpec.uniform(servers=1, jobs_per_server=1)
    state_dir = tmp_path / "state"
    spec.write_state(SimStore(state_dir))
    shim = tmp_path / "bin" / "jetbackup5api"
    shim.parent.mkdir()
    write_shim(shim, state_dir, "srv01")
    # If `ForceCommand none` did not win, every session would print this and fail the tests.
    sshd = sshd_factory("echo harness-forced-command", extra_config=["ForceCommand none"])
    public_key = Path(f"{sshd.client_key}.pub").read_text()
    gate_path = tmp_path / "jbremote-gate"
    plan = install_instructions(public_key, gate_path=str(gate_path), api_path=str(shim), **options)
    if not Path("/usr/bin/python3").exists():  # the line names the system interpreter
        plan_line = plan.authorized_keys_line.replace("/usr/bin/python3", sys.executable)
    else:
        plan_line = plan.authorized_keys_line
    gate_path.write_text(plan.gate_source)
    gate_path.chmod(0o755)
    sshd.authorized_keys.write_text(plan_line + "\n")
    return sshd, state_dir, spec


def test_installed_line_runs_the_gate_for_every_command(sshd_factory: Any, tmp_path: Path) -> None:
    sshd, state_dir, spec = installed(sshd_factory, tmp_path, from_addresses=["127.0.0.1"])
    job = spec.servers[0].job_id("job1")

    with SshTransport(sshd.make_settings()) as transport:
        version = transport.run(["jbremote-gate", "--version"])
        listed = JetBackupClient(transport).list_backup_jobs()
        escaped = transport.run(["sh", "-c", f"touch {tmp_path}/canary"])
        smuggled = Call("runBackupJobManually", (("_id", job), ("name", "x")), parse_message)
        with pytest.raises(RemoteCommandError, match=r"exit status 77: .*takes no 'name'"):
            JetBackupClient(transport).call(smuggled)

    assert version.stdout.startswith(b"jbremote-gate ")
    assert [j.id for j in listed] == [job]
    assert escaped.exit_status == 77 and not (tmp_path / "canary").exists()
    assert [r["function"] for r in ledger.calls(state_dir)] == ["listBackupJobs"]
    assert "forced-command (key-option)" in sshd.log


def test_read_only_line_refuses_to_run_a_backup(sshd_factory: Any, tmp_path: Path) -> None:
    sshd, state_dir, spec = installed(sshd_factory, tmp_path, read_only=True)
    job = spec.servers[0].job_id("job1")

    with SshTransport(sshd.make_settings()) as transport:
        client = JetBackupClient(transport)
        assert client.get_backup_job(job).id == job
        with pytest.raises(RemoteCommandError, match="read-only"):
            client.run_backup_job_manually(job)

    assert [r["function"] for r in ledger.calls(state_dir)] == ["getBackupJob"]


def test_from_option_keeps_out_other_addresses(sshd_factory: Any, tmp_path: Path) -> None:
    sshd, state_dir, _ = installed(sshd_factory, tmp_path, from_addresses=["192.0.2.10"])

    with pytest.raises(AuthenticationError), SshTransport(sshd.make_settings()) as transport:
        transport.run(["jbremote-gate", "--version"])

    assert ledger.calls(state_dir) == []
