"""Strict host key checking against one known_hosts file, OpenSSH style.

The transport trusts exactly the keys listed for a server in its configured known_hosts file:
an unknown server or a changed key is refused and never added automatically. Only the explicit
``jbremote trust`` command writes that file, through :func:`add_known_host`, after a person has
compared the fingerprint from :func:`fetch_host_key`.

Matching follows OpenSSH: port 22 entries are ``host``, other ports ``[host]:port``; hashed
names (``|1|salt|hash``), ``*``/``?`` wildcards and ``!`` negations are understood;
``@revoked`` keys are refused; ``@cert-authority`` lines are ignored (no certificate support).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko
from paramiko.pkey import UnknownKeyType

from jbremote.transport.base import ConnectError, HostKeyError

log = logging.getLogger(__name__)

# paramiko 5 negotiates RSA host keys only with SHA-2 signatures; known_hosts names the key
# type ``ssh-rsa`` whatever the signature algorithm.
_RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256")


@dataclass(frozen=True)
class KnownHostsLine:
    """One key line of a known_hosts file (comments and blank lines are not represented)."""

    patterns: tuple[str, ...]
    key: paramiko.PKey
    marker: str  # "", "@revoked" or "@cert-authority"


def known_hosts_name(host: str, port: int) -> str:
    """Return the name OpenSSH files a host under: ``host`` on port 22, else ``[host]:port``.

    >>> known_hosts_name("web1.example.com", 2222)
    '[web1.example.com]:2222'
    """
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: paramiko.PKey) -> str:
    """Return the OpenSSH SHA256 fingerprint of ``key``: ``SHA256:`` + base64 without padding."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def describe_key(key: paramiko.PKey) -> str:
    """Return ``"<type> <fingerprint>"``, the way the key is shown to a person."""
    return f"{key.get_name()} {fingerprint(key)}"


