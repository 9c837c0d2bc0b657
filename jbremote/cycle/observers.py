"""Listeners for the job events of cycles running in this process.

The flow publishes every :class:`~jbremote.lifecycle.events.JobEvent` here; the CLI's live
progress and the alerting subscribe. Listener errors are contained: an observer can never
break a backup.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from jbremote.lifecycle.events import JobEvent

Listener = Callable[[JobEvent], None]

_listeners: list[Listener] = []
_lock = threading.Lock()
_log = logging.getLogger(__name__)


def subscribe(listener: Listener) -> Callable[[], None]:
    """Add ``listener``; return a function that removes it again."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def publish(event: JobEvent) -> None:
    """Give ``event`` to every listener; a failing listener is logged and skipped."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception:
            _log.exception("event listener %r failed", listener)
