"""Open the cycle's SSH connections from the config (one per server, reused)."""

from __future__ import annotations

from collections.abc import Callable

from jbremote.config.models import Config, ssh_settings
from jbremote.config.secrets import resolve_secret
from jbremote.transport.pool import ConnectionPool
from jbremote.transport.settings import SshSettings


def settings_resolver(config: Config) -> Callable[[str], SshSettings]:
    """Return a function giving a server's SSH settings, its key passphrase resolved on demand."""

    def settings_for(server: str) -> SshSettings:
        ref = config.servers[server].key_passphrase
        return ssh_settings(config, server, resolve_secret(ref) if ref else None)

    return settings_for


def connection_pool(config: Config) -> ConnectionPool:
    return ConnectionPool(settings_resolver(config))
