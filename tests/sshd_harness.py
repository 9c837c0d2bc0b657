"""Real OpenSSH sshd instances on 127.0.0.1 for tests.

Each :class:`SshdServer` lives in its own directory with its own host key(s), client key,
authorized_keys, sshd_config and log, listens on a free port of 127.0.0.1 and runs one fixed
``ForceCommand`` for every connection; the command the client asked for arrives in
``SSH_ORIGINAL_COMMAND``. Typical use (see ``tests/integration/conftest.py`` for fixtures)::

    server = SshdServer(tmp_path, python_command("-m", "jbremote.sim.cli", "--state-dir", d))
    server.start()
    transport = SshTransport(server.make_settings())
    ...
    server.stop()

As root the login user is ``root`` (sshd needs its privilege separation directory, created
here); as any other user sshd runs unprivileged and only that user can log in.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import getpass
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from jbremote.transport.settings import SshSettings

SSHD = Path(os.environ.get("JBREMOTE_TEST_SSHD", "/usr/sbin/sshd"))
PRIVSEP_DIR = Path("/run/sshd")
_STARTUP_SECONDS = 10.0
_running: set[SshdServer] = set()


def sshd_missing_reason() -> str | None:
    """Return why real-sshd tests cannot run here, or ``None`` if they can."""
    if not SSHD.is_file() or not os.access(SSHD, os.X_OK):
        return f"OpenSSH server not installed ({SSHD} missing; apt-get install openssh-server)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen not found (apt-get install openssh-client)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("sshd")
        except KeyError:
            return "sshd's privilege separation user 'sshd' does not exist"
    return None


def require_sshd() -> None:
    """``pytest.skip`` the calling test, with the reason, when sshd cannot run here."""
    reason = sshd_missing_reason()
    if reason is not None:
        import pytest

        pytest.skip(reason)


def python_command(*args: str) -> str:
    """Return a forced command that runs this interpreter with ``args``, shell-quoted."""
    return shlex.join([sys.executable, *args])


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path, key_type: str = "ed25519", passphrase: str = "", comment: str = "") -> Path:
    """Create a key pair at ``path`` / ``path.pub`` with ssh-keygen; return ``path``."""
    path.unlink(missing_ok=True)
    Path(f"{path}.pub").unlink(missing_ok=True)
    bits = ["-b", "2048"] if key_type == "rsa" else []
    subprocess.run(
        ["ssh-keygen", "-q", "-t", key_type, *bits, "-N", passphrase, "-C", comment, "-f", path],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path


def ssh_fingerprint(public_key: Path) -> str:
    """Return OpenSSH's own SHA256 fingerprint of a ``.pub`` file (``ssh-keygen -lf``)."""
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", public_key],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()[1]


