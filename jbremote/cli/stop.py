"""``jbremote stop``: an operator's explicit order to stop one job; asks first."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import handled
from jbremote.cli.options import ConfigOpt, JsonOpt, VerboseOpt, YesOpt, config_path


def interactive() -> bool:
    """Whether a person can answer a question (stdin and stderr are terminals)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


@handled
def stop(
    job: Annotated[
        str,
        typer.Argument(
            metavar="JOB_ID",
            help="the JetBackup job id (24 hex), its label in the config, or a queue group id",
            show_default=False,
        ),
    ],
    server: Annotated[
        str, typer.Option("--server", "-s", help="the server the job runs on", show_default=False)
    ],
    yes: YesOpt = False,
    json_output: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Stop a queued or running JetBackup job: the only way jbremote ever stops one.

    Finds the job's active queue group, asks for confirmation (or --yes; without a terminal
    and without --yes it refuses), sends stopQueueGroup and shows what JetBackup answered.
    Exit code 2 when nothing was stopped (not running, refused, not confirmed).

    **Example:** jbremote stop --server web1 6504c79fd4b57d536c05bbe2
    """
    from jbremote.config import load_config
    from jbremote.errors import CannotRun
    from jbremote.remote import open_client
    from jbremote.stop import find_active_group, parse_request, send_stop

    cfg = load_config(config_path(config))
    request = parse_request(cfg, server, job)
    if not yes and not interactive():
        raise CannotRun(
            "refusing to stop a job without confirmation: no terminal to ask; add --yes"
        )
    with open_client(cfg, request.server) as client:
        found = find_active_group(client, request)
        output.err.print(f"{escape(request.server)}: {escape(found.describe())}", soft_wrap=True)
        if not yes and not typer.confirm(
            "Stop it? JetBackup aborts the run (status 103)", default=False, err=True
        ):
            raise CannotRun("not confirmed: nothing was stopped")
        message = send_stop(client, found)
    if json_output:
        output.print_json(
            {
                "server": request.server,
                "job_id": found.job_id,
                "job_name": found.job_name,
                "group_id": found.group.id,
                "status_before": found.group.status,
                "message": message,
            }
        )
    else:
        output.out.print(
            f"{output.mark(True)} stop signal sent for queue group {found.group.id}; "
            f"JetBackup answered: {escape(message)}"
        )
