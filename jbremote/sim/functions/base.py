"""What every API handler shares: the call context, the reply, errors and parameter helpers.

Parameters arrive decoded but flat: ``{"sort[created]": "-1", "destination[0]": "…"}``. The
helpers here read them the way JetBackup documents them (docs §3): ``limit``/``skip``, ``sort[f]``
with ``1``/``-1``, ``find[dotted.path]`` equality filters, booleans as ``1``/``0``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jbremote.sim.state import ServerState

JsonDict = dict[str, Any]
DEFAULT_LIMIT = 100  # "list calls return at most 100 items unless limit is given" (docs §3)
_BRACKET = re.compile(r"^([^\[\]]+)\[([^\[\]]*)\]$")


class ApiError(Exception):
    """The call is answered with ``success: 0`` and this message."""


@dataclass
class Call:
    """One API call: the server (mutable), its decoded parameters and the current time."""

    server: ServerState
    params: dict[str, str]
    now: float


@dataclass
class Reply:
    """The function-specific part of the envelope. Action calls answer ``data: []``."""

    data: Any = field(default_factory=list)
    message: str = ""
    success: bool = True


Handler = Callable[[Call], Reply]


def required(call: Call, name: str) -> str:
    """Return parameter ``name``. Raise ApiError if it is missing or empty."""
    value = call.params.get(name, "")
    if value == "":
        raise ApiError(f"No {name} provided")
    return value


def boolean(call: Call, name: str) -> bool | None:
    """Return a ``1``/``0`` parameter as bool, None when absent. Raise ApiError otherwise."""
    value = call.params.get(name)
    if value is None:
        return None
    if value not in ("0", "1"):
        raise ApiError(f"Invalid value for {name}: expected 1 or 0")
    return value == "1"


def integer(call: Call, name: str, default: int) -> int:
    """Return an integer parameter, ``default`` when absent. Raise ApiError if not an integer."""
    value = call.params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(f"Invalid value for {name}: expected an integer") from None


def bracketed(call: Call, base: str) -> dict[str, str]:
    """Return the ``base[key]=value`` parameters as ``{key: value}`` in the order given."""
    result = {}
    for key, value in call.params.items():
        match = _BRACKET.match(key)
        if match and match.group(1) == base:
            result[match.group(2)] = value
    return result


def _lookup(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def _sort_key(value: Any) -> tuple[int, float, str]:
    # MongoDB order: null first, then numbers, then strings.
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, (int, float)):
        return (1, float(value), "")
    return (2, 0.0, str(value))


def _sort_key_of(path: str) -> Callable[[JsonDict], tuple[int, float, str]]:
    return lambda obj: _sort_key(_lookup(obj, path))


def page(call: Call, objects: list[JsonDict]) -> tuple[list[JsonDict], int]:
    """Apply ``find[…]``, ``sort[…]``, ``skip`` and ``limit`` to ``objects``.

    Return the page and the total number of matches before paging. ``limit=0`` means no limit
    (MongoDB's meaning; ASSUMPTION). Raise ApiError on a bad sort direction or negative paging.
    """
    for path, wanted in bracketed(call, "find").items():
        objects = [o for o in objects if _as_text(_lookup(o, path)) == wanted]
    # Later keys are less significant: stable sorts applied from the last key to the first.
    for path, direction in reversed(list(bracketed(call, "sort").items())):
        if direction not in ("1", "-1"):
            raise ApiError(f"Invalid sort direction for {path}: expected 1 or -1")
        objects = sorted(objects, key=_sort_key_of(path), reverse=direction == "-1")
    skip, limit = integer(call, "skip", 0), integer(call, "limit", DEFAULT_LIMIT)
    if skip < 0 or limit < 0:
        raise ApiError("skip and limit must not be negative")
    total = len(objects)
    objects = objects[skip:]
    return (objects[:limit] if limit else objects), total
