"""The public half of the key jbremote logs in with, as an ``authorized_keys`` line.

``jbremote gate install`` needs it to print the exact line for the server. It is read from
``<key>.pub`` when that file exists, else derived from the private key itself.
"""

from __future__ import annotations

from pathlib import Path

from jbremote.config.models import Config, ssh_settings
from jbremote.config.secrets import resolve_secret
from jbremote.errors import CannotRun

_KEY_TYPES = ("ssh-", "ecdsa-", "sk-")


def public_key_line(config: Config, server: str) -> str:
    """Return ``"<type> <base64> <comment>"`` for the key ``server`` logs in with.

    Raise :class:`CannotRun` if no key is configured or it cannot be read.
    """
    settings = ssh_settings(config, server)
    if settings.key is None:
        raise CannotRun(f"no SSH key is configured for {server} (ssh_defaults.key)")
    pub = Path(f"{settings.key}.pub")
    if pub.is_file():
        line = pub.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        if line and line[0].startswith(_KEY_TYPES) and len(line[0].split()) >= 2:
            return line[0]
        raise CannotRun(f"{pub} does not hold an OpenSSH public key")
    from jbremote.transport.base import AuthenticationError
    from jbremote.transport.ssh import load_private_key

    ref = config.servers[server].key_passphrase
    passphrase = resolve_secret(ref) if ref else None
    try:
        key = load_private_key(server, ssh_settings(config, server, passphrase))
    except AuthenticationError as exc:
        raise CannotRun(exc.reason) from None
    return f"{key.get_name()} {key.get_base64()} jbremote"