def _openssh_version() -> tuple[int, int]:
    # `sshd -V` exists only since 9.0-ish; older ones print the version in their usage text.
    proc = subprocess.run([SSHD, "-V"], capture_output=True, text=True, check=False)
    match = re.search(r"OpenSSH_(\d+)\.(\d+)", proc.stdout + proc.stderr)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def _process_table() -> dict[int, tuple[int, str]]:
    """Return ``{pid: (ppid, comm)}`` for every process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # comm is in parentheses and may itself contain spaces or parentheses.
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        table[int(entry.name)] = (ppid, comm)
    return table


def descendants(pid: int) -> list[tuple[int, str]]:
    """Return ``(pid, comm)`` of every process below ``pid``, parents before children."""
    table = _process_table()
    found: list[tuple[int, str]] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop(0)
        for child, (ppid, comm) in table.items():
            if ppid == parent:
                found.append((child, comm))
                frontier.append(child)
    return found


def _kill(pids: Iterable[int], sig: signal.Signals = signal.SIGKILL) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


class SshdServer:
    """One sshd listening on 127.0.0.1, configured entirely inside ``directory``.

    ``forced_command`` is the ``ForceCommand`` run (through the login user's shell) for every
    session. ``host_key_types`` are generated with ssh-keygen; ``known_hosts`` lists all of
    them as ``[127.0.0.1]:port``. ``max_sessions`` is sshd's per-connection channel limit.
    """

    def __init__(
        self,
        directory: Path,
        forced_command: str,
        *,
        name: str = "test-server",
        host_key_types: Sequence[str] = ("ed25519",),
        max_sessions: int = 64,
        extra_config: Sequence[str] = (),
    ) -> None:
        if "\n" in forced_command:
            raise ValueError("the forced command must be one line")
        self.directory = directory
        self.forced_command = forced_command
        self.name = name
        self.host_key_types = tuple(host_key_types)
        self.max_sessions = max_sessions
        self.extra_config = tuple(extra_config)
        self.user = "root" if os.geteuid() == 0 else getpass.getuser()
        self.port = 0
        self.config = directory / "sshd_config"
        self.log_path = directory / "sshd.log"
        self.known_hosts = directory / "known_hosts"
        self.authorized_keys = directory / "authorized_keys"
        self.client_key = directory / "client_key"
        self.host_keys = {t: directory / f"ssh_host_{t}_key" for t in self.host_key_types}
        self._process: subprocess.Popen[bytes] | None = None
        self._prepared = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SshdServer:
        """Start sshd (keys and files are created on the first start); return ``self``.

        A port taken between choosing and binding it is retried with another port, except
        on a restart, which must keep its port.
        """
        require_sshd()
        if not self._prepared:
            self._prepare()
        attempts = 1 if self.port else 5
        for attempt in range(attempts):
            if not self.port or attempt:
                self.port = free_port()
                self._write_known_hosts()
            self._write_config()
            if self._launch():
                _running.add(self)
                return self
        raise RuntimeError(f"sshd could not listen on 127.0.0.1:{self.port}:\n{self.log}")

    def stop(self) -> None:
        """Stop the listener and every connection it serves; wait until they are gone."""
        process, self._process = self._process, None
        _running.discard(self)
        if process is None:
            return
        children = [pid for pid, _ in descendants(process.pid)]
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _kill(children)

    def restart(self) -> None:
        """Stop everything (open connections included) and start again: same port, same keys."""
        self.stop()
        self.start()

    def drop_connections(self) -> int:
        """Kill the per-connection sshd processes but keep the listener; return how many.

        The clients' TCP connections close as if the network or the server dropped them; the
        commands those sessions ran are not killed directly (like a real drop).
        """
        if self._process is None:
            return 0
        # OpenSSH >= 9.8 names them sshd-session (and sshd-auth); older ones sshd.
        victims = [pid for pid, comm in descendants(self._process.pid) if comm.startswith("sshd")]
        _kill(victims)
        return len(victims)

    def rotate_host_keys(self) -> None:
        """Give the server new host keys and restart it; ``known_hosts`` keeps the old ones."""
        for key_type, path in self.host_keys.items():
            keygen(path, key_type, comment="rotated-host-key")
        if self._process is not None:
            self.restart()

    def __enter__(self) -> SshdServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests look at -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log(self) -> str:
        """Everything sshd logged so far (LogLevel VERBOSE)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def accepted_logins(self) -> int:
        """Return how many connections authenticated so far (one per SSH connection)."""
        return self.log.count("Accepted publickey for ")

    def host_fingerprint(self, key_type: str | None = None) -> str:
        """Return OpenSSH's fingerprint of the (first) host key."""
        path = self.host_keys[key_type or self.host_key_types[0]]
        return ssh_fingerprint(Path(f"{path}.pub"))

    def add_client_key(
        self,
        name: str,
        *,
        key_type: str = "ed25519",
        passphrase: str = "",
        authorize: bool = True,
    ) -> Path:
        """Create another client key (optionally encrypted); authorize it unless told not to."""
        path = keygen(self.directory / name, key_type, passphrase, comment=name)
        if authorize:
            with self.authorized_keys.open("a") as handle:
                handle.write(Path(f"{path}.pub").read_text())
        return path

    def make_settings(self, **overrides: Any) -> SshSettings:
        """Return settings that reach this server with the harness's client key and known_hosts.

        Short timeouts and one connect retry keep failing tests quick; ``overrides`` replace
        any field (``key=``, ``known_hosts=``, ``connect_retries=``, ...).
        """
        settings = SshSettings(
            name=self.name,
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            key=self.client_key,
            known_hosts=self.known_hosts,
            connect_timeout=5.0,
            command_timeout=20.0,
            keepalive=15.0,
            connect_retries=1,
        )
        return dataclasses.replace(settings, **overrides)

    # -- internals --------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for key_type, path in self.host_keys.items():
            keygen(path, key_type, comment="test-host-key")
        keygen(self.client_key, comment="jbremote-test-client")
        self.authorized_keys.write_text(Path(f"{self.client_key}.pub").read_text())
        if os.geteuid() == 0:
            # sshd running as root chroots its pre-auth child into this directory.
            PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        self._prepared = True

    def _write_known_hosts(self) -> None:
        lines = []
        for path in self.host_keys.values():
            key_type, blob = Path(f"{path}.pub").read_text().split()[:2]
            lines.append(f"[127.0.0.1]:{self.port} {key_type} {blob}\n")
        self.known_hosts.write_text("".join(lines))

    def _write_config(self) -> None:
        version = _openssh_version()
        lines = [
            "ListenAddress 127.0.0.1",
            f"Port {self.port}",
            *(f"HostKey {path}" for path in self.host_keys.values()),
            f"PidFile {self.directory / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no"
            if version >= (8, 7)
            else "ChallengeResponseAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "UseDNS no",
            "PermitTTY no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "PrintMotd no",
            "LogLevel VERBOSE",
            f"MaxSessions {self.max_sessions}",
            "MaxStartups 100",
            # sshd runs the forced command through the user's shell; bash sources ~/.bashrc
            # when it thinks sshd started it at shell level 1. A developer's heavy .bashrc
            # (pyenv init: ~100 ms here) would then be paid by every API call. SHLVL=1 in the
            # session makes bash's own level 2, so it skips the rc file, as on a lean server.
            *(["SetEnv SHLVL=1"] if version >= (7, 8) else []),
            # Since 9.8 sshd penalises sources that fail to log in (our wrong-key tests).
            *(["PerSourcePenalties no"] if version >= (9, 8) else []),
            *self.extra_config,
            f"ForceCommand {self.forced_command}",
        ]
        self.config.write_text("".join(line + "\n" for line in lines))

    def _launch(self) -> bool:
        """Start sshd; return ``True`` once it listens, ``False`` if its port was taken."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log_file:
            process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", self.config],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,  # a Ctrl-C in the test run must not hit sshd first
            )
        listening = f"Server listening on 127.0.0.1 port {self.port}"
        deadline = time.monotonic() + _STARTUP_SECONDS
        while time.monotonic() < deadline:
            text = self._log_since(offset)
            if listening in text:
                self._process = process
                return True
            if process.poll() is not None:
                if "Address already in use" in text:
                    return False
                raise RuntimeError(f"sshd exited with {process.returncode}:\n{text}")
            time.sleep(0.02)
        process.kill()
        process.wait()
        raise RuntimeError(
            f"sshd did not start within {_STARTUP_SECONDS}s:\n{self._log_since(offset)}"
        )

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")


@atexit.register
def _stop_leftovers() -> None:
    # Safety net for servers a crashed test did not stop.
    for server in list(_running):
        server.stop()


# -- the transport tests' forced command (tests/sshd_stub.py) --------------------------------

STUB = Path(__file__).with_name("sshd_stub.py")


def stub_command(calls: Path) -> str:
    """Return the forced command running the stub, which logs each call to ``calls``."""
    # -I -S: the stub needs only the standard library; skipping site saves startup time.
    return python_command("-I", "-S", str(STUB), "--calls", str(calls))


def read_calls(calls: Path) -> list[dict[str, Any]]:
    """Return the stub's call records: ``{"argv", "connection", "pid", "time"}`` each."""
    if not calls.exists():
        return []
    return [json.loads(line) for line in calls.read_text().splitlines() if line]


def client_ports(records: Iterable[dict[str, Any]]) -> set[str]:
    """Return the distinct client ports in the records: one per TCP connection."""
    return {str(record["connection"]).split()[1] for record in records}
