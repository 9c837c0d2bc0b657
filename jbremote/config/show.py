"""The effective config (``jbremote config show``): every default filled in, no secret shown.

A config never holds secrets — only references such as ``env:NAME`` — and references stay
references here: nothing is resolved. URL credentials someone put where no reference is
required (``notifications.ui_url``) are masked all the same.
"""

from __future__ import annotations

import re
from typing import Any

from jbremote.config.models import Config, ssh_settings

_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@:]*)(?::[^/@]*)?@")
MASK = "***"


def redact_url(value: str) -> str:
    """Return ``value`` with the password of a ``scheme://user:password@`` URL masked.

    >>> redact_url("https://admin:hunter2@ui.example.net/")
    'https://admin:***@ui.example.net/'
    """
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", value)


def effective_config(config: Config) -> dict[str, Any]:
    """Return the config as plain data with defaults applied, servers' SSH defaults included.

    Each server shows the key, known_hosts file and timeouts it really uses (from
    ``ssh_defaults`` unless it sets its own); references are shown as written.
    """
    data = config.model_dump(mode="json")
    for name, server in data["servers"].items():
        settings = ssh_settings(config, name)
        server["key"] = str(settings.key) if settings.key else None
        server["known_hosts"] = str(settings.known_hosts)
        server["connect_timeout"] = settings.connect_timeout
        server["command_timeout"] = settings.command_timeout
    ui_url = data["notifications"].get("ui_url")
    if isinstance(ui_url, str):
        data["notifications"]["ui_url"] = redact_url(ui_url)
    return data
