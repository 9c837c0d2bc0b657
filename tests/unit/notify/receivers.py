"""Real alert receivers on 127.0.0.1 for tests: an SMTP server and a JSON webhook.

``MailReceiver`` is aiosmtpd with AUTH over plain SMTP (so a ``mailto://user:pass@…`` URL
really logs in); ``JsonReceiver`` is a stdlib HTTP server thread that keeps every POST.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A port nothing listens on: connections are refused at once."""
    return free_port()


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


class JsonReceiver:
    """Collects POSTed JSON bodies: ``posts`` is a list of (path, headers, body)."""

    def __init__(self, status: int = 200) -> None:
        self.posts: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                receiver.posts.append((self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.status = status
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/alerts", user: str = "", password: str = "", **query: str) -> str:
        auth = f"{user}:{password}@" if user else ""
        qs = f"?{urlencode(query)}" if query else ""
        return f"json://{auth}127.0.0.1:{self.port}{path}{qs}"

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, _, body in self.posts]

    def __enter__(self) -> JsonReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Collect:
    def __init__(self, receiver: MailReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self.receiver.raw.append(raw.decode("utf-8", errors="replace"))
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.receiver.messages.append(message)
        return "250 OK"


class MailReceiver:
    """An SMTP server that requires ``user``/``password`` and keeps every message."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.messages: list[EmailMessage] = []
        self.raw: list[str] = []
        self.logins: list[bool] = []
        self.port = free_port()
        self.controller = Controller(
            _Collect(self),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        self.logins.append(ok)
        return AuthResult(success=ok)

    def url(self, to: str = "ops@example.net", **query: str) -> str:
        qs = urlencode({"to": to, "from": "jbremote@example.net", **query})
        return f"mailto://{self.user}:{self.password}@127.0.0.1:{self.port}?{qs}"

    def texts(self) -> list[str]:
        """The text/plain part of each message."""
        out = []
        for message in self.messages:
            part = message.get_body(preferencelist=("plain",))
            out.append(part.get_content() if part is not None else "")
        return out

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def __enter__(self) -> MailReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