def read_known_hosts(path: Path) -> list[KnownHostsLine]:
    """Return the key lines of the known_hosts file at ``path``; a missing file has none.

    Lines paramiko cannot parse (unsupported key types, damaged base64) are skipped, as OpenSSH
    does; such a line can only make a host look unknown, never trusted. Raise ``OSError`` if
    the file exists but cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    lines = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        parsed = _parse_line(raw)
        if parsed is None:
            if raw.strip() and not raw.lstrip().startswith("#"):
                log.debug("%s:%d: skipping a line that is not a usable host key", path, lineno)
            continue
        lines.append(parsed)
    return lines


def _parse_line(raw: str) -> KnownHostsLine | None:
    fields = raw.split()
    if not fields or fields[0].startswith("#"):
        return None
    marker = ""
    if fields[0].startswith("@"):
        marker, fields = fields[0], fields[1:]
    if len(fields) < 3:
        return None
    try:
        key = paramiko.PKey.from_type_string(fields[1], base64.b64decode(fields[2], validate=True))
    except (UnknownKeyType, binascii.Error, paramiko.SSHException, ValueError):
        return None
    return KnownHostsLine(tuple(fields[0].split(",")), key, marker)


def names_host(patterns: Sequence[str], name: str) -> bool:
    """Return whether a known_hosts name list covers ``name`` (as from :func:`known_hosts_name`).

    A matching ``!pattern`` excludes the host even when another pattern matches.
    """
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _pattern_matches(pattern[1:] if negated else pattern, name):
            if negated:
                return False
            matched = True
    return matched


def _pattern_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        return paramiko.HostKeys.hash_host(name, pattern) == pattern
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == name.lower()
    # Only * and ? are special in OpenSSH patterns; brackets of [host]:port are literal.
    regex = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern.lower()
    )
    return re.fullmatch(regex, name.lower()) is not None


class KnownHosts:
    """The keys one known_hosts file lists, read once per connection attempt."""

    def __init__(self, path: Path, lines: Sequence[KnownHostsLine]) -> None:
        self.path = path
        self.lines = list(lines)

    @classmethod
    def load(cls, path: Path) -> KnownHosts:
        """Return the known_hosts file at ``path`` (missing: empty). Raise ``OSError``."""
        return cls(path, read_known_hosts(path))

    def _naming(self, host: str, port: int) -> list[KnownHostsLine]:
        name = known_hosts_name(host, port)
        return [line for line in self.lines if names_host(line.patterns, name)]

    def trusted(self, host: str, port: int) -> list[paramiko.PKey]:
        """Return the keys trusted for ``host``:``port`` (``@revoked`` ones excluded)."""
        lines = self._naming(host, port)
        revoked = [line.key for line in lines if line.marker == "@revoked"]
        return [
            line.key
            for line in lines
            if line.marker == "" and not any(_same(line.key, bad) for bad in revoked)
        ]

    def verify(self, server: str, host: str, port: int, key: paramiko.PKey) -> None:
        """Return if ``key`` is trusted for ``host``:``port``. Raise :class:`HostKeyError`.

        The error says whether the host is unknown (with the fingerprint to check and the
        ``jbremote trust`` hint) or its key CHANGED (expected and received fingerprints).
        """
        name = known_hosts_name(host, port)
        lines = self._naming(host, port)
        got = describe_key(key)
        if any(line.marker == "@revoked" and _same(line.key, key) for line in lines):
            raise HostKeyError(
                server,
                f"the host key of {name} ({got}) is @revoked in {self.path}",
                fingerprint(key),
            )
        known = self.trusted(host, port)
        if any(_same(candidate, key) for candidate in known):
            return
        if not known:
            raise HostKeyError(
                server,
                f"unknown host {name}: {self.path} has no key for it. The server offers {got}. "
                "Compare this fingerprint with the server's own (ssh-keygen -lf "
                f"/etc/ssh/ssh_host_*_key.pub), then run: jbremote trust {server}",
                fingerprint(key),
            )
        expected = ", ".join(describe_key(candidate) for candidate in known)
        raise HostKeyError(
            server,
            f"WARNING: HOST KEY CHANGED for {name}! {self.path} expects {expected} but the "
            f"server sent {got}. Someone may be intercepting the connection, or the server was "
            "reinstalled. Refusing to connect. If the change is legitimate, replace the old "
            f"key: run: jbremote trust {server}",
            fingerprint(key),
        )


def host_key_algorithms(known: Sequence[paramiko.PKey], offered: Sequence[str]) -> list[str]:
    """Return ``offered`` host key algorithms reordered so the known keys' types come first.

    Like OpenSSH, this makes the server present the key we have on file rather than another
    of its keys, which would otherwise look like a changed key.
    """
    first: list[str] = []
    for key in known:
        names = _RSA_ALGORITHMS if key.get_name() == "ssh-rsa" else (key.get_name(),)
        first += [n for n in names if n in offered and n not in first]
    return first + [n for n in offered if n not in first]


def _same(a: paramiko.PKey, b: paramiko.PKey) -> bool:
    return a.asbytes() == b.asbytes()


def fetch_host_key(host: str, port: int = 22, timeout: float = 10.0) -> paramiko.PKey:
    """Connect to ``host``:``port``, return the host key the SSH server presents, disconnect.

    Nothing is verified or written: this is what ``jbremote trust`` shows a person before
    :func:`add_known_host`. Raise :class:`ConnectError` if no SSH handshake completes.
    """
    label = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ConnectError(label, f"cannot connect: {exc.strerror or exc}") from exc
    conn = paramiko.Transport(sock)
    try:
        conn.banner_timeout = conn.handshake_timeout = timeout
        conn.start_client(timeout=timeout)
        return conn.get_remote_server_key()
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise ConnectError(label, f"SSH handshake failed: {exc or type(exc).__name__}") from exc
    finally:
        conn.close()


def add_known_host(
    path: Path, host: str, port: int, key: paramiko.PKey, *, replace: bool = False
) -> bool:
    """Record ``key`` for ``host``:``port`` in ``path``; return ``False`` if already there.

    The line is ``<name> <type> <base64>`` with the name from :func:`known_hosts_name`. With
    ``replace``, every other key line naming exactly this host (plain or hashed) is dropped
    first; otherwise other entries are kept. The file and its directory are created if missing
    and rewritten atomically.
    """
    name = known_hosts_name(host, port)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    kept: list[str] = []
    present = False
    for raw in text.splitlines():
        parsed = _parse_line(raw)
        if parsed is None or parsed.marker or not any(_is_name(p, name) for p in parsed.patterns):
            kept.append(raw)
        elif _same(parsed.key, key):
            present = True
            kept.append(raw)
        elif replace:
            others = [p for p in parsed.patterns if not _is_name(p, name)]
            if others:
                kept.append(" ".join([",".join(others), *raw.split()[1:]]))
        else:
            kept.append(raw)
    if present and (not replace or kept == text.splitlines()):
        return False
    if not present:
        kept.append(f"{name} {key.get_name()} {key.get_base64()}")
    _write_atomically(path, "".join(line + "\n" for line in kept))
    return True


def _is_name(pattern: str, name: str) -> bool:
    # Exactly this host, plain or hashed: replacing must not rewrite a wildcard entry that
    # also covers other hosts.
    if pattern.startswith("|1|"):
        return _pattern_matches(pattern, name)
    return pattern.lower() == name.lower()


def _write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=".known_hosts.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
