"""Make sure each storage target's tag has a concurrency limit of its writer count.

Prefect 3.8 enforces task tag limits in the task engine through global concurrency limits
named ``tag:<tag>`` with leased slots (docs/prefect-notes.md). The limit is created or
corrected before any job starts, idempotently, so two cycles started at once (a scheduled
one and a manual one) still never put more than ``writers`` of our jobs on a target.

Slots can leak: a slot held while a server with in-memory lease storage restarts, or held by a
process killed in ephemeral mode, stays occupied with no lease behind it, and nothing frees it.
A leaked slot is one counted in ``active_slots`` without a live lease holder; we correct the
count only when the same leak is seen twice, a few seconds apart, so a slot being acquired at
that very moment (counted a moment before its lease is listed) is never taken away.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
)
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from jbremote.cycle.plan import TAG_PREFIX, Lane

CONFIRM_DELAY = 3.0


@dataclass(frozen=True)
class SlotReport:
    tag: str
    limit: int
    active_slots: int
    holders: tuple[str, ...]  # task run ids holding a live lease

    @property
    def leaked(self) -> int:
        return max(self.active_slots - len(self.holders), 0)


def ensure_lane_limits(
    lanes: Sequence[Lane], sleep: Callable[[float], None] = time.sleep
) -> list[str]:
    """Create or correct ``tag:<lane tag>`` = writers for every lane, free leaked slots;
    return what changed."""
    changes = []
    with get_client(sync_client=True) as client:
        for lane in lanes:
            changes += _ensure(client, lane)
        changes += reconcile_leaks(client, [lane.tag for lane in lanes], sleep)
    return changes


def _ensure(client: SyncPrefectClient, lane: Lane) -> list[str]:
    name = f"tag:{lane.tag}"
    try:
        limit = client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        try:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=lane.writers)
            )
            return [f"created concurrency limit {name} = {lane.writers}"]
        except ObjectAlreadyExists:  # another cycle created it just now
            limit = client.read_global_concurrency_limit_by_name(name)
    if limit.limit != lane.writers or not limit.active:
        client.update_global_concurrency_limit(
            name, GlobalConcurrencyLimitUpdate(limit=lane.writers, active=True)
        )
        return [f"set concurrency limit {name} from {limit.limit} to {lane.writers}"]
    return []


def slot_report(client: SyncPrefectClient, tag: str) -> SlotReport | None:
    """Return the slot accounting of ``tag`` (``None`` when it has no limit)."""
    try:
        limit = client.read_global_concurrency_limit_by_name(f"tag:{tag}")
        holders = client.read_concurrency_limit_by_tag(tag).active_slots
    except ObjectNotFound:
        return None
    return SlotReport(tag, limit.limit, limit.active_slots, tuple(str(h) for h in holders))


def lane_tags(client: SyncPrefectClient) -> list[str]:
    """Every ``nas:`` tag that has a limit (for ``jbremote doctor``)."""
    limits = client.read_global_concurrency_limits(limit=200)
    return sorted(g.name[len("tag:") :] for g in limits if g.name.startswith(f"tag:{TAG_PREFIX}"))


def reconcile_leaks(
    client: SyncPrefectClient, tags: Sequence[str], sleep: Callable[[float], None] = time.sleep
) -> list[str]:
    """Free leaked slots of ``tags``; return what was done. See the module docstring."""
    first = {tag: r for tag in tags if (r := slot_report(client, tag)) is not None and r.leaked}
    if not first:
        return []
    sleep(CONFIRM_DELAY)
    changes = []
    for tag, before in first.items():
        now = slot_report(client, tag)
        if (
            now is None
            or now.leaked == 0
            or (now.active_slots, now.holders) != (before.active_slots, before.holders)
        ):
            continue
        client.update_global_concurrency_limit(
            f"tag:{tag}", GlobalConcurrencyLimitUpdate(active_slots=len(now.holders))
        )
        changes.append(f"freed {now.leaked} leaked slot(s) of tag:{tag} (no live holder)")
    return changes
