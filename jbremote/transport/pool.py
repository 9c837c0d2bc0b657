"""One SSH connection per server for a whole backup cycle.

A cycle talks to each server many times (trigger, then poll until the job ends). The pool hands
out one :class:`SshTransport` per server name, created on first use; the transport itself
connects lazily and reconnects when needed, so the pool only has to remember and close them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

from jbremote.transport.settings import SshSettings
from jbremote.transport.ssh import SshTransport


class ConnectionPool:
    """Thread-safe cache of transports keyed by server name.

    ``settings_for(name)`` resolves a server's settings (and raises for an unknown name);
    ``factory`` builds the transport and exists so tests can count or fake them.

    >>> with ConnectionPool(lambda name: settings[name]) as pool:  # doctest: +SKIP
    ...     pool.get("web1").run(["jetbackup5api", "-F", "listBackupJobs", "-O", "json"])
    """

    def __init__(
        self,
        settings_for: Callable[[str], SshSettings],
        factory: Callable[[SshSettings], SshTransport] = SshTransport,
    ) -> None:
        self._settings_for = settings_for
        self._factory = factory
        self._lock = threading.Lock()
        self._transports: dict[str, SshTransport] = {}

    def get(self, server_name: str) -> SshTransport:
        """Return the transport for ``server_name``, creating it on first use (no I/O here)."""
        with self._lock:
            transport = self._transports.get(server_name)
            if transport is None:
                transport = self._factory(self._settings_for(server_name))
                self._transports[server_name] = transport
            return transport

    def close_all(self) -> None:
        """Close every transport and forget them; a later ``get`` starts afresh."""
        with self._lock:
            transports = list(self._transports.values())
            self._transports.clear()
        for transport in transports:
            transport.close()

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close_all()
