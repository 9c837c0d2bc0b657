"""SshTransport's decisions (retry, reconnect, never re-send, output handling) with fake
paramiko connections. The real protocol is exercised in tests/integration/test_transport_*.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from jbremote.transport.base import (
    AuthenticationError,
    CommandTimeoutError,
    ConnectError,
    HostKeyError,
    TransportError,
)
from jbremote.transport.settings import SshSettings
from jbremote.transport.ssh import SshTransport, backoff_delays, load_private_key


def settings(**overrides: object) -> SshSettings:
    values: dict[str, object] = {
        "name": "web1",
        "host": "web1.example.com",
        "port": 22,
        "user": "root",
        "key": Path("/nonexistent/key"),
        "known_hosts": Path("/nonexistent/known_hosts"),
        "connect_retries": 3,
        "command_timeout": 5.0,
    }
    values.update(overrides)
    return SshSettings(**values)  # type: ignore[arg-type]


class FakeChannel:
    """Plays back one command's output; records what was sent."""

    def __init__(
        self,
        stdout: Iterable[bytes] = (),
        stderr: Iterable[bytes] = (),
        exit_status: int = 0,
        eof: bool = True,
        exec_error: BaseException | None = None,
    ) -> None:
        self._stdout = list(stdout)
        self._stderr = list(stderr)
        self.exit_status = exit_status
        self.eof_received = eof
        self.status_event = threading.Event()
        self.status_event.set()
        self.exec_error = exec_error
        self.commands: list[str] = []
        self.closed = False

    def exec_command(self, command: str) -> None:
        self.commands.append(command)
        if self.exec_error is not None:
            raise self.exec_error

    def settimeout(self, timeout: float | None) -> None:
        pass

    def recv(self, nbytes: int) -> bytes:
        return self._stdout.pop(0) if self._stdout else b""

    def recv_stderr(self, nbytes: int) -> bytes:
        return self._stderr.pop(0) if self._stderr else b""

    def close(self) -> None:
        self.closed = True


class FakeConnection:
    """A paramiko.Transport stand-in: hands out the given channels or raises."""

    def __init__(self, *channels: FakeChannel | BaseException, active: bool = True) -> None:
        self._channels = list(channels)
        self.active = active
        self.closed = False

    def is_active(self) -> bool:
        return self.active and not self.closed

    def open_session(self, timeout: float | None = None) -> FakeChannel:
        item = self._channels.pop(0)
        if isinstance(item, BaseException):
            if not isinstance(item, paramiko.ChannelException):
                self.active = False  # like paramiko: a failed open means the transport died
            raise item
        return item

    def close(self) -> None:
        self.closed = True


class FakeSsh(SshTransport):
    """SshTransport whose connections come from a list instead of the network."""

    def __init__(self, *outcomes: FakeConnection | BaseException, **overrides: object) -> None:
        self.sleeps: list[float] = []
        super().__init__(settings(**overrides), sleep=self.sleeps.append)
        self.outcomes = list(outcomes)
        self.connects = 0

    def _connect(self) -> paramiko.Transport:
        self.connects += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[return-value]


def test_backoff_delays_double_from_half_a_second() -> None:
    assert backoff_delays(3) == [0.5, 1.0, 2.0]
    assert backoff_delays(0) == []
    assert backoff_delays(-1) == []
    assert backoff_delays(2, base=0.1) == [0.1, 0.2]


def test_run_returns_status_and_both_streams() -> None:
    channel = FakeChannel([b"out", b"put"], [b"err"], exit_status=7)
    transport = FakeSsh(FakeConnection(channel))

    result = transport.run(["jetbackup5api", "-F", "listBackupJobs", "-D", "a=b c"])

    assert (result.exit_status, result.stdout, result.stderr) == (7, b"output", b"err")
    assert not result.truncated
    assert channel.commands == ["jetbackup5api -F listBackupJobs -D 'a=b c'"]
    assert channel.closed


def test_run_caps_each_stream_and_flags_truncation() -> None:
    channel = FakeChannel([b"a" * 6, b"b" * 6], [b"e" * 3])
    transport = FakeSsh(FakeConnection(channel), max_output_bytes=8)

    result = transport.run(["x"])

    assert result.stdout == b"aaaaaabb"
    assert result.stderr == b"eee"
    assert result.truncated


def test_run_reuses_the_connection() -> None:
    conn = FakeConnection(FakeChannel(), FakeChannel(), FakeChannel())
    transport = FakeSsh(conn)

    for _ in range(3):
        transport.run(["x"])

    assert transport.connects == 1


def test_run_reconnects_when_the_connection_is_no_longer_active() -> None:
    old = FakeConnection(FakeChannel())
    new = FakeConnection(FakeChannel())
    transport = FakeSsh(old, new)
    transport.run(["first"])
    old.active = False

    transport.run(["second"])

    assert transport.connects == 2
    assert old.closed


def test_run_reconnects_when_opening_a_channel_fails_and_sends_once() -> None:
    channel = FakeChannel()
    stale = FakeConnection(FakeChannel(), EOFError())
    transport = FakeSsh(stale, FakeConnection(channel))
    transport.run(["first"])

    transport.run(["second"])

    assert channel.commands == ["second"]
    assert stale.closed


def test_run_on_a_fresh_connection_that_cannot_open_a_channel_raises() -> None:
    transport = FakeSsh(FakeConnection(paramiko.SSHException("Unable to open channel.")))

    with pytest.raises(ConnectError) as caught:
        transport.run(["x"])

    assert transport.connects == 1
    assert not caught.value.maybe_executed


