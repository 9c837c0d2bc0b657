"""The simulated ``jetbackup5api`` executable.

Usage::

    python -m jbremote.sim.cli --state-dir DIR --server NAME [--] [jetbackup5api] [-F … -D … -O …]

The command comes from ``SSH_ORIGINAL_COMMAND`` when set — so the module can be the forced
command of a real OpenSSH sshd (``command="…"`` in authorized_keys) — and otherwise from the
remaining arguments, so a two-line shell script can stand in for ``jetbackup5api``. When the
remaining arguments start with a flag, the binary name is implied. ``JBSIM_STATE_DIR`` and
``JBSIM_SERVER`` provide defaults for the two options. ``SSH_CONNECTION`` goes to the call log.

Only the standard library and :mod:`jbremote.sim` are imported here: every API call starts a new
process, and the client's polling pays for the start-up time.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence

from jbremote.sim.service import handle_command
from jbremote.sim.store import SimStore

USAGE = "usage: python -m jbremote.sim.cli --state-dir DIR --server NAME [--] [API ARGS…]\n"


def _parse(argv: Sequence[str]) -> tuple[str | None, str | None, list[str]]:
    state_dir = os.environ.get("JBSIM_STATE_DIR")
    server = os.environ.get("JBSIM_SERVER")
    rest = list(argv)
    while rest and rest[0] in ("--state-dir", "--server") and len(rest) >= 2:
        option, value = rest.pop(0), rest.pop(0)
        if option == "--state-dir":
            state_dir = value
        else:
            server = value
    if rest and rest[0] == "--":
        rest.pop(0)
    return state_dir, server, rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run one API call as the executable does; return the exit status."""
    state_dir, server, rest = _parse(sys.argv[1:] if argv is None else argv)
    if not state_dir or not server:
        sys.stderr.write(USAGE)
        return 2
    command = os.environ.get("SSH_ORIGINAL_COMMAND")
    if command is None:
        if rest and rest[0].startswith("-"):
            rest.insert(0, "jetbackup5api")
        command = shlex.join(rest)
    if not command.strip():
        sys.stderr.write("jetbackup5api: interactive sessions are not supported\n")
        return 1
    connection = os.environ.get("SSH_CONNECTION", "")
    out = handle_command(SimStore(state_dir), server, command, connection)
    sys.stdout.buffer.write(out.stdout)
    sys.stdout.buffer.flush()
    sys.stderr.buffer.write(out.stderr)
    sys.stderr.buffer.flush()
    return out.exit_status


if __name__ == "__main__":
    sys.exit(main())
