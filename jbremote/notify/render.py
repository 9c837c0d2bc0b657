"""Turn an alert's content into a plain-text body (mail) and a Markdown body (chat).

Builders in :mod:`jbremote.notify.alert` describe *what* an alert says as a
:class:`Message`; this module decides how it looks. All text from the remote side is
untrusted: callers pass it through :func:`jbremote.text.printable` first, and here it is
escaped once more for Markdown (or put in a code block) so a hostile job label or log line
cannot turn into a link, a heading or HTML in the receiver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>|~#])")
_FIELD_WIDTH = 18


@dataclass
class Message:
    """The parts of an alert, in the order they are shown."""

    title: str
    lead: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    lists: list[tuple[str, list[str]]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    code_title: str = ""
    code: str = ""
    link: str = ""
    link_text: str = "Open the flow run in Prefect"


def one_line(text: str) -> str:
    """Return ``text`` on one line (titles, table cells)."""
    return re.sub(r"\s*[\r\n\t]+\s*", " ", text).strip()


def md_escape(text: str) -> str:
    r"""Escape Markdown syntax so ``text`` shows as written.

    >>> md_escape("a_b [x](y)")
    'a\\_b \\[x\\]\\(y\\)'
    """
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_text(message: Message) -> str:
    """Return the plain-text body: short labelled lines, lists, the log tail indented."""
    parts = [message.lead]
    if message.fields:
        width = min(max(len(name) for name, _ in message.fields) + 1, _FIELD_WIDTH)
        parts.append("\n".join(f"{name + ':':<{width}} {value}" for name, value in message.fields))
    for heading, items in message.lists:
        if items:
            parts.append(f"{heading}:\n" + "\n".join(f"  - {item}" for item in items))
    if message.rows:
        parts.append("\n".join(_text_row(message.columns, row) for row in message.rows))
    if message.link:
        parts.append(f"{message.link_text}: {message.link}")
    if message.code:
        body = "\n".join(f"    {line}" for line in message.code.rstrip("\n").splitlines())
        parts.append(f"{message.code_title}:\n{body}")
    return "\n\n".join(parts) + "\n"


def _text_row(columns: list[str], row: list[str]) -> str:
    # One line per job, empty cells dropped: reads well in mail clients that do not keep
    # spaces aligned (text sent to an HTML service is converted by Apprise).
    head, *rest = row
    cells = [f"{name}: {value}" for name, value in zip(columns[1:], rest, strict=True) if value]
    return f"- {head} — " + "; ".join(cells) if cells else f"- {head}"


def render_markdown(message: Message) -> str:
    """Return the Markdown body: bold labels, a table for the jobs, the log tail fenced."""
    parts = [f"**{md_escape(message.lead)}**"]
    if message.fields:
        parts.append(
            "\n".join(f"- **{name}:** {md_escape(value)}" for name, value in message.fields)
        )
    for heading, items in message.lists:
        if items:
            parts.append(f"**{heading}**\n" + "\n".join(f"- {md_escape(i)}" for i in items))
    if message.rows:
        lines = [
            "| " + " | ".join(message.columns) + " |",
            "|" + "---|" * len(message.columns),
        ]
        lines += [
            "| " + " | ".join(md_escape(one_line(c)) for c in row) + " |" for row in message.rows
        ]
        parts.append("\n".join(lines))
    if message.link:
        parts.append(f"[{message.link_text}]({message.link})")
    if message.code:
        fence = "`" * max(3, _longest_backtick_run(message.code) + 1)
        parts.append(f"**{message.code_title}**\n{fence}text\n{message.code.rstrip()}\n{fence}")
    return "\n\n".join(parts) + "\n"


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
