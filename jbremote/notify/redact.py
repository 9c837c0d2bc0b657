"""Keep Apprise URLs (they hold credentials) out of every log line, artifact and error.

Apprise logs on its own: at TRACE level it prints a URL it parses *with* the password
(``JSON URL json://user:secret@host/… unpacked as: password="secret"``), at DEBUG the
request URL with its path token, and urllib3 logs request paths. So every URL is cut into
its secret fragments before Apprise sees it, and a filter on those loggers rewrites each
record with the fragments replaced. The same :func:`redact` cleans error messages.

While a delivery is being attempted, the filter also collects Apprise's warnings for that
thread (they are the only place its failure reasons appear) and keeps them from being
logged twice: the notifier logs one line of its own with the redacted reason.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, unquote

MASK = "***"
# Loggers that may print a URL or parts of it.
LOGGERS = ("apprise", "urllib3.connectionpool")
_MIN_PASSWORD = 3  # shorter passwords would mask ordinary words; such a password is broken anyway
_MIN_FRAGMENT = 6
_HOSTNAME = re.compile(r"^(?=.*\.[A-Za-z]{2,}$)[A-Za-z0-9.-]+$")

_secrets: set[str] = set()
_lock = threading.Lock()
_local = threading.local()


def fragments(url: str) -> set[str]:
    """Given an Apprise URL, return every part of it that may be a secret.

    That is the URL itself, its user info (user and password), a host that is not a DNS
    name or IP address (services put tokens there: ``tgram://BOTTOKEN/chat``), every path
    segment and every query value — each also URL-encoded and decoded.

    >>> sorted(fragments("json://u:pw123@127.0.0.1:8/hook/TOKEN123"))  # doctest: +ELLIPSIS
    ['127.0.0.1:8/hook/TOKEN123', 'TOKEN123', 'json://u:pw123@127.0.0.1:8/hook/TOKEN123', ...]
    """
    found = {url}
    _, sep, rest = url.partition("://")
    if not sep:
        return _variants(found)
    found.add(rest)
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    tail = rest[len(netloc) :]
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        found.add(netloc)
        user, colon, password = userinfo.partition(":")
        if colon and len(password) >= _MIN_PASSWORD:
            found |= {password, userinfo}
        if len(user) >= _MIN_FRAGMENT:
            found.add(user)
    host = re.sub(r":\d+$", "", hostport)
    if host and not is_public_host(host):
        found |= {hostport, host}
    path, _, query = tail.partition("?")
    found |= {segment for segment in re.split(r"[/#]", path) if len(segment) >= _MIN_FRAGMENT}
    for _key, value in parse_qsl(query.split("#")[0], keep_blank_values=False):
        if len(value) >= _MIN_FRAGMENT:
            found.add(value)
    return _variants(found)


def _variants(found: set[str]) -> set[str]:
    out = set()
    for item in found:
        plain = unquote(item)
        out |= {item, plain, quote(plain, safe=""), quote(plain, safe="@:/")}
    return {item for item in out if item}


def is_public_host(host: str) -> bool:
    if host == "localhost" or _HOSTNAME.match(host):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def register(url: str) -> None:
    """Remember ``url``'s secret fragments; from now on they never reach a log line."""
    install()
    with _lock:
        _secrets.update(fragments(url))


def redact(text: str) -> str:
    """Return ``text`` with every registered secret fragment replaced by ``***``."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info or record.exc_text:
            # A traceback may quote the URL; the redacted message is enough.
            record.exc_info, record.exc_text = None, None
        collected: list[str] | None = getattr(_local, "collected", None)
        if collected is not None and record.name == "apprise":
            if record.levelno >= logging.WARNING:
                collected.append(record.msg)
            return False
        return True


_FILTER = _RedactingFilter()


def install() -> None:
    """Put the redacting filter on every logger that may print a URL (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect (redacted) Apprise warnings logged by this thread inside the ``with`` block."""
    install()
    previous = getattr(_local, "collected", None)
    collected: list[str] = []
    _local.collected = collected
    try:
        yield collected
    finally:
        _local.collected = previous
