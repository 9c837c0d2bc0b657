"""Fleet descriptions: ids, targets, state files."""

from __future__ import annotations

from pathlib import Path

import pytest

from jbremote.jetbackup.command import ID_PATTERN
from jbremote.sim.fleetspec import DestinationSpec, FleetSpec, JobSpec, ServerSpec
from jbremote.sim.store import SimStore


def test_uniform_fleet_spreads_servers_over_targets(tmp_path: Path) -> None:
    spec = FleetSpec.uniform(servers=5, jobs_per_server=3, targets=("nas1", "nas2"), duration=2.0)
    assert [s.destinations[0].target for s in spec.servers] == ["nas1", "nas2"] * 2 + ["nas1"]
    store = SimStore(tmp_path)
    spec.write_state(store)
    assert store.servers() == ["srv01", "srv02", "srv03", "srv04", "srv05"]
    server = store.load("srv03")
    assert [j.name for j in server.jobs] == ["job1", "job2", "job3"]
    assert {j.duration for j in server.jobs} == {2.0}
    ids = [j.id for s in spec.servers for j in s.state().jobs]
    assert len(set(ids)) == 15
    assert all(ID_PATTERN.match(i) for i in ids)


def test_job_writing_to_two_targets_is_rejected() -> None:
    server = ServerSpec(
        "srv01",
        [DestinationSpec("a", "nas1"), DestinationSpec("b", "nas2")],
        [JobSpec("job1", ["a", "b"])],
    )
    with pytest.raises(ValueError, match="share a target"):
        server.state()


def test_unmanaged_jobs_stay_out_of_the_config(tmp_path: Path) -> None:
    server = ServerSpec(
        "srv01",
        [DestinationSpec("a", "nas1")],
        [JobSpec("mine", ["a"]), JobSpec("theirs", ["a"], managed=False)],
    )
    spec = FleetSpec([server], writers={"nas1": 2})
    config = spec.config({"srv01": 2222}, tmp_path / "key", tmp_path / "known_hosts")
    assert [j["label"] for j in config["jobs"]] == ["mine"]
    assert config["targets"]["nas1"]["writers"] == 2
