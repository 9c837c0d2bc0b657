"""Relay client: the forced command that hands one API call to :class:`~jbremote.sim.relay.SimRelay`.

Run as ``python -I -S relay_client.py SOCKET SERVER``: standard library only, nothing from
site-packages, so it starts in a few milliseconds. The command comes from
``SSH_ORIGINAL_COMMAND`` (as sshd sets it for a forced command); ``SSH_CONNECTION`` goes to
the call log. stdout, stderr and the exit status are the simulator's.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sys


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: relay_client.py SOCKET SERVER\n")
        return 2
    path, server = argv
    command = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    if not command.strip():
        sys.stderr.write("jetbackup5api: interactive sessions are not supported\n")
        return 1
    request = {
        "server": server,
        "command": command,
        "connection": os.environ.get("SSH_CONNECTION", ""),
    }
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(json.dumps(request).encode() + b"\n")
        answer = json.loads(sock.makefile("rb").readline())
    sys.stdout.buffer.write(base64.b64decode(answer["stdout"]))
    sys.stdout.buffer.flush()
    sys.stderr.buffer.write(base64.b64decode(answer["stderr"]))
    sys.stderr.buffer.flush()
    return int(answer["exit"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
