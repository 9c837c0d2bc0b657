"""Fixtures for the simulator tests: a hand-driven clock and a one-server store.

Calls go through the real client's argv builder (jbremote.jetbackup.command) and the one-string
command line SSH carries (jbremote.transport.base.command_line), so these tests also pin the
wire format both sides agree on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jbremote.jetbackup.command import ParamValue, api_argv
from jbremote.sim.fleetspec import DestinationSpec, JobSpec, ServerSpec
from jbremote.sim.service import CommandOutput, handle_command
from jbremote.sim.store import SimStore
from jbremote.transport.base import command_line

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20+00:00


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sim:
    """One simulated server ``srv01`` with jobs ``job1``/``job2`` on destination ``nas``."""

    def __init__(self, tmp_path: Path, spec: ServerSpec) -> None:
        self.spec = spec
        self.store = SimStore(tmp_path / "state")
        self.store.create(spec.state())
        self.clock = FakeClock()
        self.slept: list[float] = []

    def job_id(self, name: str = "job1") -> str:
        return self.spec.job_id(name)

    def dest_id(self, name: str = "nas") -> str:
        return self.spec.destination_id(name)

    def raw(self, command: str, connection: str = "") -> CommandOutput:
        return handle_command(
            self.store, "srv01", command, connection, self.clock, self.slept.append
        )

    def run(self, function: str, params: Any = ()) -> CommandOutput:
        items: list[tuple[str, ParamValue]] = (
            list(params.items()) if isinstance(params, dict) else list(params)
        )
        return self.raw(command_line(api_argv(function, items)))

    def call(self, function: str, params: Any = ()) -> dict[str, Any]:
        out = self.run(function, params)
        assert out.exit_status == 0, out.stderr
        result: dict[str, Any] = json.loads(out.stdout)
        return result

    def groups(self, **params: Any) -> list[dict[str, Any]]:
        reply = self.call("listQueueGroups", {"type": 1, **params})
        assert reply["success"] == 1, reply["message"]
        groups: list[dict[str, Any]] = reply["data"]["groups"]
        return groups

    def trigger(self, job: str = "job1") -> dict[str, Any]:
        return self.call("runBackupJobManually", {"_id": self.job_id(job)})


def server_spec(**job1: Any) -> ServerSpec:
    return ServerSpec(
        "srv01",
        [DestinationSpec("nas", "nas1"), DestinationSpec("other", "nas2")],
        [
            JobSpec("job1", ["nas"], **{"duration": 100.0, "start_delay": 10.0, **job1}),
            JobSpec("job2", ["nas"], duration=50.0, start_delay=0.0),
        ],
    )


@pytest.fixture
def make_sim(tmp_path: Path) -> Any:
    """Return a factory: ``make_sim(**job1_knobs)`` gives a fresh :class:`Sim`."""

    def make(**job1: Any) -> Sim:
        return Sim(tmp_path, server_spec(**job1))

    return make


@pytest.fixture
def sim(make_sim: Any) -> Sim:
    result: Sim = make_sim()
    return result
