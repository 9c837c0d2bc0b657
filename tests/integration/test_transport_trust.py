"""SshTransport against a real sshd: host keys, client keys, refused and failed connections."""

from __future__ import annotations

import itertools
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sshd_harness import SshdServer, free_port, stub_command

from jbremote.transport.base import AuthenticationError, ConnectError, HostKeyError
from jbremote.transport.hostkeys import add_known_host, fetch_host_key, fingerprint
from jbremote.transport.pool import ConnectionPool
from jbremote.transport.ssh import SshTransport

pytestmark = pytest.mark.sshd


def connects(server: SshdServer, **overrides: object) -> bool:
    with SshTransport(server.make_settings(**overrides)) as transport:
        return transport.run(["echo", "hello"]).exit_status == 0


def test_unknown_host_is_refused_with_its_fingerprint(
    stub_sshd: SshdServer, tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "known_hosts"

    with pytest.raises(HostKeyError) as caught:
        connects(stub_sshd, known_hosts=missing)

    expected = stub_sshd.host_fingerprint()  # computed by ssh-keygen, not by us
    message = str(caught.value)
    assert f"ssh-ed25519 {expected}" in message
    assert "run: jbremote trust test-server" in message
    assert caught.value.fingerprint == expected
    assert not caught.value.transient
    assert not missing.exists()  # never auto-added
    assert stub_sshd.accepted_logins() == 0


def test_changed_host_key_is_refused_loudly_and_known_hosts_untouched(
    stub_sshd: SshdServer,
) -> None:
    old = stub_sshd.host_fingerprint()
    before = stub_sshd.known_hosts.read_bytes()
    stub_sshd.rotate_host_keys()
    new = stub_sshd.host_fingerprint()

    with pytest.raises(HostKeyError) as caught:
        connects(stub_sshd)

    message = str(caught.value)
    assert "HOST KEY CHANGED" in message
    assert f"expects ssh-ed25519 {old}" in message
    assert f"sent ssh-ed25519 {new}" in message
    assert caught.value.fingerprint == new
    assert stub_sshd.known_hosts.read_bytes() == before
    assert stub_sshd.accepted_logins() == 0


def test_non_standard_port_needs_the_bracketed_known_hosts_name(
    stub_sshd: SshdServer, tmp_path: Path
) -> None:
    entry = stub_sshd.known_hosts.read_text().split(" ", 1)[1]
    assert stub_sshd.known_hosts.read_text().startswith(f"[127.0.0.1]:{stub_sshd.port} ")
    portless = tmp_path / "portless"
    portless.write_text(f"127.0.0.1 {entry}")
    other_port = tmp_path / "other_port"
    other_port.write_text(f"[127.0.0.1]:{stub_sshd.port + 1} {entry}")

    for wrong in (portless, other_port):
        with pytest.raises(HostKeyError, match="unknown host"):
            connects(stub_sshd, known_hosts=wrong)
    assert connects(stub_sshd)


def test_hashed_known_hosts_entries_are_accepted(stub_sshd: SshdServer) -> None:
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", stub_sshd.known_hosts], check=True)
    assert stub_sshd.known_hosts.read_text().startswith("|1|")

    assert connects(stub_sshd)


def test_known_key_type_is_negotiated_when_the_server_has_several(
    sshd_factory: Callable[..., SshdServer], calls_log: Path, tmp_path: Path
) -> None:
    server = sshd_factory(stub_command(calls_log), host_key_types=("ed25519", "rsa"))
    rsa_only = tmp_path / "rsa_only"
    rsa_only.write_text(
        "".join(
            line + "\n" for line in server.known_hosts.read_text().splitlines() if "ssh-rsa" in line
        )
    )

    # Unordered, paramiko would pick ssh-ed25519 and report a changed key.
    assert connects(server, known_hosts=rsa_only)


def test_revoked_host_key_is_refused(stub_sshd: SshdServer) -> None:
    entry = stub_sshd.known_hosts.read_text()
    stub_sshd.known_hosts.write_text(f"@revoked {entry}{entry}")

    with pytest.raises(HostKeyError, match="@revoked"):
        connects(stub_sshd)


def test_wrong_client_key_fails_authentication_without_retrying(stub_sshd: SshdServer) -> None:
    stranger = stub_sshd.add_client_key("stranger", authorize=False)

    with pytest.raises(AuthenticationError) as caught:
        connects(stub_sshd, key=stranger, connect_retries=3)

    assert not caught.value.transient
    assert str(stranger) in str(caught.value)
    assert stub_sshd.log.count("Connection from 127.0.0.1") == 1
    assert stub_sshd.accepted_logins() == 0


def test_rsa_client_key_works(stub_sshd: SshdServer) -> None:
    assert connects(stub_sshd, key=stub_sshd.add_client_key("rsa_key", key_type="rsa"))


def test_encrypted_client_key_uses_the_passphrase_and_never_logs_it(
    stub_sshd: SshdServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "correct horse battery"
    key = stub_sshd.add_client_key("locked", passphrase=secret)
    caplog.set_level(logging.DEBUG)

    assert connects(stub_sshd, key=key, key_passphrase=secret)
    for wrong in (None, "not it"):
        with pytest.raises(AuthenticationError) as caught:
            connects(stub_sshd, key=key, key_passphrase=wrong)
        assert secret not in str(caught.value)
        if wrong:
            assert wrong not in str(caught.value)
    assert secret not in caplog.text
    assert "not it" not in caplog.text


def test_connection_refused_gives_up_after_bounded_backoff(stub_sshd: SshdServer) -> None:
    settings = stub_sshd.make_settings(port=free_port(), connect_retries=2)

    started = time.monotonic()
    with pytest.raises(ConnectError) as caught:
        SshTransport(settings).run(["echo"])
    elapsed = time.monotonic() - started

    assert 1.4 <= elapsed < 3.0  # pauses of 0.5 s and 1 s, then give up
    assert caught.value.transient
    assert not caught.value.maybe_executed
    assert "gave up after 3 attempts" in str(caught.value)


@pytest.fixture
def silent_listener() -> Iterator[tuple[int, list[float]]]:
    """A TCP port that accepts and hangs up at once (no SSH); records each accept's time."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    accepts: list[float] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            accepts.append(time.monotonic())
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepts
    stop.set()
    thread.join()
    server.close()


def test_failed_handshakes_are_retried_with_exponential_backoff(
    stub_sshd: SshdServer, silent_listener: tuple[int, list[float]]
) -> None:
    port, accepts = silent_listener
    settings = stub_sshd.make_settings(port=port, connect_retries=3)

    with pytest.raises(ConnectError, match="handshake"):
        SshTransport(settings, backoff=0.1).run(["echo"])

    assert len(accepts) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(accepts)]
    for gap, pause in zip(gaps, [0.1, 0.2, 0.4], strict=True):
        assert pause <= gap < pause + 1.0  # the pause plus one failed handshake


def test_fetch_and_add_known_host_let_a_new_server_in(
    stub_sshd: SshdServer, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "fresh" / "known_hosts"

    key = fetch_host_key("127.0.0.1", stub_sshd.port, timeout=5)
    assert fingerprint(key) == stub_sshd.host_fingerprint()
    assert add_known_host(known_hosts, "127.0.0.1", stub_sshd.port, key)

    found = subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{stub_sshd.port}", "-f", known_hosts],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert key.get_base64() in found  # OpenSSH itself finds the entry
    assert connects(stub_sshd, known_hosts=known_hosts)


def test_fetch_host_key_from_a_closed_port_raises_connect_error() -> None:
    with pytest.raises(ConnectError):
        fetch_host_key("127.0.0.1", free_port(), timeout=2)


def test_pool_keeps_one_connection_per_server(
    sshd_factory: Callable[..., SshdServer], tmp_path: Path
) -> None:
    servers = {
        name: sshd_factory(stub_command(tmp_path / f"{name}.jsonl"), name=name)
        for name in ("web1", "web2")
    }

    with ConnectionPool(lambda name: servers[name].make_settings()) as pool:
        for _ in range(3):
            for name in servers:
                assert pool.get(name).run(["echo", name]).exit_status == 0
        assert pool.get("web1") is pool.get("web1")

    assert [server.accepted_logins() for server in servers.values()] == [1, 1]


def test_client_key_file_missing_is_an_authentication_error(
    stub_sshd: SshdServer, tmp_path: Path
) -> None:
    with pytest.raises(AuthenticationError, match="cannot read key file"):
        connects(stub_sshd, key=tmp_path / "absent")
    assert stub_sshd.log.count("Connection from 127.0.0.1") == 0
