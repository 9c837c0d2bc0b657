"""Make untrusted text (remote output, error messages) safe to show, log and mail."""

from __future__ import annotations

# Escaped everywhere: C0 controls but tab and newline, DEL, C1 controls (NEL included), the
# bidi marks, embeddings, overrides and isolates, line/paragraph separators, and lone
# surrogates (JSON's "\ud800" decodes to one; writing it as UTF-8 raises).
_ESCAPED = [
    *range(0x00, 0x09),
    *range(0x0B, 0x20),
    *range(0x7F, 0xA0),
    0x061C,
    0x200E,
    0x200F,
    *range(0x2028, 0x202F),
    *range(0x2066, 0x206A),
    *range(0xD800, 0xE000),
]
_MULTI_LINE = {code: chr(code).encode("unicode_escape").decode("ascii") for code in _ESCAPED}
_ONE_LINE = {**_MULTI_LINE, 0x09: "\\t", 0x0A: "\\n"}


def printable(text: str | bytes, limit: int = 200) -> str:
    """Return ``text`` cut to ``limit`` characters with control characters escaped.

    Terminal escape sequences and bidi overrides from a hostile server never reach a
    terminal, log or alert intact. Tabs and newlines are kept (log excerpts); use
    :func:`one_line` for anything shown on one line.

    >>> printable("ok\\x1b[31mred", 40)
    'ok\\\\x1b[31mred'
    """
    return _escape(text, limit, _MULTI_LINE)


def one_line(text: str | bytes, limit: int = 200) -> str:
    """Return :func:`printable` ``text`` with tabs and newlines escaped too.

    For names, messages and errors that go into one log line or table cell, where a newline
    from a server could forge a line of its own.

    >>> one_line("job1\\nCRITICAL forged")
    'job1\\\\nCRITICAL forged'
    """
    return _escape(text, limit, _ONE_LINE)


def _escape(text: str | bytes, limit: int, table: dict[int, str]) -> str:
    # Cut first: a 16 MiB answer is not decoded and escaped whole to show 200 characters.
    cut = False
    if isinstance(text, bytes):
        cut = len(text) > limit * 4  # no UTF-8 character is longer than 4 bytes
        text = text[: limit * 4].decode("utf-8", errors="replace")
    cut = cut or len(text) > limit
    return text[:limit].translate(table) + ("…" if cut else "")
