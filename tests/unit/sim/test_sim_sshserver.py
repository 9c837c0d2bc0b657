"""The in-process SSH server and the loopback fleet, driven by a real paramiko client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
import yaml

from jbremote.config.models import Config
from jbremote.jetbackup.command import api_argv
from jbremote.sim import ledger
from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import FleetSpec
from jbremote.sim.keys import generate_ed25519
from jbremote.transport.base import command_line


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[SimFleet]:
    spec = FleetSpec.uniform(servers=2, jobs_per_server=1, targets=("nas1", "nas2"))
    with SimFleet(spec, tmp_path) as running:
        yield running


def _client(fleet: SimFleet, server: str, key: Path | None = None) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(fleet.known_hosts_path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        port=fleet.ports[server],
        username="root",
        key_filename=str(key or fleet.key_path),
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
    )
    return client


def _exec(client: paramiko.SSHClient, command: str) -> tuple[int, bytes, bytes]:
    _, stdout, stderr = client.exec_command(command, timeout=5)
    out, err = stdout.read(), stderr.read()
    return stdout.channel.recv_exit_status(), out, err


def test_one_connection_serves_several_calls(fleet: SimFleet) -> None:
    job_id = fleet.job_id("srv01", "job1")
    client = _client(fleet, "srv01")
    try:
        status, out, _ = _exec(
            client, command_line(api_argv("runBackupJobManually", [("_id", job_id)]))
        )
        assert (status, json.loads(out)["data"]["_id"]) == (0, job_id)
        status, out, _ = _exec(client, command_line(api_argv("listQueueGroups", [("type", 1)])))
        assert (status, json.loads(out)["data"]["groups"][0]["data"]["_id"]) == (0, job_id)
        status, out, err = _exec(client, "jetbackup5api -F x -F y")
        assert (status, out) == (1, b"")
        assert b"Usage" in err
    finally:
        client.close()
    server = fleet.servers["srv01"]
    assert (server.connections_accepted, server.exec_calls) == (1, 3)
    assert ledger.connections_per_server(fleet.state_dir) == {"srv01": 1}
    record = ledger.calls(fleet.state_dir)[0]
    assert record["ssh_connection"].startswith("127.0.0.1 ")
    assert record["ssh_connection"].endswith(f" 127.0.0.1 {fleet.ports['srv01']}")


def test_unknown_client_key_is_refused(fleet: SimFleet, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    stranger.write_text(generate_ed25519()[1])
    with pytest.raises(paramiko.AuthenticationException):
        _client(fleet, "srv01", key=stranger)


def test_host_keys_differ_per_server(fleet: SimFleet) -> None:
    keys = [line.split()[2] for line in fleet.known_hosts_path.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 2
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())  # no known_hosts loaded
    with pytest.raises(paramiko.SSHException):
        client.connect(
            "127.0.0.1",
            port=fleet.ports["srv01"],
            key_filename=str(fleet.key_path),
            look_for_keys=False,
            allow_agent=False,
            timeout=5,
        )
    client.close()


def test_dropped_connections_force_a_reconnect(fleet: SimFleet) -> None:
    first = _client(fleet, "srv02")
    _exec(first, "jetbackup5api -F listBackupJobs -O json")
    assert fleet.drop_connections() == 1
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        _exec(first, "jetbackup5api -F listBackupJobs -O json")
    first.close()
    second = _client(fleet, "srv02")
    status, out, _ = _exec(second, "jetbackup5api -F listBackupJobs -O json")
    second.close()
    assert (status, json.loads(out)["success"]) == (0, 1)
    assert fleet.servers["srv02"].connections_accepted == 2
    assert ledger.connections_per_server(fleet.state_dir) == {"srv02": 2}


def test_keepalive_requests_are_answered(fleet: SimFleet) -> None:
    client = _client(fleet, "srv01")
    transport = client.get_transport()
    assert transport is not None
    # OpenSSH's sshd answers keepalive@openssh.com with a failure; an answer is what counts.
    assert transport.global_request("keepalive@openssh.com", wait=True) is None
    assert transport.is_active()
    client.close()
    assert fleet.servers["srv01"].keepalives == 1


def test_restarted_server_keeps_its_port(fleet: SimFleet) -> None:
    server = fleet.servers["srv01"]
    port = server.port
    server.stop()
    with pytest.raises((paramiko.SSHException, OSError)):
        _client(fleet, "srv01")
    server.start()
    assert server.port == port
    _client(fleet, "srv01").close()


def test_generated_config_is_valid_for_jbremote(fleet: SimFleet) -> None:
    raw: dict[str, Any] = yaml.safe_load(fleet.config_path.read_text())
    config = Config.model_validate(raw)
    assert set(config.servers) == {"srv01", "srv02"}
    assert config.servers["srv02"].port == fleet.ports["srv02"]
    assert set(config.targets) == {"nas1", "nas2"}
    srv01_dest = fleet.spec.server("srv01").destination_id("nas1-backup")
    assert config.targets["nas1"].destinations == {"srv01": [srv01_dest]}
    assert [(j.server, j.target) for j in config.jobs] == [("srv01", "nas1"), ("srv02", "nas2")]
    assert fleet.spec.target_of()[("srv01", srv01_dest)] == "nas1"
