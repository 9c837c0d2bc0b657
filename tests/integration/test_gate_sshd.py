"""The gate behind a real OpenSSH sshd, in front of the JetBackup simulator.

sshd's ForceCommand runs ``/usr/bin/python3 -IS <gate> --api <shim>`` (the system interpreter,
isolated: nothing of jbremote is importable, as on a cPanel box); the shim is the simulator's
``jetbackup5api``. Evidence is taken at the server side: the simulator's call log (a denied
command must leave no record), canary files that any executed payload would create, and the
syslog lines the gate sent to a socket of the test's own.
"""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import pytest
from sshd_harness import SshdServer

from jbremote.gate import jbremote_gate
from jbremote.gate.install import gate_source
from jbremote.jetbackup.call import Call
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.envelope import ApiError, GarbageOutputError, RemoteCommandError
from jbremote.sim import ledger
from jbremote.sim.fleetspec import FleetSpec, write_shim
from jbremote.sim.store import SimStore
from jbremote.transport.ssh import SshTransport
from tests.unit.gate.client_calls import every_call
from tests.unit.gate.hostile import corpus, trap_script

pytestmark = pytest.mark.sshd

PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
SERVER = "srv01"


class SyslogCatcher:
    """A datagram socket standing in for /dev/log; a thread keeps draining it."""

    def __init__(self) -> None:
        # AF_UNIX paths are limited to 108 bytes: pytest's tmp_path may be longer.
        self.directory = Path(tempfile.mkdtemp(prefix="jbgate-", dir="/tmp"))
        self.path = str(self.directory / "log")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                return
            with self._lock:
                self._lines.append(data.decode("ascii"))

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def matching(self, needle: str, count: int, since: int = 0) -> list[str]:
        """Return the lines from ``since`` on containing ``needle``, once there are ``count``
        of them (the gate sends before it exits, the drain thread may lag) or after 5 s.
        """
        deadline = time.monotonic() + 5
        while True:
            found = [line for line in self.lines()[since:] if needle in line]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def close(self) -> None:
        self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(5)
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class GatedServer:
    sshd: SshdServer
    state_dir: Path
    shim: Path
    canaries: Path
    trap: Path
    syslog: SyslogCatcher
    spec: FleetSpec

    def calls(self) -> list[dict[str, Any]]:
        return ledger.calls(self.state_dir)


