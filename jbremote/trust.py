"""``jbremote trust``: record a server's host key in known_hosts after a person checked it.

The transport never accepts an unknown or changed host key by itself. This fetches the key the
server presents, says whether known_hosts already trusts it, lacks it, or expects another one
(a changed key: the old entry is replaced), and writes it only when the caller confirmed —
interactively, or by passing the fingerprint it verified out of band.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jbremote.config.models import Config, ssh_settings
from jbremote.errors import CannotRun

if TYPE_CHECKING:
    import paramiko


@dataclass(frozen=True)
class HostKeyOffer:
    server: str
    host: str
    port: int
    known_hosts: Path
    key: paramiko.PKey
    key_type: str
    fingerprint: str
    state: str  # "trusted", "unknown" or "changed"
    expected: tuple[str, ...]  # what known_hosts lists for the host now (type + fingerprint)


def fetch_offer(config: Config, server: str) -> HostKeyOffer:
    """Connect to ``server``'s SSH port and return what it presents, compared with known_hosts.

    Raise :class:`CannotRun` for an unknown server, ConnectError if no handshake completes.
    """
    from jbremote.transport import hostkeys

    if server not in config.servers:
        known = ", ".join(config.servers) or "none"
        raise CannotRun(f"unknown server {server!r} (known: {known})")
    settings = ssh_settings(config, server)
    key = hostkeys.fetch_host_key(settings.host, settings.port, settings.connect_timeout)
    try:
        trusted = hostkeys.KnownHosts.load(settings.known_hosts).trusted(
            settings.host, settings.port
        )
    except OSError as exc:
        raise CannotRun(f"cannot read {settings.known_hosts}: {exc.strerror or exc}") from None
    if any(k.asbytes() == key.asbytes() for k in trusted):
        state = "trusted"
    else:
        state = "changed" if trusted else "unknown"
    return HostKeyOffer(
        server=server,
        host=settings.host,
        port=settings.port,
        known_hosts=settings.known_hosts,
        key=key,
        key_type=key.get_name(),
        fingerprint=hostkeys.fingerprint(key),
        state=state,
        expected=tuple(hostkeys.describe_key(k) for k in trusted),
    )


def normalise_fingerprint(text: str) -> str:
    """Return ``SHA256:<base64 without padding>`` for what a person pasted.

    >>> normalise_fingerprint(" sha256:AbC= ")
    'SHA256:AbC'
    """
    text = text.strip()
    if text[:7].upper() == "SHA256:":
        text = text[7:]
    return "SHA256:" + text.rstrip("=")


def check_fingerprint(offer: HostKeyOffer, expected: str) -> None:
    """Return if the offered key has fingerprint ``expected``. Raise :class:`CannotRun` otherwise."""
    if normalise_fingerprint(expected) != offer.fingerprint:
        raise CannotRun(
            f"{offer.server} presents {offer.key_type} {offer.fingerprint}, not "
            f"{normalise_fingerprint(expected)}: nothing was recorded"
        )


def record(offer: HostKeyOffer) -> bool:
    """Write the offered key to known_hosts (replacing the host's old key if it changed).

    Return ``False`` if it was already there.
    """
    from jbremote.transport.hostkeys import add_known_host

    if offer.state == "trusted":
        return False
    return add_known_host(
        offer.known_hosts, offer.host, offer.port, offer.key, replace=offer.state == "changed"
    )
