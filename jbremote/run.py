"""``jbremote run``: a manual backup cycle, as a real run of the ``backup-cycle`` flow.

:func:`prepare` loads the config and applies the filters — with Prefect not even imported and
no server contacted — so bad input fails fast and triggers nothing. :func:`execute` then calls
the flow in this process (the run lands in the Prefect UI history like a scheduled one) while a
listener receives the job events, and condenses the flow's final state into a
:class:`RunOutcome`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from jbremote.config import load_config
from jbremote.config.models import Config, Job
from jbremote.cycle.plan import Lane, plan_lanes
from jbremote.errors import CannotRun
from jbremote.lifecycle.events import JobEvent


@dataclass(frozen=True)
class Plan:
    config_path: Path
    config: Config
    lanes: list[Lane]
    disabled: list[Job]
    servers: list[str] | None = None
    jobs: list[str] | None = None
    targets: list[str] | None = None

    @property
    def total(self) -> int:
        """Jobs the cycle will run (those disabled in the config are only recorded)."""
        return sum(len(lane.jobs) for lane in self.lanes)


def prepare(
    config_path: Path,
    servers: Sequence[str] | None = None,
    jobs: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
) -> Plan:
    """Load and validate the config, apply the filters. Prefect-free and offline.

    Raise ConfigError or SelectionError (an unknown server/job/target, or nothing selected).
    """
    config = load_config(config_path)
    lanes, disabled = plan_lanes(config, servers, jobs, targets)
    return Plan(
        config_path.resolve(),
        config,
        lanes,
        disabled,
        list(servers) if servers else None,
        list(jobs) if jobs else None,
        list(targets) if targets else None,
    )


class Verdict(str, Enum):
    OK = "ok"  # every job completed (or, dry run, every job was reachable)
    PROBLEMS = "problems"  # the cycle ran; some job failed, was partial, timed out, …
    NOT_RUN = "not run"  # the flow could not run its jobs at all


@dataclass
class RunOutcome:
    verdict: Verdict
    state_name: str
    state_type: str
    message: str
    dry_run: bool
    flow_run_id: str | None = None
    flow_run_name: str | None = None
    ui_url: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "dry_run": self.dry_run,
            "flow_run": {
                "id": self.flow_run_id,
                "name": self.flow_run_name,
                "state": self.state_name,
                "state_type": self.state_type,
                "message": self.message,
                "ui_url": self.ui_url,
            },
            "counts": self.counts,
            "records": self.records,
        }


def prefect_api_url() -> str | None:
    """Return the Prefect API this process talks to, or None (Prefect then starts a temporary one)."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


def execute(plan: Plan, dry_run: bool, listener: Callable[[JobEvent], None]) -> RunOutcome:
    """Run the ``backup-cycle`` flow in-process for ``plan``; ``listener`` gets every job event.

    Raise :class:`CannotRun` if Prefect could not run the flow at all (API unreachable, …).
    """
    from jbremote.cycle import observers

    unsubscribe = observers.subscribe(listener)
    try:
        from flows.backup_cycle import backup_cycle
        from flows.server_settings import apply_defaults

        if prefect_api_url() is None:
            apply_defaults()  # for the temporary server Prefect is about to start

        state: Any = backup_cycle(
            str(plan.config_path),
            servers=plan.servers,
            jobs=plan.jobs,
            targets=plan.targets,
            dry_run=dry_run,
            return_state=True,
        )
    except Exception as exc:
        raise CannotRun(f"Prefect could not run the flow: {type(exc).__name__}: {exc}") from exc
    finally:
        unsubscribe()
    return outcome_of(state, dry_run)


def outcome_of(state: Any, dry_run: bool) -> RunOutcome:
    """Condense the flow's final state into a :class:`RunOutcome`."""
    try:
        summary = state.result(raise_on_failure=False)
    except Exception as exc:  # the result of a crashed run may not be readable at all
        summary = exc
    records = summary.get("records") if isinstance(summary, dict) else None
    state_type = getattr(state.type, "value", str(state.type))
    if not isinstance(records, list):
        verdict = Verdict.NOT_RUN
        records = []
    elif state.name in ("Completed", "DryRun"):
        verdict = Verdict.OK
    else:
        verdict = Verdict.PROBLEMS
    outcome = RunOutcome(
        verdict=verdict,
        state_name=state.name,
        state_type=state_type,
        message=state.message or (str(summary) if verdict is Verdict.NOT_RUN else ""),
        dry_run=dry_run,
        records=records,
        counts=dict(summary.get("counts", {})) if isinstance(summary, dict) else {},
    )
    flow_run_id = getattr(state.state_details, "flow_run_id", None)
    if flow_run_id is not None:
        outcome.flow_run_id = str(flow_run_id)
        outcome.flow_run_name, outcome.ui_url = _flow_run_details(flow_run_id)
    return outcome


def _flow_run_details(flow_run_id: Any) -> tuple[str | None, str | None]:
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    ui = get_current_settings().ui_url
    url = f"{str(ui).rstrip('/')}/runs/flow-run/{flow_run_id}" if ui else None
    try:
        with get_client(sync_client=True) as client:
            return client.read_flow_run(flow_run_id).name, url
    except Exception:  # only a nicety for the summary: never fail the command for it
        return None, url
