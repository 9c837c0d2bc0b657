"""``jbremote config schema|example|show``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from jbremote.config import validate_data
from tests.unit.cli.conftest import EXAMPLE, jbremote, minimal, write_config


def test_config_example_prints_the_shipped_example_which_validates(tmp_path: Path) -> None:
    result = jbremote("config", "example")
    assert result.exit_code == 0
    assert result.stdout == EXAMPLE.read_text()
    copy = tmp_path / "copy.yaml"
    copy.write_text(result.stdout)
    assert jbremote("validate", "-c", str(copy)).exit_code == 0


def test_config_schema_accepts_the_example_and_rejects_mistakes() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    result = jbremote("config", "schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator = jsonschema.Draft202012Validator(schema)
    example = yaml.safe_load(EXAMPLE.read_text())
    assert list(validator.iter_errors(example)) == []  # incl. `web1: <one id>` destinations

    pasted_secret = minimal(servers={"web1": {"host": "h", "key_passphrase": "hunter2"}})
    inline_url = minimal(notifications={"urls": [{"url": "mailto://u:p@h"}]})
    unknown_key = minimal(colour="red")
    for broken in (pasted_secret, inline_url, unknown_key):
        assert list(validator.iter_errors(broken)), broken


def test_config_show_fills_defaults_and_never_resolves_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JBREMOTE_MAIL_URL", "mailtos://me:topsecret@mail.example.net")
    monkeypatch.setenv("WEB1_PASS", "also-secret")
    data = minimal(
        servers={"web1": {"host": "web1", "key_passphrase": "env:WEB1_PASS"}},
        notifications={
            "urls": [{"url": "env:JBREMOTE_MAIL_URL"}],
            "ui_url": "https://admin:uipass@prefect.example.net/",
        },
    )
    path = write_config(tmp_path / "c.yaml", data)

    text = jbremote("config", "show", "-c", str(path))
    assert text.exit_code == 0
    for secret in ("topsecret", "also-secret", "uipass"):
        assert secret not in text.stdout

    shown = json.loads(jbremote("config", "show", "-c", str(path), "--json").stdout)
    web1 = shown["servers"]["web1"]
    assert web1["key_passphrase"] == "env:WEB1_PASS"
    assert (web1["key"], web1["known_hosts"], web1["port"]) == ("/k", "/kh", 22)
    assert (web1["connect_timeout"], web1["command_timeout"]) == (10.0, 120.0)
    assert shown["notifications"]["urls"][0]["url"] == "env:JBREMOTE_MAIL_URL"
    assert shown["notifications"]["ui_url"] == "https://admin:***@prefect.example.net/"
    timings = ("poll_interval", "startup_timeout", "job_timeout")
    assert [shown["orchestration"][k] for k in timings] == [30.0, 120.0, 28800.0]
    # What `show` prints is itself a valid config with the same meaning.
    assert validate_data(yaml.safe_load(text.stdout)).servers["web1"].port == 22
    assert validate_data(shown).jobs[0].label == "accounts"


def test_config_show_of_a_broken_config_exits_2(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", minimal(jobs=[]) | {"colour": 1})
    result = jbremote("config", "show", "-c", str(path))
    assert result.exit_code == 2
    assert "colour: unknown key" in result.stderr
