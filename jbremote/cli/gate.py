"""``jbremote gate install``: the server-side command filter, and how to install it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import handled
from jbremote.cli.options import ConfigOpt, VerboseOpt, config_path

DEFAULT_GATE_PATH = "/usr/local/sbin/jbremote-gate"

app = typer.Typer(
    help="The command filter (gate) a server runs for jbremote's key.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@app.command("install")
@handled
def install(
    server: Annotated[
        str, typer.Argument(help="a server name from the config", show_default=False)
    ],
    write: Annotated[
        Path | None,
        typer.Option(
            "--write",
            "-w",
            help="write the gate file here (mode 0755) instead of printing it",
            show_default=False,
        ),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only", help="allow only reading calls (status, list, test; no run/stop)"
        ),
    ] = False,
    from_: Annotated[
        list[str] | None,
        typer.Option(
            "--from",
            help="only accept the key from this address or CIDR (repeatable)",
            show_default=False,
        ),
    ] = None,
    gate_path: Annotated[
        str, typer.Option("--gate-path", help="where the gate is installed on the server")
    ] = DEFAULT_GATE_PATH,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Print the gate file for SERVER, its authorized_keys line and how to install them.

    The authorized_keys line forces every command of jbremote's key through the gate, which
    lets only JetBackup API calls pass. Contacts nothing.

    **Examples:** jbremote gate install web1 --from 192.0.2.10 ·
    jbremote gate install web1 --write ./jbremote-gate
    """
    import ipaddress

    from jbremote.client_key import public_key_line
    from jbremote.config import load_config
    from jbremote.errors import CannotRun

    cfg = load_config(config_path(config))
    if server not in cfg.servers:
        known = ", ".join(cfg.servers) or "none"
        raise CannotRun(f"unknown server {server!r} (known: {known})")
    addresses = []
    for value in from_ or []:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise CannotRun(f"--from {value!r} is not an IP address or CIDR") from None
        addresses.append(value.strip())
    try:
        from jbremote.gate.install import install_instructions
    except ImportError:
        raise CannotRun(
            "the gate is not part of this jbremote build (jbremote.gate.install missing)"
        ) from None
    api = cfg.servers[server].api_command
    extra = {"api_path": api} if api.startswith("/") else {}
    try:
        plan = install_instructions(
            public_key_line(cfg, server),
            gate_path=gate_path,
            read_only=read_only,
            from_addresses=addresses or None,
            **extra,
        )
    except ValueError as exc:  # the gate refuses anything that could break out of the line
        raise CannotRun(str(exc)) from None
    if write is not None:
        write.write_text(plan.gate_source, encoding="utf-8")
        write.chmod(0o755)
        output.out.print(
            f"{output.mark(True)} gate written to {escape(str(write))}; install it on "
            f"{escape(server)} as {escape(gate_path)}"
        )
    else:
        output.out.print(f"[bold]# {gate_path} on {escape(server)} (mode 0755):[/]")
        typer.echo(plan.gate_source.rstrip("\n"))
    output.out.print(f"\n[bold]authorized_keys line for {escape(server)}:[/]")
    typer.echo(plan.authorized_keys_line)
    if plan.steps:
        output.out.print("\n[bold]Steps:[/]")
        for number, step in enumerate(plan.steps, 1):
            output.out.print(f"  {number}. {escape(step)}", soft_wrap=True)
    output.out.print(f"\nThen check it: jbremote test -s {escape(server)}")
