"""The CLI starts fast: no Prefect for commands that run no flow; --help lists everything."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.unit.cli.conftest import EXAMPLE, jbremote, minimal, write_config

COMMANDS = (
    "run",
    "status",
    "stop",
    "list",
    "pause",
    "resume",
    "paused",
    "test",
    "validate",
    "trust",
    "doctor",
    "config",
    "gate",
    "notify",
    "demo",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _modules_after(script: str) -> dict[str, object]:
    """Run ``script`` in a fresh interpreter; it prints a JSON object as its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_cli_import_and_offline_commands_do_not_import_prefect(tmp_path: Path) -> None:
    bad = write_config(tmp_path / "bad.yaml", minimal(jobs=[{"id": "nope"}]))
    # A server nobody listens on: status and test run all the way and report it (exit 3).
    closed = write_config(
        tmp_path / "closed.yaml",
        minimal(
            servers={"web1": {"host": "127.0.0.1", "port": free_port()}},
            ssh_defaults={"key": str(tmp_path / "k"), "connect_retries": 0},
        ),
    )
    found = _modules_after(
        f"""
        import json, sys
        from jbremote.cli.main import app
        codes = {{}}
        for name, args in {{
            "help": ["--help"],
            "validate": ["validate", "-c", {str(EXAMPLE)!r}],
            "list": ["list", "-c", {str(EXAMPLE)!r}, "--json"],
            "show": ["config", "show", "-c", {str(EXAMPLE)!r}],
            "schema": ["config", "schema"],
            "example": ["config", "example"],
            "run-bad-config": ["run", "-c", {str(bad)!r}],
            "run-bad-filter": ["run", "-c", {str(EXAMPLE)!r}, "--server", "nope"],
            "status": ["status", "-c", {str(closed)!r}],
            "test": ["test", "-c", {str(closed)!r}],
        }}.items():
            try:
                app(args)
            except SystemExit as exc:
                codes[name] = exc.code
        print(json.dumps({{"codes": codes, "prefect": sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))}}))
        """
    )
    assert found["prefect"] == []
    assert found["codes"] == {
        "help": 0,
        "validate": 0,
        "list": 0,
        "show": 0,
        "schema": 0,
        "example": 0,
        "run-bad-config": 2,
        "run-bad-filter": 2,
        "status": 3,
        "test": 3,
    }


def test_help_lists_every_command_and_examples() -> None:
    result = jbremote("--help")
    assert result.exit_code == 0
    listed = re.findall(r"^│ (\S+) ", result.stdout, flags=re.MULTILINE)
    assert [c for c in listed if not c.startswith("-")] == list(COMMANDS)
    assert "Examples" in result.stdout
    assert "Exit codes" in result.stdout


def test_each_command_help_has_an_example() -> None:
    for args in (
        ["run"],
        ["status"],
        ["stop"],
        ["list"],
        ["test"],
        ["validate"],
        ["trust"],
        ["config", "import-jetbackup-remote"],
        ["gate", "install"],
        ["notify", "test"],
    ):
        result = jbremote(*args, "--help")
        assert result.exit_code == 0, args
        assert "Example" in result.stdout, args


def test_version_is_printed() -> None:
    from jbremote import __version__

    result = jbremote("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"jbremote {__version__}"


def test_parser_errors_are_one_red_line_with_where_to_find_help() -> None:
    cases = {
        ("frobnicate",): "error: No such command 'frobnicate'. (see: jbremote --help)",
        ("stop", "abc"): "error: Missing option '--server' / '-s'. (see: jbremote stop --help)",
        (
            "run",
            "--frob",
        ): "error: No such option: --frob (Possible options: --job) (see: jbremote run --help)",
    }
    for args, line in cases.items():
        result = jbremote(*args)
        assert result.exit_code == 2, args
        assert result.stderr.splitlines() == [line]
        assert result.stdout == ""
