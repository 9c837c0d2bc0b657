"""The SSH transport: runs argument lists on one server over one reused connection.

Guarantees, in the order a call meets them:

* One SSH connection per server, opened lazily and shared by every call and thread (each call
  is its own channel on it). At most ``max_sessions`` channels are open at once, below
  OpenSSH's default ``MaxSessions 10``.
* The server must present a key from the configured known_hosts file (see
  :mod:`jbremote.transport.hostkeys`); only the configured key file authenticates us.
* Connecting is retried with exponential backoff on :class:`ConnectError` only.
* A dead connection is replaced transparently, but only while nothing of the command has been
  sent. Once the exec request is out, any failure raises with ``maybe_executed=True`` and the
  command is never sent again: the caller checks the server's state instead (a repeated
  "start backup" is not harmless).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

import paramiko
from paramiko.pkey import UnknownKeyType
from paramiko.ssh_exception import IncompatiblePeer

from jbremote.transport import hostkeys
from jbremote.transport.base import (
    AuthenticationError,
    CommandResult,
    CommandTimeoutError,
    ConnectError,
    HostKeyError,
    TransportError,
    command_line,
)
from jbremote.transport.settings import SshSettings

log = logging.getLogger(__name__)

_CHUNK = 32 * 1024
# Blocked reads wake this often to check the call's deadline.
_POLL_SECONDS = 0.2
# Failures of a connection that mean "it is gone", as opposed to a refused request.
_CONNECTION_ERRORS = (paramiko.SSHException, EOFError, OSError)


def backoff_delays(retries: int, base: float = 0.5) -> list[float]:
    """Return the pauses before each connect retry: ``base``, doubled each time.

    >>> backoff_delays(3)
    [0.5, 1.0, 2.0]
    """
    return [base * 2**attempt for attempt in range(max(retries, 0))]


def load_private_key(server: str, settings: SshSettings) -> paramiko.PKey:
    """Return the private key ``settings.key``, decrypted with ``settings.key_passphrase``.

    Raise :class:`AuthenticationError` if there is no key or it cannot be read or decrypted.
    The passphrase appears neither in the message nor in the error's traceback: it is never
    bound to a local name here, and the library's exception (whose frames hold it) is dropped.
    """
    if settings.key is None:
        raise AuthenticationError(server, "no SSH key file is configured")
    problem = ""
    try:
        # paramiko 5 hands the password to `cryptography`, which needs bytes (the stub says str).
        return paramiko.PKey.from_path(settings.key, password=_password(settings))  # type: ignore[arg-type]
    except OSError as exc:
        problem = f"cannot read key file {settings.key}: {exc.strerror or exc}"
    except (TypeError, ValueError, paramiko.SSHException, UnknownKeyType):
        problem = f"cannot load key file {settings.key}: " + (
            "encrypted but no passphrase is configured, or not a private key"
            if settings.key_passphrase is None
            else "wrong passphrase, or not a supported private key"
        )
    # Raised outside the except blocks so the error carries no __context__.
    raise AuthenticationError(server, problem)


def _password(settings: SshSettings) -> bytes | None:
    return None if settings.key_passphrase is None else settings.key_passphrase.encode()


class _CappedBuffer:
    """Keeps the first ``limit`` bytes fed to it and counts the rest as truncated."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self.truncated = False

    def feed(self, data: bytes) -> None:
        room = self._limit - self._size
        if len(data) > room:
            self.truncated = True
            data = data[: max(room, 0)]
        if data:
            self._parts.append(data)
            self._size += len(data)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


