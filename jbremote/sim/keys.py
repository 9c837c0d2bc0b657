"""Ed25519 key pairs and known_hosts lines for a simulated fleet.

paramiko cannot generate Ed25519 keys, so :mod:`cryptography` makes them and writes the OpenSSH
private-key format that both paramiko and OpenSSH read.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def generate_ed25519(comment: str = "jbremote-sim") -> tuple[paramiko.PKey, str, str]:
    """Return a new key as (paramiko key, OpenSSH private key text, ``authorized_keys`` line)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(pem))
    return key, pem, f"{key.get_name()} {key.get_base64()} {comment}"


def write_key_pair(path: Path, comment: str = "jbremote-sim") -> paramiko.PKey:
    """Write a new private key to ``path`` (mode 0600) and its public line to ``path.pub``.

    Return the key.
    """
    key, pem, public = generate_ed25519(comment)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(pem)
    path.with_name(path.name + ".pub").write_text(public + "\n")
    return key


def known_hosts_line(host: str, port: int, key: paramiko.PKey) -> str:
    """Return the known_hosts line for ``key`` at host:port (``[host]:port`` unless port 22)."""
    where = host if port == 22 else f"[{host}]:{port}"
    return f"{where} {key.get_name()} {key.get_base64()}"
