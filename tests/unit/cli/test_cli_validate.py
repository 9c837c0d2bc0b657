"""``jbremote validate``: every problem with its path, exit codes, --json, where the config comes from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.cli.conftest import EXAMPLE, jbremote, minimal, write_config


def test_validate_example_config_is_valid() -> None:
    result = jbremote("validate", "-c", str(EXAMPLE))
    assert result.exit_code == 0
    assert "valid — 2 server(s), 1 target(s), 3 job(s) (3 enabled)" in result.stdout


def test_validate_broken_config_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "broken.yaml",
        minimal(
            servers={"web1": {"host": "web1", "port": 70000}},
            jobs=[{"id": "XYZ", "server": "web9", "target": "nas"}],
        ),
    )
    result = jbremote("validate", "-c", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    err = result.stderr
    assert err.splitlines()[0] == f"error: {path}: 3 config problems"
    assert "servers.web1.port: Input should be less than or equal to 65535" in err
    assert "jobs[0].id: must be a JetBackup id: 24 lowercase hex characters" in err
    assert "jobs[0].server: unknown server 'web9' (known: web1)" in err
    assert "Traceback" not in err


def test_validate_json_reports_problems_with_paths(tmp_path: Path) -> None:
    path = write_config(tmp_path / "broken.yaml", minimal(targets={"nas": {"writers": 0}}))
    result = jbremote("validate", "-c", str(path), "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data == {
        "valid": False,
        "path": str(path),
        "problems": [
            {"path": "targets.nas.writers", "message": "Input should be greater than or equal to 1"}
        ],
    }


def test_validate_json_summary_of_a_valid_config() -> None:
    data = json.loads(jbremote("validate", "-c", str(EXAMPLE), "--json").stdout)
    assert data == {
        "valid": True,
        "path": str(EXAMPLE),
        "problems": [],
        "servers": 2,
        "targets": 1,
        "jobs": 3,
        "enabled_jobs": 3,
    }


def test_missing_config_file_is_one_red_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = jbremote("validate", "-c", str(missing))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {missing}: 1 config problem",
        "  cannot read: No such file or directory",
    ]


def test_config_path_comes_from_env_then_global_then_command_option(tmp_path: Path) -> None:
    good = write_config(tmp_path / "good.yaml", minimal())
    bad = tmp_path / "missing.yaml"
    env = {"JBREMOTE_CONFIG": str(good)}
    assert jbremote("validate", env=env).exit_code == 0
    # a global -c beats the environment, a command -c beats both
    assert jbremote("-c", str(bad), "validate", env=env).exit_code == 2
    assert jbremote("-c", str(bad), "validate", "-c", str(good), env=env).exit_code == 0


def test_default_config_path_is_etc_jbremote(tmp_path: Path) -> None:
    result = jbremote("validate", env={"JBREMOTE_CONFIG": ""})
    assert result.exit_code == 2
    assert "/etc/jbremote/jbremote.yaml" in result.stderr


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "syntax.yaml"
    path.write_text("servers:\n  web1: [unclosed\n")
    result = jbremote("validate", "-c", str(path))
    assert result.exit_code == 2
    assert "line 3, column 1" in result.stderr


def test_verbose_shows_the_traceback_of_an_unexpected_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jbremote.config.load_config", _explode)
    quiet = jbremote("validate", "-c", str(tmp_path / "x.yaml"))
    loud = jbremote("validate", "-v", "-c", str(tmp_path / "x.yaml"))
    assert quiet.exit_code == loud.exit_code == 2
    assert quiet.stderr.strip() == (
        "error: unexpected RuntimeError: boom (run with -v for the traceback)"
    )
    assert "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.strip().endswith("error: unexpected RuntimeError: boom")


def _explode(path: object) -> None:
    raise RuntimeError("boom")
