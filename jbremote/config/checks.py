"""Cross-checks the schema cannot express, reported like schema errors (``path: message``).

They read the raw data defensively, so they run even when the schema found problems: a user
sees every mistake in one pass, not one layer at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from jbremote.config.errors import Problem


def cross_check(data: Mapping[str, Any]) -> list[Problem]:
    """Given parsed config data, return every logical problem in it (empty when fine)."""
    servers_raw = _mapping(data.get("servers"))
    targets_raw = _mapping(data.get("targets"))
    servers, targets = set(servers_raw), set(targets_raw)
    jobs = [job for job in _list(data.get("jobs")) if isinstance(job, Mapping)]
    problems: list[Problem] = []

    if not _mapping(data.get("ssh_defaults")).get("key"):
        for name, server in servers_raw.items():
            if isinstance(server, Mapping) and not server.get("key"):
                problems.append(
                    Problem(
                        f"servers.{name}.key", "no private key: set it here or in ssh_defaults.key"
                    )
                )

    ids = Counter(job.get("id") for job in jobs if isinstance(job.get("id"), str))
    for index, job in enumerate(_list(data.get("jobs"))):
        if not isinstance(job, Mapping):
            continue
        path = f"jobs[{index}]"
        server, target, job_id = job.get("server"), job.get("target"), job.get("id")
        if isinstance(server, str) and server not in servers:
            problems.append(
                Problem(f"{path}.server", f"unknown server {server!r}{_known(servers)}")
            )
        if isinstance(target, str) and target not in targets:
            problems.append(
                Problem(f"{path}.target", f"unknown target {target!r}{_known(targets)}")
            )
        if isinstance(job_id, str) and ids[job_id] > 1:
            problems.append(Problem(f"{path}.id", f"job id {job_id} is listed more than once"))

    claimed: dict[tuple[str, str], str] = {}
    for target_name, target in targets_raw.items():
        target = _mapping(target)
        for server, dest_ids in _mapping(target.get("destinations")).items():
            path = f"targets.{target_name}.destinations.{server}"
            if server not in servers:
                problems.append(Problem(path, f"unknown server {server!r}{_known(servers)}"))
            for dest_id in [dest_ids] if isinstance(dest_ids, str) else _list(dest_ids):
                if not isinstance(dest_id, str):
                    continue
                owner = claimed.setdefault((server, dest_id), target_name)
                if owner != target_name:
                    problems.append(
                        Problem(
                            path, f"destination {dest_id} is already claimed by target {owner!r}"
                        )
                    )
        if target.get("manage_destination_state") and not target.get("destinations"):
            problems.append(
                Problem(
                    f"targets.{target_name}.manage_destination_state",
                    "needs the destination ids in targets.<name>.destinations",
                )
            )
    return problems


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _known(names: set[str]) -> str:
    return f" (known: {', '.join(sorted(names))})" if names else " (none are configured)"
