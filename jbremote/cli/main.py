"""The ``jbremote`` command. Commands import their dependencies lazily: ``--help`` stays fast.

Prefect is imported only by ``run`` (and ``demo``), after the config and filters were checked.
Every command is wrapped by :func:`jbremote.cli.errors.handled`: errors are one red line and a
documented exit code (docs/cli.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jbremote.cli import (
    config_cmd,
    doctor,
    gate,
    listing,
    notify,
    pause,
    run,
    status,
    stop,
    test,
    trust,
)
from jbremote.cli.errors import Group, set_verbose, state
from jbremote.cli.options import CONFIG_ENV, DEFAULT_CONFIG
from jbremote.cli.options import root as root_options

PANEL_BACKUPS = "Backups"
PANEL_SETUP = "Setup and checks"
PANEL_MORE = "More"

EPILOG = """\
**Examples**

    jbremote validate               every config problem, with its path
    jbremote test                   SSH, host key, gate, API, ids
    jbremote run --dry-run          show the lanes; trigger nothing
    jbremote run -s web1 -j acc     one job now, with live progress
    jbremote status --json          who writes to each NAS now
    jbremote list --remote -s web1  the jobs web1 really has
    jbremote stop -s web1 JOB_ID    stop a running job (asks first)

Exit codes: 0 ok · 1 a job failed or was partial · 2 could not run, bad input ·
3 a check or a server failed. The `--json` shapes: docs/cli.md
"""

app = typer.Typer(
    name="jbremote",
    cls=Group,
    help="Run JetBackup 5 jobs one at a time per storage target, over SSH, with Prefect.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        from jbremote import __version__

        typer.echo(f"jbremote {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            envvar=CONFIG_ENV,
            help="config file (each command also takes -c)",
        ),
    ] = DEFAULT_CONFIG,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="tracebacks on errors; Prefect's log lines during a run"
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """Run JetBackup 5 jobs one at a time per storage target, over SSH, with Prefect."""
    root_options.config = config
    state.verbose = False
    set_verbose(verbose)


app.command("run", rich_help_panel=PANEL_BACKUPS)(run.run)
app.command("status", rich_help_panel=PANEL_BACKUPS)(status.status)
app.command("stop", rich_help_panel=PANEL_BACKUPS)(stop.stop)
app.command("list", rich_help_panel=PANEL_BACKUPS)(listing.list_jobs)
app.command("pause", rich_help_panel=PANEL_BACKUPS)(pause.pause)
app.command("resume", rich_help_panel=PANEL_BACKUPS)(pause.resume)
app.command("paused", rich_help_panel=PANEL_BACKUPS)(pause.paused)
app.command("test", rich_help_panel=PANEL_SETUP)(test.test)
app.command("validate", rich_help_panel=PANEL_SETUP)(config_cmd.validate)
app.command("trust", rich_help_panel=PANEL_SETUP)(trust.trust)
app.command("doctor", rich_help_panel=PANEL_SETUP)(doctor.doctor)
app.add_typer(config_cmd.app, name="config", rich_help_panel=PANEL_SETUP)
app.add_typer(gate.app, name="gate", rich_help_panel=PANEL_SETUP)
app.add_typer(notify.app, name="notify", rich_help_panel=PANEL_SETUP)


@app.command(rich_help_panel=PANEL_MORE)
def demo(
    workdir: Annotated[
        Path, typer.Option(help="where the simulated fleet and its config live")
    ] = Path(".jbremote/demo"),
    servers: Annotated[int, typer.Option(min=1, max=50)] = 4,
    jobs: Annotated[int, typer.Option(min=1, max=20, help="jobs per server")] = 2,
    targets: Annotated[int, typer.Option(min=1, max=10)] = 2,
    duration: Annotated[
        float, typer.Option(min=0.5, max=600, help="seconds a simulated job takes")
    ] = 4.0,
    problems: Annotated[bool, typer.Option(help="make one job partial and one fail")] = False,
) -> None:
    """Run a full backup cycle against a simulated fleet (embedded Prefect, SQLite).

    Example: jbremote demo --servers 6 --duration 10
    """
    from jbremote.cli.demo import run_demo

    raise typer.Exit(run_demo(workdir, servers, jobs, targets, duration, problems))


def main() -> None:
    app()
