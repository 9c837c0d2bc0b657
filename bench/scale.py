"""Scale: 100 servers × 5 jobs × 1 s over the in-process SSH simulator.

Three processes, so each figure belongs to one of them: a real Prefect server, the simulated
fleet (100 paramiko SSH servers on 127.0.0.1, :class:`jbremote.sim.fleet.SimFleet`), and the
flow process (``backup_cycle`` exactly as ``jbremote run`` calls it). The flow process reports
its own wall time, CPU seconds and peak RSS; the gaps come from the simulator's ledger.

Per-job orchestration overhead is given two ways: the median idle gap between consecutive
jobs of a lane minus JetBackup's start delay, and the whole flow's wall time beyond the
longest lane's work (durations + start delays) spread over that lane's jobs (this one
includes Prefect start-up, config loading and the first SSH connections).

Run: .venv/bin/python -m bench.scale [--servers 100] [--jobs 5] [--targets 10] [--db postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    REPO,
    figures,
    fleet_arguments,
    fleet_spec,
    prefect_server,
    print_table,
    spread,
)

POLL = 30.0  # the default poll interval


def serve_fleet(args: argparse.Namespace) -> None:
    """Child process: run the simulated fleet until stdin closes."""
    from jbremote.sim.fleet import SimFleet

    with SimFleet(fleet_spec(args, POLL), Path(args.serve_fleet)) as fleet:
        print(fleet.config_path, flush=True)
        sys.stdin.read()


def run_flow(config: str) -> None:
    """Child process: one backup cycle; print its own figures as JSON."""
    started = time.monotonic()
    from flows.backup_cycle import backup_cycle

    state = backup_cycle(config, return_state=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "state": state.name,
                "wall": time.monotonic() - started,
                "cpu": usage.ru_utime + usage.ru_stime,
                "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux reports KiB
            }
        )
    )


def child(*argv: str, stdin: int | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "bench.scale", *argv],
        cwd=REPO,
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        text=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    fleet_arguments(parser, servers=100, jobs=5, duration=1.0, start_delay=0.1, targets=10)
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the Prefect server's database (postgres: a throwaway local cluster)",
    )
    parser.add_argument("--serve-fleet", help=argparse.SUPPRESS)
    parser.add_argument("--run-flow", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fleet:
        return serve_fleet(args)
    if args.run_flow:
        return run_flow(args.run_flow)

    spec = fleet_spec(args, POLL)
    workdir = Path(tempfile.mkdtemp(prefix="jbremote-bench-scale-"))
    sizing = [
        f"--servers={args.servers}",
        f"--jobs={args.jobs}",
        f"--duration={args.duration}",
        f"--start-delay={args.start_delay}",
        f"--targets={args.targets}",
    ]
    with prefect_server(args.db) as api_url:
        fleet = child(*sizing, f"--serve-fleet={workdir}", stdin=subprocess.PIPE)
        try:
            assert fleet.stdout is not None
            config = fleet.stdout.readline().strip()
            if not config:
                raise SystemExit("the simulated fleet did not start")
            os.environ["PREFECT_API_URL"] = api_url
            flow = child(f"--run-flow={config}")
            out, _ = flow.communicate()
        finally:
            if fleet.stdin:
                fleet.stdin.close()
            fleet.wait(timeout=60)
    if flow.returncode != 0:
        raise SystemExit(f"the flow process failed (exit {flow.returncode})")
    own = json.loads(out.strip().splitlines()[-1])
    f = figures(workdir / "state", spec, args.start_delay)
    per_lane = f.jobs / max(len(f.max_writers), 1)
    beyond = own["wall"] - f.busy - per_lane * args.start_delay
    header = [
        "flow state",
        "jobs",
        "lanes",
        "flow wall s",
        "longest lane busy s",
        "idle gap s min/med/max",
        "jbremote share of a gap s min/med/max",
        "wall beyond the work, per job s",
        "flow CPU s",
        "CPU ms/job",
        "peak RSS MB",
        "SSH conns/job",
        "API calls/job",
        "max writers",
    ]
    row = [
        own["state"],
        str(f.jobs),
        str(len(f.max_writers)),
        f"{own['wall']:.1f}",
        f"{f.busy:.1f}",
        spread(f.gaps),
        spread(f.overhead),
        f"{beyond / per_lane:.2f}",
        f"{own['cpu']:.1f}",
        f"{1000 * own['cpu'] / max(f.jobs, 1):.0f}",
        f"{own['peak_rss_mb']:.0f}",
        f"{f.connections_per_job:.2f}",
        f"{f.calls_per_job:.1f}",
        str(max(f.max_writers.values(), default=0)),
    ]
    print(
        f"{args.servers} servers × {args.jobs} jobs × {args.duration:g} s, {args.targets} targets, "
        f"start delay {args.start_delay:g} s, poll interval {POLL:g} s, Prefect on {args.db}"
    )
    print_table(header, [row])


if __name__ == "__main__":
    main()
