"""Destination functions: listDestinations, getDestination, manageDestination(State).

``manageDestinationState`` (``_id``, ``disabled``) is not in the documented v5.3 function list
but jetbackup-remote reports it working; the documented way is ``manageDestination
action=modify`` with ``disabled``. The simulator accepts both.
"""

from __future__ import annotations

from jbremote.sim.functions.base import ApiError, Call, Reply, boolean, page, required
from jbremote.sim.state import Destination
from jbremote.sim.views import destination_object


def _destination(call: Call) -> Destination:
    dest = call.server.destination(required(call, "_id"))
    if dest is None:
        raise ApiError("Destination not found")
    return dest


def list_destinations(call: Call) -> Reply:
    objects = [destination_object(call.server, d, call.now) for d in call.server.destinations]
    dests, total = page(call, objects)
    return Reply({"destinations": dests, "total": total})


def get_destination(call: Call) -> Reply:
    return Reply(destination_object(call.server, _destination(call), call.now))


def manage_destination(call: Call) -> Reply:
    if required(call, "action") != "modify":
        raise ApiError("The simulator supports only action=modify")
    dest = _destination(call)
    disabled = boolean(call, "disabled")
    if disabled is not None:
        dest.disabled = disabled
    dest.name = call.params.get("name") or dest.name
    return Reply(destination_object(call.server, dest, call.now))


def manage_destination_state(call: Call) -> Reply:
    dest = _destination(call)
    disabled = boolean(call, "disabled")
    if disabled is None:
        raise ApiError("No disabled provided")
    dest.disabled = disabled
    return Reply(destination_object(call.server, dest, call.now))
