"""Pauses stored in a real Prefect server's Variable, as the UI and the cycle see them."""

from __future__ import annotations

import pytest
from prefect.client.orchestration import get_client

from jbremote import pause as pauses

pytestmark = [pytest.mark.slow, pytest.mark.prefect]


def test_pause_and_resume_round_trip_through_the_prefect_variable(prefect_api: str) -> None:
    store = pauses.VariableStore("jbremote-paused-test")
    try:
        assert not pauses.paused(store)
        pauses.pause("target", "nas1", "RAID rebuild", by="ops@box", store=store)
        pauses.pause("job", "web1/accounts", "migration", by="ops@box", store=store)

        with get_client(sync_client=True) as client:
            variable = client.read_variable_by_name("jbremote-paused-test")
        assert variable is not None and "jbremote" in variable.tags
        value = variable.value
        assert isinstance(value, dict)  # stored as JSON, not as a string
        assert value["targets"]["nas1"]["reason"] == "RAID rebuild"
        assert set(value["jobs"]) == {"web1/accounts"}

        removed = pauses.resume("target", "nas1", store=store)
        assert removed is not None and removed.by == "ops@box"
        now = pauses.paused(store)
        assert not now.targets and set(now.jobs) == {"web1/accounts"}
    finally:
        with get_client(sync_client=True) as client:
            if client.read_variable_by_name("jbremote-paused-test") is not None:
                client.delete_variable_by_name("jbremote-paused-test")


def test_default_store_is_the_documented_variable_name() -> None:
    assert pauses.VariableStore().name == "jbremote-paused"
