"""A paused target is held back by every cycle and reported as paused."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flows.backup_cycle import backup_cycle
from jbremote import pause
from jbremote.sim import ledger
from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import FleetSpec

pytestmark = [pytest.mark.prefect, pytest.mark.slow]


def test_paused_target_is_skipped_with_its_reason(
    prefect_api: str, sim_fleet: Callable[[FleetSpec], SimFleet]
) -> None:
    spec = FleetSpec.uniform(2, 1, targets=("nas1", "nas2"), duration=0.5, start_delay=0.1)
    spec.orchestration.update(poll_interval=0.5)
    fleet = sim_fleet(spec)
    pause.pause("target", "nas1", "RAID rebuild")
    try:
        state = backup_cycle(str(fleet.config_path), return_state=True)
    finally:
        assert pause.resume("target", "nas1") is not None
    records = {r["server"]: r for r in state.result(raise_on_failure=False)["records"]}
    assert records["srv01"]["result"] == "skipped"
    assert records["srv01"]["reason"].startswith("paused: RAID rebuild (target nas1")
    assert records["srv02"]["result"] == "completed"
    runs = ledger.runs_per_job(fleet.state_dir)
    assert [server for server, _ in runs] == ["srv02"]
    assert not pause.paused()
