"""Helpers for CLI tests: run ``jbremote`` in-process and write configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from jbremote.cli.main import app

EXAMPLE = Path(__file__).parents[3] / "jbremote" / "config" / "example.yaml"
REPO = Path(__file__).parents[3]
A = "a" * 24


def jbremote(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Run the CLI in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(app, list(args), env=env, input=input)


def minimal(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ssh_defaults": {"key": "/k", "known_hosts": "/kh"},
        "servers": {"web1": {"host": "web1.example.net", "port": 51514}},
        "targets": {"nas": {"destinations": {"web1": ["c" * 24]}}},
        "jobs": [{"id": A, "server": "web1", "target": "nas", "label": "accounts"}],
    }
    data.update(overrides)
    return data


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path / "jbremote.yaml", minimal())
