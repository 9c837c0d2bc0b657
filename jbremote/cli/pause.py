"""``jbremote pause / resume / paused``: hold a target or a job back without touching schedules.

Pauses live in the Prefect Variable ``jbremote-paused`` (see :mod:`jbremote.pause`), so a
redeploy cannot silently lift them; every cycle reports each held-back job as paused.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from jbremote.cli import output
from jbremote.cli.errors import handled
from jbremote.cli.options import ConfigOpt, JsonOpt, VerboseOpt, config_path

TargetOpt = Annotated[
    str | None, typer.Option("--target", "-t", help="a storage target", show_default=False)
]
JobOpt = Annotated[
    str | None, typer.Option("--job", "-j", help="a job id or label", show_default=False)
]


def _kind_and_name(target: str | None, job: str | None) -> tuple[str, str]:
    from jbremote.errors import CannotRun

    if (target is None) == (job is None):
        raise CannotRun("name exactly one of --target or --job")
    return ("target", target) if target is not None else ("job", job or "")


@handled
def pause(
    reason: Annotated[
        str,
        typer.Option(
            "--reason", "-r", help="why (shown for every held-back job)", show_default=False
        ),
    ],
    target: TargetOpt = None,
    job: JobOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Hold a target or a job back from every cycle until resumed (schedules stay as they are).

    **Example:** jbremote pause --target nas1 --reason "RAID rebuild"
    """
    from jbremote import pause as pauses
    from jbremote.config import load_config
    from jbremote.errors import CannotRun

    kind, name = _kind_and_name(target, job)
    cfg = load_config(config_path(config))
    held = pauses.matching(cfg, kind, name)
    if not held:
        known = (
            sorted(cfg.targets) if kind == "target" else sorted({j.label or j.id for j in cfg.jobs})
        )
        raise CannotRun(f"unknown {kind} {name!r} (known: {', '.join(known)})")
    try:
        entry = pauses.pause(kind, name, reason)
    except pauses.PauseError as exc:
        raise CannotRun(str(exc)) from None
    output.out.print(
        f"{output.mark(True)} {escape(entry.describe())}; held back: {escape(', '.join(held))}"
    )


@handled
def resume(
    target: TargetOpt = None,
    job: JobOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Lift a pause: the next cycle runs the target's or job's jobs again.

    **Example:** jbremote resume --target nas1
    """
    from jbremote import pause as pauses
    from jbremote.errors import CannotRun

    kind, name = _kind_and_name(target, job)
    try:
        removed = pauses.resume(kind, name)
    except pauses.PauseError as exc:
        raise CannotRun(str(exc)) from None
    if removed is None:
        raise CannotRun(f"{kind} {name!r} was not paused")
    output.out.print(
        f"{output.mark(True)} resumed {kind} {escape(name)} (was {escape(removed.describe())})"
    )


@handled
def paused(json_output: JsonOpt = False, verbose: VerboseOpt = False) -> None:
    """List the current pauses.

    **Example:** jbremote paused --json
    """
    from jbremote import pause as pauses
    from jbremote.errors import CannotRun

    try:
        current = pauses.paused().all()
    except pauses.PauseError as exc:
        raise CannotRun(str(exc)) from None
    if json_output:
        output.print_json(
            [
                {"kind": p.kind.value, "name": p.name, "reason": p.reason, "by": p.by, "at": p.at}
                for p in current
            ]
        )
        return
    for entry in current:
        output.out.print(escape(entry.describe()))
    if not current:
        output.out.print("nothing is paused")
