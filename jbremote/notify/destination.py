"""The configured Apprise URLs, resolved from their references and labelled for display.

A :class:`Destination` holds the real URL privately; everything that is shown (logs, the
cycle artifact, ``jbremote notify test``) uses its :attr:`~Destination.label`, built only
from the parts of the URL that are not secret: ``url #1 (mailto://…@mail.example.net)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jbremote.config.models import Event, Notifications, NotifyUrl
from jbremote.config.secrets import SecretError, resolve_secret
from jbremote.notify import redact


@dataclass(frozen=True)
class Destination:
    """One configured URL. ``error`` is set (and ``url`` empty) when it cannot be used."""

    index: int
    label: str
    events: frozenset[Event] | None  # None: every switched-on event
    url: str = field(default="", repr=False)
    error: str = ""

    def __str__(self) -> str:
        return self.label


def label_for(index: int, url: str) -> str:
    """Return ``url #N (schema://…@host)``, naming the host only when it is not a secret.

    >>> label_for(1, "mailtos://me:pw@mail.example.net?to=ops@example.net")
    'url #1 (mailtos://…@mail.example.net)'
    >>> label_for(2, "tgram://123456:AAbbCC/42")
    'url #2 (tgram://…)'
    """
    name = f"url #{index}"
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)", url)
    if not match:
        return name
    schema, netloc = match.groups()
    host = netloc.rpartition("@")[2]
    host = re.sub(r":\d+$", "", host)
    public = host and redact.is_public_host(host) and redact.redact(host) == host
    shown = f"{schema}://…@{host}" if public else f"{schema}://…"
    return f"{name} ({shown})"


def resolve(notifications: Notifications) -> list[Destination]:
    """Given the notifications config, return one :class:`Destination` per URL, in order.

    A reference that cannot be resolved gives a destination with ``error`` set instead of
    raising: one broken URL must not silence the others.
    """
    return [_resolve_one(i, spec) for i, spec in enumerate(notifications.urls, 1)]


def _resolve_one(index: int, spec: NotifyUrl) -> Destination:
    events = frozenset(spec.events) if spec.events is not None else None
    try:
        url = resolve_secret(spec.url).strip()
    except SecretError as exc:
        # The reference (env:NAME) is not secret; the message names it, never a value.
        return Destination(index, f"url #{index}", events, error=f"{spec.url}: {exc}")
    redact.register(url)
    return Destination(index, label_for(index, url), events, url=url)
