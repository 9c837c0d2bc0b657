"""``jbremote status``: options and rendering of what JetBackup says right now."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import ExitCode, handled
from jbremote.cli.options import ConfigOpt, JsonOpt, ServersOpt, VerboseOpt, config_path

if TYPE_CHECKING:
    from jbremote.status import FleetStatus


@handled
def status(
    server: ServersOpt = None,
    json_output: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show servers, who holds each storage target, and each job's last result.

    Per server: reachable, JetBackup version, jobs queued or running with their progress. Per
    target: who writes to it now and since when. Per configured job: its last result. Read from JetBackup itself, all servers at once; needs no Prefect. Exit code 3 when a
    server could not be reached (the others are still shown).

    **Examples:** jbremote status · jbremote status -s web1 --json
    """
    from jbremote.config import load_config
    from jbremote.status import fleet_status

    result = fleet_status(load_config(config_path(config)), server)
    if json_output:
        output.print_json(result.to_dict())
    else:
        render(result)
    raise typer.Exit(int(ExitCode.OK if result.all_reachable else ExitCode.CHECKS_FAILED))


def render(result: FleetStatus) -> None:
    from rich.table import Table

    servers = Table(title="Servers", title_justify="left", show_edge=False)
    for column in ("", "server", "JetBackup", "queued / running"):
        servers.add_column(column, overflow="fold")
    for s in result.servers:
        if not s.reachable:
            servers.add_row(
                output.mark(False), escape(s.name), "", f"[red]{escape(s.error or '')}[/]"
            )
            continue
        active = "; ".join(
            f"{escape(a.label or a.name or a.job_id)} {a.status_meaning.split(' ', 1)[-1]}"
            + (f" {a.progress:.0f}%" if a.progress is not None else "")
            for a in s.active
        )
        servers.add_row(
            output.mark(True), escape(s.name), escape(s.version or "?"), active or "idle"
        )
    output.out.print(servers)

    targets = Table(title="Targets", title_justify="left", show_edge=False)
    for column in ("target", "writers", "held by", "since"):
        targets.add_column(column, overflow="fold")
    for t in result.targets:
        unknown = (
            f" [dim](unknown: {escape(', '.join(t.unknown_servers))})[/]"
            if t.unknown_servers
            else ""
        )
        if not t.holders:
            targets.add_row(escape(t.name), str(t.writers), "[green]free[/]" + unknown, "")
        for index, h in enumerate(t.holders):
            who = escape(f"{h.server}/{h.label or h.name or h.job_id}")
            if not h.managed:
                who += " [yellow](not managed by jbremote)[/]"
            first = index == 0
            targets.add_row(
                escape(t.name) if first else "",
                str(t.writers) if first else "",
                who + (unknown if first else ""),
                _short(h.since),
            )
    output.out.print(targets)

    jobs = Table(title="Jobs", title_justify="left", show_edge=False)
    for column in ("server", "job", "target", "now", "last result", "ended"):
        jobs.add_column(column, overflow="fold")
    for j in result.jobs:
        now = "running" if j.running else ("" if j.running is not None else "?")
        if not j.enabled:
            now = (now + " " if now else "") + "[dim](disabled in config)[/]"
        if j.last is not None:
            last = escape(j.last.status_meaning)
            ended = _short(j.last.ended)
        else:
            last = f"[red]{escape(j.error)}[/]" if j.error else "[dim]never ran[/]"
            ended = ""
        jobs.add_row(escape(j.server), escape(j.label or j.id), escape(j.target), now, last, ended)
    output.out.print(jobs)


def _short(stamp: str | None) -> str:
    """``2023-09-20T14:39:11+00:00`` → ``2023-09-20 14:39:11``."""
    return stamp.replace("T", " ")[:19] if stamp else ""
