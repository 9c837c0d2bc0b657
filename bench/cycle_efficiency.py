"""Cycle efficiency: what the storage sees during a real cycle over real sshd.

4 servers × 2 jobs × 20 s on one target, JetBackup start delay 2 s, run at the default poll
interval (30 s) and at 5 s. Prints makespan / busy time, the storage's idle gaps between
consecutive jobs and jbremote's share of them (gap minus JetBackup's start delay), SSH
connections and API calls per job (counted at the server side), and max writers per target.

Run: .venv/bin/python -m bench.cycle_efficiency [--duration 20] [--servers 4] [--jobs 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import figures, prefect_server, spread
from jbremote.sim.fleetspec import FleetSpec


def run_once(
    poll: float, servers: int, jobs: int, duration: float, delay: float, targets: int, sim: str
) -> list[str]:
    from flows.backup_cycle import backup_cycle
    from tests.end_to_end.conftest import SshdFleet

    names = tuple(f"nas{i + 1}" for i in range(targets))
    spec = FleetSpec.uniform(servers, jobs, targets=names, duration=duration, start_delay=delay)
    spec.orchestration.update(poll_interval=poll, startup_timeout=60.0, job_timeout=3600.0)
    fleet = SshdFleet(
        spec, Path(tempfile.mkdtemp(prefix="jbremote-bench-fleet-")), relay=sim == "relay"
    )
    try:
        state = backup_cycle(str(fleet.config_path), return_state=True)
    finally:
        fleet.stop()
    f = figures(fleet.state_dir, spec, delay)
    return [
        f"{poll:g} s",
        state.name or "",
        str(f.jobs),
        f"{f.makespan:.1f}",
        f"{f.busy:.1f}",
        f"{f.ratio:.3f}",
        spread(f.gaps),
        spread(f.overhead),
        f"{f.connections_per_job:.2f}",
        f"{f.calls_per_job:.1f}",
        ", ".join(f"{t}={n}" for t, n in sorted(f.max_writers.items())),
        spread([p[0] for p in f.phases]),
        spread([p[1] - p[0] for p in f.phases]),
        spread([p[2] - p[1] for p in f.phases]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--start-delay", type=float, default=2.0)
    parser.add_argument("--targets", type=int, default=1)
    parser.add_argument("--polls", default="30,5", help="poll intervals to run, comma-separated")
    parser.add_argument(
        "--sim",
        choices=("relay", "process"),
        default="relay",
        help="relay: the simulator stays resident, each call is an sshd session plus a small "
        "client; process: each call starts the simulator (~0.1 CPU s on this box's cores)",
    )
    args = parser.parse_args()
    header = [
        "poll",
        "flow state",
        "jobs",
        "makespan s",
        "longest lane busy s",
        "makespan/busy",
        "idle gap s min/med/max",
        "jbremote share s min/med/max",
        "SSH conns/job",
        "API calls/job",
        "max writers",
        "end noticed after s",
        "hand-off s",
        "preflight s",
    ]
    rows = []
    with prefect_server():
        for poll in (float(p) for p in args.polls.split(",")):
            rows.append(
                run_once(
                    poll,
                    args.servers,
                    args.jobs,
                    args.duration,
                    args.start_delay,
                    args.targets,
                    args.sim,
                )
            )
    print(
        f"{args.servers} servers × {args.jobs} jobs × {args.duration:g} s, {args.targets} "
        f"target(s), start delay {args.start_delay:g} s, simulator: {args.sim}"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
