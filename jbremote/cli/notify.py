"""``jbremote notify test``: send a sample of each alert to each configured destination."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import ExitCode, handled
from jbremote.cli.options import ConfigOpt, JsonOpt, VerboseOpt, config_path

app = typer.Typer(
    help="Alerts: check that they arrive.", no_args_is_help=True, rich_markup_mode="markdown"
)


@app.command("test")
@handled
def test(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="resolve and render the samples, send nothing")
    ] = False,
    json_output: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Send a sample of each enabled alert to each notification URL.

    One line per delivery, ✓ or ✗ with the cause. Exit code 3 when a delivery failed.

    **Examples:** jbremote notify test · jbremote notify test --dry-run
    """
    from jbremote.config import load_config
    from jbremote.errors import CannotRun

    cfg = load_config(config_path(config))
    try:
        from jbremote.notify.sample import send_samples
    except ImportError:
        raise CannotRun(
            "alerts are not part of this jbremote build (jbremote.notify.sample missing)"
        ) from None
    deliveries = list(send_samples(cfg, send=not dry_run))
    ok = all(d.ok for d in deliveries)
    if json_output:
        output.print_json(
            {
                "ok": ok,
                "sent": not dry_run,
                "deliveries": [
                    {
                        "event": str(getattr(d.event, "value", d.event)),
                        "destination": str(d.destination),
                        "ok": bool(d.ok),
                        "error": d.error or None,
                    }
                    for d in deliveries
                ],
            }
        )
    else:
        if not deliveries:
            output.out.print("no notification URL is configured (notifications.urls)")
        for d in deliveries:
            event = str(getattr(d.event, "value", d.event))
            cause = f": {escape(str(d.error))}" if d.error else ""
            output.out.print(
                f"{output.mark(bool(d.ok))} {escape(event)} → {escape(str(d.destination))}{cause}",
                soft_wrap=True,
            )
    raise typer.Exit(int(ExitCode.OK if ok else ExitCode.CHECKS_FAILED))
