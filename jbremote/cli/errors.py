"""Exit codes and the one wrapper that turns any domain error into one red line.

Every command is wrapped with :func:`handled`. Known errors print ``error: <what>`` in red on
stderr and exit with a documented code; anything unexpected does the same with its type name.
``-v`` adds the traceback. Exit codes (docs/cli.md):

====  ==================================================================================
0     everything worked
1     the cycle ran but some job failed, was partial, timed out, … (``run``)
2     could not run: bad arguments or config, unreachable, refused, not confirmed
3     the command ran but a check or a server failed (``test``, ``status``,
      ``list --remote``, ``notify test``); what could be read is still shown
130   interrupted
====  ==================================================================================
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from enum import IntEnum
from typing import Any, TypeVar

import typer
from rich.markup import escape
from typer.core import TyperGroup

from jbremote.cli import output

F = TypeVar("F", bound=Callable[..., Any])


class ExitCode(IntEnum):
    OK = 0
    JOB_PROBLEMS = 1
    CANNOT_RUN = 2
    CHECKS_FAILED = 3
    INTERRUPTED = 130


class _State:
    verbose = False


state = _State()


def set_verbose(value: bool) -> bool:
    """Option callback for ``-v``: remembered for the error wrapper and Prefect's log level."""
    if value:
        state.verbose = True
    return value


def fail(message: str, code: ExitCode = ExitCode.CANNOT_RUN) -> typer.Exit:
    """Print ``error: message`` as one red line; return the Exit to raise."""
    output.err.print(f"[bold red]error:[/] [red]{escape(message)}[/]", soft_wrap=True)
    return typer.Exit(int(code))


def handled(fn: F) -> F:
    """Wrap a command so domain errors become one red line and a documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            raise fail("interrupted", ExitCode.INTERRUPTED) from None
        except Exception as exc:
            if _is_cli_exception(exc):
                raise
            if state.verbose:
                traceback.print_exc(file=sys.stderr)
            raise _exit_for(exc) from None

    return wrapper  # type: ignore[return-value]


def _exit_for(exc: Exception) -> typer.Exit:
    from jbremote.config.errors import ConfigError
    from jbremote.config.secrets import SecretError
    from jbremote.cycle.plan import SelectionError
    from jbremote.errors import CannotRun
    from jbremote.jetbackup.command import InvalidParameterError
    from jbremote.jetbackup.envelope import JetBackupError
    from jbremote.transport.base import TransportError

    if isinstance(exc, ConfigError):
        count = len(exc.problems)
        exit_ = fail(f"{exc.source}: {count} config problem{'s' if count != 1 else ''}")
        for problem in exc.problems:
            output.err.print(f"  {escape(str(problem))}", soft_wrap=True, highlight=False)
        return exit_
    known = (CannotRun, SelectionError, SecretError, InvalidParameterError)
    if isinstance(exc, (*known, TransportError, JetBackupError)):
        return fail(str(exc))
    hint = "" if state.verbose else " (run with -v for the traceback)"
    return fail(f"unexpected {type(exc).__name__}: {exc}{hint}")


def _is_cli_exception(exc: BaseException) -> bool:
    # typer's own exceptions (Exit, Abort, the parser's errors) are its business: typer
    # vendors click, so they are recognised by where they come from.
    return type(exc).__module__.split(".")[0] == "typer"


class Group(TyperGroup):
    """The root command: the parser's own errors (a missing option, an unknown command) are
    one red line too, with where to find help, instead of click's boxed usage text."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except Exception as exc:
            if not _is_cli_exception(exc):
                raise
            name = type(exc).__name__
            if name == "Abort":  # Ctrl-D or Ctrl-C at a prompt
                raise SystemExit(int(fail("aborted: nothing was changed").exit_code)) from None
            if name == "NoArgsIsHelpError" or not hasattr(exc, "format_message"):
                raise SystemExit(int(getattr(exc, "exit_code", 2))) from None  # help was shown
            ctx = getattr(exc, "ctx", None)
            where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
            message = f"{exc.format_message()}{where}"
            raise SystemExit(int(fail(message, _code(exc)).exit_code)) from None
        sys.exit(result if isinstance(result, int) else 0)


def _code(exc: BaseException) -> ExitCode:
    code = getattr(exc, "exit_code", 2)
    return ExitCode(code) if code in set(ExitCode) else ExitCode.CANNOT_RUN
