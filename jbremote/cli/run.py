"""``jbremote run``: options, live progress and the summary of a manual cycle."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import ExitCode, fail, handled, state
from jbremote.cli.options import (
    PANEL_SELECT,
    ConfigOpt,
    JsonOpt,
    ServersOpt,
    VerboseOpt,
    config_path,
)

if TYPE_CHECKING:
    from rich.console import RenderableType

    from jbremote.lifecycle.events import JobEvent
    from jbremote.progress import CycleProgress
    from jbremote.run import Plan, RunOutcome

JobsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--job", "-j", help="only this job: id or label (repeatable)", rich_help_panel=PANEL_SELECT
    ),
]
TargetsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--target", "-t", help="only this storage target (repeatable)", rich_help_panel=PANEL_SELECT
    ),
]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="show the lanes and read each job's state; trigger and change nothing",
    ),
]


@handled
def run(
    server: ServersOpt = None,
    job: JobsOpt = None,
    target: TargetsOpt = None,
    dry_run: DryRunOpt = False,
    json_output: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run a backup cycle now, as a backup-cycle flow run in the Prefect UI history.

    Jobs run one at a time per storage target (the target's writers), each until JetBackup
    says it ended. The config and filters are checked first; on bad input nothing is triggered.
    Exit code: 0 all completed, 1 some job failed/partial/timed out, 2 could not run.

    **Examples:** jbremote run --dry-run · jbremote run -s web1 -j accounts · jbremote run --json
    """
    from jbremote.run import prepare

    plan = prepare(config_path(config), server, job, target)
    _announce(plan, dry_run)
    if not state.verbose:
        # Prefect's own INFO lines would interleave with the progress display; they still go
        # to the run's log in the UI.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "ERROR")
    from jbremote.run import prefect_api_url

    if prefect_api_url() is None:
        output.err.print(
            "[yellow]note:[/] PREFECT_API_URL is not set: Prefect starts a temporary server "
            "(slow, and the run is kept only in its local database)"
        )
    outcome = _execute_with_progress(plan, dry_run)
    if json_output:
        output.print_json(outcome.to_dict())
    else:
        _summary(outcome)
    raise typer.Exit(int(_exit_code(outcome)))


def _announce(plan: Plan, dry_run: bool) -> None:
    verb = "checking" if dry_run else "running"
    output.err.print(f"[bold]backup-cycle[/]: {verb} {plan.total} job(s) from {plan.config_path}")
    for lane in plan.lanes:
        jobs = ", ".join(f"{j.server}/{j.label or j.id}" for j in lane.jobs)
        output.err.print(f"  lane {escape(lane.target)} ({lane.writers} writer(s)): {escape(jobs)}")
    for job in plan.disabled:
        output.err.print(
            f"  [dim]skipped (disabled in the config): {job.server}/{job.label or job.id}[/]"
        )


def _execute_with_progress(plan: Plan, dry_run: bool) -> RunOutcome:
    from rich.live import Live

    from jbremote.progress import NOTEWORTHY, CycleProgress
    from jbremote.run import execute

    progress = CycleProgress(plan.total)
    live = sys.stderr.isatty() and not state.verbose

    def listener(event: JobEvent) -> None:
        progress.handle(event)
        if not live and event.kind in NOTEWORTHY:
            snap = progress.snapshot()
            output.err.print(
                f"[dim]{_clock(snap.elapsed)} {snap.done}/{snap.total}[/] {escape(event.message)}",
                soft_wrap=True,
            )

    if not live:
        return execute(plan, dry_run, listener)
    with Live(
        get_renderable=lambda: _progress_view(progress),
        console=output.err,
        refresh_per_second=4,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    ):
        return execute(plan, dry_run, listener)


def _clock(seconds: float) -> str:
    from jbremote.progress import format_elapsed

    return format_elapsed(seconds)


def _progress_view(progress: CycleProgress) -> RenderableType:
    from rich.table import Table

    snap = progress.snapshot()
    pending = snap.total - snap.done - len(snap.running) - len(snap.waiting)
    grid = Table.grid(padding=(0, 1))
    grid.add_row(
        f"[bold]{snap.done}/{snap.total}[/] jobs done",
        f"elapsed {_clock(snap.elapsed)}",
        f"{max(pending, 0)} queued in their lanes" if pending > 0 else "",
    )
    for run in snap.running:
        pct = f"{run.percentage:.0f}%" if run.percentage is not None else "starting"
        grid.add_row(f"  [cyan]▶ {escape(run.display)}[/]", escape(run.target), pct)
    for job, writers in snap.waiting.items():
        who = ", ".join(writers) or "another writer"
        grid.add_row(f"  [yellow]⏸ {escape(job)}[/]", "waits for", escape(who))
    for problem in snap.problems:
        grid.add_row(f"  [red]✗ {escape(problem)}[/]", "", "")
    return grid


def _summary(outcome: RunOutcome) -> None:
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    from jbremote.cycle.summary import COLUMNS, table_rows
    from jbremote.lifecycle.result import JobRecord

    rows = table_rows([JobRecord.from_dict(r) for r in outcome.records])
    for row in rows:
        # Terminal width is precious: the time of day and the bare status code suffice here.
        row["start"] = str(row["start"])[11:19]
        row["JetBackup status"] = str(row["JetBackup status"]).split(" ")[0]
    # Notes are long sentences: below the table, one line per job, instead of a squeezed column.
    columns = [c for c in COLUMNS if c != "notes" and any(row[c] for row in rows)]
    if rows:
        title = f"backup-cycle {outcome.flow_run_name or ''}".rstrip()
        table = Table(title=title, box=SIMPLE_HEAD, title_justify="left")
        for column in columns:
            table.add_column("status" if column == "JetBackup status" else column)
        for row in rows:
            table.add_row(*(escape(str(row[c])) for c in columns))
        output.out.print(table)
    for row in rows:
        if row["notes"]:
            output.out.print(
                f"  {escape(row['server'])}/{escape(str(row['job']))}: {escape(row['notes'])}",
                soft_wrap=True,
            )
    colour = {"ok": "green", "problems": "yellow", "not run": "red"}[outcome.verdict.value]
    output.out.print(
        f"[{colour}]{outcome.state_name}[/]: {escape(outcome.message)}", soft_wrap=True
    )
    if outcome.ui_url:
        output.out.print(f"in the Prefect UI: {outcome.ui_url}", soft_wrap=True)


def _exit_code(outcome: RunOutcome) -> ExitCode:
    from jbremote.run import Verdict

    if outcome.verdict is Verdict.OK:
        return ExitCode.OK
    if outcome.verdict is Verdict.PROBLEMS:
        return ExitCode.JOB_PROBLEMS
    raise fail(f"the cycle did not run: {outcome.state_name}: {outcome.message}")
