"""``jbremote demo``: a full backup cycle against a simulated fleet, on embedded defaults.

Starts simulated JetBackup 5 servers on 127.0.0.1 (real SSH, in-process), writes a matching
config, and runs the real ``backup-cycle`` flow on Prefect. Without ``PREFECT_API_URL`` Prefect
starts its embedded server on the SQLite database in ``PREFECT_HOME`` (``~/.prefect``).
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from jbremote.sim.fleetspec import FleetSpec

DEFAULT_WORKDIR = Path(".jbremote/demo")


def demo_spec(servers: int, jobs: int, targets: int, duration: float, problems: bool) -> FleetSpec:
    """Return the demo fleet: servers spread over targets, jobs of slightly varying length."""
    names = tuple(f"nas{i + 1}" for i in range(targets))
    spec = FleetSpec.uniform(servers, jobs, targets=names, duration=duration, start_delay=1.0)
    for index, server in enumerate(spec.servers):
        for number, job in enumerate(server.jobs):
            job.duration = duration * (1 + 0.25 * ((index + number) % 3))
    if problems and len(spec.servers) >= 2:
        spec.servers[0].jobs[-1].outcomes = [101]
        spec.servers[1].jobs[-1].outcomes = [102]
    spec.orchestration.update(poll_interval=1.0, startup_timeout=30.0, job_timeout=3600.0)
    return spec


def run_demo(
    workdir: Path = DEFAULT_WORKDIR,
    servers: int = 4,
    jobs: int = 2,
    targets: int = 2,
    duration: float = 4.0,
    problems: bool = False,
    console: Console | None = None,
) -> int:
    """Run the demo cycle and print its summary. Return the exit code (0 all good, 1 problems)."""
    from flows.backup_cycle import backup_cycle  # Prefect is imported only when needed
    from flows.server_settings import apply_defaults
    from jbremote.cycle.summary import COLUMNS, table_rows
    from jbremote.lifecycle.result import JobRecord
    from jbremote.sim import ledger
    from jbremote.sim.fleet import SimFleet

    console = console or Console()
    spec = demo_spec(servers, jobs, targets, duration, problems)
    console.print(
        f"[bold]jbremote demo[/]: {servers} simulated JetBackup 5 servers, {servers * jobs} jobs, "
        f"{targets} storage target(s); config in {workdir / 'jbremote.yaml'}"
    )
    started = time.monotonic()
    from jbremote.run import prefect_api_url

    if prefect_api_url() is None:
        apply_defaults()  # for the temporary server Prefect is about to start
    with SimFleet(spec, workdir) as fleet:
        state = backup_cycle(str(fleet.config_path), return_state=True)
        summary = state.result(raise_on_failure=False)
        writers = ledger.max_writers(fleet.state_dir, spec.target_of())
    records: list[dict[str, object]] = (
        summary.get("records", []) if isinstance(summary, dict) else []
    )
    table = Table(title=f"backup-cycle: {state.name} — {state.message}")
    for column in COLUMNS:
        table.add_column(column)
    for row in table_rows([JobRecord.from_dict(r) for r in records]):
        # Terminal width is precious: the time of day and the bare status code suffice here.
        row["start"] = str(row["start"])[11:19]
        row["JetBackup status"] = str(row["JetBackup status"]).split(" ")[0]
        table.add_row(*(str(row[c]) for c in COLUMNS))
    console.print(table)
    console.print(
        "most writers at once per target (from the simulator's ledger): "
        + ", ".join(f"{t}={n}" for t, n in sorted(writers.items()))
        + f"; wall time {time.monotonic() - started:.0f} s"
    )
    console.print(
        "See the run in the Prefect UI: [bold]prefect server start[/] then open "
        "http://127.0.0.1:4200/runs (same PREFECT_HOME database)."
    )
    return 0 if state.is_completed() and state.name == "Completed" else 1
