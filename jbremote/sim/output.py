"""Rendering of the envelope: flag styles, ``-O json``, ``-O plain`` and garbage output.

* JSON is printed the way PHP's ``json_encode`` does by default: compact, ``/`` escaped as
  ``\\/`` and non-ASCII as ``\\uXXXX`` (ASSUMPTION: JetBackup is PHP; any JSON parser reads it).
* ``plain`` imitates the text in the docs' examples: indented ``key: value`` lines, lists as maps
  with numeric keys, false/empty values printed as nothing after the colon.
* Flags (``running``, ``disabled``, …) are canonical ``bool`` until :func:`style_flags` renders
  them as ``1``/``0`` ("int"), ``true``/``false`` ("bool") or ``1``/``""`` ("empty"); the docs
  only show the text rendering, so a client must accept all three. In the "empty" style absent
  timestamps are ``""`` too, instead of ``null``.
"""

from __future__ import annotations

import json
from typing import Any

GARBAGE_TEXT = (
    "PHP Fatal error:  Uncaught Exception: Unable to connect to the JetBackup daemon socket in "
    "/usr/local/jetapps/usr/share/jetbackup5/api.php:42\n"
)
GARBAGE_HTML = (
    "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>Service Unavailable</h1><p>JetBackup is restarting.</p></body></html>\n"
)


def style_flags(value: Any, style: str) -> Any:
    """Return ``value`` (a JSON tree) with every bool rendered in ``style``."""
    if isinstance(value, bool):
        if style == "bool":
            return value
        if style == "empty":
            return 1 if value else ""
        return 1 if value else 0
    if value is None and style == "empty":
        return ""
    if isinstance(value, dict):
        return {k: style_flags(v, style) for k, v in value.items()}
    if isinstance(value, list):
        return [style_flags(v, style) for v in value]
    return value


def render_json(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":")).replace("/", "\\/")
    return text.encode("ascii") + b"\n"


def _plain_scalar(value: Any) -> str:
    if value is None or value is False or value == "":
        return ""
    if value is True:
        return "1"
    return str(value)


def _plain_lines(value: Any, indent: int, out: list[str]) -> None:
    items = enumerate(value) if isinstance(value, list) else value.items()
    for key, child in items:
        prefix = "  " * indent + f"{key}:"
        if isinstance(child, (dict, list)):
            out.append(prefix)
            _plain_lines(child, indent + 1, out)
        else:
            text = _plain_scalar(child)
            out.append(f"{prefix} {text}" if text else prefix)


def render_plain(envelope: dict[str, Any]) -> bytes:
    lines: list[str] = []
    _plain_lines(envelope, 0, lines)
    return ("\n".join(lines) + "\n").encode("utf-8")


def garbage(kind: str, good: bytes, envelope: dict[str, Any], cut: float) -> bytes:
    """Return broken output of ``kind`` in place of ``good``.

    ``truncated_json`` cuts ``good`` at fraction ``cut`` (0..1) of its length, always losing at
    least the last byte of JSON; ``wrong_shape`` is valid JSON without the envelope (the bare
    ``data``, as some third-party fixtures assume the API answers).
    """
    if kind == "truncated_json":
        body = good.rstrip(b"\n")
        return body[: min(int(len(body) * cut), len(body) - 1)]
    if kind == "html":
        return GARBAGE_HTML.encode()
    if kind == "empty":
        return b""
    if kind == "wrong_shape":
        data = envelope.get("data")
        return render_json(data if data else {"status": "ok"})
    return GARBAGE_TEXT.encode()
