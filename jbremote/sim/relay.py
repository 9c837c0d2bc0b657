"""The simulated fleet as one resident process, reached through a small relay client.

Real JetBackup works this way: ``jetbackup5api`` is a thin client of the resident
``jetbackup5d``. With the plain simulator (``python -m jbremote.sim.cli`` as the forced
command) every API call starts a Python interpreter and imports the simulator, ~0.1 CPU
seconds. On a real fleet that cost is paid by each server's own CPU; in a benchmark where
every simulated server shares the jbremote box's cores it would be charged to jbremote.
With the relay a call costs an sshd session plus a stdlib-only client (``python -I -S``)
that hands the command to :class:`SimRelay` over a Unix socket; the answer, the call log and
the state are exactly those of :func:`jbremote.sim.service.handle_command`.

>>> with SimRelay(state_dir, tmp_path / "sim.sock") as relay:  # doctest: +SKIP
...     command = relay.forced_command("srv01")   # for authorized_keys / ForceCommand
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import socketserver
import sys
import threading
from pathlib import Path

from jbremote.sim import relay_client
from jbremote.sim.service import handle_command
from jbremote.sim.store import SimStore


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        request = json.loads(self.rfile.readline())
        out = handle_command(
            self.server.store, request["server"], request["command"], request["connection"]
        )
        answer = {
            "stdout": base64.b64encode(out.stdout).decode(),
            "stderr": base64.b64encode(out.stderr).decode(),
            "exit": out.exit_status,
        }
        self.wfile.write(json.dumps(answer).encode() + b"\n")


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, store: SimStore) -> None:
        self.store = store
        super().__init__(path, _Handler)


class SimRelay:
    """Serve ``state_dir``'s simulated servers on the Unix socket ``socket_path``."""

    def __init__(self, state_dir: Path, socket_path: Path) -> None:
        self.store = SimStore(state_dir)
        self.socket_path = Path(socket_path)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SimRelay:
        self.socket_path.unlink(missing_ok=True)
        self._server = _Server(str(self.socket_path), self.store)
        os.chmod(self.socket_path, 0o666)  # the sshd session may run as another user
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sim-relay", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.socket_path.unlink(missing_ok=True)

    def forced_command(self, server: str, python: str = sys.executable) -> str:
        """Return the forced command that relays one simulated server's API calls here."""
        client = Path(relay_client.__file__).resolve()
        return shlex.join([python, "-I", "-S", str(client), str(self.socket_path), server])

    def __enter__(self) -> SimRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
