from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jbremote.config import ConfigError, load_config, ssh_settings, validate_data

EXAMPLE = Path(__file__).parents[2] / "jbremote" / "config" / "example.yaml"
A = "a" * 24
B = "b" * 24


def minimal(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ssh_defaults": {"key": "/k"},
        "servers": {"web1": {"host": "web1.example.net", "port": 51514}},
        "targets": {"nas": {}},
        "jobs": [{"id": A, "server": "web1", "target": "nas"}],
    }
    data.update(overrides)
    return data


def problems_of(data: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate_data(data)
    return [str(p) for p in info.value.problems]


def test_example_config_validates() -> None:
    config = load_config(EXAMPLE)
    assert [j.label for j in config.jobs] == ["accounts", "directories", "accounts"]
    assert config.targets["nas1"].writers == 1


def test_minimal_config_gets_defaults() -> None:
    config = validate_data(minimal())
    assert config.orchestration.poll_interval == 30
    assert config.targets["nas"].writers == 1
    settings = ssh_settings(config, "web1")
    assert (settings.port, settings.user, str(settings.key)) == (51514, "root", "/k")


def test_broken_config_lists_every_problem_with_its_path() -> None:
    data = minimal(
        servers={"web1": {"host": "bad host", "port": 70000, "colour": "red"}},
        jobs=[
            {"id": "XYZ", "server": "web9", "target": "nas"},
            {"id": A, "server": "web1", "target": "tape"},
        ],
    )
    assert problems_of(data) == [
        "servers.web1.host: must be a host name or IP address",
        "servers.web1.port: Input should be less than or equal to 65535",
        "servers.web1.colour: unknown key (not part of the config schema)",
        "jobs[0].id: must be a JetBackup id: 24 lowercase hex characters",
        "jobs[0].server: unknown server 'web9' (known: web1)",
        "jobs[1].target: unknown target 'tape' (known: nas)",
    ]


def test_duplicate_job_ids_are_reported_at_each_place() -> None:
    data = minimal(jobs=[{"id": A, "server": "web1", "target": "nas"}] * 2)
    assert problems_of(data) == [
        f"jobs[0].id: job id {A} is listed more than once",
        f"jobs[1].id: job id {A} is listed more than once",
    ]


def test_destination_claimed_by_two_targets_is_an_error() -> None:
    data = minimal(
        targets={"nas": {"destinations": {"web1": B}}, "nas2": {"destinations": {"web1": [B]}}}
    )
    assert problems_of(data) == [
        f"targets.nas2.destinations.web1: destination {B} is already claimed by target 'nas'"
    ]


def test_missing_key_is_reported_per_server() -> None:
    data = minimal(ssh_defaults={})
    assert problems_of(data) == [
        "servers.web1.key: no private key: set it here or in ssh_defaults.key"
    ]


def test_inline_secret_is_refused_without_echoing_it() -> None:
    data = minimal(notifications={"urls": [{"url": "mailtos://me:hunter2@mail.example.net"}]})
    (problem,) = problems_of(data)
    assert problem.startswith("notifications.urls[0].url: must be a reference like env:NAME")
    assert "hunter2" not in problem


def test_required_sections_missing() -> None:
    assert problems_of({}) == ["servers: required", "targets: required", "jobs: required"]


def test_yaml_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("servers:\n  web1: {host: a}\n  web1: {host: b}\ntargets: {}\njobs: []\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value.problems[0]) == "line 3, column 3: duplicate key 'web1'"


def test_json_config_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(minimal()))
    assert load_config(path).jobs[0].id == A


def test_unreadable_file_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "missing.yaml")
    assert "cannot read" in str(info.value)


def test_non_mapping_file_is_refused() -> None:
    assert problems_of(["a"]) == ["the file must hold a mapping (servers, targets, jobs, …)"]
