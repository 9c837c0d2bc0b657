"""install_instructions: the authorized_keys line, the gate source and the three steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from jbremote.gate import jbremote_gate
from jbremote.gate.install import GateInstall, install_instructions

KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA2mcvWuyS7CY1uNvL9xEPJ9xBJv1U4kDH6fW3i3WH+d "
    "jbremote@orchestrator"
)
RSA_BLOB = "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDA"  # just the header: enough for the type check


def test_default_line_forces_the_gate_with_restrict() -> None:
    result = install_instructions(KEY)

    assert isinstance(result, GateInstall)
    assert result.authorized_keys_line == (
        'restrict,command="/usr/bin/python3 -IS /usr/local/sbin/jbremote-gate '
        f'--api /usr/bin/jetbackup5api" {KEY}'
    )


def test_read_only_and_sources_end_up_in_the_line() -> None:
    result = install_instructions(
        KEY,
        gate_path="/opt/jbremote/gate",
        api_path="/usr/local/bin/jetbackup5api",
        read_only=True,
        from_addresses=["192.0.2.7", "2001:db8::/32", "backup-*.example.net", "!192.0.2.66"],
    )

    assert result.authorized_keys_line == (
        'restrict,command="/usr/bin/python3 -IS /opt/jbremote/gate --api '
        '/usr/local/bin/jetbackup5api --read-only",'
        'from="192.0.2.7,2001:db8::/32,backup-*.example.net,!192.0.2.66" ' + KEY
    )
    assert "/opt/jbremote/gate" in result.steps[0] and "read-only" in result.steps[2]


def test_empty_source_list_means_no_from_option() -> None:
    assert "from=" not in install_instructions(KEY, from_addresses=[]).authorized_keys_line


def test_gate_source_is_the_gate_file_and_there_are_three_steps() -> None:
    result = install_instructions(KEY)

    assert result.gate_source == Path(jbremote_gate.__file__).read_text()
    assert result.gate_source.startswith("#!/usr/bin/python3 -IS\n")
    assert len(result.steps) == 3
    assert "authorized_keys" in result.steps[1] and "jbremote test" in result.steps[2]


def test_unprintable_comment_is_replaced() -> None:
    line = install_instructions(KEY + "\x1b[2J").authorized_keys_line
    assert line.endswith("WH+d jbremote")


def test_key_without_comment_is_fine() -> None:
    line = install_instructions(KEY.rsplit(" ", 1)[0]).authorized_keys_line
    assert line.endswith("WH+d")


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (f'command="/bin/sh" {KEY}', "is not a public key type"),
        (f"restrict {KEY}", "is not a public key type"),
        (f"{KEY}\n{KEY}", "one public key line"),
        ("ssh-ed25519", "one public key line"),
        ("ssh-ed25519 AAAA!!!! x", "damaged"),
        (f"ssh-ed25519 {RSA_BLOB} x", "the key says it is 'ssh-rsa'"),
        (f"ssh-dss {RSA_BLOB} x", "is not a public key type"),
        (KEY + "\r", "one public key line"),
    ],
)
def test_bad_key_lines_are_refused(key: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        install_instructions(key)


@pytest.mark.parametrize(
    "path",
    [
        "jbremote-gate",
        "/usr/local/sbin/jbremote gate",
        '/usr/local/sbin/x" /bin/sh "',
        "/usr/local/../tmp/gate",
        "/usr/local/./sbin/gate",
        "/usr/local/sbin/",
        "/tmp/$(id)",
    ],
)
def test_bad_gate_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="gate_path must be a plain absolute path"):
        install_instructions(KEY, gate_path=path)


@pytest.mark.parametrize("path", ["/bin/sh", "/usr/bin/jetbackup5api;id", "jetbackup5api"])
def test_bad_api_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="api_path"):
        install_instructions(KEY, api_path=path)


@pytest.mark.parametrize(
    "source",
    ['192.0.2.7",command="/bin/sh', "192.0.2.7,10.0.0.1", "10.0.0.0/33", "10.0.0.1/8", "a b", ""],
)
def test_bad_sources_are_refused(source: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        install_instructions(KEY, from_addresses=[source])
