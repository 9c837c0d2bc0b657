"""Where command output goes: results on stdout, progress and errors on stderr.

``--json`` output is one JSON document on stdout and nothing else, so ``jq`` always works;
everything meant for a person who watches (progress, hints, errors) goes to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Consoles resolve sys.stdout/sys.stderr at write time, so test runners that swap them work.
# Lines are never wrapped (soft_wrap): a line of output stays one line for grep and logs.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

OK_MARK = "✓"
FAIL_MARK = "✗"
SKIP_MARK = "–"


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def mark(ok: bool | None) -> str:
    """Return a green ✓, a red ✗ or a dim – (skipped) as rich markup."""
    if ok is None:
        return f"[dim]{SKIP_MARK}[/]"
    return f"[green]{OK_MARK}[/]" if ok else f"[red]{FAIL_MARK}[/]"
