"""A whole simulated fleet on loopback: state files, keys, one SSH server per JetBackup server.

:class:`SimFleet` writes everything a jbremote run needs into ``workdir``::

    state/            the store (one JSON per server, calls.jsonl)
    id_ed25519(.pub)  the client key jbremote authenticates with
    known_hosts       one ``[127.0.0.1]:PORT`` line per server (strict checking works)
    jbremote.yaml     a config matching jbremote.config.models.Config

>>> with SimFleet(FleetSpec.uniform(servers=2), tmp_path) as fleet:  # doctest: +SKIP
...     run_jbremote(fleet.config_path)
...     assert ledger.max_writers(fleet.state_dir, fleet.spec.target_of()) == {"nas1": 1}
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from jbremote.sim.fleetspec import FleetSpec
from jbremote.sim.keys import generate_ed25519, known_hosts_line, write_key_pair
from jbremote.sim.service import Clock, handle_command
from jbremote.sim.sshserver import Handler, SimSshServer
from jbremote.sim.store import SimStore


class SimFleet:
    """Start with :meth:`start` (or ``with``); every server then listens on 127.0.0.1.

    ``clock`` is the simulated servers' time; inject one to drive runs without waiting.
    """

    def __init__(self, spec: FleetSpec, workdir: Path, clock: Clock = time.time) -> None:
        self.spec = spec
        self.workdir = Path(workdir)
        self.clock = clock
        self.state_dir = self.workdir / "state"
        self.store = SimStore(self.state_dir)
        self.key_path = self.workdir / "id_ed25519"
        self.known_hosts_path = self.workdir / "known_hosts"
        self.config_path = self.workdir / "jbremote.yaml"
        self.servers: dict[str, SimSshServer] = {}

    def _handler(self, server: str) -> Handler:
        def handle(command: str, connection_id: str) -> tuple[bytes, bytes, int]:
            out = handle_command(self.store, server, command, connection_id, self.clock)
            return out.stdout, out.stderr, out.exit_status

        return handle

    def start(self) -> SimFleet:
        """Write state, keys, known_hosts and config; start the SSH servers. Return self."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.spec.write_state(self.store)
        client_key = write_key_pair(self.key_path, "jbremote-sim-client")
        lines = []
        try:
            for spec in self.spec.servers:
                host_key = generate_ed25519(f"{spec.name}-host")[0]
                server = SimSshServer(
                    self._handler(spec.name), host_key, [client_key], user=self.spec.user
                )
                self.servers[spec.name] = server
                server.start()
                lines.append(known_hosts_line(server.host, server.port, host_key))
        except BaseException:
            self.stop()
            raise
        self.known_hosts_path.write_text("\n".join(lines) + "\n")
        config = self.spec.config(self.ports, self.key_path, self.known_hosts_path)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        return self

    @property
    def ports(self) -> dict[str, int]:
        return {name: server.port for name, server in self.servers.items()}

    def job_id(self, server: str, job: str) -> str:
        """Return the id of job ``job`` (its spec name) on ``server``."""
        return self.spec.server(server).job_id(job)

    def drop_connections(self) -> int:
        """Cut every live SSH connection of every server. Return how many were cut."""
        return sum(server.drop_connections() for server in self.servers.values())

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> SimFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
