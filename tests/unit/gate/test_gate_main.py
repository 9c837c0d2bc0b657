"""The gate as sshd runs it: decision, syslog line, exec of --api with a clean environment."""

from __future__ import annotations

import os
import shlex
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import jbremote
from jbremote.gate import jbremote_gate as gate
from tests.unit.gate.hostile import J

CONNECTION = b"203.0.113.9 50514 192.0.2.1 22"
GET = shlex.join(["jetbackup5api", "-F", "getBackupJob", "-D", f"_id={J}", "-O", "json"])


class Recorder:
    """Stands in for os.execve and syslog; records what the gate asked for."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, list[str], dict[str, str]]] = []
        self.logged: list[tuple[int, str]] = []

    def execute(self, path: str, argv: list[str], env: dict[str, str]) -> None:
        self.executed.append((path, argv, env))

    def log(self, severity: int, message: str) -> None:
        self.logged.append((severity, message))


@pytest.fixture
def api(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "jetbackup5api"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def run_gate(
    rec: Recorder,
    command: bytes | None,
    *options: str,
    connection: bytes = CONNECTION,
    extra_env: dict[bytes, bytes] | None = None,
) -> int:
    environ = {b"SSH_CONNECTION": connection, **(extra_env or {})}
    if command is not None:
        environ[b"SSH_ORIGINAL_COMMAND"] = command
    return gate.main(list(options), environ, rec.execute, rec.log)


def test_allowed_command_is_logged_then_execed_without_a_shell(rec: Recorder, api: Path) -> None:
    status = run_gate(rec, GET.encode(), "--api", str(api))

    assert status == 0
    assert rec.executed == [
        (
            str(api),
            [str(api), "-F", "getBackupJob", "-D", f"_id={J}", "-O", "json"],
            rec.executed[0][2],
        )
    ]
    user = gate._user()
    assert rec.logged == [
        (
            gate.LOG_INFO,
            f"allow client=203.0.113.9 port=50514 user={user} mode=read-write "
            f'function=getBackupJob data="_id={J}"',
        )
    ]


def test_child_environment_holds_nothing_the_client_set(rec: Recorder, api: Path) -> None:
    hostile = {
        b"LD_PRELOAD": b"/tmp/evil.so",
        b"PATH": b"/tmp/evil",
        b"BASH_ENV": b"/tmp/evil",
        b"LANG": b"../../tmp/evil",
        b"PYTHONPATH": b"/tmp/evil",
    }
    run_gate(rec, GET.encode(), "--api", str(api), extra_env=hostile)

    env = rec.executed[0][2]
    assert set(env) == {"PATH", "HOME", "USER", "LOGNAME", "SSH_CONNECTION"}
    assert env["PATH"] == gate.SAFE_PATH
    assert env["SSH_CONNECTION"] == CONNECTION.decode()


def test_unparseable_connection_is_not_passed_on(rec: Recorder, api: Path) -> None:
    run_gate(rec, GET.encode(), "--api", str(api), connection=b"x\n; 1 2 3")

    assert "SSH_CONNECTION" not in rec.executed[0][2]
    assert " client=unknown port=- " in rec.logged[0][1]


def test_denied_command_is_logged_escaped_and_never_run(
    rec: Recorder, api: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = GET.encode() + b'; echo "\\\n\xff'

    status = run_gate(rec, command, "--api", str(api), "--read-only")

    assert status == gate.EXIT_DENIED == 77
    assert rec.executed == []
    ((severity, line),) = rec.logged
    assert severity == gate.LOG_WARNING
    escaped = GET + r"; echo \x22\x5c\x0a\xff"
    assert line == (
        f"deny client=203.0.113.9 port=50514 user={gate._user()} mode=read-only "
        f'reason="character \';\' (0x3b) at position 69 is not allowed" command="{escaped}"'
    )
    assert all(0x20 <= ord(ch) < 0x7F for ch in line)
    assert capsys.readouterr().err == (
        "jbremote-gate: denied: character ';' (0x3b) at position 69 is not allowed\n"
    )


def test_log_line_of_a_huge_command_is_cut(rec: Recorder, api: Path) -> None:
    run_gate(rec, b"x" * 100_000, "--api", str(api))

    line = rec.logged[0][1]
    assert line.endswith('command="' + "x" * 256 + '..."')


def test_version_request_answers_without_running_anything(
    rec: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_gate(rec, b"jbremote-gate --version", "--api", "/nonexistent/jetbackup5api") == 0

    assert capsys.readouterr().out == f"jbremote-gate {jbremote.__version__}\n"
    assert rec.executed == []
    assert rec.logged[0][1].endswith(" request=version")


def test_gate_version_is_the_package_version() -> None:
    assert gate.__version__ == jbremote.__version__


def test_no_command_is_denied(rec: Recorder, api: Path) -> None:
    assert run_gate(rec, None, "--api", str(api)) == gate.EXIT_DENIED
    assert rec.executed == []
    assert "interactive sessions are not allowed" in rec.logged[0][1]


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        (0o775, "may be changed by others"),
        (0o757, "may be changed by others"),
        (0o644, "not an executable"),
    ],
)
def test_api_that_others_could_replace_is_not_run(
    rec: Recorder, api: Path, mode: int, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    api.chmod(mode)

    assert run_gate(rec, GET.encode(), "--api", str(api)) == gate.EXIT_CONFIG
    assert rec.executed == []
    assert problem in capsys.readouterr().err
    assert rec.logged[-1][0] == gate.LOG_ERR


def test_missing_api_is_a_configuration_error(rec: Recorder, tmp_path: Path) -> None:
    status = run_gate(rec, GET.encode(), "--api", str(tmp_path / "jetbackup5api"))

    assert status == gate.EXIT_CONFIG and rec.executed == []
    assert "is missing" in rec.logged[-1][1]


@pytest.mark.parametrize(
    "bad_api",
    ["jetbackup5api", "/usr/bin/../bin/jetbackup5api", "//usr/bin/jetbackup5api", "/bin/sh"],
)
def test_misconfigured_api_path_denies_everything(rec: Recorder, bad_api: str) -> None:
    assert run_gate(rec, b"jbremote-gate --version", "--api", bad_api) == gate.EXIT_CONFIG
    assert rec.executed == [] and rec.logged[0][0] == gate.LOG_ERR


def test_exec_failure_is_reported(
    rec: Recorder, api: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(path: str, argv: list[str], env: dict[str, str]) -> None:
        raise PermissionError(13, "Permission denied")

    status = gate.main(
        ["--api", str(api)],
        {b"SSH_ORIGINAL_COMMAND": GET.encode(), b"SSH_CONNECTION": CONNECTION},
        fail,
        rec.log,
    )

    assert status == gate.EXIT_CANNOT_RUN
    assert "cannot run" in capsys.readouterr().err


def test_check_explains_an_allowed_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert gate.main(["--check", GET]) == 0

    assert capsys.readouterr().out == (
        "allowed (read, read-write gate)\n"
        f"would run: /usr/bin/jetbackup5api -F getBackupJob -D _id={J} -O json\n"
    )


def test_check_points_at_the_offending_character(capsys: pytest.CaptureFixture[str]) -> None:
    assert gate.main(["--check", "jetbackup5api -F x|id"]) == 1

    assert capsys.readouterr().out == (
        "denied: character '|' (0x7c) at position 18 is not allowed\n"
        "  jetbackup5api -F x|id\n"
        "                    ^\n"
    )


def test_check_honours_the_modes(capsys: pytest.CaptureFixture[str]) -> None:
    stop = shlex.join(["jetbackup5api", "-F", "stopQueueGroup", "-D", f"_id={J}", "-O", "json"])

    assert gate.main(["--no-stop", "--check", stop]) == 1
    assert "disabled on this gate (--no-stop)" in capsys.readouterr().out
    assert gate.main(["--check", stop]) == 0
    assert "allowed (stop, read-write gate)" in capsys.readouterr().out


def test_check_runs_and_logs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object) -> None:
        raise AssertionError("--check must not execute or log")

    monkeypatch.setattr(os, "execve", forbidden)
    monkeypatch.setattr(gate.Syslog, "__call__", forbidden)
    monkeypatch.setenv("SSH_ORIGINAL_COMMAND", GET)

    assert gate.main(["--check", GET]) == 0
    assert gate.main(["--check", "touch x"]) == 1


def test_grammar_lists_every_function(capsys: pytest.CaptureFixture[str]) -> None:
    assert gate.main(["--grammar"]) == 0

    out = capsys.readouterr().out
    assert all(f"  {name} [" in out for name in gate.FUNCTIONS)


@pytest.mark.parametrize(
    ("connection", "expected"),
    [
        (b"203.0.113.9 50514 192.0.2.1 22", "client=203.0.113.9 port=50514"),
        (b"2001:db8::7 40000 2001:db8::1 22", "client=2001:db8::7 port=40000"),
        (b"", "client=unknown port=-"),
        (b"evil\x1b[2J 1 2 3", "client=unknown port=-"),
        (b"1.2.3.4 99999999 5.6.7.8 22", "client=unknown port=-"),
    ],
)
def test_client_address_comes_from_ssh_connection(connection: bytes, expected: str) -> None:
    assert gate.client_of({b"SSH_CONNECTION": connection}) == expected


@pytest.fixture
def syslog_socket() -> Iterator[tuple[str, socket.socket]]:
    # A short path: AF_UNIX paths are limited to 108 bytes.
    directory = Path(f"/tmp/jbgate-{os.getpid()}")
    directory.mkdir(exist_ok=True)
    path = str(directory / "log")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    try:
        yield path, sock
    finally:
        sock.close()
        os.unlink(path)
        directory.rmdir()


def test_syslog_message_format(syslog_socket: tuple[str, socket.socket]) -> None:
    path, sock = syslog_socket

    gate.Syslog(path)(gate.LOG_WARNING, 'deny client=unknown port=- reason="x"')

    assert sock.recv(4096) == (
        f'<84>jbremote-gate[{os.getpid()}]: deny client=unknown port=- reason="x"'.encode()
    )


def test_missing_syslog_is_not_an_error(tmp_path: Path) -> None:
    gate.Syslog(str(tmp_path / "no-such-socket"))(gate.LOG_INFO, "x")
