"""Run JetBackup API calls over a transport and return typed answers."""

from __future__ import annotations

from typing import Any, TypeVar

from jbremote.jetbackup import destinations, jobs, logs, queues
from jbremote.jetbackup.call import Call, ShapeError
from jbremote.jetbackup.command import API_BINARY
from jbremote.jetbackup.envelope import Envelope, GarbageOutputError, parse_envelope
from jbremote.jetbackup.models import BackupJob, Destination, Log, LogItem, QueueGroup, QueueItem
from jbremote.transport.base import Transport

T = TypeVar("T")


class JetBackupClient:
    """The JetBackup 5 API of one server.

    Each method is one attempt: retries belong to the caller, which knows whether a call is
    safe to repeat (see :attr:`Call.mutating`). Raises :class:`~jbremote.jetbackup.envelope.JetBackupError`
    or :class:`~jbremote.transport.base.TransportError`.
    """

    def __init__(
        self, transport: Transport, binary: str = API_BINARY, timeout: float | None = None
    ) -> None:
        self.transport = transport
        self.binary = binary
        self.timeout = timeout
        self.last_envelope: Envelope | None = None

    @property
    def server(self) -> str:
        return self.transport.name

    def call(self, call: Call[T]) -> T:
        """Run ``call`` and return its parsed ``data``."""
        result = self.transport.run(call.argv(self.binary), timeout=self.timeout)
        envelope = parse_envelope(call.function, result.stdout, result.exit_status, result.stderr)
        self.last_envelope = envelope
        try:
            return call.parse(envelope.data)
        except ShapeError as exc:
            raise GarbageOutputError(
                call.function, f"unexpected data shape ({exc})", result.stdout
            ) from None

    # One method per API function the orchestrator needs.
    def list_backup_jobs(self) -> list[BackupJob]:
        return self.call(jobs.list_backup_jobs())

    def get_backup_job(self, job_id: str) -> BackupJob:
        return self.call(jobs.get_backup_job(job_id))

    def run_backup_job_manually(self, job_id: str) -> BackupJob:
        return self.call(jobs.run_backup_job_manually(job_id))

    def set_backup_job_disabled(self, job_id: str, disabled: bool) -> BackupJob:
        return self.call(jobs.set_backup_job_disabled(job_id, disabled))

    def get_destination(self, destination_id: str) -> Destination:
        return self.call(destinations.get_destination(destination_id))

    def list_destinations(self) -> list[Destination]:
        return self.call(destinations.list_destinations())

    def set_destination_state(self, destination_id: str, disabled: bool) -> Any:
        return self.call(destinations.set_destination_state(destination_id, disabled))

    def list_queue_groups(self, limit: int = 50) -> list[QueueGroup]:
        return self.call(queues.list_queue_groups(limit=limit))

    def get_queue_group(self, group_id: str) -> QueueGroup:
        return self.call(queues.get_queue_group(group_id))

    def list_queue_items(self, group_id: str) -> list[QueueItem]:
        return self.call(queues.list_queue_items(group_id))

    def stop_queue_group(self, group_id: str) -> str:
        """Stop a queue group. Only an explicit operator command may call this."""
        self.call(queues.stop_queue_group(group_id))
        return self.last_envelope.message if self.last_envelope else ""

    def list_logs(self, job_id: str | None = None, limit: int = 10) -> list[Log]:
        return self.call(logs.list_logs(job_id, limit))

    def get_log(self, log_id: str, content: bool = False) -> Log:
        return self.call(logs.get_log(log_id, content))

    def list_log_items(self, log_id: str) -> list[LogItem]:
        return self.call(logs.list_log_items(log_id))

    def get_log_item(self, log_id: str, item_id: str) -> LogItem:
        return self.call(logs.get_log_item(log_id, item_id))
