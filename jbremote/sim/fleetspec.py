"""Describe a simulated fleet and turn the description into state files and a jbremote config.

A :class:`FleetSpec` lists servers, their destinations (each on one storage target) and jobs
(with the simulator knobs). Ids are derived from names (:func:`~jbremote.sim.state.stable_id`),
so the same spec always gives the same ids. :meth:`FleetSpec.uniform` builds the usual
"N servers × M jobs, servers spread over the targets" fleet in one line.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jbremote.sim.state import Destination, Faults, Job, ServerState, stable_id
from jbremote.sim.store import SimStore


@dataclass
class DestinationSpec:
    name: str
    target: str
    type: str = "Localv2"
    disabled: bool = False


@dataclass
class JobSpec:
    """A job; ``destinations`` name destinations of the same server, all on one target.

    ``managed=False`` keeps the job out of the generated jbremote config (a job jbremote must
    leave alone). The other fields are the :class:`~jbremote.sim.state.Job` knobs.
    """

    name: str
    destinations: list[str]
    duration: float = 60.0
    start_delay: float = 1.0
    outcomes: list[int] = field(default_factory=lambda: [100])
    never_starts: bool = False
    hangs: bool = False
    disabled: bool = False
    accounts: int = 3
    priority: int = 0
    managed: bool = True


@dataclass
class ServerSpec:
    name: str
    destinations: list[DestinationSpec]
    jobs: list[JobSpec]
    faults: Faults = field(default_factory=Faults)

    def destination_id(self, name: str) -> str:
        return stable_id(self.name, "destination", name)

    def job_id(self, name: str) -> str:
        return stable_id(self.name, "job", name)

    def job_target(self, job: JobSpec) -> str:
        """Return the target ``job`` writes to. Raise ValueError if it has none or several."""
        by_name = {d.name: d.target for d in self.destinations}
        unknown = [d for d in job.destinations if d not in by_name]
        targets = {by_name[d] for d in job.destinations if d in by_name}
        if unknown or len(targets) != 1:
            raise ValueError(f"{self.name}/{job.name}: destinations must exist and share a target")
        return targets.pop()

    def state(self) -> ServerState:
        """Return the initial :class:`ServerState` of this server."""
        dests = [
            Destination(self.destination_id(d.name), d.name, d.type, d.disabled)
            for d in self.destinations
        ]
        jobs = []
        for j in self.jobs:
            self.job_target(j)  # validates the destinations
            jobs.append(
                Job(
                    id=self.job_id(j.name),
                    name=j.name,
                    destination_ids=[self.destination_id(d) for d in j.destinations],
                    disabled=j.disabled,
                    duration=j.duration,
                    start_delay=j.start_delay,
                    outcomes=list(j.outcomes),
                    never_starts=j.never_starts,
                    hangs=j.hangs,
                    accounts=j.accounts,
                )
            )
        return ServerState(self.name, dests, jobs, faults=replace(self.faults))


@dataclass
class FleetSpec:
    servers: list[ServerSpec]
    writers: dict[str, int] = field(default_factory=dict)  # per target; default 1
    orchestration: dict[str, float] = field(
        default_factory=lambda: {
            "poll_interval": 1.0,
            "startup_timeout": 30.0,
            "job_timeout": 3600.0,
        }
    )
    user: str = "root"

    @classmethod
    def uniform(
        cls,
        servers: int = 3,
        jobs_per_server: int = 2,
        targets: tuple[str, ...] = ("nas1",),
        **job_knobs: Any,
    ) -> FleetSpec:
        """Return ``servers`` servers ``srv01…`` with one destination each, spread round-robin
        over ``targets``, and ``jobs_per_server`` jobs ``job1…`` writing to it.

        ``job_knobs`` go to every :class:`JobSpec` (``duration=2.0``, ``start_delay=0.1``, …).
        """
        specs = []
        for i in range(servers):
            target = targets[i % len(targets)]
            dest = DestinationSpec(f"{target}-backup", target)
            jobs = [
                JobSpec(f"job{j + 1}", [dest.name], **job_knobs) for j in range(jobs_per_server)
            ]
            specs.append(ServerSpec(f"srv{i + 1:02d}", [dest], jobs))
        return cls(specs)

    def server(self, name: str) -> ServerSpec:
        return next(s for s in self.servers if s.name == name)

    def targets(self) -> list[str]:
        found = {d.target for s in self.servers for d in s.destinations} | set(self.writers)
        return sorted(found)

    def target_of(self) -> dict[tuple[str, str], str]:
        """Return ``{(server, destination id): target}`` for :mod:`jbremote.sim.ledger`."""
        return {
            (s.name, s.destination_id(d.name)): d.target
            for s in self.servers
            for d in s.destinations
        }

    def write_state(self, store: SimStore) -> None:
        """Create (or reset) every server's state file in ``store``."""
        for spec in self.servers:
            store.create(spec.state())

    def config(self, ports: dict[str, int], key: Path, known_hosts: Path) -> dict[str, Any]:
        """Return a jbremote config (as a dict for YAML) reaching each server on 127.0.0.1."""
        targets: dict[str, Any] = {
            t: {"destinations": {}, "writers": self.writers.get(t, 1)} for t in self.targets()
        }
        jobs = []
        for s in self.servers:
            for d in s.destinations:
                targets[d.target]["destinations"].setdefault(s.name, []).append(
                    s.destination_id(d.name)
                )
            for j in s.jobs:
                if j.managed:
                    jobs.append(
                        {
                            "id": s.job_id(j.name),
                            "server": s.name,
                            "target": s.job_target(j),
                            "label": j.name,
                            "priority": j.priority,
                        }
                    )
        return {
            "ssh_defaults": {"key": str(key), "known_hosts": str(known_hosts)},
            "servers": {
                s.name: {"host": "127.0.0.1", "port": ports[s.name], "user": self.user}
                for s in self.servers
            },
            "targets": targets,
            "jobs": jobs,
            "orchestration": dict(self.orchestration),
        }


def forced_command(state_dir: Path, server: str, python: str = sys.executable) -> str:
    """Return the ``command="…"`` for a real sshd's authorized_keys that runs the simulator."""
    args = [python, "-m", "jbremote.sim.cli", "--state-dir", str(state_dir), "--server", server]
    return shlex.join(args)


def write_shim(path: Path, state_dir: Path, server: str, python: str = sys.executable) -> None:
    """Write an executable ``jetbackup5api`` stand-in at ``path`` for one simulated server."""
    path.write_text(f'#!/bin/sh\nexec {forced_command(state_dir, server, python)} -- "$@"\n')
    path.chmod(0o755)
