"""Destination functions: get, list, enable/disable (docs.jetbackup.com v5.3 Destinations)."""

from __future__ import annotations

from typing import Any

from jbremote.jetbackup.call import Call, parse_list, parse_message, parse_object
from jbremote.jetbackup.command import validate_id
from jbremote.jetbackup.models import Destination


def get_destination(destination_id: str) -> Call[Destination]:
    """``getDestination _id=…``."""
    return Call(
        "getDestination",
        (("_id", validate_id(destination_id, "destination id")),),
        parse_object(Destination),
    )


def list_destinations(limit: int = 1000) -> Call[list[Destination]]:
    """``listDestinations``: ``data.destinations``."""
    return Call("listDestinations", (("limit", limit),), parse_list(Destination, "destinations"))


def set_destination_state(destination_id: str, disabled: bool) -> Call[Any]:
    """``manageDestinationState _id=… disabled=0|1``.

    Not in the documented v5.3 function list; reported working in production by
    jetbackup-remote (docs/jetbackup-quirks.md#destination-state).
    """
    return Call(
        "manageDestinationState",
        (("_id", validate_id(destination_id, "destination id")), ("disabled", disabled)),
        parse_message,
        mutating=True,
    )
