"""The configuration schema: servers, storage targets, jobs, orchestration, notifications.

One pydantic model per section; unknown keys are rejected everywhere. Cross-checks that the
schema cannot express (a job naming an unknown server, duplicate ids, …) live in
:mod:`jbremote.config.checks` and report their problems in the same ``path: message`` form.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jbremote.config.secrets import SecretRef
from jbremote.jetbackup.command import ID_PATTERN
from jbremote.transport.settings import SshSettings

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
JobId = Annotated[str, Field(pattern=ID_PATTERN.pattern, description="24 lowercase hex characters")]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Seconds = Annotated[float, Field(gt=0, le=7 * 24 * 3600)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Server(Strict):
    """One JetBackup 5 server reached over SSH."""

    host: str = Field(min_length=1, max_length=253, description="DNS name or IP address")
    port: int = Field(
        22, ge=1, le=65535, description="SSH port (JetBackup boxes often use a non-22 one)"
    )
    user: str = Field("root", pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")
    key: Path | None = Field(None, description="private key file; default: ssh_defaults.key")
    key_passphrase: SecretRef | None = Field(None, description="reference to the key's passphrase")
    known_hosts: Path | None = Field(
        None, description="known_hosts file; default: ssh_defaults.known_hosts"
    )
    connect_timeout: Seconds | None = None
    command_timeout: Seconds | None = None
    api_command: str = Field(
        "jetbackup5api",
        pattern=r"^[A-Za-z0-9_./-]+$",
        description="the jetbackup5api binary on the server (name or absolute path)",
    )

    @field_validator("host")
    @classmethod
    def _host_is_plain(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.:_-]+", value) or value.startswith("-"):
            raise ValueError("must be a host name or IP address")
        return value


class SshDefaults(Strict):
    """Values every server inherits unless it sets its own."""

    key: Path | None = Field(None, description="private key file used for every server")
    known_hosts: Path = Field(
        Path("~/.ssh/known_hosts"), description="known_hosts file (strictly checked)"
    )
    connect_timeout: Seconds = 10.0
    command_timeout: Seconds = 120.0
    keepalive: Annotated[float, Field(ge=0, le=3600)] = 15.0
    connect_retries: Annotated[int, Field(ge=0, le=10)] = 3
    max_output_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 16 * 1024 * 1024


class Target(Strict):
    """A storage target (the NAS) that only tolerates a few writers at once."""

    destinations: dict[Name, list[JobId]] = Field(
        default_factory=dict,
        description="per server, the JetBackup destination ids that write to this target",
    )
    writers: int = Field(1, ge=1, le=64, description="how many jobs may write at once")
    manage_destination_state: bool = Field(
        False,
        description="enable the job's destination before it runs and restore its state after",
    )

    @field_validator("destinations", mode="before")
    @classmethod
    def _single_id_is_a_list(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value


class JobKind(str, Enum):
    JETBACKUP5 = "jetbackup5"


class Job(Strict):
    """A JetBackup backup job that jbremote triggers."""

    id: JobId
    server: Name
    target: Name
    label: str = Field("", max_length=120)
    priority: int = Field(0, ge=-1000, le=1000, description="higher runs earlier within a target")
    timeout: Seconds | None = Field(None, description="warn (never stop) after this many seconds")
    enabled: bool = True
    kind: JobKind = JobKind.JETBACKUP5

    @property
    def display(self) -> str:
        return f"{self.server}/{self.label or self.id}"


class Orchestration(Strict):
    """Defaults for every job."""

    poll_interval: Annotated[float, Field(gt=0, le=3600)] = 30.0
    startup_timeout: Seconds = 120.0
    job_timeout: Seconds = 8 * 3600.0
    state_dir: Path | None = Field(
        None,
        description="where jbremote keeps its journal of changed JetBackup state "
        "(default /var/lib/jbremote as root, else ~/.local/state/jbremote)",
    )


class Event(str, Enum):
    JOB_FAILED = "job_failed"
    JOB_TIMED_OUT = "job_timed_out"
    JOB_PARTIAL = "job_partial"
    JOB_OVERRAN = "job_overran"
    JOB_COMPLETED = "job_completed"
    CYCLE_COMPLETED = "cycle_completed"
    CYCLE_FAILED = "cycle_failed"


class NotifyUrl(Strict):
    url: SecretRef = Field(description="reference to an Apprise URL (it holds credentials)")
    events: list[Event] | None = Field(None, description="only these events; default: all enabled")


class Notifications(Strict):
    """Alerts through Apprise (docs/alerts.md)."""

    urls: list[NotifyUrl] = Field(default_factory=list)
    events: dict[Event, bool] = Field(
        default_factory=dict,
        description="switch events on/off; default: all on except job_completed",
    )
    include_log_tail: bool = Field(False, description="add the JetBackup log tail to job alerts")
    log_tail_bytes: Annotated[int, Field(ge=0, le=64 * 1024)] = 4096
    ui_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        description="Prefect UI base URL for links in alerts; default: Prefect's PREFECT_UI_URL",
    )
    retries: int = Field(2, ge=0, le=10, description="extra attempts per alert and URL on failure")
    retry_delay: Annotated[float, Field(ge=0, le=600)] = Field(
        10.0, description="seconds between attempts (doubling each time)"
    )
    flush_timeout: Annotated[float, Field(ge=0, le=600)] = Field(
        30.0, description="at the end of a cycle, wait at most this long for alerts to go out"
    )
    send_in_dry_run: bool = Field(
        False, description="dry runs only say what they would send unless this is true"
    )


class Config(Strict):
    """The whole jbremote configuration."""

    ssh_defaults: SshDefaults = Field(default_factory=SshDefaults)
    servers: dict[Name, Server]
    targets: dict[Name, Target]
    jobs: list[Job]
    orchestration: Orchestration = Field(default_factory=Orchestration)
    notifications: Notifications = Field(default_factory=Notifications)

    def job(self, job_id: str) -> Job:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise KeyError(job_id)


def default_state_dir() -> Path:
    """``/var/lib/jbremote`` for root (the production case), else the user's state directory."""
    import os

    if os.geteuid() == 0:
        return Path("/var/lib/jbremote")
    return Path("~/.local/state/jbremote").expanduser()


def ssh_settings(config: Config, server_name: str, passphrase: str | None = None) -> SshSettings:
    """Given a config and a server name, return its SSH settings with defaults applied.

    ``passphrase`` is the already resolved key passphrase, if the server has one.
    """
    server = config.servers[server_name]
    defaults = config.ssh_defaults
    key = server.key or defaults.key
    return SshSettings(
        name=server_name,
        host=server.host,
        port=server.port,
        user=server.user,
        key=key.expanduser() if key else None,
        known_hosts=(server.known_hosts or defaults.known_hosts).expanduser(),
        connect_timeout=server.connect_timeout or defaults.connect_timeout,
        command_timeout=server.command_timeout or defaults.command_timeout,
        keepalive=defaults.keepalive,
        connect_retries=defaults.connect_retries,
        max_output_bytes=defaults.max_output_bytes,
        key_passphrase=passphrase,
    )
