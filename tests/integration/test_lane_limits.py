"""Lane limits against a real Prefect server: created, corrected, leaked slots freed — and
never a live slot."""

from __future__ import annotations

import uuid

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder

from flows.lane_limits import ensure_lane_limits, slot_report
from jbremote.cycle.plan import Lane

pytestmark = pytest.mark.prefect


def lane(target: str, writers: int = 1) -> Lane:
    return Lane(target, writers, ())


def test_limits_are_created_then_corrected_idempotently(prefect_api: str) -> None:
    target = f"t{uuid.uuid4().hex[:8]}"
    assert ensure_lane_limits([lane(target, 2)]) == [
        f"created concurrency limit tag:nas:{target} = 2"
    ]
    assert ensure_lane_limits([lane(target, 2)]) == []
    assert ensure_lane_limits([lane(target, 1)]) == [
        f"set concurrency limit tag:nas:{target} from 2 to 1"
    ]
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(f"tag:nas:{target}").limit == 1


def test_a_leaked_slot_is_freed_but_a_held_one_is_kept(prefect_api: str) -> None:
    target = f"t{uuid.uuid4().hex[:8]}"
    name = f"tag:nas:{target}"
    ensure_lane_limits([lane(target, 2)])
    with get_client(sync_client=True) as client:
        holder = ConcurrencyLeaseHolder(type="task_run", id=uuid.uuid4())
        client.increment_concurrency_slots_with_lease([name], 1, "concurrency", 60, holder)
        # a second slot counted with no lease behind it: what a server restart leaves
        client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active_slots=2))
        report = slot_report(client, f"nas:{target}")
        assert report is not None and (report.active_slots, report.leaked) == (2, 1)

    slept: list[float] = []
    changes = ensure_lane_limits([lane(target, 2)], sleep=slept.append)
    assert changes == [f"freed 1 leaked slot(s) of {name} (no live holder)"] and slept == [3.0]
    with get_client(sync_client=True) as client:
        after = slot_report(client, f"nas:{target}")
        assert after is not None and after.active_slots == 1 and after.holders == (str(holder.id),)