class RawSsh:
    """A paramiko connection that sends any bytes as the command (SshTransport only sends
    what ``shlex.join`` makes). Reconnects when the server drops the connection.
    """

    def __init__(self, sshd: SshdServer) -> None:
        self.sshd = sshd
        self.client: paramiko.SSHClient | None = None

    def _connect(self) -> paramiko.SSHClient:
        if self.client is None or not self._active():
            client = paramiko.SSHClient()
            client.load_host_keys(str(self.sshd.known_hosts))
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
            sock = socket.create_connection(("127.0.0.1", self.sshd.port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms per request
            client.connect(
                "127.0.0.1",
                port=self.sshd.port,
                sock=sock,
                username=self.sshd.user,
                key_filename=str(self.sshd.client_key),
                look_for_keys=False,
                allow_agent=False,
                timeout=10,
            )
            self.client = client
        return self.client

    def _active(self) -> bool:
        transport = self.client.get_transport() if self.client else None
        return transport is not None and transport.is_active()

    def run(
        self, command: bytes, environment: dict[str, str] | None = None
    ) -> tuple[int | None, bytes, bytes]:
        """Return (exit status, stdout, stderr); status ``None`` if sshd refused the request."""
        transport = self._connect().get_transport()
        assert transport is not None
        channel = transport.open_session(timeout=10)
        try:
            channel.settimeout(20)
            if environment:
                channel.update_environment(environment)
            try:
                channel.exec_command(command)  # bytes go as they are: no encoding, no check
            except (paramiko.SSHException, EOFError, OSError):
                return None, b"", b""
            stdout = channel.makefile("rb").read()
            stderr = channel.makefile_stderr("rb").read()
            return channel.recv_exit_status(), stdout, stderr
        finally:
            channel.close()

    def run_all(self, commands: list[bytes]) -> list[tuple[int | None, bytes, bytes]]:
        """Run ``commands`` over parallel channels (sshd's session start-up dominates)."""
        head = [c for c in commands if b"\x00" not in c]
        # A NUL makes sshd drop the whole connection: those go last, one by one.
        with ThreadPoolExecutor(8) as pool:
            results = dict(zip(head, pool.map(self.run, head), strict=True))
        for command in commands:
            if command not in results:
                results[command] = self.run(command)
        return [results[c] for c in commands]

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def gate_command(directory: Path, shim: Path, syslog: str, *options: str) -> str:
    gate = directory / "jbremote-gate"
    if not gate.exists():
        gate.write_text(gate_source())
    argv = [PYTHON, "-IS", str(gate), "--api", str(shim), "--syslog-socket", syslog, *options]
    return shlex.join(argv)


def make_server(
    factory: Any, root: Path, *options: str, extra_config: tuple[str, ...] = ()
) -> GatedServer:
    root.mkdir(parents=True)
    spec = FleetSpec.uniform(servers=1, jobs_per_server=2)
    state_dir = root / "state"
    spec.write_state(SimStore(state_dir))
    shim = root / "bin" / "jetbackup5api"
    shim.parent.mkdir()
    write_shim(shim, state_dir, SERVER)
    canaries = root / "canaries"
    canaries.mkdir()
    trap = root / "trap" / "jetbackup5api"
    trap.parent.mkdir()
    trap.write_text(trap_script(str(canaries / "canary-trap")))
    trap.chmod(0o755)
    syslog = SyslogCatcher()
    sshd = factory(gate_command(root, shim, syslog.path, *options), extra_config=extra_config)
    return GatedServer(sshd, state_dir, shim, canaries, trap, syslog, spec)


@pytest.fixture(scope="module")
def gated(
    module_sshd_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatedServer]:
    server = make_server(module_sshd_factory, tmp_path_factory.mktemp("gate") / "rw")
    yield server
    server.syslog.close()


@pytest.fixture(scope="module")
def read_only(
    module_sshd_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatedServer]:
    server = make_server(module_sshd_factory, tmp_path_factory.mktemp("gate") / "ro", "--read-only")
    yield server
    server.syslog.close()


def job_id(server: GatedServer) -> str:
    return server.spec.servers[0].job_id("job1")


def record_key(function: str, params: dict[str, str]) -> str:
    return json.dumps([function, params], sort_keys=True)


def expected_record(call: Call[Any]) -> tuple[str, dict[str, str]]:
    params = {
        key: str(int(value) if isinstance(value, bool) else value) for key, value in call.params
    }
    return call.function, params


def test_every_call_the_client_builds_passes_and_reaches_the_simulator(gated: GatedServer) -> None:
    calls = [call for _, call in every_call(job_id(gated))]
    before = len(gated.calls())
    with SshTransport(gated.sshd.make_settings()) as transport:
        client = JetBackupClient(transport)

        def attempt(call: Call[Any]) -> bool:
            try:
                client.call(call)
                return True
            # jetbackup5api ran and answered, just not with success: an id of another kind, or
            # a job that a parallel call has just disabled. A gate denial would raise
            # RemoteCommandError and fail the test.
            except (ApiError, GarbageOutputError):
                return False

        with ThreadPoolExecutor(8) as pool:
            answered = sum(pool.map(attempt, calls))
        jobs = client.list_backup_jobs()

    records = gated.calls()[before:]
    assert sorted(record_key(r["function"], r["params"]) for r in records) == sorted(
        [
            *(record_key(*expected_record(call)) for call in calls),
            record_key("listBackupJobs", {"limit": "1000", "skip": "0"}),
        ]
    )
    assert answered >= len(calls) // 2
    assert sorted(j.name for j in jobs) == ["job1", "job2"]
    allowed = gated.syslog.matching(" allow client=127.0.0.1 ", len(calls) + 1)
    assert len(allowed) >= len(calls) + 1


def test_client_naming_the_api_by_its_full_path_passes(gated: GatedServer) -> None:
    with SshTransport(gated.sshd.make_settings()) as transport:
        jobs = JetBackupClient(transport, binary=str(gated.shim)).list_backup_jobs()
        with pytest.raises(RemoteCommandError, match="exit status 77: jbremote-gate: denied: only"):
            JetBackupClient(transport, binary=str(gated.trap)).list_backup_jobs()

    assert len(jobs) == 2
    assert not (gated.canaries / "canary-trap").exists()


def test_version_request_answers_without_touching_jetbackup(gated: GatedServer) -> None:
    before = len(gated.calls())
    logged = len(gated.syslog.lines())
    with SshTransport(gated.sshd.make_settings()) as transport:
        result = transport.run(["jbremote-gate", "--version"])

    assert (result.exit_status, result.stdout) == (
        0,
        f"jbremote-gate {jbremote_gate.__version__}\n".encode(),
    )
    assert len(gated.calls()) == before
    assert len(gated.syslog.matching(" request=version", 1, since=logged)) == 1


def test_hostile_corpus_is_denied_and_nothing_runs(gated: GatedServer) -> None:
    hostile = corpus(str(gated.canaries), str(gated.trap))
    assert len(hostile) >= 60
    before_calls = len(gated.calls())
    before_log = len(gated.syslog.lines())
    raw = RawSsh(gated.sshd)
    try:
        results = raw.run_all([entry.command for entry in hostile])
    finally:
        raw.close()
    outcomes = {
        e.label: (status, err) for e, (status, _, err) in zip(hostile, results, strict=True)
    }
    assert [e.label for e, (_, out, _) in zip(hostile, results, strict=True) if out] == []

    refused_by_sshd = [label for label, (status, _) in outcomes.items() if status is None]
    denied = [
        label
        for label, (status, stderr) in outcomes.items()
        # The last line: root's ~/.bashrc may print first (sshd runs the command via the shell).
        if status == 77
        and (stderr.splitlines() or [b""])[-1].startswith(b"jbremote-gate: denied: ")
    ]
    assert refused_by_sshd == ["NUL"]  # sshd drops a command string holding a NUL byte
    assert sorted(denied + refused_by_sshd) == sorted(h.label for h in hostile), {
        label: outcome for label, outcome in outcomes.items() if label not in denied
    }
    assert sorted(p.name for p in gated.canaries.iterdir()) == []
    assert len(gated.calls()) == before_calls
    denials = gated.syslog.matching(" deny client=127.0.0.1 ", len(denied), since=before_log)
    assert len(denials) == len(denied)
    assert all(line.isascii() and line.isprintable() for line in denials)


PREFIXES = (b"jetbackup5api", b"jbremote-gate")
SHELL_PAYLOADS = 30  # the corpus opens with shell operators, redirections and quoting tricks


def test_canaries_catch_a_naive_prefix_filter(sshd_factory: Any, tmp_path: Path) -> None:
    # The control: jetbackup-remote's filter (prefix match, then bash -c) runs the same payloads,
    # and the canaries show it. A canary that could never appear would prove nothing above.
    canaries = tmp_path / "canaries"
    canaries.mkdir()
    naive = tmp_path / "naive-filter"
    naive.write_text(
        '#!/bin/bash\ncase "$SSH_ORIGINAL_COMMAND" in\n'
        '  jetbackup5api*|jbremote-gate*) exec bash -c "$SSH_ORIGINAL_COMMAND" ;;\n'
        "esac\nexit 1\n"
    )
    naive.chmod(0o755)
    sshd = sshd_factory(str(naive))
    raw = RawSsh(sshd)
    try:
        shell_payloads = corpus(str(canaries))[:SHELL_PAYLOADS]
        results = raw.run_all([e.command for e in shell_payloads if e.command.startswith(PREFIXES)])
    finally:
        raw.close()

    executed = sorted(int(p.name.split("-")[1]) for p in canaries.iterdir())
    assert len(executed) >= 15, (executed, len(results))


def test_read_only_gate_lets_only_reads_through(read_only: GatedServer) -> None:
    first_of_each: dict[str, Call[Any]] = {}
    for _, call in every_call(job_id(read_only)):
        first_of_each.setdefault(call.function, call)
    before = len(read_only.calls())
    denied = []
    with SshTransport(read_only.sshd.make_settings()) as transport:
        client = JetBackupClient(transport)
        for call in first_of_each.values():
            try:
                client.call(call)
            except RemoteCommandError as exc:
                assert exc.exit_status == 77 and "this gate is read-only" in exc.reason
                denied.append(call.function)
            except ApiError:
                pass

    assert sorted(denied) == sorted(c.function for c in first_of_each.values() if c.mutating)
    reached = [r["function"] for r in read_only.calls()[before:]]
    assert sorted(reached) == sorted(c.function for c in first_of_each.values() if not c.mutating)
    assert read_only.syslog.matching(" mode=read-only reason=", len(denied))


def test_jetbackup5api_gets_a_clean_environment_and_exact_argv(
    sshd_factory: Any, tmp_path: Path
) -> None:
    # A stand-in jetbackup5api that records what it was given; sshd accepts LANG and JB_* from
    # the client (a common AcceptEnv), the gate must not pass them on.
    record = tmp_path / "record"
    api = tmp_path / "bin" / "jetbackup5api"
    api.parent.mkdir()
    api.write_text(
        f'#!/bin/sh\n{{ printf "%s\\n" "$@"; echo ---; env; }} > {record}\necho "{{}}"\n'
    )
    api.chmod(0o755)
    syslog = SyslogCatcher()
    try:
        sshd = sshd_factory(
            gate_command(tmp_path, api, syslog.path), extra_config=["AcceptEnv LANG LC_* JB_*"]
        )
        raw = RawSsh(sshd)
        command = f"jetbackup5api -F getBackupJob -D _id={'a' * 24} -O json".encode()
        status, stdout, _ = raw.run(command, {"LANG": "xx_EVIL.UTF-8", "JB_SMUGGLED": "1"})
        raw.close()
    finally:
        syslog.close()

    assert (status, stdout) == (0, b"{}\n")
    argv, env_text = record.read_text().split("---\n")
    assert argv.splitlines() == ["-F", "getBackupJob", "-D", f"_id={'a' * 24}", "-O", "json"]
    env = dict(line.split("=", 1) for line in env_text.splitlines() if "=" in line)
    env.pop("PWD", None)  # the shell running the stand-in sets these itself
    env.pop("SHLVL", None)
    env.pop("_", None)
    assert sorted(env) == ["HOME", "LOGNAME", "PATH", "SSH_CONNECTION", "USER"]
    assert env["PATH"] == jbremote_gate.SAFE_PATH
    assert env["SSH_CONNECTION"].startswith("127.0.0.1 ")


def test_gate_denial_reaches_the_client_as_a_readable_error(gated: GatedServer) -> None:
    with SshTransport(gated.sshd.make_settings()) as transport:
        result = transport.run(
            ["jetbackup5api", "-F", "deleteBackupJob", "-D", f"_id={'b' * 24}", "-O", "json"]
        )

    assert result.exit_status == 77
    assert result.stderr == b"jbremote-gate: denied: function 'deleteBackupJob' is not allowed\n"
