"""Simulated fleets for end-to-end cycles: in-process SSH, or one real sshd per server."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import FleetSpec, forced_command
from jbremote.sim.relay import SimRelay
from jbremote.sim.store import SimStore
from tests.sshd_harness import SshdServer, require_sshd


@pytest.fixture
def sim_fleet(tmp_path: Path) -> Iterator[Callable[[FleetSpec], SimFleet]]:
    """Start a :class:`SimFleet` (in-process SSH servers) for a spec; stopped after the test."""
    fleets: list[SimFleet] = []

    def start(spec: FleetSpec) -> SimFleet:
        fleet = SimFleet(spec, tmp_path / f"fleet{len(fleets)}").start()
        fleets.append(fleet)
        return fleet

    yield start
    for fleet in fleets:
        fleet.stop()


class SshdFleet:
    """The simulator behind one real OpenSSH sshd per server (its executable as forced command)."""

    def __init__(self, spec: FleetSpec, root: Path, relay: bool = False) -> None:
        """``relay``: the simulator runs resident in this process, reached by a small client
        per call (:mod:`jbremote.sim.relay`), instead of one simulator process per call."""
        self.spec = spec
        self.state_dir = root / "state"
        self.store = SimStore(self.state_dir)
        spec.write_state(self.store)
        # A short path: Unix socket paths are limited to 107 bytes.
        sock = Path(tempfile.mkdtemp(prefix="jbsim-")) / "sim.sock"
        self.relay = SimRelay(self.state_dir, sock).start() if relay else None
        self.sshd = {
            s.name: SshdServer(root / s.name, self._command(s.name), name=s.name).start()
            for s in spec.servers
        }
        data: dict[str, Any] = spec.config(
            {n: d.port for n, d in self.sshd.items()}, Path("unused"), Path("unused")
        )
        data["ssh_defaults"] = {"known_hosts": str(root / "unused")}
        for name, sshd in self.sshd.items():
            data["servers"][name].update(
                user=sshd.user, key=str(sshd.client_key), known_hosts=str(sshd.known_hosts)
            )
        self.config_path = root / "jbremote.yaml"
        self.config_path.write_text(yaml.safe_dump(data))

    def _command(self, server: str) -> str:
        if self.relay is not None:
            return self.relay.forced_command(server)
        return forced_command(self.state_dir, server)

    def stop(self) -> None:
        for sshd in self.sshd.values():
            sshd.stop()
        if self.relay is not None:
            self.relay.stop()
            self.relay.socket_path.parent.rmdir()


@pytest.fixture
def sshd_fleet(tmp_path: Path) -> Iterator[Callable[[FleetSpec], SshdFleet]]:
    require_sshd()
    fleets: list[SshdFleet] = []

    def start(spec: FleetSpec) -> SshdFleet:
        fleet = SshdFleet(spec, tmp_path / f"sshd-fleet{len(fleets)}")
        fleets.append(fleet)
        return fleet

    yield start
    for fleet in fleets:
        fleet.stop()
