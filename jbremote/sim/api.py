"""The ``jetbackup5api`` command line: argv parsing, the envelope, and the fault knobs.

Grammar (docs §1): ``jetbackup5api -F <function> [-D <k=v&k=v…>] [-O json|plain]``, long forms
``--func``/``--data``/``--output``, ``-h``/``--help``. The first token is the binary:
``jetbackup5api`` or any path ending in ``/jetbackup5api``. Without ``-O`` the output is
``plain`` (the docs' examples show text). Several ``-D`` are merged, later keys winning.
A second ``-F``, an unknown flag, a missing value or an unknown ``-O`` format is a usage error:
message on stderr, exit status 1, like a CLI. Everything the API itself rejects (unknown
function, missing parameter) is a ``success: 0`` envelope with exit status
``faults.exit_status_on_error`` (default 0: jetbackup-remote saw rc 0 for such calls).

Fault knobs (per server, see :class:`~jbremote.sim.state.Faults`): a *failure* is decided before
the function runs and has no effect; *garbage* replaces the output after the function ran, so
the call's effect (e.g. a queued backup) stays — the nastier and more realistic case.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from jbremote.sim import output
from jbremote.sim.functions import Call, Reply, dispatch
from jbremote.sim.state import ServerState
from jbremote.sim.views import system_object

BINARY = "jetbackup5api"
OUTPUT_FORMATS = ("json", "plain")
USAGE = "Usage: jetbackup5api -F <function> [-D <params>] [-O json|plain]\n"
FAULT_MESSAGE = "Unable to connect to the JetBackup daemon (simulated fault)"
_FLAGS = {"-F": "function", "--func": "function", "-D": "data", "--data": "data"}
_FLAGS |= {"-O": "output", "--output": "output"}


class UsageError(Exception):
    """The command line is not a valid ``jetbackup5api`` invocation."""


class HelpRequested(Exception):
    """``-h``/``--help`` was given."""


@dataclass(frozen=True)
class ApiCall:
    function: str
    params: dict[str, str]
    output: str


@dataclass(frozen=True)
class ApiResult:
    """What the tool prints and returns; ``garbage`` names the garbage kind used, if any."""

    stdout: bytes
    exit_status: int
    success: bool
    garbage: str | None = None


def decode_params(data: str) -> dict[str, str]:
    """Given a ``-D`` string, return its parameters: split on ``&``, then at the first ``=``.

    Keys and values are URL-decoded as PHP does (``+`` is a space, hence the docs' rule that a
    literal ``+`` must be sent as ``%2B``). A part without ``=`` is a key with an empty value.

    >>> decode_params("_id=abc&find%5Binfo.ID%5D=x&name=a%2Bb+c")
    {'_id': 'abc', 'find[info.ID]': 'x', 'name': 'a+b c'}
    """
    params = {}
    for part in data.split("&"):
        if part:
            key, _, value = part.partition("=")
            params[unquote_plus(key)] = unquote_plus(value)
    return params


def parse_argv(tokens: Sequence[str]) -> ApiCall:
    """Given the argv tokens, return the call. Raise UsageError or HelpRequested."""
    if not tokens or not (tokens[0] == BINARY or tokens[0].endswith("/" + BINARY)):
        raise UsageError(f"not a {BINARY} command")
    function: str | None = None
    params: dict[str, str] = {}
    fmt = "plain"
    rest = list(tokens[1:])
    while rest:
        flag = rest.pop(0)
        if flag in ("-h", "--help"):
            raise HelpRequested
        if flag not in _FLAGS:
            raise UsageError(f"unknown option {flag!r}")
        if not rest:
            raise UsageError(f"option {flag} needs a value")
        value = rest.pop(0)
        kind = _FLAGS[flag]
        if kind == "function":
            if function is not None:
                raise UsageError("option -F given twice")
            function = value
        elif kind == "data":
            params.update(decode_params(value))
        elif value not in OUTPUT_FORMATS:
            raise UsageError(f"unknown output format {value!r}")
        else:
            fmt = value
    if function is None:
        raise UsageError("option -F is required")
    return ApiCall(function, params, fmt)


def _applies(functions: list[str], function: str) -> bool:
    return not functions or function in functions


def envelope(server: ServerState, reply: Reply, fmt: str) -> dict[str, Any]:
    """Return the four-key envelope of ``reply``: for ``json`` with flags in the server's
    ``flag_style``; for ``plain`` canonical (the text rendering has its own flag form).
    """
    system, data = system_object(server), reply.data
    if fmt == "json":
        style = server.faults.flag_style
        system, data = output.style_flags(system, style), output.style_flags(data, style)
    return {
        "success": 1 if reply.success else 0,
        "message": reply.message,
        "system": system,
        "data": data,
    }


def respond(server: ServerState, call: ApiCall, now: float, rng: random.Random) -> ApiResult:
    """Run ``call`` on ``server`` at ``now`` with the fault knobs applied; return the output.

    ``server`` may be changed (the caller saves it). Three draws are taken from ``rng`` on every
    call, whether used or not, so one seed gives one sequence of faults.
    """
    faults = server.faults
    draw_fail, draw_garbage, draw_cut = rng.random(), rng.random(), rng.random()
    if _applies(faults.fail_functions, call.function) and draw_fail < faults.fail_rate:
        reply = Reply([], FAULT_MESSAGE, False)
    else:
        reply = dispatch(Call(server, call.params, now), call.function)
    env = envelope(server, reply, call.output)
    stdout = output.render_json(env) if call.output == "json" else output.render_plain(env)
    kind = None
    if _applies(faults.garbage_functions, call.function) and draw_garbage < faults.garbage_rate:
        kind = faults.garbage_kind
        stdout = output.garbage(kind, stdout, env, draw_cut)
    status = 0 if reply.success else faults.exit_status_on_error
    return ApiResult(stdout, status, reply.success, kind)
