"""A cycle killed by SIGTERM still says so: one "could not run" alert, not two.

The flow runs in a child process (as under a Prefect worker) against the session's Prefect
server and a simulated fleet served from this process; the webhook listens here too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import FleetSpec
from tests.unit.notify.receivers import JsonReceiver, wait_until

pytestmark = pytest.mark.prefect

ROOT = Path(__file__).resolve().parents[2]


def test_alerts_sigterm_mid_cycle_sends_could_not_run_once(
    prefect_api: str, tmp_path: Path
) -> None:
    spec = FleetSpec.uniform(1, 1, duration=4.0, start_delay=0.2)
    spec.orchestration.update(poll_interval=0.5)
    with SimFleet(spec, tmp_path / "fleet") as fleet, JsonReceiver() as hook:
        data = yaml.safe_load(fleet.config_path.read_text())
        data["notifications"] = {"urls": [{"url": "env:JB_HOOK_URL"}], "flush_timeout": 5}
        fleet.config_path.write_text(yaml.safe_dump(data))
        env = dict(
            os.environ,
            JB_HOOK_URL=hook.url("/hooks/crash"),
            PREFECT_API_URL=prefect_api,
            PYTHONPATH=str(ROOT),
            # in-process CLI tests may have quietened the console for later children
            PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="INFO",
        )
        code = (
            f"from flows.backup_cycle import backup_cycle; backup_cycle({str(fleet.config_path)!r})"
        )
        log = (tmp_path / "flow.log").open("w")
        child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log, stderr=log)
        try:
            started = wait_until(
                lambda: "started (queue group" in (tmp_path / "flow.log").read_text(), 30
            )
            assert started, (tmp_path / "flow.log").read_text()[-3000:]
            child.send_signal(signal.SIGTERM)
            assert child.wait(60) != 0
        finally:
            if child.poll() is None:
                child.kill()
        assert wait_until(lambda: len(hook.posts) >= 1, 5)
        time.sleep(1.0)  # a second alert (from the on_crashed hook) would show up now

    output = (tmp_path / "flow.log").read_text()
    assert len(hook.posts) == 1, [b["title"] for b in hook.bodies]
    body = hook.bodies[0]
    # The first SIGTERM stops the cycle gracefully (flows/shutdown.py): one alert naming the job
    # left running; the run ends Interrupted, so no crash hook sends a second one.
    assert body["title"] == (
        "[jbremote] Backup cycle could not run: stopped by SIGTERM; 1 job: 1 still running "
        "(left running in JetBackup, never stopped: srv01/job1)"
    )
    assert body["type"] == "failure"
    assert "Interrupted" in output
