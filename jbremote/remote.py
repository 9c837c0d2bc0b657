"""Ask several configured servers something at once, one SSH connection each.

The interactive commands (``status``, ``test``, ``list --remote``, ``stop``) share this: they
resolve the server's SSH settings from the config, open a :class:`JetBackupClient`, run one
function per server in parallel and collect either its answer or a one-line error, so one dead
server never hides the others. Connecting is retried once at most: a person is waiting and can
run the command again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from jbremote.config.models import Config, ssh_settings
from jbremote.config.secrets import SecretError, resolve_secret
from jbremote.errors import CannotRun
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.command import InvalidParameterError
from jbremote.jetbackup.envelope import JetBackupError
from jbremote.transport.base import Transport, TransportError
from jbremote.transport.settings import SshSettings

T = TypeVar("T")
MAX_PARALLEL = 16
INTERACTIVE_CONNECT_RETRIES = 1

#: The failures of one server that other servers' answers must survive.
ServerErrors = (TransportError, JetBackupError, SecretError, InvalidParameterError)
TransportFactory = Callable[[SshSettings], Transport]


@dataclass(frozen=True)
class Answer(Generic[T]):
    """What one server said: ``value``, or ``error`` (one line) if it could not be asked."""

    server: str
    value: T | None = None
    error: str | None = None


def select_servers(config: Config, names: Sequence[str] | None) -> list[str]:
    """Return ``names`` (default: every configured server) in config order.

    Raise :class:`CannotRun` naming every unknown server.
    """
    if not names:
        return list(config.servers)
    unknown = [n for n in names if n not in config.servers]
    if unknown:
        known = ", ".join(config.servers) or "none"
        raise CannotRun(
            f"unknown server{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(n) for n in unknown)} (known: {known})"
        )
    return [name for name in config.servers if name in names]


def interactive_settings(config: Config, server: str) -> SshSettings:
    """Return the server's SSH settings (passphrase resolved) with at most one connect retry."""
    ref = config.servers[server].key_passphrase
    settings = ssh_settings(config, server, resolve_secret(ref) if ref else None)
    retries = min(settings.connect_retries, INTERACTIVE_CONNECT_RETRIES)
    return dataclasses.replace(settings, connect_retries=retries)


def ssh_transport(settings: SshSettings) -> Transport:
    from jbremote.transport.ssh import SshTransport  # paramiko only when really connecting

    return SshTransport(settings)


@contextmanager
def open_client(
    config: Config, server: str, factory: TransportFactory | None = None
) -> Iterator[JetBackupClient]:
    """Yield a client for ``server``; its connection is closed afterwards."""
    transport = (factory or ssh_transport)(interactive_settings(config, server))
    spec = config.servers[server]
    timeout = spec.command_timeout or config.ssh_defaults.command_timeout
    try:
        yield JetBackupClient(transport, spec.api_command, timeout)
    finally:
        transport.close()


def describe(exc: BaseException) -> str:
    """Return an error as one line without the server name (the caller shows it)."""
    if isinstance(exc, TransportError):
        return exc.reason
    return " ".join(str(exc).split())


def ask_each(
    config: Config,
    servers: Sequence[str],
    question: Callable[[str, JetBackupClient], T],
    factory: TransportFactory | None = None,
) -> list[Answer[T]]:
    """Ask every server in ``servers`` at once; return the answers in the same order."""

    def ask(server: str) -> Answer[T]:
        try:
            with open_client(config, server, factory) as client:
                return Answer(server, value=question(server, client))
        except ServerErrors as exc:
            return Answer(server, error=describe(exc))

    if not servers:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(servers))) as pool:
        return list(pool.map(ask, servers))
