"""A simulated fleet driven by one fake clock: the lifecycle and the simulator share time.

Calls go through the real client, the real wire format and the simulator's command parser;
only SSH is skipped (SimTransport). Hours of JetBackup time pass in milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jbremote.config import validate_data
from jbremote.config.models import Config, Job
from jbremote.cycle.runner import Cycle
from jbremote.jetbackup.client import JetBackupClient
from jbremote.lifecycle.clock import FakeClock
from jbremote.lifecycle.events import EventKind, JobEvent
from jbremote.lifecycle.result import JobRecord
from jbremote.sim import ledger
from jbremote.sim.fleetspec import FleetSpec
from jbremote.sim.store import SimStore
from jbremote.sim.transport import SimTransport


class World:
    def __init__(
        self, tmp_path: Path, spec: FleetSpec, manage_state: bool = False, **orchestration: Any
    ) -> None:
        self.spec = spec
        self.state_dir = tmp_path / "state"
        self.store = SimStore(self.state_dir)
        spec.write_state(self.store)
        self.clock = FakeClock()
        data: dict[str, Any] = spec.config(
            {s.name: 22 for s in spec.servers}, tmp_path / "key", tmp_path / "known_hosts"
        )
        data["orchestration"] = {
            "poll_interval": 30.0,
            "startup_timeout": 120.0,
            "job_timeout": 3600.0,
            "state_dir": str(tmp_path / "jbremote-state"),
            **orchestration,
        }
        for target in data["targets"].values():
            target["manage_destination_state"] = manage_state
        self.config: Config = validate_data(data)
        self.events: list[JobEvent] = []
        self.cycle = Cycle(self.config, self.transport, emit=self.events.append, clock=self.clock)

    def transport(self, server: str) -> SimTransport:
        return SimTransport(self.store, server, clock=self.clock.now, sleep=self.clock.sleep)

    def client(self, server: str) -> JetBackupClient:
        return JetBackupClient(self.transport(server))

    def job(self, server: str, name: str) -> Job:
        return self.config.job(self.spec.server(server).job_id(name))

    def run(self, server: str = "srv01", name: str = "job1") -> JobRecord:
        return self.cycle.run_job(self.job(server, name))

    def kinds(self) -> list[EventKind]:
        return [e.kind for e in self.events]

    def runs(self, server: str = "srv01", name: str = "job1") -> int:
        job_id = self.spec.server(server).job_id(name)
        return ledger.runs_per_job(self.state_dir)[(server, job_id)]

    def max_writers(self) -> dict[str, int]:
        return ledger.max_writers(self.state_dir, self.spec.target_of(), now=self.clock.now())

    def edit_job(self, server: str, name: str, **knobs: Any) -> None:
        job_id = self.spec.server(server).job_id(name)
        with self.store.edit(server) as state:
            job = state.job(job_id)
            assert job is not None
            for key, value in knobs.items():
                setattr(job, key, value)
