"""SshTransport against a real OpenSSH sshd: commands, reuse, reconnects, timeouts, output.

The forced command is tests/sshd_stub.py; it records every call (argv and SSH_CONNECTION) so
executions and TCP connections are counted at the server side, not inferred from the client.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sshd_harness import SshdServer, client_ports, read_calls, stub_command

from jbremote.transport.base import CommandTimeoutError, TransportError, command_line
from jbremote.transport.ssh import SshTransport

pytestmark = pytest.mark.sshd

AWKWARD_ARGS = [
    "two words",
    "it's",
    'say "hi"',
    "a&b",
    "&&",
    "[x]",
    "find[info.ID]=1",
    "$HOME",
    "${PATH}",
    ";ls",
    "`id`",
    "$(id)",
    "*",
    "",
    "back\\slash",
    "tab\there",
    "new\nline",
    "ünïcødé",
    "-F",
    "|",
    ">out",
    "#comment",
    "~",
]


def echo(transport: SshTransport, *args: str) -> dict[str, Any]:
    result = transport.run(["echo", *args])
    assert result.exit_status == 0, result
    reply: dict[str, Any] = json.loads(result.stdout)
    return reply


def calls_with(calls_log: Path, *argv: str) -> list[dict[str, Any]]:
    return [record for record in read_calls(calls_log) if record["argv"] == list(argv)]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_run_argv_arrives_exactly_as_sent(stub_sshd: SshdServer) -> None:
    with SshTransport(stub_sshd.make_settings()) as transport:
        reply = echo(transport, *AWKWARD_ARGS)

    assert reply["argv"] == AWKWARD_ARGS
    assert reply["original"] == command_line(["echo", *AWKWARD_ARGS])


def test_run_many_calls_use_one_tcp_connection(stub_sshd: SshdServer, calls_log: Path) -> None:
    with SshTransport(stub_sshd.make_settings()) as transport:
        for i in range(15):
            assert echo(transport, str(i))["argv"] == [str(i)]

    records = read_calls(calls_log)
    assert len(records) == 15
    assert len(client_ports(records)) == 1
    assert stub_sshd.accepted_logins() == 1


def test_run_from_threads_shares_one_connection(stub_sshd: SshdServer, calls_log: Path) -> None:
    transport = SshTransport(stub_sshd.make_settings())
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(3):
                token = f"thread-{n}-call-{i}"
                assert echo(transport, token)["argv"] == [token]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    transport.close()

    assert errors == []
    records = read_calls(calls_log)
    assert len(records) == 24
    assert len(client_ports(records)) == 1
    assert stub_sshd.accepted_logins() == 1


def run_concurrently(transport: SshTransport, count: int) -> list[BaseException | None]:
    outcomes: list[BaseException | None] = [None] * count

    def worker(n: int) -> None:
        try:
            transport.run(["sleep", "0.3"])
        except TransportError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@pytest.mark.parametrize("client_limit", [2, 8])
def test_run_waits_for_a_session_when_the_server_limit_is_reached(
    sshd_factory: Callable[..., SshdServer], calls_log: Path, client_limit: int
) -> None:
    server = sshd_factory(stub_command(calls_log), max_sessions=2)

    with SshTransport(server.make_settings(), max_sessions=client_limit) as transport:
        assert run_concurrently(transport, 6) == [None] * 6

    assert len(calls_with(calls_log, "sleep", "0.3")) == 6  # each ran once
    if client_limit > 2:  # the refusals this test is about really happened
        assert "no more sessions" in server.log


def test_run_gives_up_when_the_server_keeps_refusing_sessions(
    sshd_factory: Callable[..., SshdServer], calls_log: Path
) -> None:
    server = sshd_factory(stub_command(calls_log), max_sessions=1)

    with SshTransport(server.make_settings(), max_sessions=3) as transport:
        blocker = threading.Thread(target=transport.run, args=(["sleep", "2"],))
        blocker.start()
        wait_for(lambda: bool(calls_with(calls_log, "sleep", "2")))
        with pytest.raises(TransportError) as caught:
            transport.run(["echo", "refused"], timeout=0.5)
        blocker.join()

    assert "refused a new session" in str(caught.value)
    assert not caught.value.maybe_executed
    assert calls_with(calls_log, "echo", "refused") == []


@pytest.mark.parametrize("settle", [0.0, 0.5])
def test_run_reconnects_after_the_connection_dropped(
    stub_sshd: SshdServer, calls_log: Path, settle: float
) -> None:
    with SshTransport(stub_sshd.make_settings()) as transport:
        echo(transport, "before")
        assert stub_sshd.drop_connections() >= 1
        time.sleep(settle)  # 0: the client has not noticed yet; 0.5: it has
        echo(transport, "after")
        echo(transport, "again")

    assert len(calls_with(calls_log, "echo", "before")) == 1
    assert len(calls_with(calls_log, "echo", "after")) == 1
    assert len(client_ports(read_calls(calls_log))) == 2
    assert stub_sshd.accepted_logins() == 2


def test_run_reconnects_after_sshd_restart(stub_sshd: SshdServer, calls_log: Path) -> None:
    with SshTransport(stub_sshd.make_settings()) as transport:
        echo(transport, "before")
        stub_sshd.restart()
        echo(transport, "after")

    assert len(calls_with(calls_log, "echo", "after")) == 1
    assert len(client_ports(read_calls(calls_log))) == 2


def test_drop_while_command_runs_reports_maybe_executed_and_never_reruns(
    stub_sshd: SshdServer, calls_log: Path
) -> None:
    transport = SshTransport(stub_sshd.make_settings())
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            transport.run(["sleep", "3"])
        except TransportError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    wait_for(lambda: bool(calls_with(calls_log, "sleep", "3")))
    dropped_at = time.monotonic()
    stub_sshd.drop_connections()
    caller.join(10)
    reported_after = time.monotonic() - dropped_at

    assert len(outcome) == 1
    error = outcome[0]
    assert type(error) is TransportError
    assert error.maybe_executed
    assert "connection lost" in str(error)
    assert reported_after < 2.5  # well before the command itself would have finished
    assert echo(transport, "next")["argv"] == ["next"]
    transport.close()
    # A re-send would have happened inside run(), so it would be logged before "next".
    assert len(calls_with(calls_log, "sleep", "3")) == 1


def test_run_timeout_raises_and_keeps_the_connection(
    stub_sshd: SshdServer, calls_log: Path
) -> None:
    with SshTransport(stub_sshd.make_settings()) as transport:
        echo(transport, "connected")
        started = time.monotonic()
        with pytest.raises(CommandTimeoutError) as caught:
            transport.run(["sleep", "5"], timeout=0.5)
        elapsed = time.monotonic() - started
        echo(transport, "still usable")

    assert 0.5 <= elapsed < 2.0
    assert caught.value.maybe_executed
    assert len(calls_with(calls_log, "sleep", "5")) == 1
    assert len(client_ports(read_calls(calls_log))) == 1


def test_run_uses_settings_command_timeout_by_default(stub_sshd: SshdServer) -> None:
    with SshTransport(stub_sshd.make_settings(command_timeout=0.5)) as transport:
        started = time.monotonic()
        with pytest.raises(CommandTimeoutError):
            transport.run(["sleep", "5"])
    assert time.monotonic() - started < 3.0  # connecting, then 0.5 s


def test_run_passes_exit_status_and_stderr_through(stub_sshd: SshdServer) -> None:
    with SshTransport(stub_sshd.make_settings()) as transport:
        result = transport.run(["exit", "3", "job", "not", "found"])

    assert result.exit_status == 3
    assert result.stderr == b"job not found"
    assert result.stdout == b""
    assert not result.truncated


def test_run_caps_output_and_flags_truncation(stub_sshd: SshdServer) -> None:
    cap = 100_000
    with SshTransport(stub_sshd.make_settings(max_output_bytes=cap)) as transport:
        big = transport.run(["flood", "3000000", "2000000"])
        small = transport.run(["flood", "50000", "40000"])

    assert big.exit_status == 0  # the rest was read and discarded, the command finished
    assert big.stdout == b"o" * cap
    assert big.stderr == b"e" * cap
    assert big.truncated
    assert (len(small.stdout), len(small.stderr), small.truncated) == (50_000, 40_000, False)


def test_run_reads_large_interleaved_output_completely(stub_sshd: SshdServer) -> None:
    with SshTransport(stub_sshd.make_settings()) as transport:
        result = transport.run(["flood", "4000000", "3000000"])

    assert (len(result.stdout), len(result.stderr)) == (4_000_000, 3_000_000)
    assert set(result.stdout) == {ord("o")}
    assert set(result.stderr) == {ord("e")}


def test_command_killed_by_a_signal_raises_maybe_executed(stub_sshd: SshdServer) -> None:
    with SshTransport(stub_sshd.make_settings()) as transport:
        with pytest.raises(TransportError) as caught:
            transport.run(["kill"])
        assert echo(transport, "fine")["argv"] == ["fine"]

    assert caught.value.maybe_executed
    assert "without an exit status" in str(caught.value)
