"""status, list --remote, stop, test and trust over SSH against a simulated fleet.

The fleet is :class:`~jbremote.sim.fleet.SimFleet`: real SSH (paramiko's server, in-process,
with host keys in known_hosts) in front of the JetBackup simulator, on a clock the test drives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jbremote.jetbackup.client import JetBackupClient
from jbremote.sim import ledger
from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import FleetSpec
from jbremote.sim.keys import generate_ed25519
from jbremote.sim.transport import SimTransport
from jbremote.transport.hostkeys import KnownHosts, fingerprint
from tests.unit.cli.conftest import jbremote


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fleet(tmp_path: Path, clock: Clock) -> Iterator[SimFleet]:
    spec = FleetSpec.uniform(3, 2, targets=("nas1", "nas2"), duration=600)
    spec.servers[2].jobs[1].managed = False  # srv03/job2 is JetBackup's own, not configured
    with SimFleet(spec, tmp_path / "fleet", clock=clock) as running:
        yield running


def cli(fleet: SimFleet, *args: str, **kwargs: Any) -> Any:
    return jbremote(*args, "-c", str(fleet.config_path), **kwargs)


def trigger(fleet: SimFleet, server: str, job: str) -> None:
    client = JetBackupClient(SimTransport(fleet.store, server, clock=fleet.clock))
    client.run_backup_job_manually(fleet.job_id(server, job))


def api_calls(fleet: SimFleet, function: str) -> list[dict[str, Any]]:
    return [c for c in ledger.calls(fleet.state_dir) if c["function"] == function]


def test_status_json_shows_lane_holders_versions_and_last_results(
    fleet: SimFleet, clock: Clock
) -> None:
    trigger(fleet, "srv01", "job1")
    clock.now += 700  # job1 ran 600 s: completed
    trigger(fleet, "srv01", "job2")
    trigger(fleet, "srv03", "job2")  # not managed, but it writes to nas1 too
    clock.now += 30

    result = cli(fleet, "status", "--json")

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(s["name"], s["reachable"], s["version"]) for s in data["servers"]] == [
        ("srv01", True, "5.3.3"),
        ("srv02", True, "5.3.3"),
        ("srv03", True, "5.3.3"),
    ]
    (active,) = data["servers"][0]["active"]
    assert (active["label"], active["status"], active["items"]) == ("job2", 2, 3)
    targets = {t["name"]: t for t in data["targets"]}
    holders = [(h["server"], h["name"], h["managed"]) for h in targets["nas1"]["holders"]]
    assert holders == [("srv01", "job2", True), ("srv03", "job2", False)]
    assert targets["nas1"]["holders"][0]["since"].startswith("2023-11-14T22:")
    assert targets["nas2"]["holders"] == []
    jobs = {(j["server"], j["label"]): j for j in data["jobs"]}
    assert jobs[("srv01", "job1")]["last"]["status_meaning"] == "100 completed"
    assert jobs[("srv01", "job2")]["running"] is True
    assert jobs[("srv02", "job1")]["last"] is None
    assert ("srv03", "job2") not in jobs  # only configured jobs

    text = cli(fleet, "status")
    assert text.exit_code == 0
    assert "srv01/job2" in text.stdout and "(not managed by jbremote)" in text.stdout
    assert "100 completed" in text.stdout


def test_status_with_a_dead_server_exits_3_and_shows_the_rest(fleet: SimFleet) -> None:
    fleet.servers["srv02"].stop()
    result = cli(fleet, "status", "--json")
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    srv02 = data["servers"][1]
    assert srv02["reachable"] is False and "srv02" not in srv02["error"]
    assert "cannot connect" in srv02["error"]
    assert data["servers"][0]["reachable"] is True
    assert {t["name"]: t["unknown_servers"] for t in data["targets"]} == {
        "nas1": [],
        "nas2": ["srv02"],
    }


def test_status_server_filter_and_unknown_server(fleet: SimFleet) -> None:
    data = json.loads(cli(fleet, "status", "-s", "srv02", "--json").stdout)
    assert [s["name"] for s in data["servers"]] == ["srv02"]
    assert {j["server"] for j in data["jobs"]} == {"srv02"}
    assert [t["name"] for t in data["targets"]] == ["nas2"]

    before = len(ledger.calls(fleet.state_dir))
    result = cli(fleet, "status", "-s", "srv09")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: unknown server 'srv09' (known: srv01, srv02, srv03)"
    assert len(ledger.calls(fleet.state_dir)) == before


def test_list_remote_json_for_copy_paste(fleet: SimFleet) -> None:
    result = cli(fleet, "list", "--remote", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [j["label"] for j in data["configured"]] == ["job1", "job2"] * 2 + ["job1"]
    srv03 = data["remote"][2]
    assert srv03["server"] == "srv03" and srv03["reachable"] is True
    assert [(j["name"], j["configured"], j["type_name"]) for j in srv03["jobs"]] == [
        ("job1", True, "accounts"),
        ("job2", False, "accounts"),
    ]
    dest = fleet.spec.server("srv03").destination_id("nas1-backup")
    assert srv03["jobs"][1]["destinations"] == [{"id": dest, "name": "nas1-backup"}]
    assert srv03["destinations"][0]["target"] == "nas1"
    suggested = data["suggested"]
    assert suggested == [
        {"id": fleet.job_id("srv03", "job2"), "server": "srv03", "target": "nas1", "label": "job2"}
    ]
    # Pasting the suggestion makes a valid config that now manages the job.
    config = yaml.safe_load(fleet.config_path.read_text())
    config["jobs"] += suggested
    fleet.config_path.write_text(yaml.safe_dump(config))
    assert cli(fleet, "validate").exit_code == 0
    assert json.loads(cli(fleet, "list", "--remote", "--json").stdout)["suggested"] == []


def test_list_remote_text_and_a_dead_server(fleet: SimFleet) -> None:
    fleet.servers["srv01"].stop()
    result = cli(fleet, "list", "--remote")
    assert result.exit_code == 3
    assert "✗ srv01: " in result.stdout
    assert fleet.job_id("srv03", "job2") in result.stdout
    assert "Not in the config yet" in result.stdout


def test_stop_with_yes_stops_the_running_job(fleet: SimFleet, clock: Clock) -> None:
    trigger(fleet, "srv02", "job1")
    clock.now += 10
    job_id = fleet.job_id("srv02", "job1")

    result = cli(fleet, "stop", "--server", "srv02", job_id, "--yes", "--json")

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["server"], data["job_id"], data["job_name"]) == ("srv02", job_id, "job1")
    assert data["status_before"] == 2
    assert data["message"] == "Queue Group stop signal sent"
    assert [c["params"]["_id"] for c in api_calls(fleet, "stopQueueGroup")] == [data["group_id"]]
    clock.now += 1
    last = json.loads(cli(fleet, "status", "-s", "srv02", "--json").stdout)["jobs"][0]["last"]
    assert last["status_meaning"] == "103 aborted"


def test_stop_refuses_without_a_terminal_or_confirmation(
    fleet: SimFleet, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger(fleet, "srv02", "job1")
    clock.now += 10

    result = cli(fleet, "stop", "-s", "srv02", "job1")  # CliRunner: no terminal
    assert result.exit_code == 2
    assert "no terminal to ask; add --yes" in result.stderr

    monkeypatch.setattr("jbremote.cli.stop.interactive", lambda: True)
    declined = cli(fleet, "stop", "-s", "srv02", "job1", input="n\n")
    assert declined.exit_code == 2
    assert "queue group" in declined.stderr and "not confirmed" in declined.stderr
    assert api_calls(fleet, "stopQueueGroup") == []

    confirmed = cli(fleet, "stop", "-s", "srv02", "job1", input="y\n")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert "JetBackup answered: Queue Group stop signal sent" in confirmed.stdout
    assert len(api_calls(fleet, "stopQueueGroup")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-s", "srv09", "job1"], "unknown server 'srv09' (known: srv01, srv02, srv03)"),
        (["-s", "srv02", "12345"], "'12345' is neither a JetBackup id"),
        (["-s", "srv02", "job1"], "nothing to stop: srv02/job1 has no queued or running backup"),
    ],
)
def test_stop_bad_requests_exit_2_and_stop_nothing(
    fleet: SimFleet, args: list[str], message: str
) -> None:
    result = cli(fleet, "stop", *args, "--yes")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {message}")
    assert api_calls(fleet, "stopQueueGroup") == []


def test_stop_needs_the_server_option(fleet: SimFleet) -> None:
    result = cli(fleet, "stop", fleet.job_id("srv01", "job1"), "--yes")
    assert result.exit_code == 2
    assert "--server" in result.stderr


def test_test_shows_fingerprints_and_the_missing_gate(fleet: SimFleet) -> None:
    result = cli(fleet, "test", "--json")
    assert result.exit_code == 3  # the simulator has no gate in front of it
    data = json.loads(result.stdout)
    assert data["ok"] is False
    known = KnownHosts.load(fleet.known_hosts_path)
    for server in data["servers"]:
        checks = {c["check"]: c for c in server["checks"]}
        (key,) = known.trusted("127.0.0.1", server["port"])
        assert checks["ssh"]["status"] == "ok"
        assert checks["ssh"]["detail"].endswith(f"host key ssh-ed25519 {fingerprint(key)}")
        assert checks["gate"]["status"] == "failed"
        assert f"jbremote gate install {server['server']}" in checks["gate"]["detail"]
        assert [checks[n]["status"] for n in ("api", "jobs", "destinations")] == ["ok"] * 3

    text = cli(fleet, "test", "-s", "srv01")
    assert text.stdout.splitlines()[1].startswith("  ✓ ssh ")
    assert text.stdout.splitlines()[2].startswith("  ✗ gate ")
    assert text.stdout.splitlines()[-1] == "1 server(s): 0 ok, 1 with problems"


def test_test_with_an_unknown_host_key_points_to_trust(fleet: SimFleet) -> None:
    fleet.known_hosts_path.write_text("")
    result = cli(fleet, "test", "-s", "srv02", "--json")
    assert result.exit_code == 3
    (server,) = json.loads(result.stdout)["servers"]
    ssh = server["checks"][0]
    assert ssh["status"] == "failed"
    assert "unknown host" in ssh["detail"] and "jbremote trust srv02" in ssh["detail"]
    assert [c["status"] for c in server["checks"][1:]] == ["skipped"] * 4


def test_trust_records_a_verified_key_then_test_connects(fleet: SimFleet) -> None:
    fleet.known_hosts_path.write_text("")
    port = fleet.ports["srv01"]
    # What the operator reads on the server (here: the simulator's host key itself).
    offered = fingerprint(fleet.servers["srv01"].host_key)

    wrong = cli(fleet, "trust", "srv01", "--yes", "--fingerprint", "SHA256:" + "A" * 43)
    assert wrong.exit_code == 2
    assert "nothing was recorded" in wrong.stderr
    assert fleet.known_hosts_path.read_text() == ""

    result = cli(fleet, "trust", "srv01", "--yes", "--fingerprint", offered, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["state"], data["fingerprint"], data["recorded"]) == ("unknown", offered, True)
    assert fleet.known_hosts_path.read_text().startswith(f"[127.0.0.1]:{port} ssh-ed25519 ")

    again = cli(fleet, "trust", "srv01", "--yes", "--fingerprint", offered)
    assert again.exit_code == 0 and "already trusted" in again.stdout
    checks = json.loads(cli(fleet, "test", "-s", "srv01", "--json").stdout)["servers"][0]["checks"]
    assert checks[0]["status"] == "ok"


def test_trust_refuses_without_confirmation_and_replaces_a_changed_key_when_confirmed(
    fleet: SimFleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = fleet.ports["srv02"]
    old_key = generate_ed25519("old")[0]
    fleet.known_hosts_path.write_text(f"[127.0.0.1]:{port} ssh-ed25519 {old_key.get_base64()}\n")

    assert cli(fleet, "trust", "srv02").exit_code == 2  # no terminal
    no_print = cli(fleet, "trust", "srv02", "--yes")
    assert no_print.exit_code == 2 and "--yes needs --fingerprint" in no_print.stderr

    monkeypatch.setattr("jbremote.cli.trust.interactive", lambda: True)
    declined = cli(fleet, "trust", "srv02", input="n\n")
    assert declined.exit_code == 2
    assert "HOST KEY CHANGED" in declined.stderr and fingerprint(old_key) in declined.stderr
    assert old_key.get_base64() in fleet.known_hosts_path.read_text()
    aborted = cli(fleet, "trust", "srv02", input="")  # Ctrl-D at the prompt
    assert aborted.exit_code == 2
    assert aborted.stderr.splitlines()[-1].endswith("error: aborted: nothing was changed")
    assert old_key.get_base64() in fleet.known_hosts_path.read_text()

    accepted = cli(fleet, "trust", "srv02", input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    text = fleet.known_hosts_path.read_text()
    assert old_key.get_base64() not in text
    assert fleet.servers["srv02"].host_key.get_base64() in text


def test_trust_unknown_server_and_unreachable_host(fleet: SimFleet) -> None:
    assert cli(fleet, "trust", "srv09").exit_code == 2
    fleet.servers["srv03"].stop()
    result = cli(fleet, "trust", "srv03")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: 127.0.0.1:") and "cannot connect" in result.stderr
