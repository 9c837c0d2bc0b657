"""Shared bench plumbing: a Prefect server, simulated fleets, ledger figures."""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from jbremote.sim import ledger  # noqa: E402
from jbremote.sim.fleetspec import FleetSpec  # noqa: E402


@contextmanager
def prefect_server(database: str = "sqlite") -> Iterator[str]:
    """A real Prefect server for the bench process; yields its API URL.

    ``database``: ``sqlite`` (the default, as shipped) or ``postgres`` (a throwaway
    PostgreSQL cluster on 127.0.0.1; needs Debian's ``postgresql``).
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.prefect_server import PrefectServer

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    cluster = None
    server = PrefectServer(Path(tempfile.mkdtemp(prefix="jbremote-bench-")))
    try:
        if database == "postgres":
            from tests.deploy_postgres import PostgresCluster

            cluster = PostgresCluster().start()
            os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = cluster.url
        server.start()
        os.environ.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        server.stop()
        if cluster is not None:
            cluster.stop()


@dataclass
class Figures:
    jobs: int
    makespan: float
    busy: float
    gaps: list[float]
    overhead: list[float]
    connections_per_job: float
    calls_per_job: float
    max_writers: dict[str, int]
    #: per hand-off: (noticed the end, next job's first call, trigger sent), seconds after the end
    phases: list[tuple[float, float, float]]

    @property
    def ratio(self) -> float:
        return self.makespan / self.busy if self.busy else float("nan")


def figures(state_dir: Path, spec: FleetSpec, start_delay: float) -> Figures:
    """Read what the storage saw from the simulator's ledger and call log."""
    target_of = spec.target_of()
    intervals = [i for i in ledger.writer_intervals(state_dir) if i.ended is not None]
    by_target: dict[str, list[tuple[float, float]]] = {}
    for interval in intervals:
        for target in interval.targets(target_of):
            by_target.setdefault(target, []).append((interval.started, interval.ended or 0.0))
    gaps = []
    for spans in by_target.values():
        spans.sort()
        gaps += [nxt[0] - prev[1] for prev, nxt in itertools.pairwise(spans)]
    phases = _phases(state_dir, intervals, target_of)
    # What the storage sees: from the first write to the end of the last one.
    first = min(i.started for i in intervals) if intervals else 0.0
    last = max(i.ended or 0.0 for i in intervals) if intervals else 0.0
    # makespan per target lane, the longest one (lanes run side by side)
    busy = max(sum(e - s for s, e in spans) for spans in by_target.values()) if by_target else 0.0
    jobs = len(intervals)
    return Figures(
        jobs=jobs,
        makespan=last - first,
        busy=busy,
        gaps=gaps,
        overhead=[g - start_delay for g in gaps],
        connections_per_job=sum(ledger.connections_per_server(state_dir).values()) / max(jobs, 1),
        calls_per_job=len(ledger.calls(state_dir)) / max(jobs, 1),
        max_writers=ledger.max_writers(state_dir, target_of),
        phases=phases,
    )


def _first_call(
    calls: Sequence[dict[str, Any]], server: str, function: str, ident: object, after: float
) -> float:
    """Time of the first recorded call of ``function`` on ``server`` for ``ident`` at or
    after ``after`` (NaN if none)."""
    for call in calls:
        if (
            call["t"] >= after
            and call["server"] == server
            and call["function"] == function
            and call["params"].get("_id") == ident
        ):
            return float(call["t"])
    return float("nan")


def _phases(
    state_dir: Path, intervals: list[ledger.WriterInterval], target_of: ledger.TargetMap
) -> list[tuple[float, float, float]]:
    """Split each idle gap: when the end was noticed (first read of the ended run's server
    after its end), when the next job's first call came, when its trigger was sent."""
    calls = sorted(ledger.calls(state_dir), key=lambda c: c["t"])
    by_target: dict[str, list[ledger.WriterInterval]] = {}
    for interval in intervals:
        for target in interval.targets(target_of):
            by_target.setdefault(target, []).append(interval)
    result = []
    for runs in by_target.values():
        runs.sort(key=lambda i: i.started)
        for prev, nxt in itertools.pairwise(runs):
            end = prev.ended or 0.0

            noticed = _first_call(calls, prev.server, "getQueueGroup", prev.group_id, end)
            begun = _first_call(calls, nxt.server, "getBackupJob", nxt.job_id, noticed)
            trigger = _first_call(calls, nxt.server, "runBackupJobManually", nxt.job_id, begun)
            result.append((noticed - end, begun - end, trigger - end))
    return result


def spread(values: Sequence[float]) -> str:
    if not values:
        return "–"
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def fleet_arguments(
    parser: argparse.ArgumentParser,
    servers: int,
    jobs: int,
    duration: float,
    start_delay: float,
    targets: int,
) -> None:
    """Add the fleet's size and shape to ``parser`` (read back by :func:`fleet_spec`)."""
    parser.add_argument("--servers", type=int, default=servers)
    parser.add_argument("--jobs", type=int, default=jobs)
    parser.add_argument("--duration", type=float, default=duration)
    parser.add_argument("--start-delay", type=float, default=start_delay)
    parser.add_argument("--targets", type=int, default=targets)


def fleet_spec(args: argparse.Namespace, poll: float) -> FleetSpec:
    """The uniform fleet :func:`fleet_arguments` describes, servers spread over the targets."""
    names = tuple(f"nas{i + 1}" for i in range(args.targets))
    spec = FleetSpec.uniform(
        args.servers, args.jobs, targets=names, duration=args.duration, start_delay=args.start_delay
    )
    spec.orchestration.update(poll_interval=poll, startup_timeout=60.0, job_timeout=3600.0)
    return spec


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
