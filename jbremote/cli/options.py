"""Options shared by several commands, declared once.

``-c/--config`` and ``-v/--verbose`` work both before the command (``jbremote -c FILE run``,
as jetbackup-remote users type it) and after it (``jbremote run -c FILE``); the latter wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jbremote.cli.errors import set_verbose

DEFAULT_CONFIG = Path("/etc/jbremote/jbremote.yaml")
CONFIG_ENV = "JBREMOTE_CONFIG"

PANEL_SELECT = "Selection"
PANEL_OUTPUT = "Output"
PANEL_COMMON = "Common"


class _Root:
    config: Path = DEFAULT_CONFIG


root = _Root()


def config_path(value: Path | None) -> Path:
    """Return the config file to use: the command's ``-c``, else the global one (env, default)."""
    return value if value is not None else root.config


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help=f"config file [default: {DEFAULT_CONFIG}, or ${CONFIG_ENV}]",
        show_default=False,
        rich_help_panel=PANEL_COMMON,
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="tracebacks on errors; Prefect's log lines during a run",
        callback=set_verbose,
        rich_help_panel=PANEL_COMMON,
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="print one JSON document on stdout (shapes: docs/cli.md)",
        rich_help_panel=PANEL_OUTPUT,
    ),
]
ServersOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--server", "-s", help="only this server (repeatable)", rich_help_panel=PANEL_SELECT
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", help="do not ask for confirmation", rich_help_panel=PANEL_COMMON),
]
