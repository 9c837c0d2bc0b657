"""``jbremote list``: options and rendering of configured and remote jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import ExitCode, handled
from jbremote.cli.options import ConfigOpt, JsonOpt, ServersOpt, VerboseOpt, config_path

if TYPE_CHECKING:
    from jbremote.inventory import ServerInventory

RemoteOpt = Annotated[
    bool,
    typer.Option(
        "--remote", "-r", help="also ask each server which jobs and destinations it really has"
    ),
]


@handled
def list_jobs(
    remote: RemoteOpt = False,
    server: ServersOpt = None,
    json_output: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List the configured jobs; with --remote, the jobs each server really has.

    --remote shows every backup job (id, name, type, destinations) and destination of each
    server, and config entries for the jobs not configured yet — ready to paste.

    Exit code 3 when --remote could not reach a server.

    **Examples:** jbremote list · jbremote list --remote -s web1 · jbremote list --json
    """
    from jbremote.config import load_config
    from jbremote.inventory import configured_jobs, remote_inventory, suggested_entries

    cfg = load_config(config_path(config))
    configured = configured_jobs(cfg, server)
    inventories = remote_inventory(cfg, server) if remote else None
    if json_output:
        data: dict[str, Any] = {"configured": configured}
        if inventories is not None:
            data["remote"] = [inv.to_dict() for inv in inventories]
            data["suggested"] = suggested_entries(inventories)
        output.print_json(data)
    else:
        _render_configured(configured)
        if inventories is not None:
            _render_remote(inventories)
    reachable = inventories is None or all(inv.reachable for inv in inventories)
    raise typer.Exit(int(ExitCode.OK if reachable else ExitCode.CHECKS_FAILED))


def _render_configured(jobs: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(
        title="Configured jobs (run order within a target: priority, then this order)",
        title_justify="left",
        show_edge=False,
    )
    for column in ("server", "id", "label", "target", "priority", "enabled"):
        table.add_column(column, no_wrap=column == "id")
    for job in jobs:
        table.add_row(
            escape(job["server"]),
            job["id"],
            escape(job["label"]),
            escape(job["target"]),
            str(job["priority"]),
            "yes" if job["enabled"] else "[dim]no[/]",
        )
    output.out.print(table)


def _render_remote(inventories: list[ServerInventory]) -> None:
    import yaml
    from rich.table import Table

    from jbremote.inventory import suggested_entries

    for inv in inventories:
        if not inv.reachable:
            output.out.print(
                f"\n{output.mark(False)} [bold]{escape(inv.server)}[/]: {escape(inv.error or '')}"
            )
            continue
        table = Table(title=f"{inv.server}: backup jobs", title_justify="left", show_edge=False)
        for column in ("id", "name", "type", "destinations", "in config"):
            table.add_column(column, no_wrap=column == "id", overflow="fold")
        for job in inv.jobs:
            # Names here; their ids are in the destinations table just below.
            sends = ", ".join(d["name"] or d["id"] for d in job.destinations)
            flags = " [dim](disabled)[/]" if job.disabled else ""
            table.add_row(
                job.id,
                escape(job.name) + flags,
                escape(job.type_name),
                escape(sends),
                "yes" if job.configured else "",
            )
        output.out.print()
        output.out.print(table)
        dests = Table(title=f"{inv.server}: destinations", title_justify="left", show_edge=False)
        for column in ("id", "name", "type", "target"):
            dests.add_column(column, no_wrap=column == "id")
        for d in inv.destinations:
            name = escape(d.name) + (" [dim](disabled)[/]" if d.disabled else "")
            dests.add_row(d.id, name, escape(d.type), escape(d.target or ""))
        output.out.print(dests)
    entries = suggested_entries(inventories)
    if entries:
        output.out.print(
            "\n[bold]Not in the config yet[/] — paste under jobs: (check each target):"
        )
        output.out.print(escape(yaml.safe_dump(entries, sort_keys=False)), soft_wrap=True)
