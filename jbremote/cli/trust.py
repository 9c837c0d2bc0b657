"""``jbremote trust``: show a server's host key fingerprint and record it once confirmed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import handled
from jbremote.cli.options import ConfigOpt, JsonOpt, VerboseOpt, YesOpt, config_path
from jbremote.cli.stop import interactive


@handled
def trust(
    server: Annotated[
        str, typer.Argument(help="a server name from the config", show_default=False)
    ],
    fingerprint: Annotated[
        str | None,
        typer.Option(
            "--fingerprint",
            "-f",
            help="the SHA256:… fingerprint you verified on the server; must match (needed with --yes)",
            show_default=False,
        ),
    ] = None,
    yes: YesOpt = False,
    json_output: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show SERVER's SSH host key fingerprint and record it in known_hosts once confirmed.

    Confirm interactively, or pass --yes --fingerprint SHA256:… (which must match). A changed key is shown with what known_hosts expected, and replaces it only when confirmed.
    Compare with the server's own: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub

    **Examples:** jbremote trust web1 · jbremote trust web1 --yes --fingerprint SHA256:…
    """
    from jbremote.config import load_config
    from jbremote.errors import CannotRun
    from jbremote.trust import check_fingerprint, fetch_offer, record

    cfg = load_config(config_path(config))
    if yes and not fingerprint:
        raise CannotRun("--yes needs --fingerprint SHA256:… (the fingerprint you verified)")
    offer = fetch_offer(cfg, server)
    say = output.err if json_output else output.out  # --json: stdout holds only the JSON
    where = f"{offer.host}:{offer.port}"
    say.print(f"{escape(server)} ({where}) presents [bold]{offer.key_type} {offer.fingerprint}[/]")
    if fingerprint:
        check_fingerprint(offer, fingerprint)
    if offer.state == "trusted":
        say.print(f"{output.mark(True)} already trusted in {offer.known_hosts}: nothing to do")
        written = False
    else:
        if offer.state == "changed":
            output.err.print(
                f"[bold red]WARNING: HOST KEY CHANGED[/]: {offer.known_hosts} expects "
                f"{escape(', '.join(offer.expected))}. Someone may be intercepting the connection, "
                "or the server was reinstalled. Confirming replaces the old key."
            )
        else:
            output.err.print(f"{offer.known_hosts} has no key for {where} yet.")
        if not yes:
            if not interactive():
                raise CannotRun(
                    "refusing to record a host key without confirmation: no terminal; "
                    "use --yes --fingerprint SHA256:…"
                )
            if not typer.confirm(
                f"Record this key in {offer.known_hosts}?", default=False, err=True
            ):
                raise CannotRun("not confirmed: known_hosts is unchanged")
        written = record(offer)
        say.print(f"{output.mark(True)} recorded in {offer.known_hosts}")
    if json_output:
        output.print_json(
            {
                "server": server,
                "host": offer.host,
                "port": offer.port,
                "key_type": offer.key_type,
                "fingerprint": offer.fingerprint,
                "state": offer.state,
                "known_hosts": str(offer.known_hosts),
                "recorded": written,
            }
        )
