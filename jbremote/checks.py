"""``jbremote test``: can jbremote do its work on each server? One verdict per check.

Checks, in order, each needing the one before:

* ``ssh`` — the host key is in known_hosts and our key is accepted (shows the fingerprint);
* ``gate`` — the server's command filter answers ``jbremote-gate --version`` with a line
  starting ``jbremote-gate `` (anything else means no gate: any command our key sends runs);
* ``api`` — ``jetbackup5api`` answers with an envelope (shows JetBackup's version);
* ``jobs`` — every configured job of the server exists there, can be triggered, and sends to
  the destinations its target lists for the server;
* ``destinations`` — every destination id the targets list for the server exists there.

Everything is read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from jbremote.config.models import Config
from jbremote.config.secrets import SecretError
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.models import BackupJob, Destination
from jbremote.remote import (
    MAX_PARALLEL,
    ServerErrors,
    TransportFactory,
    describe,
    interactive_settings,
    select_servers,
    ssh_transport,
)
from jbremote.text import printable
from jbremote.transport.base import (
    AuthenticationError,
    ConnectError,
    HostKeyError,
    Transport,
    TransportError,
)

GATE_ARGV = ("jbremote-gate", "--version")
GATE_BANNER = b"jbremote-gate "
CHECKS = ("ssh", "gate", "api", "jobs", "destinations")


class Verdict(str, Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Check:
    name: str
    verdict: Verdict
    detail: str


@dataclass
class ServerChecks:
    server: str
    host: str
    port: int
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.verdict is Verdict.OK for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, Verdict.OK if ok else Verdict.FAILED, detail))
        return ok

    def skip_rest(self, reason: str) -> None:
        done = {c.name for c in self.checks}
        for name in CHECKS:
            if name not in done:
                self.checks.append(Check(name, Verdict.SKIPPED, reason))

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "host": self.host,
            "port": self.port,
            "ok": self.ok,
            "checks": [
                {"check": c.name, "status": c.verdict.value, "detail": c.detail}
                for c in self.checks
            ],
        }


def host_key_text(host: str, port: int, timeout: float) -> str:
    """Return ``"<type> SHA256:…"`` of the key ``host`` presents. Raise ConnectError."""
    from jbremote.transport.hostkeys import describe_key, fetch_host_key

    return describe_key(fetch_host_key(host, port, timeout))


def check_server(
    config: Config,
    server: str,
    factory: TransportFactory | None = None,
    key_of: Callable[[str, int, float], str] = host_key_text,
) -> ServerChecks:
    """Run every check on ``server`` and return the verdicts (never raises for remote trouble)."""
    spec = config.servers[server]
    result = ServerChecks(server, spec.host, spec.port)
    try:
        settings = interactive_settings(config, server)
    except SecretError as exc:
        result.add("ssh", False, f"key passphrase: {exc}")
        result.skip_rest("no SSH connection")
        return result
    try:
        presented = key_of(settings.host, settings.port, settings.connect_timeout)
        transport = (factory or ssh_transport)(settings)
    except TransportError as exc:
        result.add("ssh", False, describe(exc))
        result.skip_rest("no SSH connection")
        return result
    try:
        _run_checks(config, server, result, transport, presented)
    finally:
        transport.close()
    return result


def _run_checks(
    config: Config, server: str, result: ServerChecks, transport: Transport, presented: str
) -> None:
    settings_line = f"{config.servers[server].user}@{result.host}:{result.port}"
    try:
        answer = transport.run(list(GATE_ARGV), timeout=config.ssh_defaults.connect_timeout)
    except (HostKeyError, AuthenticationError, ConnectError) as exc:
        result.add("ssh", False, describe(exc))
        result.skip_rest("no SSH connection")
        return
    except TransportError as exc:
        result.add("ssh", True, f"{settings_line}, host key {presented}")
        result.add("gate", False, f"no answer to {' '.join(GATE_ARGV)}: {describe(exc)}")
        answer = None
    else:
        result.add("ssh", True, f"{settings_line}, host key {presented}")
    if answer is not None:
        if answer.stdout.startswith(GATE_BANNER):
            version = printable(answer.stdout.splitlines()[0], 80)
            result.add("gate", True, f"active: {version}")
        else:
            text = (answer.stdout or answer.stderr).strip().splitlines()
            said = printable(text[0], 80) if text else "no output"
            result.add(
                "gate",
                False,
                f"no jbremote-gate answered (exit {answer.exit_status}: {said!r}); every command "
                f"our key sends runs unfiltered — install one: jbremote gate install {server}",
            )

    spec = config.servers[server]
    timeout = spec.command_timeout or config.ssh_defaults.command_timeout
    client = JetBackupClient(transport, spec.api_command, timeout)
    try:
        jobs = client.list_backup_jobs()
    except ServerErrors as exc:
        result.add("api", False, describe(exc))
        result.skip_rest("JetBackup API not usable")
        return
    envelope = client.last_envelope
    version = envelope.version if envelope else ""
    tier = str(envelope.system.get("tier", "")) if envelope else ""
    result.add(
        "api",
        True,
        f"JetBackup {version or '(version not reported)'}"
        + (f" {tier}" if tier else "")
        + f", {len(jobs)} backup job{'s' if len(jobs) != 1 else ''}",
    )
    try:
        destinations = client.list_destinations()
    except ServerErrors as exc:
        destinations = None
        dest_error = describe(exc)
    _check_jobs(config, server, result, jobs, destinations)
    if destinations is None:
        result.add("destinations", False, f"cannot list destinations: {dest_error}")
    else:
        _check_destinations(config, server, result, destinations)


def _check_jobs(
    config: Config,
    server: str,
    result: ServerChecks,
    remote: list[BackupJob],
    destinations: list[Destination] | None,
) -> None:
    mine = [j for j in config.jobs if j.server == server]
    if not mine:
        result.add("jobs", True, "no job of this server is configured")
        return
    by_id = {j.id: j for j in remote}
    dest_names = {d.id: d.name for d in destinations or []}
    problems, notes = [], []
    for job in mine:
        name = job.label or job.id
        found = by_id.get(job.id)
        if found is None:
            problems.append(f"{name} ({job.id}) not found on the server")
            continue
        target = config.targets[job.target]
        if found.disabled:
            if target.manage_destination_state:
                notes.append(f"{name} is disabled in JetBackup (enabled for each run)")
            else:
                problems.append(
                    f"{name} is disabled in JetBackup: enable it, or set "
                    f"targets.{job.target}.manage_destination_state"
                )
        listed = set(target.destinations.get(server, ()))
        if listed and not listed & set(found.destination):
            sends = ", ".join(dest_names.get(d, d) for d in found.destination) or "nothing"
            problems.append(
                f"{name} sends to {sends}, none of which targets.{job.target}.destinations "
                f"lists for {server}"
            )
    if problems:
        result.add("jobs", False, "; ".join(problems))
    else:
        names = ", ".join(j.label or j.id for j in mine)
        result.add(
            "jobs",
            True,
            f"{len(mine)} configured, all found: {names}" + "".join(f"; {n}" for n in notes),
        )


def _check_destinations(
    config: Config, server: str, result: ServerChecks, destinations: list[Destination]
) -> None:
    by_id = {d.id: d for d in destinations}
    wanted = [
        (target, dest_id)
        for target, spec in config.targets.items()
        for dest_id in spec.destinations.get(server, ())
    ]
    if not wanted:
        result.add("destinations", True, "no target lists a destination of this server")
        return
    missing = [f"{dest_id} (target {t})" for t, dest_id in wanted if dest_id not in by_id]
    if missing:
        result.add("destinations", False, "not found on the server: " + ", ".join(missing))
        return
    found = ", ".join(
        f"{t}: {by_id[d].name or d}{' (disabled)' if by_id[d].disabled else ''}" for t, d in wanted
    )
    result.add("destinations", True, found)


def check_servers(
    config: Config, servers: Sequence[str] | None = None, factory: TransportFactory | None = None
) -> list[ServerChecks]:
    """Check ``servers`` (default: all) in parallel; results in config order.

    Raise :class:`~jbremote.errors.CannotRun` for an unknown server name.
    """
    names = select_servers(config, servers)
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, max(len(names), 1))) as pool:
        return list(pool.map(lambda name: check_server(config, name, factory), names))
