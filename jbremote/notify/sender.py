"""One sender thread per URL: in order, bounded retries, a deadline from the notifier.

After an alert failed every attempt, the next alerts get one attempt each until one goes
through (:class:`Sender` keeps that state per URL).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from jbremote.config.models import Notifications
from jbremote.notify import redact
from jbremote.notify.alert import Alert
from jbremote.notify.deliver import Delivery, Transport
from jbremote.notify.destination import Destination

Logger = logging.Logger | logging.LoggerAdapter  # type: ignore[type-arg]


def delivery_of(
    alert: Alert, destination: Destination, error: str, attempts: int, sent: bool = True
) -> Delivery:
    return Delivery(
        event=alert.event.value,
        destination=destination.label,
        ok=not error,
        error=error,
        subject=alert.subject,
        title=alert.title,
        attempts=attempts,
        sent=sent,
    )


class Sender(threading.Thread):
    """Sends the alerts of one URL, in order, with bounded retries; ``record`` gets each
    :class:`Delivery`. Runs in ``context`` (a copy of the notifier's context variables)."""

    def __init__(
        self,
        destination: Destination,
        transport: Transport,
        settings: Notifications,
        log: Logger,
        record: Callable[[Delivery], None],
        context: contextvars.Context,
    ) -> None:
        super().__init__(daemon=True, name=f"jbremote-alerts-{destination.index}")
        self.destination = destination
        self.transport = transport
        self.settings = settings
        self.log = log
        self.record = record
        self.context = context
        self.cond = threading.Condition()
        self.pending: deque[Alert] = deque()
        self.current: Alert | None = None
        self.deadline: float | None = None
        self.abandoned = False
        self.failing = False  # the last alert failed every attempt

    def put(self, alert: Alert) -> None:
        with self.cond:
            self.pending.append(alert)
            self.cond.notify()

    def close(self, deadline: float) -> None:
        with self.cond:
            self.deadline = deadline
            self.cond.notify_all()

    def abandon(self) -> list[tuple[Alert, bool]]:
        """Stop; return what was not delivered: (alert, whether it was being sent)."""
        with self.cond:
            self.abandoned = True
            left = [(a, False) for a in self.pending]
            if self.current is not None:
                left.insert(0, (self.current, True))
            self.pending.clear()
            self.cond.notify_all()
            return left

    def run(self) -> None:
        self.context.run(self._loop)

    def _loop(self) -> None:
        while True:
            with self.cond:
                while not self.pending and self.deadline is None and not self.abandoned:
                    self.cond.wait()
                if not self.pending or self.abandoned or self._past_deadline():
                    return
                self.current = alert = self.pending.popleft()
            delivery = self._deliver(alert)
            with self.cond:
                self.current = None
                if self.abandoned:
                    return  # close() already reported it
                self.record(delivery)

    def _deliver(self, alert: Alert) -> Delivery:
        settings = self.settings
        attempts_allowed = 1 if self.failing else settings.retries + 1
        delay = settings.retry_delay
        attempt = 0
        while True:
            attempt += 1
            error = self.transport.send(alert, self.destination)
            if not error:
                self.failing = False
                self.log.info("alerts: sent %r to %s", alert.title, self.destination)
                return delivery_of(alert, self.destination, "", attempt)
            if attempt >= attempts_allowed or not self._wait(delay):
                break
            delay *= 2
        self.failing = True
        self.log.warning(
            "alerts: %r could not be sent to %s (%d attempt%s): %s",
            alert.title,
            self.destination,
            attempt,
            "" if attempt == 1 else "s",
            redact.redact(error),
        )
        return delivery_of(alert, self.destination, redact.redact(error), attempt)

    def _wait(self, seconds: float) -> bool:
        """Sleep before a retry; return False when the retry would come after the deadline."""
        end = time.monotonic() + seconds
        with self.cond:
            while not self.abandoned:
                if self.deadline is not None and end > self.deadline:
                    return False
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return True
                self.cond.wait(remaining)
            return False

    def _past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline
