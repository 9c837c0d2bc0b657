"""known_hosts parsing, matching, verification and writing, without any server."""

from __future__ import annotations

import base64
import shutil
import stat
import subprocess
from pathlib import Path

import paramiko
import pytest

from jbremote.transport.base import HostKeyError
from jbremote.transport.hostkeys import (
    KnownHosts,
    add_known_host,
    fingerprint,
    host_key_algorithms,
    known_hosts_name,
    names_host,
    read_known_hosts,
)

# Generated with ssh-keygen; fingerprints as printed by `ssh-keygen -lf`.
ED_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIqUCuQdxcIAgt6Q48yAV3OtdCUG7RbCPW45TrihPsg2"
ED_A_FP = "SHA256:/eeKVqK2PFbOJjBZ95FCzB+l+v1cL/LRpGCa8+XDdsQ"
ED_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICJQxtekvsie1F6qKH43uoKI8XH0SD40J79MMYNIaOn5"
ED_B_FP = "SHA256:gQeR15ds52fuC9ZMbuTelfjXNOgV4qH1+G3S5g8bkio"
EC_A = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBBPLkE1usqyZvZJGJfm"
    "BLwNJ8JnYXa1mBt8fMQu/ft2LlcuMqK93SwloIRTkHZICQrmhb+nWxOMBzeKBmpxdCGs="
)
EC_A_FP = "SHA256:HROO9+uF341jjrMyV3si+gHpXBeG5QRx5lNpj1Ma1Ac"


def key(line: str) -> paramiko.PKey:
    key_type, blob = line.split()
    return paramiko.PKey.from_type_string(key_type, base64.b64decode(blob))


def known(tmp_path: Path, text: str) -> KnownHosts:
    path = tmp_path / "known_hosts"
    path.write_text(text)
    return KnownHosts.load(path)


def test_known_hosts_name_brackets_only_non_default_ports() -> None:
    assert known_hosts_name("web1.example.com", 22) == "web1.example.com"
    assert known_hosts_name("web1.example.com", 2222) == "[web1.example.com]:2222"
    assert known_hosts_name("2001:db8::1", 2222) == "[2001:db8::1]:2222"


@pytest.mark.parametrize(("line", "expected"), [(ED_A, ED_A_FP), (ED_B, ED_B_FP), (EC_A, EC_A_FP)])
def test_fingerprint_matches_openssh(line: str, expected: str) -> None:
    assert fingerprint(key(line)) == expected


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")
@pytest.mark.parametrize("key_type", ["rsa", "ecdsa", "ed25519"])
def test_fingerprint_matches_ssh_keygen_for_each_key_type(tmp_path: Path, key_type: str) -> None:
    path = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", "", "-f", path], check=True)
    public = Path(f"{path}.pub")
    printed = subprocess.run(
        ["ssh-keygen", "-lf", public], check=True, capture_output=True, text=True
    ).stdout.split()[1]

    assert fingerprint(key(" ".join(public.read_text().split()[:2]))) == printed


def test_read_known_hosts_missing_file_has_no_keys(tmp_path: Path) -> None:
    assert read_known_hosts(tmp_path / "absent") == []


def test_read_known_hosts_skips_comments_garbage_and_unknown_types(tmp_path: Path) -> None:
    text = (
        "# a comment\n\n"
        f"good {ED_A}\n"
        "broken ssh-ed25519 !!!notbase64!!!\n"
        "short ssh-ed25519\n"
        "dsa ssh-dss AAAAB3NzaC1kc3MAAACBAP\n"
        f"spaced   {ED_B.replace(' ', chr(9))}   trailing comment\n"
        f"@cert-authority *.example.com {EC_A}\n"
    )
    lines = KnownHosts.load(_write(tmp_path, text)).lines

    assert [(line.patterns, line.marker) for line in lines] == [
        (("good",), ""),
        (("spaced",), ""),
        (("*.example.com",), "@cert-authority"),
    ]
    assert fingerprint(lines[1].key) == ED_B_FP


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("patterns", "name", "expected"),
    [
        (["web1"], "web1", True),
        (["WEB1"], "web1", True),
        (["web1"], "[web1]:2222", False),
        (["[web1]:2222"], "[web1]:2222", True),
        (["[web1]:2222"], "[web1]:2223", False),
        (["other", "[web1]:2222"], "[web1]:2222", True),
        (["*.example.com"], "web1.example.com", True),
        (["*.example.com"], "example.com", False),
        (["web?"], "web1", True),
        (["*", "!web1"], "web1", False),
        (["*", "!web1"], "web2", True),
        (["[web1]:22*"], "[web1]:2222", True),
        (["1.2.3.4"], "1.2.3.45", False),
    ],
)
def test_names_host(patterns: list[str], name: str, expected: bool) -> None:
    assert names_host(patterns, name) is expected


def test_names_host_understands_hashed_names() -> None:
    hashed = paramiko.HostKeys.hash_host("[web1]:2222")

    assert names_host([hashed], "[web1]:2222")
    assert not names_host([hashed], "[web1]:2223")
    assert not names_host([hashed], "web1")


