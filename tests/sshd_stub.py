"""Forced command for the transport tests: does what SSH_ORIGINAL_COMMAND asks.

sshd runs ``python sshd_stub.py --calls FILE`` for every session. The stub first appends one
JSON line (argv, SSH_CONNECTION, pid) to FILE so tests can count executions and TCP
connections at the server side, then acts on the client's command, parsed like a POSIX shell
would (but never run by one):

* ``echo ARG...``              print ``{"argv", "original", "connection"}`` as JSON
* ``sleep SECONDS``            sleep, then print ``slept``
* ``exit CODE [TEXT...]``      write TEXT to stderr, exit with CODE
* ``flood OUT_BYTES ERR_BYTES`` write that many bytes to stdout and stderr, interleaved
* ``kill``                     die by SIGKILL (no exit status)
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import time


def main() -> int:
    calls = sys.argv[sys.argv.index("--calls") + 1]
    original = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    connection = os.environ.get("SSH_CONNECTION", "")
    argv = shlex.split(original)
    record = {"argv": argv, "connection": connection, "pid": os.getpid(), "time": time.time()}
    with open(calls, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    verb, args = (argv[0], argv[1:]) if argv else ("", [])
    if verb == "echo":
        reply = {"argv": args, "original": original, "connection": connection}
        sys.stdout.write(json.dumps(reply))
        return 0
    if verb == "sleep":
        time.sleep(float(args[0]))
        print("slept")
        return 0
    if verb == "exit":
        sys.stderr.write(" ".join(args[1:]))
        return int(args[0])
    if verb == "flood":
        flood(int(args[0]), int(args[1]))
        return 0
    if verb == "kill":
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stderr.write(f"sshd_stub: unknown command {original!r}\n")
    return 127


def flood(out_bytes: int, err_bytes: int) -> None:
    chunk = 64 * 1024
    while out_bytes > 0 or err_bytes > 0:
        if out_bytes > 0:
            n = min(chunk, out_bytes)
            sys.stdout.buffer.write(b"o" * n)
            sys.stdout.buffer.flush()
            out_bytes -= n
        if err_bytes > 0:
            n = min(chunk, err_bytes)
            sys.stderr.buffer.write(b"e" * n)
            sys.stderr.buffer.flush()
            err_bytes -= n


if __name__ == "__main__":
    sys.exit(main())
