"""A simulated fleet reached through SimTransport (no SSH) for the domain modules' tests."""

from __future__ import annotations

from pathlib import Path

from jbremote.config import Config, validate_data
from jbremote.jetbackup.client import JetBackupClient
from jbremote.sim.fleetspec import FleetSpec
from jbremote.sim.store import SimStore
from jbremote.sim.transport import SimTransport
from jbremote.transport.base import ConnectError, Transport
from jbremote.transport.settings import SshSettings

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Fleet:
    """The fleet's state in ``tmp_path``; ``down`` servers refuse connections."""

    def __init__(self, spec: FleetSpec, tmp_path: Path) -> None:
        self.spec = spec
        self.store = SimStore(tmp_path / "state")
        spec.write_state(self.store)
        self.clock = Clock()
        self.down: set[str] = set()
        ports = {s.name: 22 for s in spec.servers}
        data = spec.config(ports, tmp_path / "key", tmp_path / "known_hosts")
        self.config: Config = validate_data(data)

    def transport(self, settings: SshSettings) -> Transport:
        if settings.name in self.down:
            raise ConnectError(settings.name, "cannot connect to 127.0.0.1:22: Connection refused")
        return SimTransport(self.store, settings.name, clock=self.clock, sleep=lambda s: None)

    def client(self, server: str) -> JetBackupClient:
        return JetBackupClient(SimTransport(self.store, server, clock=self.clock))

    def job_id(self, server: str, job: str = "job1") -> str:
        return self.spec.server(server).job_id(job)

    def trigger(self, server: str, job: str = "job1") -> None:
        self.client(server).run_backup_job_manually(self.job_id(server, job))
