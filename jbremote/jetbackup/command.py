"""Build `jetbackup5api` argument lists.

Every remote call is an argument list ``[binary, "-F", function, "-D", params, "-O", "json"]``.
Values are validated before they leave (ids are 24 lowercase hex) and URL-encoded as the API
requires: any character other than ASCII letters, digits and ``_`` becomes ``%XX``
(docs.jetbackup.com v5.2 API introduction; see docs/jetbackup-quirks.md). Booleans are ``1``/``0``.
One ``-D`` carries all parameters joined with ``&``: several ``-D`` flags are silently ignored by
some functions (jetbackup-remote's finding, docs/jetbackup-quirks.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

API_BINARY = "jetbackup5api"
ID_PATTERN = re.compile(r"^[0-9a-f]{24}$")
# Parameter names: a word, optionally followed by bracketed keys (``sort[created]``,
# ``find[info.ID]``, ``destination[0]``).
KEY_PATTERN = re.compile(r"^[A-Za-z_]+(\[[A-Za-z0-9_.]+\])*$")
FUNCTION_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
_SAFE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

ParamValue = str | int | bool
Params = Sequence[tuple[str, ParamValue]]


class InvalidParameterError(ValueError):
    """A value that must not be sent to a server (malformed id, bad parameter name)."""


def validate_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a JetBackup object id (24 lowercase hex). Raise otherwise.

    >>> validate_id("6504c79fd4b57d536c05bbe2")
    '6504c79fd4b57d536c05bbe2'
    """
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidParameterError(
            f"{what} must be 24 lowercase hex characters, got {value!r:.60}"
        )
    return value


def encode_value(value: ParamValue) -> str:
    """Given a parameter value, return it as the API expects it on the wire.

    Booleans become ``1``/``0`` (the API rejects ``true``/``false``); integers are printed in
    decimal; strings are percent-encoded byte by byte (UTF-8) except ASCII letters, digits, ``_``.
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return "".join(
        ch if ch in _SAFE_CHARS else "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
        for ch in value
    )


def encode_params(params: Params) -> str:
    """Return ``params`` as the single ``-D`` string ``k=v&k=v``. Raise on a bad name."""
    parts = []
    for key, value in params:
        if not KEY_PATTERN.match(key):
            raise InvalidParameterError(f"invalid parameter name {key!r:.60}")
        parts.append(f"{key}={encode_value(value)}")
    return "&".join(parts)


def api_argv(function: str, params: Params = (), binary: str = API_BINARY) -> list[str]:
    """Return the argument list that calls ``function`` with ``params`` and JSON output.

    >>> api_argv("getBackupJob", [("_id", "6504c79fd4b57d536c05bbe2")])
    ['jetbackup5api', '-F', 'getBackupJob', '-D', '_id=6504c79fd4b57d536c05bbe2', '-O', 'json']
    """
    if not FUNCTION_PATTERN.match(function):
        raise InvalidParameterError(f"invalid API function name {function!r:.60}")
    argv = [binary, "-F", function]
    if params:
        argv += ["-D", encode_params(params)]
    return [*argv, "-O", "json"]
