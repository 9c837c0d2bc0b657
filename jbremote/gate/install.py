"""What a human does to put the gate in front of jbremote's key on one server.

:func:`install_instructions` returns the gate's source, the ``authorized_keys`` line that forces
it (``restrict`` + ``command=`` + optional ``from=``) and three steps to follow. Everything that
ends up inside the line is validated here: a path or address that could break out of the quoted
option, or a key line that already carries options, is refused rather than escaped.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import shlex
import struct
from dataclasses import dataclass
from importlib import resources

PYTHON = "/usr/bin/python3"
KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
_PATH = re.compile(r"^(/[A-Za-z0-9_.-]+)+$")
# from= takes OpenSSH patterns: addresses, CIDR blocks, host names, with * ? wildcards, ! negation.
_FROM_PATTERN = re.compile(r"^!?[A-Za-z0-9.:*?/_-]{1,253}$")
_COMMENT = re.compile(r"^[\x20-\x7e]{0,200}$")


@dataclass(frozen=True)
class GateInstall:
    gate_source: str
    authorized_keys_line: str
    steps: list[str]


def gate_source() -> str:
    """Return the text of the gate program (``jbremote/gate/jbremote_gate.py``)."""
    return resources.files("jbremote.gate").joinpath("jbremote_gate.py").read_text("utf-8")


def install_instructions(
    public_key_line: str,
    *,
    gate_path: str = "/usr/local/sbin/jbremote-gate",
    api_path: str = "/usr/bin/jetbackup5api",
    read_only: bool = False,
    from_addresses: list[str] | None = None,
) -> GateInstall:
    """Given jbremote's public key line (``ssh-ed25519 AAAA… comment``), return the gate
    install for one server. ``from_addresses`` (``None`` or empty: any source) restricts where
    the key may log in from.

    Raise ValueError if the key line is not a single plain public key, a path is not a plain
    absolute path, or an address is not an OpenSSH ``from=`` pattern.

    >>> install_instructions("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8kPZ1uyiP8aMbtTqNgXAeVtqOi/mX2sbhGqnT5C2Ro x",
    ...     from_addresses=["192.0.2.7"]).authorized_keys_line  # doctest: +NORMALIZE_WHITESPACE
    'restrict,command="/usr/bin/python3 -IS /usr/local/sbin/jbremote-gate --api /usr/bin/jetbackup5api",from="192.0.2.7" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8kPZ1uyiP8aMbtTqNgXAeVtqOi/mX2sbhGqnT5C2Ro x'
    """
    key = _public_key(public_key_line)
    for what, path in (("gate_path", gate_path), ("api_path", api_path)):
        if not _PATH.match(path) or "/../" in f"{path}/" or "/./" in f"{path}/":
            raise ValueError(f"{what} must be a plain absolute path, got {path!r:.80}")
    if not api_path.endswith("/jetbackup5api"):
        raise ValueError(f"api_path must point at jetbackup5api, got {api_path!r:.80}")
    command = [PYTHON, "-IS", gate_path, "--api", api_path, *(["--read-only"] if read_only else [])]
    options = f'restrict,command="{shlex.join(command)}"'
    sources = [_from_pattern(a) for a in from_addresses or []]
    if sources:
        options += f',from="{",".join(sources)}"'
    line = f"{options} {key}"
    mode = "read-only (list and inspect only)" if read_only else "run, enable/disable and stop"
    steps = [
        f"Copy the gate to the server as root and check it runs: save gate_source as {gate_path}, "
        f"then `chown root:root {gate_path} && chmod 0755 {gate_path}` and "
        f"`{PYTHON} -IS {gate_path} --version` (a cPanel box needs python3: `dnf install python3` "
        f"if that fails). Check that {api_path} is JetBackup's tool: "
        f'`readlink -f "$(command -v jetbackup5api)"`; if it lives elsewhere, regenerate these '
        "instructions with that path.",
        "Replace the key's line in the login user's authorized_keys (root: "
        "/root/.ssh/authorized_keys) with authorized_keys_line, removing any other line that holds "
        "the same key: an unrestricted copy of the key would bypass the gate.",
        f"Verify: on the server, `{PYTHON} -IS {gate_path} --api {api_path} --check "
        "'jetbackup5api -F listDestinations -D limit=1000 -O json'` says allowed and "
        "`... --check 'echo x; id'` says denied; from jbremote, `jbremote test SERVER` reports "
        f"the gate (mode: {mode}) and a listing works.",
    ]
    return GateInstall(gate_source(), line, steps)


def _public_key(line: str) -> str:
    """Return ``line`` as ``type base64 [comment]`` after checking it is one plain public key."""
    fields = line.strip().split(None, 2)
    if "\n" in line.strip() or "\r" in line or len(fields) < 2:
        raise ValueError("expected one public key line: 'ssh-ed25519 AAAA… comment'")
    key_type, blob, comment = fields[0], fields[1], fields[2] if len(fields) == 3 else ""
    if key_type not in KEY_TYPES:
        raise ValueError(
            f"{key_type!r:.60} is not a public key type; give the .pub line without options"
        )
    try:
        raw = base64.b64decode(blob, validate=True)
        (length,) = struct.unpack(">I", raw[:4])
        inner = raw[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise ValueError("the key's base64 part is damaged") from None
    if inner != key_type:
        raise ValueError(f"the key says it is {inner!r:.60}, the line says {key_type!r}")
    if not _COMMENT.match(comment):
        comment = "jbremote"  # cosmetic only, but it is shown to whoever reads the file
    return f"{key_type} {blob} {comment}".rstrip()


def _from_pattern(address: str) -> str:
    pattern = address.strip()
    if not _FROM_PATTERN.match(pattern):
        raise ValueError(f"{address!r:.80} is not an address, network or host pattern")
    if "/" in pattern:
        try:
            ipaddress.ip_network(pattern.lstrip("!"), strict=True)
        except ValueError as exc:
            raise ValueError(f"{address!r:.80} is not a network: {exc}") from None
    return pattern
