"""Real Apprise against a local webhook: formats, failures, unusable URLs."""

from __future__ import annotations

import pytest

from jbremote.notify import redact
from jbremote.notify.alert import AlertContext, cycle_failed_alert
from jbremote.notify.deliver import Transport
from jbremote.notify.destination import Destination, label_for
from tests.unit.notify.receivers import JsonReceiver, closed_port

ALERT = cycle_failed_alert("ssh *refused* [x]", AlertContext(cycle_id="d1"))


def destination(url: str, index: int = 1) -> Destination:
    redact.register(url)
    return Destination(index, label_for(index, url), None, url=url)


def test_deliver_plain_text_by_default_markdown_where_the_service_takes_it() -> None:
    with JsonReceiver() as hook:
        transport = Transport()
        assert transport.send(ALERT, destination(hook.url("/plain"), 1)) == ""
        assert transport.send(ALERT, destination(hook.url("/md", format="markdown"), 2)) == ""
    plain, markdown = hook.bodies
    assert plain["title"] == ALERT.title and plain["type"] == "failure"
    assert plain["message"] == ALERT.text.rstrip() and "ssh *refused* [x]" in plain["message"]
    assert (
        markdown["message"] == ALERT.markdown.rstrip()
        and "ssh \\*refused\\* \\[x\\]" in markdown["message"]
    )


def test_deliver_reports_a_refusing_service_without_its_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with JsonReceiver(status=500) as hook:
        url = hook.url("/hook/Refused-Token-55", "u", "Refused-Pw-55")
        error = Transport().send(ALERT, destination(url))
    assert "500" in error
    for text in (error, caplog.text):
        assert "Refused-Token-55" not in text and "Refused-Pw-55" not in text


def test_deliver_reports_a_dead_service() -> None:
    error = Transport().send(ALERT, destination(f"json://127.0.0.1:{closed_port()}/x/DeadTok-77"))
    assert error == "A Connection error occurred sending JSON notification to 127.0.0.1."


def test_deliver_unknown_scheme_is_an_error_not_an_exception() -> None:
    error = Transport().send(ALERT, destination("nosuchservice://user:Unk-Pw-12@host/path"))
    assert error.startswith("Apprise could not load this URL")
    assert "Unk-Pw-12" not in error


def test_deliver_unresolved_destination_is_not_tried() -> None:
    broken = Destination(3, "url #3", None, error="env:X: environment variable X is not set")
    assert Transport().send(ALERT, broken) == "env:X: environment variable X is not set"