def test_run_never_resends_after_the_exec_request_failed() -> None:
    channel = FakeChannel(exec_error=EOFError())
    transport = FakeSsh(FakeConnection(channel), FakeConnection(FakeChannel()))

    with pytest.raises(TransportError) as caught:
        transport.run(["start-backup"])

    assert caught.value.maybe_executed
    assert channel.commands == ["start-backup"]
    assert transport.connects == 1


def test_run_connection_lost_while_waiting_raises_maybe_executed() -> None:
    channel = FakeChannel([b"partial"], exit_status=-1, eof=False)
    transport = FakeSsh(FakeConnection(channel), FakeConnection(FakeChannel()))

    with pytest.raises(TransportError, match="connection lost") as caught:
        transport.run(["start-backup"])

    assert caught.value.maybe_executed
    assert transport.connects == 1


def test_run_channel_closed_without_exit_status_raises() -> None:
    transport = FakeSsh(FakeConnection(FakeChannel(exit_status=-1, eof=True)))

    with pytest.raises(TransportError, match="without an exit status") as caught:
        transport.run(["x"])

    assert caught.value.maybe_executed


def test_run_times_out_when_no_exit_status_arrives() -> None:
    channel = FakeChannel()
    channel.status_event.clear()
    transport = FakeSsh(FakeConnection(channel))

    with pytest.raises(CommandTimeoutError) as caught:
        transport.run(["x"], timeout=0.2)

    assert caught.value.maybe_executed
    assert channel.closed


def test_run_asks_again_when_the_server_refuses_a_session() -> None:
    refused = paramiko.ChannelException(2, "Connect failed")
    channel = FakeChannel()
    transport = FakeSsh(FakeConnection(refused, refused, channel))

    transport.run(["x"])

    assert channel.commands == ["x"]
    assert transport.sleeps == [0.05, 0.1]
    assert transport.connects == 1


def test_run_gives_up_on_refused_sessions_at_the_timeout() -> None:
    refused = paramiko.ChannelException(2, "Connect failed")
    transport = FakeSsh(FakeConnection(*[refused] * 50))

    with pytest.raises(TransportError, match="refused a new session") as caught:
        transport.run(["x"], timeout=0.01)

    assert not caught.value.maybe_executed


def test_run_rejects_an_empty_argv_without_connecting() -> None:
    transport = FakeSsh()

    with pytest.raises(ValueError):
        transport.run([])
    assert transport.connects == 0


def test_connect_retries_connect_errors_with_backoff() -> None:
    down = ConnectError("web1", "refused")
    conn = FakeConnection(FakeChannel())
    transport = FakeSsh(down, down, conn)

    transport.run(["x"])

    assert transport.connects == 3
    assert transport.sleeps == [0.5, 1.0]


def test_connect_gives_up_after_the_configured_retries() -> None:
    down = ConnectError("web1", "refused")
    transport = FakeSsh(*[down] * 10, connect_retries=3)

    with pytest.raises(ConnectError, match="gave up after 4 attempts") as caught:
        transport.run(["x"])

    assert transport.connects == 4
    assert transport.sleeps == [0.5, 1.0, 2.0]
    assert caught.value.transient


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("web1", "refused key"),
        HostKeyError("web1", "changed"),
        ConnectError("web1", "no common algorithms"),
    ],
)
def test_connect_does_not_retry_permanent_failures(error: TransportError) -> None:
    if isinstance(error, ConnectError):
        error.transient = False
    transport = FakeSsh(error, FakeConnection(FakeChannel()))

    with pytest.raises(type(error)):
        transport.run(["x"])

    assert transport.connects == 1
    assert transport.sleeps == []


def test_close_drops_the_connection_and_a_later_run_reconnects() -> None:
    first = FakeConnection(FakeChannel())
    transport = FakeSsh(first, FakeConnection(FakeChannel()))
    transport.run(["x"])

    transport.close()
    transport.run(["y"])

    assert first.closed
    assert transport.connects == 2


def _write_key(path: Path, passphrase: bytes | None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
        )
    )
    return path


def test_load_private_key_plain_and_encrypted(tmp_path: Path) -> None:
    plain = _write_key(tmp_path / "plain", None)
    locked = _write_key(tmp_path / "locked", b"open sesame")

    assert load_private_key("web1", settings(key=plain)).get_name() == "ssh-ed25519"
    loaded = load_private_key("web1", settings(key=locked, key_passphrase="open sesame"))
    assert loaded.get_name() == "ssh-ed25519"


@pytest.mark.parametrize(
    ("passphrase", "hint"),
    [(None, "no passphrase is configured"), ("wrong guess", "wrong passphrase")],
)
def test_load_private_key_failures_never_show_the_passphrase(
    tmp_path: Path, passphrase: str | None, hint: str
) -> None:
    locked = _write_key(tmp_path / "locked", b"open sesame")

    with pytest.raises(AuthenticationError) as caught:
        load_private_key("web1", settings(key=locked, key_passphrase=passphrase))

    assert hint in str(caught.value)
    assert "open sesame" not in str(caught.value)
    assert "wrong guess" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert not caught.value.transient


def test_load_private_key_missing_or_unconfigured(tmp_path: Path) -> None:
    with pytest.raises(AuthenticationError, match="cannot read key file"):
        load_private_key("web1", settings(key=tmp_path / "absent"))
    with pytest.raises(AuthenticationError, match="no SSH key file"):
        load_private_key("web1", settings(key=None))
