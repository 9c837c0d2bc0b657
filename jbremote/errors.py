"""The one error domain code raises when a command cannot do what was asked.

Domain modules (``jbremote/status.py``, ``jbremote/stop.py``, …) raise :class:`CannotRun` for
anything the operator must fix or decide — an unknown server, a malformed id, a refused
confirmation, a fingerprint that does not match. The CLI turns it into one red line and exit
status 2 (see docs/cli.md).
"""

from __future__ import annotations


class CannotRun(Exception):
    """The command was not carried out; ``str(exc)`` says why in one line."""
