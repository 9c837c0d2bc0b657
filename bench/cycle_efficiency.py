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

from bench.common import (
    figures,
    fleet_arguments,
    fleet_spec,
    prefect_server,
    print_table,
    spread,
)


def run_once(poll: float, args: argparse.Namespace) -> list[str]:
    from flows.backup_cycle import backup_cycle
    from tests.end_to_end.conftest import SshdFleet

    spec = fleet_spec(args, poll)
    fleet = SshdFleet(
        spec, Path(tempfile.mkdtemp(prefix="jbremote-bench-fleet-")), relay=args.sim == "relay"
    )
    try:
        state = backup_cycle(str(fleet.config_path), return_state=True)
    finally:
        fleet.stop()
    f = figures(fleet.state_dir, spec, args.start_delay)
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
    fleet_arguments(parser, servers=4, jobs=2, duration=20.0, start_delay=2.0, targets=1)
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
    with prefect_server():
        rows = [run_once(float(poll), args) for poll in args.polls.split(",")]
    print(
        f"{args.servers} servers × {args.jobs} jobs × {args.duration:g} s, {args.targets} "
        f"target(s), start delay {args.start_delay:g} s, simulator: {args.sim}"
    )
    print_table(header, rows)


if __name__ == "__main__":
    main()
