"""``jbremote test``: options and the one-line-per-check rendering."""

from __future__ import annotations

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import ExitCode, handled
from jbremote.cli.options import ConfigOpt, JsonOpt, ServersOpt, VerboseOpt, config_path


@handled
def test(
    server: ServersOpt = None,
    json_output: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Check each server: SSH, host key, gate, JetBackup API, job and destination ids.

    SSH shows the host key fingerprint; the gate is the server's command filter; the ids are
    the configured jobs and destinations, which must exist there. One line per check, ✓ or ✗ with the cause; read-only. Exit code 3 when a check failed.

    **Examples:** jbremote test · jbremote test -s web1 --json
    """
    from jbremote.checks import Verdict, check_servers
    from jbremote.config import load_config

    results = check_servers(load_config(config_path(config)), server)
    ok = all(r.ok for r in results)
    if json_output:
        output.print_json({"ok": ok, "servers": [r.to_dict() for r in results]})
    else:
        marks = {Verdict.OK: True, Verdict.FAILED: False, Verdict.SKIPPED: None}
        for result in results:
            output.out.print(f"[bold]{escape(result.server)}[/] ({result.host}:{result.port})")
            for check in result.checks:
                output.out.print(
                    f"  {output.mark(marks[check.verdict])} {check.name:<13} {escape(check.detail)}",
                    soft_wrap=True,
                )
        bad = sum(not r.ok for r in results)
        summary = f"{len(results)} server(s): {len(results) - bad} ok"
        output.out.print(summary + (f", [red]{bad} with problems[/]" if bad else ""))
    raise typer.Exit(int(ExitCode.OK if ok else ExitCode.CHECKS_FAILED))
