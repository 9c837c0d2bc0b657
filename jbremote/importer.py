"""``jbremote config import-jetbackup-remote``: turn a jetbackup-remote ``config.json`` into ours.

jetbackup-remote (v0.3.0) ran every job of every server through one global queue onto one NAS,
so its servers become one target (``nas``, one writer) whose destinations are the servers'
``destination_id`` values. Everything that has no equivalent is reported as a note, never
silently dropped: secrets (its SMTP password) are never copied — they become an ``env:``
reference the operator fills in. The result is validated like any config before it is shown.
Format of the input: /work/shared/reference/jetbackup-remote-config.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from jbremote.config.errors import ConfigError, Problem
from jbremote.config.load import validate_data
from jbremote.config.models import NAME_PATTERN

DEFAULT_PORT = 51514  # jetbackup-remote's default SSH port (ours is 22: always written out)
DEFAULT_KEY = "~/.ssh/id_ed25519"
MAIL_URL_ENV = "JBREMOTE_MAIL_URL"
KNOWN_TOP = {"ssh_key", "servers", "jobs", "orchestrator", "destination", "notification", "loop"}
SERVER_KEYS = {"host", "port", "user", "ssh_key", "ssh_timeout", "destination_id"}
JOB_KEYS = {"job_id", "server", "label", "type", "priority", "timeout"}
HOUSEKEEPING = ("lock_file", "log_file", "log_max_bytes", "log_backup_count", "state_file")
EVENT_SWITCHES = {
    "on_failure": "job_failed",
    "on_timeout": "job_timed_out",
    "on_partial": "job_partial",
    "on_complete": "job_completed",
}


@dataclass
class Imported:
    """The converted config (plain data, validated) and what the operator must know."""

    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_yaml(self, source: str) -> str:
        header = [
            f"# jbremote configuration converted from jetbackup-remote's {source}",
            "# by `jbremote config import-jetbackup-remote`. Check it: jbremote validate -c FILE",
        ]
        if self.notes:
            header += ["#", "# What had no direct equivalent:"]
            header += [f"#   - {note}" for note in self.notes]
        body = yaml.safe_dump(self.config, sort_keys=False, allow_unicode=True)
        return "\n".join(header) + "\n\n" + body


def read_source(path: Path) -> Any:
    """Return the parsed JSON of a jetbackup-remote config. Raise :class:`ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [Problem("", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            str(path), [Problem(f"line {exc.lineno}, column {exc.colno}", exc.msg)]
        ) from None


def _name(raw: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-._")[:63] or "server"
    return cleaned if re.match(NAME_PATTERN, cleaned) else f"s{cleaned}"[:63]


def import_jetbackup_remote(
    data: Any, source: str = "config.json", target: str = "nas"
) -> Imported:
    """Given a parsed jetbackup-remote config, return our config and the notes about it.

    Raise :class:`ConfigError` (paths of the *source* file) when the input is not a
    jetbackup-remote config or the converted result does not validate.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            source, [Problem("", "not a jetbackup-remote config (expected an object)")]
        )
    problems: list[Problem] = []
    for key in ("servers", "jobs"):
        if not isinstance(data.get(key), Mapping if key == "servers" else list):
            kind = "an object of servers" if key == "servers" else "a list of jobs"
            problems.append(Problem(key, f"required: {kind}"))
    if problems:
        raise ConfigError(source, problems)

    out = Imported({})
    notes = out.notes
    notes += [
        f"{key}: not a jetbackup-remote setting; ignored" for key in data if key not in KNOWN_TOP
    ]

    servers, renamed, destinations = _servers(data, notes)
    out.config["ssh_defaults"] = _ssh_defaults(data, servers, notes)
    out.config["servers"] = servers
    out.config["targets"] = {
        target: {
            "writers": 1,
            "destinations": destinations,
            "manage_destination_state": bool(destinations),
        }
    }
    notes.append(
        f"jetbackup-remote ran one job at a time across all servers: they all share target "
        f"{target!r} with writers: 1; split it if servers really write to different storage"
    )
    if destinations:
        notes.append(
            f"servers.*.destination_id became targets.{target}.destinations; jetbackup-remote "
            "enabled it before a server's jobs and disabled it after, jbremote enables it before "
            "each job and restores the state it found (manage_destination_state: true)"
        )
    jobs, origin = _jobs(data, renamed, target, notes)
    out.config["jobs"] = jobs
    orchestration = _orchestration(data, notes)
    if orchestration:
        out.config["orchestration"] = orchestration
    _destination_notes(data, notes)
    notifications = _notifications(data, source, notes)
    if notifications:
        out.config["notifications"] = notifications
    _loop_notes(data, notes)

    try:
        validate_data(out.config, source)
    except ConfigError as exc:
        raise ConfigError(source, [_to_source(p, origin, renamed) for p in exc.problems]) from None
    return out


def _servers(
    data: Mapping[str, Any], notes: list[str]
) -> tuple[dict[str, Any], dict[str, str], dict[str, list[str]]]:
    servers: dict[str, Any] = {}
    renamed: dict[str, str] = {}
    destinations: dict[str, list[str]] = {}
    timeouts = False
    for raw_name, raw in data["servers"].items():
        name = _name(str(raw_name))
        if name != raw_name:
            notes.append(f"server {raw_name!r} is called {name!r} (names are letters, digits, _.-)")
        renamed[str(raw_name)] = name
        spec = raw if isinstance(raw, Mapping) else {}
        server: dict[str, Any] = {}
        if "host" in spec:
            server["host"] = spec["host"]
        server["port"] = spec.get("port", DEFAULT_PORT)
        server["user"] = spec.get("user", "root")
        if spec.get("ssh_key"):
            server["key"] = spec["ssh_key"]
        if "ssh_timeout" in spec:
            server["connect_timeout"] = spec["ssh_timeout"]
            timeouts = True
        if spec.get("destination_id"):
            destinations[name] = [spec["destination_id"]]
        unknown = sorted(set(spec) - SERVER_KEYS)
        if unknown:
            notes.append(f"servers.{raw_name}: {', '.join(unknown)}: unknown; ignored")
        servers[name] = server
    if timeouts:
        notes.append(
            "servers.*.ssh_timeout (ssh ConnectTimeout) became connect_timeout; commands get "
            "ssh_defaults.command_timeout (120 s, like jetbackup-remote's 4 × 30 s)"
        )
    return servers, renamed, destinations


def _ssh_defaults(
    data: Mapping[str, Any], servers: Mapping[str, Any], notes: list[str]
) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    if data.get("ssh_key"):
        defaults["key"] = data["ssh_key"]
    elif any("key" not in s for s in servers.values()):
        defaults["key"] = DEFAULT_KEY
        notes.append(f"no ssh_key: assumed {DEFAULT_KEY} (ssh's default); check ssh_defaults.key")
    defaults["known_hosts"] = "~/.ssh/known_hosts"
    notes.append(
        "jetbackup-remote accepted unknown host keys on first use; jbremote checks "
        "~/.ssh/known_hosts strictly and never adds to it: for a server not in it yet run "
        "`jbremote trust SERVER`"
    )
    return defaults


def _jobs(
    data: Mapping[str, Any], renamed: Mapping[str, str], target: str, notes: list[str]
) -> tuple[list[dict[str, Any]], list[int]]:
    raw_jobs = list(enumerate(data["jobs"]))

    def order(item: tuple[int, Any]) -> tuple[int, str]:
        spec = item[1] if isinstance(item[1], Mapping) else {}
        priority = spec.get("priority", 0)
        return (-priority if isinstance(priority, int) else 0, str(spec.get("server", "")))

    # jetbackup-remote's queue: higher priority first, then by server name. Written in that
    # order, jbremote (priority, then file order) runs them in the same order.
    ordered = sorted(raw_jobs, key=order)
    if [i for i, _ in ordered] != [i for i, _ in raw_jobs]:
        notes.append("jobs are listed in jetbackup-remote's run order (priority, then server name)")
    jobs, origin, typed = [], [], False
    for index, raw in ordered:
        spec = raw if isinstance(raw, Mapping) else {}
        job: dict[str, Any] = {}
        if "job_id" in spec:
            job["id"] = spec["job_id"]
        if "server" in spec:
            job["server"] = renamed.get(str(spec["server"]), spec["server"])
        job["target"] = target
        label = spec.get("label") or spec.get("type") or ""
        if label:
            job["label"] = label
        if spec.get("priority"):
            job["priority"] = spec["priority"]
        if "timeout" in spec:
            job["timeout"] = spec["timeout"]
        typed = typed or "type" in spec
        unknown = sorted(set(spec) - JOB_KEYS)
        if unknown:
            notes.append(f"jobs[{index}]: {', '.join(unknown)}: unknown; ignored")
        jobs.append(job)
        origin.append(index)
    if typed:
        notes.append(
            "jobs[].type was only a label in jetbackup-remote: it became the label of a job "
            "that had none, and was dropped otherwise (`jbremote list --remote` shows the real "
            "type)"
        )
    return jobs, origin


def _orchestration(data: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    spec = data.get("orchestrator")
    if not isinstance(spec, Mapping):
        return {}
    result = {k: spec[k] for k in ("poll_interval", "startup_timeout", "job_timeout") if k in spec}
    if "job_timeout" in result:
        notes.append(
            "orchestrator.job_timeout: past it jbremote warns and keeps waiting; it never stops a job"
        )
    housekeeping = [k for k in HOUSEKEEPING if k in spec]
    if housekeeping:
        notes.append(
            f"orchestrator.{', '.join(housekeeping)}: no equivalent — Prefect keeps each run's "
            "logs and history, and the targets' concurrency limits replace the lock file"
        )
    other = sorted(set(spec) - set(result) - set(HOUSEKEEPING))
    if other:
        notes.append(f"orchestrator: {', '.join(other)}: unknown; ignored")
    return result


def _destination_notes(data: Mapping[str, Any], notes: list[str]) -> None:
    spec = data.get("destination")
    if not isinstance(spec, Mapping) or not spec:
        return
    if "force_activate" in spec or "skip_if_disabled" in spec:
        notes.append(
            "destination.force_activate/skip_if_disabled: no equivalent — with "
            "manage_destination_state jbremote always enables the job's destination for the "
            "run and restores its previous state; without it, a job whose destinations are "
            "disabled fails visibly instead of being skipped"
        )
    if "alert_days_without_jobs" in spec:
        notes.append(
            "destination.alert_days_without_jobs: no equivalent; `jbremote status` shows each "
            "job's last result (a Prefect automation can alert on missing runs)"
        )


def _notifications(data: Mapping[str, Any], source: str, notes: list[str]) -> dict[str, Any]:
    spec = data.get("notification")
    if not isinstance(spec, Mapping) or not spec:
        return {}
    if not spec.get("enabled", False):
        notes.append("notification.enabled is false: no notification URL was written")
        return {}
    scheme = "mailtos" if spec.get("smtp_tls") else "mailto"
    user = spec.get("smtp_user") or ""
    password = str(spec.get("smtp_password") or "")
    user = quote(str(user), safe="")  # an address as user name: its @ must be encoded
    credentials = f"{user}:PASSWORD@" if password else (f"{user}@" if user else "")
    to = ",".join(str(a) for a in spec.get("to_addresses") or [])
    host, port = spec.get("smtp_host", "localhost"), spec.get("smtp_port", 25)
    template = f"{scheme}://{credentials}{host}:{port}?from={spec.get('from_address', '')}&to={to}"
    notes.append(f"mail alerts: set {MAIL_URL_ENV} to an Apprise URL like {template}")
    if password.startswith("FROM_ENV:"):
        notes.append(
            f"notification.smtp_password came from ${password[len('FROM_ENV:') :]}: put that "
            f"password where the URL says PASSWORD"
        )
    elif password:
        notes.append(
            f"notification.smtp_password was NOT copied (a config never holds secrets): put it "
            f"where the URL says PASSWORD, in the environment only — and remove it from {source}"
        )
    events = {EVENT_SWITCHES[k]: bool(spec[k]) for k in EVENT_SWITCHES if k in spec}
    if "on_daemon_lifecycle" in spec:
        notes.append(
            "notification.on_daemon_lifecycle: no equivalent (there is no daemon; Prefect shows "
            "workers and deployments)"
        )
    result: dict[str, Any] = {"urls": [{"url": f"env:{MAIL_URL_ENV}"}]}
    if events:
        result["events"] = events
    return result


def _loop_notes(data: Mapping[str, Any], notes: list[str]) -> None:
    spec = data.get("loop")
    if not isinstance(spec, Mapping) or not spec:
        return
    interval = spec.get("target_interval", 86400)
    notes.append(
        f"loop.target_interval ({interval} s): schedule the backup-cycle deployment at that "
        "interval (deployments/prefect.yaml); loop.min_pause: no equivalent"
    )


def _to_source(problem: Problem, origin: list[int], renamed: Mapping[str, str]) -> Problem:
    match = re.match(r"^jobs\[(\d+)\](.*)$", problem.path)
    if match and int(match.group(1)) < len(origin):
        field_ = match.group(2).replace(".id", ".job_id")
        return Problem(f"jobs[{origin[int(match.group(1))]}]{field_}", problem.message)
    back = {new: old for old, new in renamed.items()}
    match = re.match(r"^targets\.[^.]+\.destinations\.([^.\[]+)", problem.path)
    if match:
        message = problem.message
        if "should match pattern" in message:
            message = "must be a JetBackup id: 24 lowercase hex characters"
        server = back.get(match.group(1), match.group(1))
        return Problem(f"servers.{server}.destination_id", message)
    match = re.match(r"^servers\.([^.]+)(.*)$", problem.path)
    if match:
        tail = (
            match.group(2).replace(".key", ".ssh_key").replace(".connect_timeout", ".ssh_timeout")
        )
        return Problem(f"servers.{back.get(match.group(1), match.group(1))}{tail}", problem.message)
    return problem
