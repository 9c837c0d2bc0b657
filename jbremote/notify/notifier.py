"""Route alerts to their URLs and deliver them in the background, once each.

Guarantees:

* never blocks or fails a backup: a job's events only render an alert and queue it; each
  URL has its own sender thread, so a dead service delays nobody but itself;
* one alert per key (event + job + queue group, or event + cycle) per process, however
  often the event is seen;
* a failing URL is retried ``notifications.retries`` times with a doubling delay; after an
  alert failed every attempt, the next alerts to that URL get one attempt each until one
  goes through (a dead service should not hold the cycle's end for minutes);
* :meth:`Notifier.close` waits at most ``flush_timeout`` seconds and returns one
  :class:`Delivery` per alert and URL — including those it gave up on.
"""

from __future__ import annotations

import contextvars
import copy
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace

from jbremote.config.models import Event, Notifications
from jbremote.cycle.summary import format_time
from jbremote.lifecycle.events import EventKind, JobEvent
from jbremote.lifecycle.result import JobRecord
from jbremote.notify import redact
from jbremote.notify.alert import (
    Alert,
    AlertContext,
    cycle_alert,
    cycle_failed_alert,
    end_event,
    job_alert,
)
from jbremote.notify.deliver import Delivery, Transport
from jbremote.notify.destination import Destination, resolve
from jbremote.notify.policy import accepts
from jbremote.notify.sender import Logger, Sender, delivery_of

_QUIET_KINDS = {EventKind.PROGRESS, EventKind.FINISHED}
MAX_HISTORY = 12

# Keys of alerts already handed out in this process (bounded; oldest forgotten first).
_SEEN: OrderedDict[tuple[str, ...], None] = OrderedDict()
_SEEN_LOCK = threading.Lock()
_SEEN_MAX = 10_000


def first_time(key: tuple[str, ...]) -> bool:
    """Return True the first time ``key`` is seen in this process, False afterwards."""
    with _SEEN_LOCK:
        if key in _SEEN:
            return False
        _SEEN[key] = None
        while len(_SEEN) > _SEEN_MAX:
            _SEEN.popitem(last=False)
        return True


class Notifier:
    """The alerts of one cycle (or one ``notify test``)."""

    def __init__(
        self,
        notifications: Notifications,
        ctx: AlertContext,
        *,
        send: bool = True,
        log: Logger | None = None,
        clock: Callable[[], float] = time.time,
        transport: Transport | None = None,
        destinations: Sequence[Destination] | None = None,
    ) -> None:
        self.notifications = notifications
        # Dedupe keys of runs without a queue group hang on the cycle id: never leave it empty.
        self.ctx = ctx if ctx.cycle_id else replace(ctx, cycle_id=uuid.uuid4().hex)
        self.send = send
        self.log: Logger = log or logging.getLogger("jbremote.notify")
        self.clock = clock
        self.transport = transport or Transport()
        self.destinations = list(resolve(notifications) if destinations is None else destinations)
        self._deliveries: list[Delivery] = []
        self._workers: dict[int, Sender] = {}
        self._history: dict[tuple[str, str], list[str]] = {}
        self._ended: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        # Sender threads run in a copy of the creator's context: Prefect keeps its settings
        # (the API URL) and the flow run in context variables, which threads do not inherit.
        self._context = contextvars.copy_context()
        for destination in self.destinations:
            if destination.error:
                self.log.warning("alerts: %s cannot be used: %s", destination, destination.error)

    # -- what happens ---------------------------------------------------------------------
    def on_event(self, event: JobEvent) -> None:
        """Event sink for a cycle's jobs. Never raises: alerting must not break a backup."""
        try:
            self._on_event(event)
        except Exception as exc:
            self.log.error(
                "alerts: could not handle %s: %s", event.kind.value, redact.redact(repr(exc))
            )

    def _on_event(self, event: JobEvent) -> None:
        record = event.record
        job = (record.server, record.job_id)
        if event.kind not in _QUIET_KINDS:
            with self._lock:
                lines = self._history.setdefault(job, [])
                lines.append(f"{format_time(self.clock())[11:]} {event.message}")
                del lines[:-MAX_HISTORY]
        if event.kind is EventKind.TIMED_OUT:
            snapshot = copy.deepcopy(record)
            self.publish(
                job_alert(Event.JOB_TIMED_OUT, snapshot, self.ctx, self.clock(), self._lines(job))
            )
        elif event.kind is EventKind.FINISHED:
            self.job_ended(record)

    def job_ended(self, record: JobRecord) -> None:
        """Alert about a job's final record (once per job of this notifier)."""
        job = (record.server, record.job_id)
        with self._lock:
            if job in self._ended:
                return
            self._ended.add(job)
        found = end_event(record)
        if found is not None:
            event, also = found
            alert = job_alert(
                event, copy.deepcopy(record), self.ctx, self.clock(), self._lines(job), also
            )
            self.publish(alert)

    def cycle_completed(self, records: Sequence[JobRecord], dry_run: bool = False) -> None:
        """Send the cycle summary; first alert about any ended job no event told us about
        (a task that crashed has a record but never emitted ``finished``)."""
        for record in records:
            self.job_ended(record)
        with self._lock:
            undelivered = [
                f"{d.event} {d.subject} to {d.destination}: {d.error}"
                for d in self._deliveries
                if not d.ok
            ]
        self.publish(cycle_alert(records, self.ctx, undelivered, dry_run=dry_run))

    def cycle_failed(self, reason: str, config_path: str = "") -> None:
        """Send the alert that the cycle could not run; ``reason`` is redacted first."""
        self.publish(cycle_failed_alert(redact.redact(reason), self.ctx, config_path))

    def _lines(self, job: tuple[str, str]) -> list[str]:
        with self._lock:
            return list(self._history.get(job, []))

    # -- routing ----------------------------------------------------------------------------
    def publish(self, alert: Alert) -> list[Destination]:
        """Queue ``alert`` for every URL that takes it; return those URLs.

        A key already seen in this process is dropped (returns an empty list).
        """
        targets = [d for d in self.destinations if accepts(self.notifications, d, alert.events)]
        if not targets or not first_time(alert.key):
            return []
        for destination in targets:
            if self.send:
                self._worker(destination).put(alert)
            else:
                problem = self.transport.check(destination)
                self._record(delivery_of(alert, destination, problem, attempts=0, sent=False))
                self.log.info("alerts: would send %r to %s", alert.title, destination)
        return targets

    def _worker(self, destination: Destination) -> Sender:
        with self._lock:
            worker = self._workers.get(destination.index)
            if worker is None:
                worker = Sender(
                    destination,
                    self.transport,
                    self.notifications,
                    self.log,
                    self._record,
                    self._context.copy(),
                )
                self._workers[destination.index] = worker
                worker.start()
            return worker

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def close(self, timeout: float | None = None) -> list[Delivery]:
        """Wait up to ``timeout`` (default ``flush_timeout``) seconds for queued alerts;
        return every delivery, with those still queued or in flight marked as not sent."""
        wait = self.notifications.flush_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.close(deadline)
        for worker in workers:
            worker.join(max(deadline - time.monotonic(), 0.0))
        for worker in workers:
            for alert, in_flight in worker.abandon():
                why = (
                    "still being sent when the cycle ended (result unknown)"
                    if in_flight
                    else "not sent: the cycle ended first"
                )
                self._record(delivery_of(alert, worker.destination, why, attempts=0))
                self.log.warning("alerts: %r to %s %s", alert.title, worker.destination, why)
        return self.deliveries
