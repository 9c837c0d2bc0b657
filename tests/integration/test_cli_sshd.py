"""``jbremote test``, ``trust``, ``status`` and ``stop`` through a real OpenSSH sshd.

The server side is what a JetBackup box would run: sshd forcing every command of our key
through the gate (``jbremote-gate``, under the system Python, isolated), which hands allowed
calls to the simulator's ``jetbackup5api``. A second sshd runs the simulator with no gate.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sshd_harness import SshdServer

from jbremote.jetbackup.client import JetBackupClient
from jbremote.sim import ledger
from jbremote.sim.fleetspec import FleetSpec, forced_command, write_shim
from jbremote.sim.store import SimStore
from jbremote.sim.transport import SimTransport
from tests.unit.cli.conftest import jbremote

pytestmark = pytest.mark.sshd

SERVER = "srv01"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def make_config(root: Path, sshd: SshdServer, spec: FleetSpec, known_hosts: Path) -> Path:
    data = spec.config({SERVER: sshd.port}, sshd.client_key, known_hosts)
    data["servers"][SERVER]["user"] = sshd.user
    data["ssh_defaults"]["connect_timeout"] = 5
    path = root / "jbremote.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


class Box:
    """One simulated JetBackup server behind sshd, with or without the gate."""

    def __init__(self, factory: Any, root: Path, gated: bool) -> None:
        root.mkdir(parents=True)
        self.spec = FleetSpec.uniform(1, 2, duration=600)
        self.state_dir = root / "state"
        self.spec.write_state(SimStore(self.state_dir))
        if gated:
            from jbremote.gate.install import gate_source

            shim = root / "bin" / "jetbackup5api"
            shim.parent.mkdir()
            write_shim(shim, self.state_dir, SERVER)
            gate = root / "jbremote-gate"
            gate.write_text(gate_source())
            argv = [
                PYTHON,
                "-IS",
                str(gate),
                "--api",
                str(shim),
                "--syslog-socket",
                str(root / "no-log"),
            ]
            command = shlex.join(argv)
        else:
            command = forced_command(self.state_dir, SERVER)
        self.sshd: SshdServer = factory(command, name=SERVER)
        self.config = make_config(root, self.sshd, self.spec, self.sshd.known_hosts)

    def cli(self, *args: str, **kwargs: Any) -> Any:
        return jbremote(*args, "-c", str(self.config), **kwargs)

    def functions(self) -> list[str]:
        return [c["function"] for c in ledger.calls(self.state_dir)]


@pytest.fixture(scope="module")
def gated(module_sshd_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Box:
    pytest.importorskip("jbremote.gate.install", reason="the gate is built in another issue")
    return Box(module_sshd_factory, tmp_path_factory.mktemp("cli") / "gated", gated=True)


@pytest.fixture(scope="module")
def bare(module_sshd_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Box:
    return Box(module_sshd_factory, tmp_path_factory.mktemp("cli") / "bare", gated=False)


def test_test_passes_every_check_behind_the_gate(gated: Box) -> None:
    result = gated.cli("test", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    (server,) = json.loads(result.stdout)["servers"]
    checks = {c["check"]: c for c in server["checks"]}
    assert all(c["status"] == "ok" for c in checks.values()), checks
    # The fingerprint is the one OpenSSH's own ssh-keygen computes for the host key.
    assert checks["ssh"]["detail"] == (
        f"{gated.sshd.user}@127.0.0.1:{gated.sshd.port}, "
        f"host key ssh-ed25519 {gated.sshd.host_fingerprint()}"
    )
    assert checks["gate"]["detail"].startswith("active: jbremote-gate ")
    assert checks["api"]["detail"] == "JetBackup 5.3.3 EDGE, 2 backup jobs"
    assert checks["jobs"]["detail"] == "2 configured, all found: job1, job2"

    text = gated.cli("test")
    assert [line[:8] for line in text.stdout.splitlines()[1:6]] == [
        "  ✓ ssh ",
        "  ✓ gate",
        "  ✓ api ",
        "  ✓ jobs",
        "  ✓ dest",
    ]


def test_test_without_a_gate_fails_that_check_only(bare: Box) -> None:
    result = bare.cli("test", "--json")
    assert result.exit_code == 3
    (server,) = json.loads(result.stdout)["servers"]
    statuses = {c["check"]: c["status"] for c in server["checks"]}
    assert statuses == {
        "ssh": "ok",
        "gate": "failed",
        "api": "ok",
        "jobs": "ok",
        "destinations": "ok",
    }
    gate = server["checks"][1]["detail"]
    assert "no jbremote-gate answered" in gate and "jbremote gate install srv01" in gate


def test_status_and_stop_pass_through_the_gate(gated: Box) -> None:
    job = gated.spec.servers[0].job_id("job1")
    JetBackupClient(SimTransport(SimStore(gated.state_dir), SERVER)).run_backup_job_manually(job)

    status = gated.cli("status", "--json")
    assert status.exit_code == 0, status.stderr
    data = json.loads(status.stdout)
    assert [a["label"] for a in data["servers"][0]["active"]] == ["job1"]
    assert [h["label"] for h in data["targets"][0]["holders"]] == ["job1"]

    stop = gated.cli("stop", "-s", SERVER, "job1", "--yes")
    assert stop.exit_code == 0, stop.stderr
    assert "JetBackup answered: Queue Group stop signal sent" in stop.stdout
    assert gated.functions().count("stopQueueGroup") == 1


def test_trust_records_the_key_ssh_keygen_shows(module_sshd_factory: Any, tmp_path: Path) -> None:
    box = Box(module_sshd_factory, tmp_path / "trust", gated=False)
    empty = tmp_path / "known_hosts"
    box.config = make_config(tmp_path, box.sshd, box.spec, empty)
    assert box.cli("test", "--json").exit_code == 3  # unknown host: nothing connects

    expected = box.sshd.host_fingerprint()
    result = box.cli("trust", SERVER, "--yes", "--fingerprint", expected)
    assert result.exit_code == 0, result.stderr
    assert f"presents ssh-ed25519 {expected}" in result.stdout
    assert empty.read_text().startswith(f"[127.0.0.1]:{box.sshd.port} ssh-ed25519 ")

    checks = json.loads(box.cli("test", "--json").stdout)["servers"][0]["checks"]
    assert [c["status"] for c in checks if c["check"] != "gate"] == ["ok"] * 4
