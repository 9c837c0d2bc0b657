"""An in-process SSH server (paramiko) that answers exec requests through a handler.

It stands in for sshd in the demo and in fast tests: no root, no sshd binary. Public-key
authentication only; ``session`` channels with ``exec`` only (no shell, pty, env, forwarding).
``keepalive@openssh.com`` global requests are refused, as OpenSSH's sshd does — a refusal is
still an answer, which is all a client's keepalive needs. One thread per TCP connection runs that
connection's commands in order.

The handler gets the command line and an ``SSH_CONNECTION``-style id
(``"client_ip client_port server_ip server_port"``) and returns (stdout, stderr, exit status).
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from collections.abc import Callable, Sequence

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)

Handler = Callable[[str, str], tuple[bytes, bytes, int]]
# Exec requests waiting for a connection's thread; None wakes the thread to notice a drop.
_Pending = queue.Queue[tuple[paramiko.Channel, str] | None]
_POLL = 0.2  # seconds between checks of the stop flag in blocking loops


class _Interface(paramiko.ServerInterface):
    def __init__(self, owner: SimSshServer, pending: _Pending) -> None:
        self.owner = owner
        self.pending = pending

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        user_ok = self.owner.user is None or username == self.owner.user
        if user_ok and any(key == k for k in self.owner.authorized_keys):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        # Runs in paramiko's transport thread: only queue the work, the connection thread runs it.
        self.pending.put((channel, command.decode("utf-8", "replace")))
        return True

    def check_global_request(
        self, kind: str, msg: paramiko.Message
    ) -> bool | tuple[bool | int | str, ...]:
        if kind == "keepalive@openssh.com":
            self.owner._count("keepalives")
        return False


class SimSshServer:
    """A loopback SSH server for simulated JetBackup servers.

    ``start()`` binds (``port=0`` picks a free port, kept across ``stop()``/``start()`` so a
    client can reconnect to a restarted server) and accepts in a background thread.
    Counters: ``connections_accepted`` (TCP connections), ``exec_calls``, ``keepalives``.
    """

    def __init__(
        self,
        handler: Handler,
        host_key: paramiko.PKey,
        authorized_keys: Sequence[paramiko.PKey],
        host: str = "127.0.0.1",
        port: int = 0,
        user: str | None = None,
    ) -> None:
        self.handler = handler
        self.host_key = host_key
        self.authorized_keys = list(authorized_keys)
        self.host = host
        self.user = user
        self._port = port
        self.connections_accepted = 0
        self.exec_calls = 0
        self.keepalives = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._connections: dict[paramiko.Transport, _Pending] = {}

    @property
    def port(self) -> int:
        return self._port

    def _count(self, counter: str) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)

    def start(self) -> None:
        """Bind and start accepting. Raise OSError if the address is taken."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self._port))
        listener.listen(64)
        listener.settimeout(_POLL)
        self._port = listener.getsockname()[1]
        self._listener = listener
        self._stopping.clear()
        self._spawn(self._accept_loop, listener)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._count("connections_accepted")
            self._spawn(self._serve, sock)

    def _serve(self, sock: socket.socket) -> None:
        client, server = sock.getpeername(), sock.getsockname()
        connection_id = f"{client[0]} {client[1]} {server[0]} {server[1]}"
        transport = paramiko.Transport(sock)
        transport.add_server_key(self.host_key)
        pending: _Pending = queue.Queue()
        with self._lock:
            self._connections[transport] = pending
        try:
            transport.start_server(server=_Interface(self, pending))
            while transport.is_active() and not self._stopping.is_set():
                try:
                    request = pending.get(timeout=_POLL)
                except queue.Empty:
                    continue
                if request is not None:
                    self._run(*request, connection_id)
        except (paramiko.SSHException, OSError, EOFError):
            pass  # the client went away or the handshake failed: nothing to answer
        finally:
            transport.close()
            with self._lock:
                self._connections.pop(transport, None)

    def _run(self, channel: paramiko.Channel, command: str, connection_id: str) -> None:
        self._count("exec_calls")
        try:
            stdout, stderr, status = self.handler(command, connection_id)
        except Exception as exc:  # a handler bug must not kill the connection thread
            stdout, stderr, status = b"", f"simulator error: {exc!r}\n".encode(), 255
        try:
            if stdout:
                channel.sendall(stdout)
            if stderr:
                channel.sendall_stderr(stderr)
            channel.send_exit_status(status)
            channel.shutdown_write()
            channel.close()
        except (paramiko.SSHException, OSError, EOFError):
            pass  # dropped mid-answer: the client sees a broken connection, as with sshd

    def drop_connections(self) -> int:
        """Close every live connection at once, as a network cut would. Return how many."""
        with self._lock:
            connections = list(self._connections.items())
        for transport, pending in connections:
            transport.close()
            pending.put(None)
        return len(connections)

    def stop(self) -> None:
        """Stop accepting, drop every connection and wait for the threads to end."""
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() on Linux
            self._listener.close()
            self._listener = None
        self.drop_connections()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def __enter__(self) -> SimSshServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
