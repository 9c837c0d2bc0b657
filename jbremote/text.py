"""Make untrusted text (remote output, error messages) safe to show, log and mail."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str | bytes, limit: int = 200) -> str:
    """Return ``text`` cut to ``limit`` characters with control characters escaped.

    Terminal escape sequences and bidi overrides from a hostile server never reach a
    terminal, log or alert intact.

    >>> printable("ok\\x1b[31mred", 40)
    'ok\\\\x1b[31mred'
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    cut = text[:limit]
    escaped = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), cut)
    return escaped + ("…" if len(text) > limit else "")