def _drain(recv: Callable[[int], bytes], sink: _CappedBuffer, deadline: float) -> bool:
    """Feed ``recv`` into ``sink`` until end of stream (``True``) or ``deadline`` (``False``)."""
    while time.monotonic() < deadline:
        try:
            data = recv(_CHUNK)
        except TimeoutError:  # the channel's poll timeout, not the call's deadline
            continue
        except _CONNECTION_ERRORS:  # acknowledging data failed: the connection is gone
            return True
        if not data:
            return True
        sink.feed(data)
    return False


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class SshTransport:
    """Runs argument lists on the server described by an :class:`SshSettings`.

    Thread-safe. ``close()`` drops the connection; a later ``run`` opens a new one.
    """

    def __init__(
        self,
        settings: SshSettings,
        *,
        max_sessions: int = 8,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self._backoff = backoff
        self._sleep = sleep
        self._lock = threading.Lock()  # guards connecting and replacing `_conn`
        self._conn: paramiko.Transport | None = None
        self._key: paramiko.PKey | None = None
        self._sessions = threading.BoundedSemaphore(max_sessions)

    def __repr__(self) -> str:
        return f"SshTransport({self.settings!r})"

    def __enter__(self) -> SshTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        """Run ``argv`` on the server and return its exit status and (capped) output.

        ``timeout`` (default ``settings.command_timeout``) bounds the wait for a free session
        and for the command. Raise :class:`ConnectError`, :class:`AuthenticationError` or
        :class:`HostKeyError` when no connection can be made (nothing was sent), and
        :class:`CommandTimeoutError` or :class:`TransportError` with ``maybe_executed=True``
        when the command was sent but its result could not be read.
        """
        command = command_line(argv)
        limit = self.settings.command_timeout if timeout is None else timeout
        if not self._sessions.acquire(timeout=limit):
            raise CommandTimeoutError(self.name, f"no free SSH session within {limit:g}s")
        try:
            channel = self._open_channel(time.monotonic() + limit)
            try:
                return self._execute(channel, command, argv[0], limit)
            finally:
                channel.close()
        finally:
            self._sessions.release()

    def close(self) -> None:
        """Close the connection, if any. Calls still running on it fail."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _open_channel(self, deadline: float) -> paramiko.Channel:
        # Safe to retry: no part of the command has been sent yet. A refused session is asked
        # for again until `deadline`; a dead connection is replaced once (a fresh one failing
        # is an error).
        pause = 0.05
        while True:
            conn, fresh = self._connection()
            asked = time.monotonic()
            try:
                return conn.open_session(timeout=self.settings.connect_timeout)
            except _CONNECTION_ERRORS as exc:
                if self._refused(conn, asked):
                    if time.monotonic() + pause >= deadline:
                        text = exc.text if isinstance(exc, paramiko.ChannelException) else exc
                        raise TransportError(
                            self.name, f"the server refused a new session: {text}"
                        ) from exc
                    self._sleep(pause)
                    pause = min(pause * 2, 1.0)
                    continue
                self._discard(conn)
                if fresh:
                    raise ConnectError(
                        self.name, f"cannot open a session: {_describe(exc)}"
                    ) from exc
                log.info("%s: connection lost (%s); reconnecting", self.name, _describe(exc))

    def _refused(self, conn: paramiko.Transport, asked: float) -> bool:
        # A live connection that answered before the open timeout said "no": MaxSessions is
        # reached, often only because sshd frees a finished session a moment after we do.
        # The exception type cannot tell: paramiko keeps the reason in one per-connection slot
        # that a concurrent failure may take, leaving a bare SSHException here.
        return conn.is_active() and time.monotonic() - asked < self.settings.connect_timeout

    def _connection(self) -> tuple[paramiko.Transport, bool]:
        """Return the live connection and whether this call just opened it."""
        with self._lock:
            conn = self._conn
            if conn is not None and conn.is_active():
                return conn, False
            if conn is not None:
                log.info("%s: connection closed by the peer; reconnecting", self.name)
                conn.close()
                self._conn = None
            self._conn = self._connect_with_retries()
            return self._conn, True

    def _discard(self, conn: paramiko.Transport) -> None:
        with self._lock:
            if self._conn is conn:  # another thread may already have replaced it
                self._conn = None
        conn.close()

    def _connect_with_retries(self) -> paramiko.Transport:
        delays = backoff_delays(self.settings.connect_retries, self._backoff)
        for attempt in range(len(delays) + 1):
            try:
                return self._connect()
            except ConnectError as exc:
                if not exc.transient:
                    raise
                if attempt == len(delays):
                    raise ConnectError(
                        self.name, f"{exc.reason} (gave up after {attempt + 1} attempts)"
                    ) from exc
                log.warning(
                    "%s: %s; retry %d of %d in %gs",
                    self.name,
                    exc.reason,
                    attempt + 1,
                    len(delays),
                    delays[attempt],
                )
                self._sleep(delays[attempt])
        raise AssertionError("unreachable")

    def _connect(self) -> paramiko.Transport:
        """Open, verify and authenticate one SSH connection. Raise a TransportError."""
        s = self.settings
        if self._key is None:
            self._key = load_private_key(self.name, s)
        try:
            known_hosts = hostkeys.KnownHosts.load(s.known_hosts)
        except OSError as exc:
            raise HostKeyError(
                self.name, f"cannot read {s.known_hosts}: {exc.strerror or exc}"
            ) from exc
        try:
            sock = socket.create_connection((s.host, s.port), timeout=s.connect_timeout)
        except OSError as exc:
            raise ConnectError(
                self.name, f"cannot connect to {s.host}:{s.port}: {exc.strerror or exc}"
            ) from exc
        # Each call is a few small request/reply packets; Nagle + delayed ACK would add ~40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = paramiko.Transport(sock)
        try:
            conn.banner_timeout = conn.handshake_timeout = conn.auth_timeout = s.connect_timeout
            options = conn.get_security_options()
            options.key_types = hostkeys.host_key_algorithms(
                known_hosts.trusted(s.host, s.port), options.key_types
            )
            known_hosts.verify(self.name, s.host, s.port, self._handshake(conn))
            self._authenticate(conn, self._key)
            if s.keepalive > 0:
                conn.set_keepalive(max(1, round(s.keepalive)))
        except BaseException:
            conn.close()
            raise
        log.info("%s: connected to %s:%d as %s", self.name, s.host, s.port, s.user)
        return conn

    def _handshake(self, conn: paramiko.Transport) -> paramiko.PKey:
        where = f"{self.settings.host}:{self.settings.port}"
        try:
            conn.start_client(timeout=self.settings.connect_timeout)
            # start_client returns silently when its timeout expires; this raises then.
            return conn.get_remote_server_key()
        except IncompatiblePeer as exc:
            error = ConnectError(self.name, f"no common SSH algorithms with {where}: {exc}")
            error.transient = False
            raise error from exc
        except _CONNECTION_ERRORS as exc:
            raise ConnectError(
                self.name, f"SSH handshake with {where} failed: {_describe(exc)}"
            ) from exc

    def _authenticate(self, conn: paramiko.Transport, key: paramiko.PKey) -> None:
        s = self.settings
        try:
            remaining = conn.auth_publickey(s.user, key)
        except paramiko.AuthenticationException as exc:
            raise AuthenticationError(
                self.name, f"the server refused key {s.key} for user {s.user!r}"
            ) from exc
        except _CONNECTION_ERRORS as exc:
            raise ConnectError(
                self.name, f"connection lost during authentication: {_describe(exc)}"
            ) from exc
        if not conn.is_authenticated():
            raise AuthenticationError(
                self.name, f"the server wants more than a key: {', '.join(remaining)}"
            )

    def _execute(
        self, channel: paramiko.Channel, command: str, program: str, limit: float
    ) -> CommandResult:
        # Messages and logs name only the program: arguments might one day carry a secret.
        started = time.monotonic()
        deadline = started + limit
        try:
            channel.exec_command(command)
        except _CONNECTION_ERRORS as exc:
            # The request may have reached the server before the failure.
            raise TransportError(
                self.name,
                f"connection failed while starting {program}: {_describe(exc)}",
                maybe_executed=True,
            ) from exc
        stdout = _CappedBuffer(self.settings.max_output_bytes)
        stderr = _CappedBuffer(self.settings.max_output_bytes)
        channel.settimeout(_POLL_SECONDS)
        # stderr is read on its own thread so a chatty stderr never stalls stdout or vice
        # versa (both share the channel's flow-control window).
        stderr_done: list[bool] = []
        pump = threading.Thread(
            target=lambda: stderr_done.append(_drain(channel.recv_stderr, stderr, deadline)),
            name=f"ssh-stderr-{self.name}",
            daemon=True,
        )
        pump.start()
        finished = _drain(channel.recv, stdout, deadline)
        pump.join(max(deadline - time.monotonic(), 0) + _POLL_SECONDS)
        finished = finished and stderr_done == [True]
        finished = finished and channel.status_event.wait(max(deadline - time.monotonic(), 0))
        if not finished:
            channel.close()
            pump.join()
            raise CommandTimeoutError(
                self.name,
                f"{program} did not finish within {limit:g}s; channel closed, "
                "the command may still be running",
                maybe_executed=True,
            )
        self._check_completed(channel, program)
        result = CommandResult(
            exit_status=channel.exit_status,
            stdout=stdout.getvalue(),
            stderr=stderr.getvalue(),
            duration=time.monotonic() - started,
            truncated=stdout.truncated or stderr.truncated,
        )
        log.debug(
            "%s: %s exited %d after %.2fs", self.name, program, result.exit_status, result.duration
        )
        return result

    def _check_completed(self, channel: paramiko.Channel, program: str) -> None:
        # paramiko leaves exit_status at -1 until an exit-status message arrives (real ones are
        # unsigned); the status event also fires when the channel or connection closes. sshd
        # always sends EOF before closing a channel, so a missing EOF means a lost connection.
        if channel.exit_status >= 0 and channel.eof_received:
            return
        if not channel.eof_received:
            reason = f"connection lost while {program} was running"
        else:
            reason = f"{program} ended without an exit status (killed by a signal?)"
        raise TransportError(self.name, reason, maybe_executed=True)
