"""Make sure each storage target's tag has a concurrency limit of its writer count.

Prefect 3.8 enforces task tag limits in the task engine through global concurrency limits
named ``tag:<tag>`` with leased slots (docs/prefect-notes.md). The limit is created or
corrected before any job starts, idempotently, so two cycles started at once (a scheduled
one and a manual one) still never put more than ``writers`` of our jobs on a target.
"""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
)
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from jbremote.cycle.plan import Lane


def ensure_lane_limits(lanes: list[Lane]) -> list[str]:
    """Create or correct ``tag:<lane tag>`` = writers for every lane; return what changed."""
    changes = []
    with get_client(sync_client=True) as client:
        for lane in lanes:
            name = f"tag:{lane.tag}"
            try:
                limit = client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                try:
                    client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(name=name, limit=lane.writers)
                    )
                    changes.append(f"created concurrency limit {name} = {lane.writers}")
                    continue
                except ObjectAlreadyExists:  # another cycle created it just now
                    limit = client.read_global_concurrency_limit_by_name(name)
            if limit.limit != lane.writers or not limit.active:
                client.update_global_concurrency_limit(
                    name, GlobalConcurrencyLimitUpdate(limit=lane.writers, active=True)
                )
                changes.append(f"set concurrency limit {name} from {limit.limit} to {lane.writers}")
    return changes
