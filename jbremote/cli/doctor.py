"""``jbremote doctor``: options and rendering of what a crash or a restart left behind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import ExitCode, handled
from jbremote.cli.options import ConfigOpt, JsonOpt, VerboseOpt, config_path

if TYPE_CHECKING:
    from jbremote.doctor import Report

FixOpt = Annotated[
    bool,
    typer.Option(
        "--fix",
        help="repair what is safe: free confirmed leaked slots, mark zombie runs Crashed, "
        "restore journal entries whose job is not running",
    ),
]
StaleOpt = Annotated[
    float,
    typer.Option(
        "--stale-after",
        min=1.0,
        help="seconds without any sign of life before a running backup-cycle run counts as a "
        "zombie; keep it well above PREFECT_FLOWS_HEARTBEAT_FREQUENCY (180 s)",
    ),
]


@handled
def doctor(
    fix: FixOpt = False,
    stale_after: StaleOpt = 900.0,
    json_output: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Find what a crash, a kill or a restart left behind; with --fix, repair what is safe.

    Checks leaked lane slots and zombie backup-cycle runs in Prefect (when PREFECT_API_URL is
    set), destination/job state jbremote changed and did not restore (its journal), and
    every server. Never triggers or stops a job. Exit code 3 while something is wrong (after
    --fix: what it could not repair).

    **Examples:** jbremote doctor · jbremote doctor --fix · jbremote doctor --json
    """
    from jbremote.config import load_config
    from jbremote.doctor import diagnose

    report = diagnose(load_config(config_path(config)), fix=fix, stale_after=stale_after)
    if json_output:
        output.print_json(report.to_dict())
    else:
        render(report)
    raise typer.Exit(int(ExitCode.OK if report.ok else ExitCode.CHECKS_FAILED))


def _line(ok: bool | None, text: str) -> None:
    output.out.print(f"  {output.mark(ok)} {text}", soft_wrap=True)


def render(report: Report) -> None:
    out = output.out
    out.print("[bold]Prefect[/]")
    if not report.prefect_checked:
        _line(None, "not checked: PREFECT_API_URL is not set")
    elif report.prefect_error:
        _line(False, escape(f"{report.prefect_url}: {report.prefect_error}"))
    else:
        for slot in report.slots:
            text = f"tag:{slot.tag}: {slot.active_slots}/{slot.limit} slot(s) in use"
            if slot.leaked:
                text += f", {slot.leaked} leaked (no live holder)"
            _line(not slot.leaked, escape(text))
        if not report.slots:
            _line(True, "no lane limits yet")
        for zombie in report.zombies:
            state = "marked Crashed" if zombie.fixed else "zombie"
            _line(
                zombie.fixed,
                escape(f"flow run {zombie.name} ({zombie.id}): {state}: {zombie.reason}"),
            )
        running = ", ".join(report.live_cycles)
        _line(True, escape(f"running backup-cycle runs: {running or 'none'}"))

    out.print(f"[bold]Journal[/] [dim]{escape(report.journal_path)}[/]")
    for entry in report.journal:
        prior = "disabled" if entry.prior_disabled else "enabled"
        text = (
            f"{entry.server}/{entry.kind} {entry.object_id} (for job {entry.job_id}, "
            f"was {prior}, changed {entry.changed_at or '?'}): {entry.status}"
        )
        if entry.detail:
            text += f": {entry.detail}"
        _line(entry.status == "restored", escape(text))
    if not report.journal:
        _line(True, "nothing left to restore")

    out.print("[bold]Servers[/]")
    for server in report.servers:
        _line(server.reachable, escape(server.name + (f": {server.error}" if server.error else "")))

    for action in report.actions:
        out.print(f"[green]fixed:[/] {escape(action)}")
    for note in report.notes:
        out.print(f"[dim]note:[/] {escape(note)}")
    problems = report.problems
    if problems:
        hint = "" if report.fix else " (jbremote doctor --fix repairs what is safe)"
        out.print(f"[red]{len(problems)} problem(s) left[/]{hint}")
    else:
        out.print("[green]nothing wrong found[/]")
