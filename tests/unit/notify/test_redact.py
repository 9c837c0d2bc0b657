"""Apprise URLs never reach a log line, a label or an error message."""

from __future__ import annotations

import logging

import apprise
import pytest

from jbremote.notify import redact
from jbremote.notify.destination import label_for


def test_fragments_cover_password_tokens_and_secret_hosts() -> None:
    found = redact.fragments(
        "json://user:pa%21ss@127.0.0.1:8080/hooks/T0KEN-abc123?key=s3cr3tvalue"
    )
    for secret in ("pa%21ss", "pa!ss", "T0KEN-abc123", "s3cr3tvalue"):
        assert secret in found
    assert "127.0.0.1" not in found and "hooks" not in found
    assert "BOTTOKEN123" in redact.fragments("tgram://BOTTOKEN123/4242")
    assert "mail.example.net" not in redact.fragments("mailtos://u:pwd@mail.example.net")


def test_redact_replaces_registered_fragments_longest_first() -> None:
    redact.register("json://u:Zq-pass-77@127.0.0.1/x/hooktok-99zz")
    text = "POST http://u:Zq-pass-77@127.0.0.1/x/hooktok-99zz failed; token hooktok-99zz"
    cleaned = redact.redact(text)
    assert "Zq-pass-77" not in cleaned and "hooktok-99zz" not in cleaned
    assert cleaned.endswith("token ***")


def test_apprise_own_log_lines_are_redacted_even_at_trace_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(1)
    url = "json://bob:Tr4ce-Secret-1@127.0.0.1:9/path/TokenTrace42?format=markdown"
    redact.register(url)
    apprise.Apprise.instantiate(url)
    apprise_lines = [r.getMessage() for r in caplog.records if r.name == "apprise"]
    assert any("unpacked as" in line for line in apprise_lines), "Apprise did log the URL"
    assert "Tr4ce-Secret-1" not in caplog.text and "TokenTrace42" not in caplog.text
    assert "***" in caplog.text


def test_collecting_keeps_apprise_warnings_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    redact.register("json://x:Col-Secret-9@127.0.0.1/")
    with redact.collecting() as warnings:
        logging.getLogger("apprise").warning("could not reach json://x:Col-Secret-9@127.0.0.1/")
        logging.getLogger("apprise").debug("detail")
    assert len(warnings) == 1 and "Col-Secret-9" not in warnings[0], warnings
    assert warnings[0].startswith("could not reach "), "the debug line is not a warning"
    assert "could not reach" not in caplog.text
    logging.getLogger("apprise").warning("outside Col-Secret-9")
    assert "outside ***" in caplog.text


def test_labels_show_schema_and_public_host_only() -> None:
    assert (
        label_for(1, "mailto://ops:pw@127.0.0.1:2525?to=a@b.c") == "url #1 (mailto://…@127.0.0.1)"
    )
    assert label_for(2, "tgram://123456:ABCdef/42") == "url #2 (tgram://…)"
    assert label_for(3, "not a url") == "url #3"
