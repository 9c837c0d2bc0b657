"""CLI latency: how long the everyday commands take, start to exit, as a user runs them.

Each command runs as its own process (``jbremote …``, the installed entry point) five times;
the table shows the median wall time and the spread. ``status``, ``list --remote`` and
``test`` ask 10 simulated JetBackup servers at once over real SSH (in-process paramiko servers
in this bench process, so the CLI process pays for its own SSH client work only).

Run: .venv/bin/python -m bench.cli_latency [--servers 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
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


def timed(argv: list[str], repeat: int) -> tuple[list[float], int]:
    """Run ``argv`` ``repeat`` times; return the wall times and the last exit status."""
    times, status = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        times.append(time.perf_counter() - started)
        status = proc.returncode
        if status not in (0, 3):  # 3: `test` reports the simulator's missing gate
            raise SystemExit(f"{' '.join(argv)} exited {status}: {proc.stderr.decode()[-500:]}")
    return times, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

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
            times, status = timed([*base, *command], args.repeat)
            rows.append((label, statistics.median(times), min(times), max(times), status))
    shutil.rmtree(workdir, ignore_errors=True)

    width = max(len(r[0]) for r in rows)
    print(f"jbremote CLI latency: wall time of {args.repeat} runs each (median; min–max)")
    print(f"{'command':<{width}}  {'median':>8}  {'min–max':>13}  exit")
    for label, median, low, high, status in rows:
        print(f"{label:<{width}}  {median:>7.2f}s  {low:>5.2f}–{high:<5.2f}s  {status:>4}")


if __name__ == "__main__":
    main()
