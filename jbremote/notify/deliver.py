"""Hand one alert to one Apprise URL, once; the only module that talks to Apprise.

Each URL is its own :class:`apprise.Apprise` object, so a result belongs to exactly one
destination. Services whose native format is Markdown get the Markdown body; all others
get plain text (Apprise escapes it into HTML for mail), so remote text can never become
markup in a mail.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import apprise

from jbremote.notify import redact
from jbremote.notify.alert import Alert
from jbremote.notify.destination import Destination

MAX_THROTTLE = 1.0  # seconds between two messages to one URL

_ASSET = apprise.AppriseAsset(
    app_id="jbremote",
    app_desc="jbremote backup alerts",
    # Send in the calling thread: each URL has its own worker thread already, and
    # redact.collecting() relies on Apprise logging from that thread.
    async_mode=False,
)


@dataclass(frozen=True)
class Delivery:
    """The outcome of one alert for one URL (shown by ``jbremote notify test`` and the
    cycle's alerts artifact). ``destination`` is a redacted label, never the URL."""

    event: str
    destination: str
    ok: bool
    error: str = ""
    subject: str = ""
    title: str = ""
    attempts: int = 0
    sent: bool = True  # False: a dry run that only says what it would send

    @property
    def outcome(self) -> str:
        if not self.sent:
            return "would send" if self.ok else f"would fail: {self.error}"
        if self.ok:
            return "sent" if self.attempts <= 1 else f"sent (attempt {self.attempts})"
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"failed{tries}: {self.error}"


Sender = Callable[[Alert, Destination], str]
"""Send an alert to a destination once; return "" on success, else the (redacted) reason."""


class Transport:
    """Apprise objects per destination, built once (building one parses the URL)."""

    def __init__(self) -> None:
        # index -> (Apprise object or None, the service speaks Markdown, why unusable)
        self._apprise: dict[int, tuple[Any, bool, str]] = {}
        self._lock = threading.Lock()

    def check(self, destination: Destination) -> str:
        """Return why ``destination`` cannot be used ("" when it can)."""
        if destination.error:
            return destination.error
        return self._load(destination)[2]

    def send(self, alert: Alert, destination: Destination) -> str:
        """Send ``alert`` once. Return "" on success, else a redacted reason. Never raises."""
        problem = self.check(destination)
        if problem:
            return problem
        instance, markdown, _ = self._load(destination)
        with redact.collecting() as warnings:
            try:
                ok = instance.notify(
                    body=alert.markdown if markdown else alert.text,
                    title=alert.title,
                    notify_type=apprise.NotifyType(alert.level.value),
                    body_format=apprise.NotifyFormat.MARKDOWN
                    if markdown
                    else apprise.NotifyFormat.TEXT,
                )
            except Exception as exc:  # a plugin bug must not reach the backups
                return redact.redact(f"{type(exc).__name__}: {exc}")
        if ok:
            return ""
        return redact.redact(" ".join(warnings)) or "the service did not accept the alert"

    def _load(self, destination: Destination) -> tuple[Any, bool, str]:
        with self._lock:
            loaded = self._apprise.get(destination.index)
            if loaded is None:
                loaded = self._apprise[destination.index] = _instantiate(destination.url)
            return loaded


def _instantiate(url: str) -> tuple[Any, bool, str]:
    with redact.collecting() as warnings:
        try:
            plugin = apprise.Apprise.instantiate(url, asset=_ASSET)
        except Exception as exc:
            warnings.append(f"{type(exc).__name__}: {exc}")
            plugin = None
    if plugin is None:
        reason = redact.redact(" ".join(warnings)) or "not a URL Apprise knows"
        return None, False, f"Apprise could not load this URL: {reason}"
    # Apprise waits 5.5 s between two messages to one service unless the plugin says
    # otherwise; a cycle sends a handful, and that wait would only hold up the cycle's end.
    # One second still respects the usual chat limits (about one message a second).
    plugin.request_rate_per_sec = min(plugin.request_rate_per_sec, MAX_THROTTLE)
    instance = apprise.Apprise(asset=_ASSET)
    instance.add(plugin)
    return instance, plugin.notify_format == apprise.NotifyFormat.MARKDOWN, ""
