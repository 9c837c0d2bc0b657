"""``jbremote validate`` and ``jbremote config …``: check, explain, show and import configs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import handled
from jbremote.cli.options import ConfigOpt, JsonOpt, VerboseOpt, config_path

app = typer.Typer(
    help="Explain, show and import configuration files.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@handled
def validate(
    json_output: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Check a config file: every problem at once, each with its path. Contacts nothing.

    Exit code 2 when the config has problems.

    **Examples:** jbremote validate · jbremote validate -c new.yaml --json
    """
    from jbremote.config import ConfigError, load_config

    path = config_path(config)
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        if not json_output:
            raise
        problems = [{"path": p.path, "message": p.message} for p in exc.problems]
        output.print_json({"valid": False, "path": str(path), "problems": problems})
        raise typer.Exit(2) from None
    summary: dict[str, Any] = {
        "valid": True,
        "path": str(path),
        "problems": [],
        "servers": len(cfg.servers),
        "targets": len(cfg.targets),
        "jobs": len(cfg.jobs),
        "enabled_jobs": sum(j.enabled for j in cfg.jobs),
    }
    if json_output:
        output.print_json(summary)
        return
    output.out.print(
        f"{output.mark(True)} {escape(str(path))}: valid — {summary['servers']} server(s), "
        f"{summary['targets']} target(s), {summary['jobs']} job(s) ({summary['enabled_jobs']} enabled)"
    )


@app.command("schema")
@handled
def schema(verbose: VerboseOpt = False) -> None:
    """Print the config's JSON Schema, for editors (YAML language servers, VS Code, …).

    **Example:** jbremote config schema > jbremote.schema.json, then start the config with
    # yaml-language-server: $schema=jbremote.schema.json
    """
    from jbremote.config.schema import config_schema

    output.print_json(config_schema())


@app.command("example")
@handled
def example(verbose: VerboseOpt = False) -> None:
    """Print a commented example config that validates as it is.

    **Example:** jbremote config example > /etc/jbremote/jbremote.yaml
    """
    from importlib.resources import files

    typer.echo(
        files("jbremote.config").joinpath("example.yaml").read_text(encoding="utf-8"), nl=False
    )


@app.command("show")
@handled
def show(
    json_output: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Print the effective config: every default filled in, each server's SSH settings as used.

    Secrets are never shown: references (env:NAME, prefect-secret:NAME) stay references and are
    not resolved; a password in a URL is masked.
    """
    import yaml

    from jbremote.config import load_config
    from jbremote.config.show import effective_config

    path = config_path(config)
    data = effective_config(load_config(path))
    if json_output:
        output.print_json(data)
        return
    typer.echo(f"# effective configuration of {path} (defaults filled in; references unresolved)")
    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


@app.command("import-jetbackup-remote")
@handled
def import_jetbackup_remote(
    source: Annotated[
        Path, typer.Argument(help="jetbackup-remote's config.json", show_default=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="write the YAML here instead of stdout", show_default=False
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite --output if it exists")] = False,
    target: Annotated[
        str, typer.Option("--target", help="name of the storage target all servers share")
    ] = "nas",
    verbose: VerboseOpt = False,
) -> None:
    """Convert a jetbackup-remote config.json into a jbremote config.

    Says what had no equivalent (its SMTP password becomes an env: reference; lock, log and
    state files are Prefect's job now). The result is validated before it is written.

    **Example:** jbremote config import-jetbackup-remote /etc/jetbackup-remote/config.json
    -o /etc/jbremote/jbremote.yaml
    """
    from jbremote.errors import CannotRun
    from jbremote.importer import import_jetbackup_remote as convert
    from jbremote.importer import read_source

    if out is not None and out.exists() and not force:
        raise CannotRun(f"{out} exists; add --force to overwrite it")
    imported = convert(read_source(source), str(source), target)
    text = imported.to_yaml(source.name)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    servers, jobs = len(imported.config["servers"]), len(imported.config["jobs"])
    where = f"written to {out}" if out else "printed above"
    output.err.print(
        f"{output.mark(True)} converted {servers} server(s) and {jobs} job(s); the config "
        f"validates ({where}). Notes:"
    )
    for note in imported.notes:
        output.err.print(f"  - {escape(note)}", soft_wrap=True)
