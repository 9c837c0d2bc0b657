"""Secrets only by reference: ``env:NAME`` or ``prefect-secret:BLOCK``.

A config file never holds a secret itself. A :class:`SecretRef` keeps the reference; the
value is resolved at the moment it is used and is never part of a repr, log line or artifact.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any

from pydantic import AfterValidator

REF_PATTERN = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|prefect-secret:[a-z0-9-]{1,128})$")


class SecretError(Exception):
    """A secret reference could not be resolved."""


def _check_reference(value: str) -> str:
    if not REF_PATTERN.match(value):
        # Do not echo the value: it may be the secret someone pasted inline.
        raise ValueError(
            "must be a reference like env:NAME or prefect-secret:block-name, not the secret itself"
        )
    return value


SecretRef = Annotated[str, AfterValidator(_check_reference)]


def resolve_secret(ref: str) -> str:
    """Given a reference, return the secret it points to. Raise :class:`SecretError`.

    ``prefect-secret:`` imports Prefect lazily so commands that never resolve such a
    reference stay fast.
    """
    kind, _, name = ref.partition(":")
    if kind == "env":
        try:
            value = os.environ[name]
        except KeyError:
            raise SecretError(f"environment variable {name} is not set") from None
        if not value:
            raise SecretError(f"environment variable {name} is empty")
        return value
    if kind == "prefect-secret":
        try:
            from prefect.blocks.system import Secret

            block: Any = Secret.load(name)
            return str(block.get())
        except Exception as exc:
            raise SecretError(
                f"Prefect Secret block {name!r} could not be loaded: {type(exc).__name__}"
            ) from None
    raise SecretError(f"unknown secret reference kind {kind!r}")
