"""Run one ``jetbackup5api`` command line against a simulated server in a state directory.

This is the single entry point the executable, the in-process SSH server and
:class:`~jbremote.sim.transport.SimTransport` share. Per call it: splits the command line as a
login shell would (``shlex``), parses it, locks and loads the server, answers at ``clock()``,
saves, appends one record to ``calls.jsonl`` and finally sleeps ``faults.slow_seconds`` — after
the call took effect, so a client that times out has still triggered whatever it asked for.

Call-log record: ``{"t", "server", "function", "params", "ssh_connection", "pid", "success",
"garbage", "exit_status"}``; ``function`` is null for a command line that did not parse.
"""

from __future__ import annotations

import os
import random
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jbremote.sim import api
from jbremote.sim.store import SimStore, UnknownServerError

Clock = Callable[[], float]


@dataclass(frozen=True)
class CommandOutput:
    stdout: bytes
    stderr: bytes
    exit_status: int


def _rng(seed: int | None, server: str, index: int) -> random.Random:
    # Deriving each call's generator from (seed, server, call number) keeps the fault sequence
    # reproducible although every call may run in a new process.
    return random.Random() if seed is None else random.Random(f"{seed}:{server}:{index}")


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError as exc:  # unbalanced quotes
        raise api.UsageError(str(exc)) from None


def handle_command(
    store: SimStore,
    server_name: str,
    command: str,
    connection_id: str = "",
    clock: Clock = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> CommandOutput:
    """Given a command line as SSH carries it, run it on ``server_name`` and return the output.

    ``connection_id`` is recorded in the call log (an ``SSH_CONNECTION``-style
    ``"client_ip client_port server_ip server_port"``). Usage errors and an unknown server give
    exit status 1 with a message on stderr; API errors are envelopes on stdout.
    """
    record: dict[str, Any] = {"t": clock(), "server": server_name, "function": None, "params": {}}
    record |= {"ssh_connection": connection_id, "pid": os.getpid()}
    slow = 0.0
    try:
        call = api.parse_argv(_split(command))
        record |= {"function": call.function, "params": call.params}
        with store.edit(server_name) as server:
            now = clock()
            rng = _rng(server.faults.seed, server.name, server.calls)
            server.calls += 1
            result = api.respond(server, call, now, rng)
            slow = server.faults.slow_seconds
        record |= {"t": now, "success": result.success, "garbage": result.garbage}
        out = CommandOutput(result.stdout, b"", result.exit_status)
    except api.HelpRequested:
        out = CommandOutput(api.USAGE.encode(), b"", 0)
    except api.UsageError as exc:
        out = CommandOutput(b"", f"{api.BINARY}: {exc}\n{api.USAGE}".encode(), 1)
    except UnknownServerError as exc:
        out = CommandOutput(b"", f"{api.BINARY}: {exc}\n".encode(), 1)
    record.setdefault("success", False)
    record.setdefault("garbage", None)
    store.append_call({**record, "exit_status": out.exit_status})
    if slow > 0:
        sleep(slow)
    return out
