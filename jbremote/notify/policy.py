"""Which events are switched on, and which URL gets which alert.

Rules (docs/alerts.md): every event is on by default except ``job_completed`` (successes are
in the cycle summary). ``notifications.events`` switches an event on or off for every URL.
A URL with an ``events`` list gets only those; listing an event there also turns on an
event that is off only *by default* — an explicit ``false`` in ``notifications.events``
always wins.
"""

from __future__ import annotations

from collections.abc import Iterable

from jbremote.config.models import Event, Notifications
from jbremote.notify.destination import Destination

DEFAULT_OFF = frozenset({Event.JOB_COMPLETED})


def switched_on(notifications: Notifications, event: Event) -> bool | None:
    """Return the global switch for ``event``: True/False when set in the config, else None."""
    return notifications.events.get(event)


def accepts(
    notifications: Notifications, destination: Destination, events: Iterable[Event]
) -> bool:
    """Return whether ``destination`` should get an alert that stands for any of ``events``.

    An alert can stand for more than one event: a job that overran its timeout and then
    failed is reported once, as ``job_failed``, and also reaches URLs that only follow
    ``job_overran``.
    """
    return any(_accepts_one(notifications, destination, event) for event in events)


def _accepts_one(notifications: Notifications, destination: Destination, event: Event) -> bool:
    switch = switched_on(notifications, event)
    if switch is False:
        return False
    if destination.events is not None:
        return event in destination.events
    return switch if switch is not None else event not in DEFAULT_OFF


def enabled_events(
    notifications: Notifications, destinations: Iterable[Destination]
) -> list[Event]:
    """Return the events at least one destination would get, in the order of :class:`Event`."""
    targets = list(destinations)
    return [e for e in Event if any(_accepts_one(notifications, d, e) for d in targets)]
