"""SimTransport: the Transport protocol straight onto a simulated server, no SSH."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jbremote.jetbackup.command import api_argv
from jbremote.sim import ledger
from jbremote.sim.transport import SimTransport
from jbremote.transport.base import CommandTimeoutError


def test_run_returns_the_api_answer_and_close_starts_a_new_connection(sim: Any) -> None:
    transport = SimTransport(sim.store, "srv01", clock=sim.clock)
    result = transport.run(api_argv("getBackupJob", [("_id", sim.job_id())]))
    assert result.exit_status == 0
    assert json.loads(result.stdout)["data"]["name"] == "job1"
    transport.run(api_argv("listBackupJobs"))
    transport.close()
    transport.run(api_argv("listBackupJobs"))
    assert ledger.connections_per_server(sim.store.state_dir) == {"srv01": 2}


def test_slow_answer_beyond_the_timeout_raises_after_the_effect(sim: Any) -> None:
    with sim.store.edit("srv01") as server:
        server.faults.slow_seconds = 30.0
    slept: list[float] = []
    transport = SimTransport(sim.store, "srv01", clock=sim.clock, sleep=slept.append)
    with pytest.raises(CommandTimeoutError):
        transport.run(api_argv("runBackupJobManually", [("_id", sim.job_id())]), timeout=5)
    assert slept == [5]
    assert ledger.runs_per_job(sim.store.state_dir)[("srv01", sim.job_id())] == 1
    transport.run(api_argv("listBackupJobs"), timeout=60)
    assert slept == [5, 30.0]
