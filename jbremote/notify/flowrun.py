"""Alerts inside the ``backup-cycle`` flow: the cycle's notifier, its artifact, the hooks.

The flow opens :class:`CycleAlerts` before it even reads its config, so a config that does
not load still gets its ``cycle_failed`` alert: the ``notifications`` section is read on
its own (:func:`load_notifications`). A crash the flow body never sees (SIGTERM, a worker
killing the process) is reported by :func:`on_crashed`, which Prefect may run in another
process — so it rebuilds everything from the flow run's parameters.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import FlowRun, State
from prefect.logging.loggers import flow_run_logger
from prefect.settings import get_current_settings

from jbremote.config.load import parse_text
from jbremote.config.models import Notifications
from jbremote.lifecycle.events import EventSink, JobEvent
from jbremote.lifecycle.result import JobRecord
from jbremote.notify import redact
from jbremote.notify.alert import AlertContext
from jbremote.notify.deliver import Delivery
from jbremote.notify.notifier import Notifier
from jbremote.notify.sender import Logger

ALERTS_KEY = "backup-cycle-alerts"
_log = logging.getLogger("jbremote.notify")

# Flow runs of this process whose outcome (summary or failure) was already alerted, so the
# on_failure hook does not add a "could not run" to a cycle that ran and had failed jobs.
_reported: set[str] = set()
_reported_lock = threading.Lock()


def load_notifications(config_path: str | Path) -> Notifications | None:
    """Return the config file's ``notifications`` section, even when the rest is broken;
    None when the file cannot be read or that section itself is invalid."""
    try:
        data = parse_text(Path(config_path).read_text(encoding="utf-8"), str(config_path))
        section = data.get("notifications") if isinstance(data, dict) else None
        return Notifications.model_validate(section or {})
    except Exception:
        return None


def should_send(notifications: Notifications, dry_run: bool, send: bool | None) -> bool:
    """Return whether alerts really go out (else they are only logged as "would send")."""
    if send is not None:
        return send
    return not dry_run or notifications.send_in_dry_run


def flow_run_url(notifications: Notifications, flow_run_id: str) -> str:
    """Return the flow run's page in the Prefect UI, or "" when no UI URL is known.

    ``notifications.ui_url`` wins; else Prefect's ``PREFECT_UI_URL`` (which Prefect derives
    from ``PREFECT_API_URL`` when not set).
    """
    base = notifications.ui_url or get_current_settings().ui_url or ""
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}" if base and flow_run_id else ""


def mark_reported(flow_run_id: str) -> bool:
    """Record that this flow run's outcome was alerted; return False if it already was.

    Without a flow run id (the flow function called without Prefect) there is nothing to
    share with a hook: always True.
    """
    if not flow_run_id:
        return True
    with _reported_lock:
        if flow_run_id in _reported:
            return False
        _reported.add(flow_run_id)
        return True


def make_notifier(
    notifications: Notifications, flow_run_id: str, send: bool, log: Logger
) -> Notifier:
    ctx = AlertContext(
        cycle_id=flow_run_id or uuid.uuid4().hex,
        flow_run_url=flow_run_url(notifications, flow_run_id),
        include_log_tail=notifications.include_log_tail,
        log_tail_bytes=notifications.log_tail_bytes,
    )
    return Notifier(notifications, ctx, send=send, log=log)


class CycleAlerts:
    """The alerts of one flow run, used as ``with CycleAlerts(...) as alerts:``.

    An exception leaving the block sends ``cycle_failed`` (and is re-raised); leaving it in
    any way flushes the alerts (bounded by ``flush_timeout``), publishes the alerts artifact
    and logs one summary line.
    """

    def __init__(
        self,
        config_path: str,
        flow_run_id: str,
        log: Logger,
        dry_run: bool = False,
        send: bool | None = None,
    ) -> None:
        self.config_path = config_path
        self.flow_run_id = flow_run_id
        self.log = log
        self.dry_run = dry_run
        notifications = load_notifications(config_path)
        if notifications is None:
            log.warning("alerts: the notifications section of %s cannot be read", config_path)
            notifications = Notifications()
        self.notifier = make_notifier(
            notifications, flow_run_id, should_send(notifications, dry_run, send), log
        )

    def sink(self, downstream: EventSink) -> EventSink:
        """Return an event sink that feeds ``downstream`` and then the alerts."""

        def both(event: JobEvent) -> None:
            downstream(event)
            self.notifier.on_event(event)

        return both

    def completed(self, records: Sequence[JobRecord]) -> None:
        """The cycle ran: alert about unreported job ends and send the summary."""
        mark_reported(self.flow_run_id)
        self.notifier.cycle_completed(records, dry_run=self.dry_run)

    def interrupted(self, records: Sequence[JobRecord], reason: str) -> None:
        """The cycle was stopped (SIGTERM, cancellation): one ``cycle_failed`` alert saying
        what was left running; no summary."""
        if mark_reported(self.flow_run_id):
            self.notifier.cycle_failed(reason, self.config_path)

    def __enter__(self) -> CycleAlerts:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is not None and mark_reported(self.flow_run_id):
                self.notifier.cycle_failed(describe(exc), self.config_path)
            deliveries = self.notifier.close()
            if deliveries:
                self.log.info("alerts: %s", tally(deliveries))
                publish_deliveries(deliveries)
        except Exception as problem:  # alerting never changes how the flow ends
            self.log.error("alerts: %s", redact.redact(repr(problem)))


def describe(exc: BaseException) -> str:
    """Return what went wrong, for the ``cycle_failed`` alert."""
    text = str(exc).strip()
    name = type(exc).__name__
    if not isinstance(exc, Exception):  # SIGTERM (Prefect's TerminationSignal), Ctrl-C, …
        number = getattr(exc, "signal", None)
        how = (
            f"signal {number}" if isinstance(number, int) else (f"{name}: {text}" if text else name)
        )
        return f"the cycle was interrupted ({how})"
    return f"{name}: {text}" if text else name


def tally(deliveries: Sequence[Delivery]) -> str:
    """Return ``3 sent, 1 failed`` for a list of deliveries."""
    parts = {
        "sent": sum(d.ok and d.sent for d in deliveries),
        "would send (dry run)": sum(d.ok and not d.sent for d in deliveries),
        "failed": sum(not d.ok for d in deliveries),
    }
    return ", ".join(f"{n} {what}" for what, n in parts.items() if n) or "none"


def delivery_rows(deliveries: Sequence[Delivery]) -> list[dict[str, Any]]:
    """The alerts artifact: one row per alert and URL (labels only, never URLs)."""
    return [
        {
            "event": d.event,
            "about": d.subject,
            "destination": d.destination,
            "outcome": d.outcome,
            "title": d.title,
        }
        for d in deliveries
    ]


def publish_deliveries(deliveries: Sequence[Delivery]) -> None:
    create_table_artifact(
        delivery_rows(deliveries), key=ALERTS_KEY, description=f"alerts: {tally(deliveries)}"
    )


def on_failure(flow: Any, flow_run: FlowRun, state: State) -> None:
    """Prefect hook: a run that failed before the flow body could report it."""
    _report_run_end(flow_run, state)


def on_crashed(flow: Any, flow_run: FlowRun, state: State) -> None:
    """Prefect hook: a crashed run (may run in another process than the flow)."""
    _report_run_end(flow_run, state)


def _report_run_end(flow_run: FlowRun, state: State) -> None:
    run_id = str(flow_run.id)
    try:
        log: Logger = flow_run_logger(flow_run)
    except Exception:
        log = _log
    try:
        params = flow_run.parameters or {}
        config_path = str(params.get("config_path") or "")
        notifications = load_notifications(config_path) if config_path else None
        if notifications is None or not mark_reported(run_id):
            return
        send = should_send(notifications, bool(params.get("dry_run")), params.get("send_alerts"))
        notifier = make_notifier(notifications, run_id, send, log)
        notifier.cycle_failed(
            f"the flow run ended {state.name}: {state.message or ''}", config_path
        )
        log.info("alerts: %s", tally(notifier.close()))
    except Exception as problem:
        log.error("alerts: the %s hook failed: %s", state.name, redact.redact(repr(problem)))
