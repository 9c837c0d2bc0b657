"""A :class:`~jbremote.transport.base.Transport` that runs commands on a simulated server
directly, without SSH: the fastest way to test code that drives JetBackup.

The command still travels as one string (:func:`~jbremote.transport.base.command_line`) and is
parsed by the simulator exactly as over SSH. Each "connection" gets an ``SSH_CONNECTION``-like
id with its own client port; :meth:`SimTransport.close` ends it, so the next call counts as a new
connection in the call log.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence

from jbremote.sim.service import Clock, handle_command
from jbremote.sim.store import SimStore
from jbremote.transport.base import CommandResult, CommandTimeoutError, command_line

_PORTS = itertools.count(40000)


class SimTransport:
    """Runs argument lists on simulated server ``name`` in ``store``.

    ``slow_seconds`` longer than a call's ``timeout`` raises CommandTimeoutError after
    ``timeout`` seconds of ``sleep`` — with the call's effect already applied, as over SSH.
    """

    def __init__(
        self,
        store: SimStore,
        name: str,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.name = name
        self.clock = clock
        self.sleep = sleep
        self._connection: str | None = None

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        """Run ``argv`` on the simulated server. Raise CommandTimeoutError (see class doc)."""
        if self._connection is None:
            self._connection = f"127.0.0.1 {next(_PORTS)} 127.0.0.1 22"

        def sleep(seconds: float) -> None:
            if timeout is not None and seconds > timeout:
                self.sleep(timeout)
                raise CommandTimeoutError(self.name, f"no answer within {timeout:g} s")
            self.sleep(seconds)

        start = time.monotonic()
        out = handle_command(
            self.store, self.name, command_line(argv), self._connection, self.clock, sleep
        )
        return CommandResult(out.exit_status, out.stdout, out.stderr, time.monotonic() - start)

    def close(self) -> None:
        self._connection = None