def test_verify_accepts_a_listed_key(tmp_path: Path) -> None:
    hosts = known(tmp_path, f"[web1]:2222 {ED_B}\n[web1]:2222 {ED_A}\n")

    hosts.verify("web1", "web1", 2222, key(ED_A))  # no exception


def test_verify_unknown_host_gives_fingerprint_and_trust_hint(tmp_path: Path) -> None:
    hosts = known(tmp_path, f"web1 {ED_A}\n")  # port 22 entry only

    with pytest.raises(HostKeyError) as caught:
        hosts.verify("web1", "web1", 2222, key(ED_A))

    message = str(caught.value)
    assert message.startswith("web1: unknown host [web1]:2222")
    assert f"ssh-ed25519 {ED_A_FP}" in message
    assert "run: jbremote trust web1" in message
    assert caught.value.fingerprint == ED_A_FP
    assert not caught.value.transient


def test_verify_changed_key_names_expected_and_received(tmp_path: Path) -> None:
    hosts = known(tmp_path, f"web1 {ED_A}\n")

    with pytest.raises(HostKeyError) as caught:
        hosts.verify("web1", "web1", 22, key(ED_B))

    message = str(caught.value)
    assert "HOST KEY CHANGED" in message
    assert f"expects ssh-ed25519 {ED_A_FP}" in message
    assert f"sent ssh-ed25519 {ED_B_FP}" in message
    assert caught.value.fingerprint == ED_B_FP


def test_verify_key_of_another_type_than_the_known_one_counts_as_changed(tmp_path: Path) -> None:
    hosts = known(tmp_path, f"web1 {EC_A}\n")

    with pytest.raises(HostKeyError, match="CHANGED"):
        hosts.verify("web1", "web1", 22, key(ED_A))


def test_verify_refuses_revoked_key_even_if_also_listed(tmp_path: Path) -> None:
    hosts = known(tmp_path, f"@revoked * {ED_A}\nweb1 {ED_A}\n")

    with pytest.raises(HostKeyError, match="@revoked"):
        hosts.verify("web1", "web1", 22, key(ED_A))
    assert hosts.trusted("web1", 22) == []


def test_verify_ignores_cert_authority_lines(tmp_path: Path) -> None:
    hosts = known(tmp_path, f"@cert-authority web1 {ED_A}\n")

    with pytest.raises(HostKeyError, match="unknown host"):
        hosts.verify("web1", "web1", 22, key(ED_A))


def test_host_key_algorithms_puts_known_types_first() -> None:
    offered = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"]
    rsa = paramiko.RSAKey.generate(2048)

    assert host_key_algorithms([], offered) == offered
    assert host_key_algorithms([key(EC_A)], offered) == [
        "ecdsa-sha2-nistp256",
        "ssh-ed25519",
        "rsa-sha2-512",
        "rsa-sha2-256",
    ]
    # known_hosts says ssh-rsa; paramiko speaks the SHA-2 RSA algorithms only.
    assert host_key_algorithms([rsa, key(ED_A)], offered) == [
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
    ]


def test_add_known_host_creates_file_and_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "known_hosts"

    assert add_known_host(path, "web1", 2222, key(ED_A))

    assert path.read_text() == f"[web1]:2222 {ED_A}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    KnownHosts.load(path).verify("web1", "web1", 2222, key(ED_A))


def test_add_known_host_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    add_known_host(path, "web1", 22, key(ED_A))

    assert not add_known_host(path, "web1", 22, key(ED_A))
    assert path.read_text() == f"web1 {ED_A}\n"


def test_add_known_host_appends_and_keeps_other_entries(tmp_path: Path) -> None:
    path = _write(tmp_path, f"# mine\nweb2 {ED_B}")  # no trailing newline
    path.chmod(0o600)

    assert add_known_host(path, "web1", 22, key(ED_A))

    assert path.read_text() == f"# mine\nweb2 {ED_B}\nweb1 {ED_A}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_add_known_host_without_replace_keeps_a_changed_key(tmp_path: Path) -> None:
    path = _write(tmp_path, f"web1 {ED_B}\n")

    assert add_known_host(path, "web1", 22, key(ED_A))

    assert path.read_text() == f"web1 {ED_B}\nweb1 {ED_A}\n"


def test_add_known_host_replace_drops_only_this_hosts_old_keys(tmp_path: Path) -> None:
    hashed = paramiko.HostKeys.hash_host("web1")
    path = _write(
        tmp_path,
        f"web1,web3 {ED_B}\n{hashed} {EC_A}\n*.example.com {ED_B}\nweb2 {ED_B}\n",
    )

    assert add_known_host(path, "web1", 22, key(ED_A), replace=True)

    assert path.read_text() == (f"web3 {ED_B}\n*.example.com {ED_B}\nweb2 {ED_B}\nweb1 {ED_A}\n")
    hosts = KnownHosts.load(path)
    hosts.verify("web1", "web1", 22, key(ED_A))
    hosts.verify("web3", "web3", 22, key(ED_B))


def test_add_known_host_replace_when_only_the_same_key_is_present_changes_nothing(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, f"web1 {ED_A}\n")

    assert not add_known_host(path, "web1", 22, key(ED_A), replace=True)
    assert path.read_text() == f"web1 {ED_A}\n"
