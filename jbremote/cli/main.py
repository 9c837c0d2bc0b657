"""The ``jbremote`` command. Commands import their dependencies lazily: ``--help`` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="jbremote",
    help="Run JetBackup 5 jobs one at a time per storage target, over SSH, with Prefect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root() -> None:
    """Run JetBackup 5 jobs one at a time per storage target, over SSH, with Prefect."""


@app.command()
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
