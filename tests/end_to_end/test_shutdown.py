"""SIGTERM during a cycle (also how a Prefect cancellation reaches a flow process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

from jbremote.sim import ledger
from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import FleetSpec

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

FLOW = (
    "import sys; from flows.backup_cycle import backup_cycle; "
    "s = backup_cycle.with_options(flow_run_name=sys.argv[2])(sys.argv[1], return_state=True); "
    "print('STATE', s.type.value, s.name, flush=True)"
)


def test_sigterm_leaves_the_running_job_alone_starts_nothing_and_exits_promptly(
    prefect_api: str, sim_fleet: Callable[[FleetSpec], SimFleet]
) -> None:
    spec = FleetSpec.uniform(1, 3, targets=("nas1",), duration=60.0, start_delay=0.2)
    spec.orchestration.update(poll_interval=5.0)
    fleet = sim_fleet(spec)
    name = f"sigterm-{os.getpid()}-{time.time_ns()}"
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-c", FLOW, str(fleet.config_path), name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not ledger.writer_intervals(fleet.state_dir):
        assert proc.poll() is None and time.monotonic() < deadline, (
            proc.stdout.read() if proc.stdout else ""
        )
        time.sleep(0.2)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    took = time.monotonic() - sent

    assert took < 15, f"exited {took:.1f} s after SIGTERM"
    assert "STATE CANCELLED Interrupted" in out, out[-3000:]
    (run,) = ledger.writer_intervals(fleet.state_dir)
    assert run.ended is not None and run.ended > time.time(), "the job keeps running in JetBackup"
    assert not ledger.stop_calls(fleet.state_dir)
    assert sum(ledger.runs_per_job(fleet.state_dir).values()) == 1, "no new job started"
    with get_client(sync_client=True) as client:
        (flow_run,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
        )
    assert flow_run.state is not None and flow_run.state.name == "Interrupted"
    assert "left running in JetBackup, never stopped: srv01/job1" in (flow_run.state.message or "")
