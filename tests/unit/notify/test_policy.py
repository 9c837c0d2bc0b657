"""Which events are on, and which URL gets which alert."""

from __future__ import annotations

import pytest

from jbremote.config.models import Event
from jbremote.notify.destination import Destination
from jbremote.notify.policy import accepts, enabled_events
from tests.unit.notify.conftest import notifications

EVERY = Destination(1, "url #1", None)


def only(*events: Event) -> Destination:
    return Destination(2, "url #2", frozenset(events))


@pytest.mark.parametrize("event", [e for e in Event if e is not Event.JOB_COMPLETED])
def test_policy_defaults_every_event_on(event: Event) -> None:
    assert accepts(notifications(), EVERY, [event])


def test_policy_defaults_job_completed_off() -> None:
    assert not accepts(notifications(), EVERY, [Event.JOB_COMPLETED])


def test_policy_switch_turns_events_on_and_off_everywhere() -> None:
    config = notifications(events={"job_completed": True, "job_partial": False})
    assert accepts(config, EVERY, [Event.JOB_COMPLETED])
    assert not accepts(config, EVERY, [Event.JOB_PARTIAL])
    assert not accepts(config, only(Event.JOB_PARTIAL), [Event.JOB_PARTIAL]), "false always wins"


def test_policy_url_list_limits_and_can_enable_a_default_off_event() -> None:
    url = only(Event.JOB_FAILED, Event.JOB_COMPLETED)
    assert accepts(notifications(), url, [Event.JOB_FAILED])
    assert accepts(notifications(), url, [Event.JOB_COMPLETED])
    assert not accepts(notifications(), url, [Event.CYCLE_COMPLETED])


def test_policy_alert_standing_for_two_events_reaches_a_url_following_either() -> None:
    overran_only = only(Event.JOB_OVERRAN)
    assert accepts(notifications(), overran_only, [Event.JOB_FAILED, Event.JOB_OVERRAN])
    assert not accepts(notifications(), overran_only, [Event.JOB_FAILED])


def test_policy_enabled_events_lists_what_some_url_gets() -> None:
    config = notifications(events={"cycle_failed": False})
    assert enabled_events(config, [only(Event.JOB_FAILED, Event.CYCLE_FAILED)]) == [
        Event.JOB_FAILED
    ]
    assert Event.JOB_COMPLETED not in enabled_events(config, [EVERY])
    assert enabled_events(config, []) == []
