"""Plan a cycle: one lane per storage target, its jobs in order.

Within a lane jobs run one after another: higher ``priority`` first, then the order of the
config file. Lanes of different targets run at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jbremote.config.models import Config, Job

TAG_PREFIX = "nas:"


class SelectionError(ValueError):
    """A filter names something the config does not have."""


@dataclass(frozen=True)
class Lane:
    target: str
    writers: int
    jobs: tuple[Job, ...]

    @property
    def tag(self) -> str:
        """The Prefect tag whose concurrency limit is this target's writer count."""
        return lane_tag(self.target)


def lane_tag(target: str) -> str:
    return f"{TAG_PREFIX}{target}"


def plan_lanes(
    config: Config,
    servers: Sequence[str] | None = None,
    jobs: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
) -> tuple[list[Lane], list[Job]]:
    """Return (lanes to run, jobs skipped because the config disables them).

    Filters narrow the cycle: ``servers`` by name, ``jobs`` by id or label, ``targets`` by
    name. Raise :class:`SelectionError` naming every filter value that matches nothing.
    """
    _check_names("server", servers, set(config.servers))
    _check_names("target", targets, set(config.targets))
    if jobs:
        known = {j.id for j in config.jobs} | {j.label for j in config.jobs if j.label}
        _check_names("job", jobs, known)

    selected = [
        job
        for job in config.jobs
        if (not servers or job.server in servers)
        and (not targets or job.target in targets)
        and (not jobs or job.id in jobs or (job.label and job.label in jobs))
    ]
    if not selected:
        raise SelectionError("the filters select no job")
    order = {id(job): index for index, job in enumerate(config.jobs)}
    runnable = sorted((j for j in selected if j.enabled), key=lambda j: (-j.priority, order[id(j)]))
    lanes = []
    for target in dict.fromkeys(j.target for j in runnable):
        lane_jobs = tuple(j for j in runnable if j.target == target)
        lanes.append(Lane(target, config.targets[target].writers, lane_jobs))
    return lanes, [j for j in selected if not j.enabled]


def _check_names(kind: str, wanted: Sequence[str] | None, known: set[str]) -> None:
    unknown = [name for name in wanted or () if name not in known]
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise SelectionError(
            f"unknown {kind}{'s' if len(unknown) > 1 else ''}: {names} (known: {', '.join(sorted(known))})"
        )
