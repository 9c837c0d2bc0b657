"""CLI latency: how long the everyday commands take, start to exit, as a user runs them.

Each command runs as its own process (``jbremote …``, the installed entry point) five times;
the table shows the median wall time, its spread, and the median CPU time the CLI process
itself used (a figure that busy neighbours on the machine hardly change). ``status``, ``list --remote`` and
``test`` ask 10 simulated JetBackup servers at once over real SSH (in-process paramiko servers
in this bench process, so the CLI process pays for its own SSH client work only).

Run: .venv/bin/python -m bench.cli_latency [--servers 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from jbremote.sim.fleet import SimFleet  # noqa: E402
from jbremote.sim.fleetspec import FleetSpec  # noqa: E402


def jbremote_command() -> list[str]:
    """The installed ``jbremote`` next to this interpreter, else the module through it."""
    script = Path(sys.executable).with_name("jbremote")
    if script.exists():
        return [str(script)]
    found = shutil.which("jbremote")
    if found:
        return [found]
    return [sys.executable, "-c", "from jbremote.cli.main import main; main()"]


def timed(argv: list[str], repeat: int) -> tuple[list[float], list[float], int]:
    """Run ``argv`` ``repeat`` times; return wall times, CPU times and the last exit status.

    CPU time (user + system of the child) hardly depends on what else the machine runs, so
    it tells the CLI's own cost apart from waiting for a busy CPU or the servers.
    """
    walls, cpus, status = [], [], 0
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        status = proc.returncode
        if status not in (0, 3):  # 3: `test` reports the simulator's missing gate
            raise SystemExit(f"{' '.join(argv)} exited {status}: {proc.stderr.decode()[-500:]}")
    return walls, cpus, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # the CLI hanging up is expected
    base = jbremote_command()
    spec = FleetSpec.uniform(args.servers, 2, targets=("nas1", "nas2"))
    workdir = Path(tempfile.mkdtemp(prefix="jbremote-bench-cli-"))
    rows = []
    with SimFleet(spec, workdir) as fleet:
        config = ["-c", str(fleet.config_path)]
        commands = [
            ("--help", ["--help"]),
            ("validate", ["validate", *config]),
            ("list", ["list", *config]),
            (f"status ({args.servers} servers)", ["status", *config]),
            (f"list --remote ({args.servers} servers)", ["list", "--remote", *config]),
            (f"test ({args.servers} servers)", ["test", *config]),
        ]
        for label, command in commands:
            walls, cpus, status = timed([*base, *command], args.repeat)
            rows.append(
                (
                    label,
                    statistics.median(walls),
                    min(walls),
                    max(walls),
                    statistics.median(cpus),
                    status,
                )
            )
    shutil.rmtree(workdir, ignore_errors=True)

    width = max(len(r[0]) for r in rows)
    load = os.getloadavg()[0]
    print(
        f"jbremote CLI latency: {args.repeat} runs each, each a new process "
        f"({os.cpu_count()} CPUs, load average {load:.1f})"
    )
    print(
        f"{'command':<{width}}  {'wall median':>11}  {'wall min–max':>13}  {'CPU median':>10}  exit"
    )
    for label, median, low, high, cpu, status in rows:
        print(
            f"{label:<{width}}  {median:>10.2f}s  {low:>5.2f}–{high:<5.2f}s  {cpu:>9.2f}s  {status:>4}"
        )


if __name__ == "__main__":
    main()
