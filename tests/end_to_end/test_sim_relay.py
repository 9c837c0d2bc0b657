"""The resident simulator behind a relay client answers exactly like one process per call."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from jbremote.config import load_config
from jbremote.cycle.connections import connection_pool
from jbremote.sim import ledger, relay_client
from jbremote.sim.fleetspec import FleetSpec
from tests.end_to_end.conftest import SshdFleet
from tests.sshd_harness import require_sshd

pytestmark = pytest.mark.sshd

COMMANDS = [
    ["jetbackup5api", "-F", "listQueueGroups", "-O", "json"],
    ["jetbackup5api", "-F", "getBackupJob", "-D", "_id={job}", "-O", "json"],
    ["jetbackup5api", "-F", "getBackupJob", "-D", "_id=000000000000000000000000", "-O", "json"],
    ["jetbackup5api", "-F", "noSuchFunction", "-O", "json"],
    ["jetbackup5api", "-F"],  # usage error: exit status 1, message on stderr
]


def answers(fleet: SshdFleet) -> list[tuple[bytes, bytes, int]]:
    job = fleet.spec.server("srv01").job_id("job1")
    with connection_pool(load_config(str(fleet.config_path))) as pool:
        transport = pool.get("srv01")
        results = []
        for argv in COMMANDS:
            out = transport.run([a.format(job=job) for a in argv], timeout=30)
            results.append((out.stdout, out.stderr, out.exit_status))
    return results


@pytest.fixture
def make_fleet(tmp_path: Path) -> Callable[[bool], SshdFleet]:
    require_sshd()
    fleets: list[SshdFleet] = []

    def make(relay: bool) -> SshdFleet:
        fleet = SshdFleet(FleetSpec.uniform(1, 1), tmp_path / f"relay-{relay}", relay=relay)
        fleets.append(fleet)
        return fleet

    yield make  # type: ignore[misc]
    for fleet in fleets:
        fleet.stop()


def test_relay_answers_like_a_process_per_call(make_fleet: Callable[[bool], SshdFleet]) -> None:
    by_process, by_relay = make_fleet(False), make_fleet(True)
    expected, got = answers(by_process), answers(by_relay)
    assert got == expected
    assert got[0][2] == 0 and got[0][0]
    assert got[-1][2] == 1 and got[-1][1], "a usage error keeps its exit status and stderr"
    calls = ledger.calls(by_relay.state_dir)
    assert [c["function"] for c in calls][:2] == ["listQueueGroups", "getBackupJob"]
    assert all(c["ssh_connection"] for c in calls), "sshd's SSH_CONNECTION reaches the call log"
    assert ledger.connections_per_server(by_relay.state_dir) == {"srv01": 1}


def test_relay_client_refuses_an_interactive_session() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SSH_ORIGINAL_COMMAND"}
    done = subprocess.run(
        [sys.executable, "-I", "-S", relay_client.__file__, "/nonexistent.sock", "srv01"],
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert b"interactive sessions are not supported" in done.stderr
