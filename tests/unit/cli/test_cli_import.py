"""``jbremote config import-jetbackup-remote``: a jetbackup-remote user switches in a minute."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from jbremote.config import ConfigError, load_config
from jbremote.importer import import_jetbackup_remote
from tests.unit.cli.conftest import REPO, jbremote

SAMPLE = REPO / "examples" / "jetbackup-remote" / "config.json"


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text())
    return data


def test_import_of_the_shipped_example_writes_a_valid_config(tmp_path: Path) -> None:
    out = tmp_path / "etc" / "jbremote.yaml"
    result = jbremote("config", "import-jetbackup-remote", str(SAMPLE), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "converted 3 server(s) and 5 job(s); the config validates" in result.stderr

    config = load_config(out)
    assert jbremote("validate", "-c", str(out)).exit_code == 0
    assert config.servers["server1"].port == 51514  # jetbackup-remote's default, written out
    assert config.servers["server2"].connect_timeout == 20
    assert str(config.servers["server3"].key) == "/root/.ssh/server3_ed25519"
    assert str(config.ssh_defaults.key) == "/root/.ssh/id_ed25519"
    nas = config.targets["nas"]
    assert (nas.writers, nas.manage_destination_state) == (1, True)
    assert nas.destinations == {
        "server1": ["6503eec8ebbf07708d06f1d2"],
        "server2": ["6503eec8ebbf07708d06f1d2"],
        "server3": ["6503eec8ebbf07708d06f1e7"],
    }
    # jetbackup-remote's run order: priority first, then server name.
    assert [(j.server, j.label) for j in config.jobs] == [
        ("server2", "Accounts Backup"),
        ("server1", "Accounts Backup"),
        ("server1", "Directories Backup"),
        ("server3", "Full Backup"),
        ("server3", "database"),  # its type became the label of a job that had none
    ]
    assert config.jobs[3].timeout == 21600
    assert (config.orchestration.poll_interval, config.orchestration.job_timeout) == (30, 14400)
    assert [u.url for u in config.notifications.urls] == ["env:JBREMOTE_MAIL_URL"]
    assert {e.value: on for e, on in config.notifications.events.items()} == {
        "job_failed": True,
        "job_timed_out": True,
        "job_partial": True,
        "job_completed": False,
    }


def test_import_reports_what_has_no_equivalent_in_the_file_and_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "j.yaml"
    result = jbremote("config", "import-jetbackup-remote", str(SAMPLE), "-o", str(out))
    header = out.read_text().split("\n\n", 1)[0]
    for expected in (
        "lock_file, log_file, log_max_bytes, log_backup_count, state_file: no equivalent",
        "servers.*.destination_id became targets.nas.destinations",
        "notification.smtp_password came from $JBR_SMTP_PASSWORD",
        "mailtos://backups%40example.com:PASSWORD@mail.example.com:587",
        "loop.target_interval (86400 s)",
        "on_daemon_lifecycle: no equivalent",
        "alert_days_without_jobs: no equivalent",
    ):
        assert expected in header, expected
        assert expected in result.stderr, expected


def test_a_literal_smtp_password_is_never_copied() -> None:
    data = sample()
    data["notification"]["smtp_password"] = "Pa55-w0rd!"
    imported = import_jetbackup_remote(data)
    text = imported.to_yaml("config.json")
    assert "Pa55-w0rd!" not in text
    assert "smtp_password was NOT copied" in text
    assert imported.config["notifications"]["urls"] == [{"url": "env:JBREMOTE_MAIL_URL"}]


def test_import_to_stdout_is_yaml_and_notes_go_to_stderr() -> None:
    result = jbremote("config", "import-jetbackup-remote", str(SAMPLE))
    assert result.exit_code == 0
    data = yaml.safe_load(result.stdout)
    assert set(data) == {
        "ssh_defaults",
        "servers",
        "targets",
        "jobs",
        "orchestration",
        "notifications",
    }
    assert "Notes:" in result.stderr


def test_import_errors_name_paths_of_the_source_file() -> None:
    data = sample()
    data["jobs"][2]["job_id"] = (
        "dddddddddddddddddddddd"  # 22 characters, as in the upstream example
    )
    data["jobs"].append({"job_id": "6504c79fd4b57d536c05bbf9", "server": "ghost"})
    data["servers"]["server2"]["destination_id"] = "not-an-id"
    with pytest.raises(ConfigError) as info:
        import_jetbackup_remote(data)
    assert [str(p) for p in info.value.problems] == [
        "servers.server2.destination_id: must be a JetBackup id: 24 lowercase hex characters",
        "jobs[2].job_id: must be a JetBackup id: 24 lowercase hex characters",
        "jobs[5].server: unknown server 'ghost' (known: server1, server2, server3)",
    ]


def test_import_of_a_broken_file_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "config.json"
    source.write_text('{"servers": {}, "jobs": [ }')
    out = tmp_path / "out.yaml"
    result = jbremote("config", "import-jetbackup-remote", str(source), "-o", str(out))
    assert result.exit_code == 2
    assert "line 1, column 27" in result.stderr
    assert not out.exists()

    source.write_text('{"jobs": []}')
    result = jbremote("config", "import-jetbackup-remote", str(source), "-o", str(out))
    assert result.exit_code == 2
    assert "servers: required: an object of servers" in result.stderr
    assert not out.exists()


def test_import_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "jbremote.yaml"
    out.write_text("keep me")
    args = ("config", "import-jetbackup-remote", str(SAMPLE), "-o", str(out))
    result = jbremote(*args)
    assert result.exit_code == 2
    assert out.read_text() == "keep me"
    assert jbremote(*args, "--force").exit_code == 0
    assert load_config(out).jobs


def test_odd_server_names_are_renamed_consistently() -> None:
    data = sample()
    data["servers"]["web 1!"] = data["servers"].pop("server1")
    for job in data["jobs"]:
        if job["server"] == "server1":
            job["server"] = "web 1!"
    imported = import_jetbackup_remote(copy.deepcopy(data))
    assert "web-1" in imported.config["servers"]
    assert imported.config["targets"]["nas"]["destinations"]["web-1"]
    assert {j["server"] for j in imported.config["jobs"]} == {"web-1", "server2", "server3"}
    assert any("'web 1!' is called 'web-1'" in n for n in imported.notes)


def test_no_ssh_key_anywhere_assumes_ssh_default_and_says_so() -> None:
    data = sample()
    del data["ssh_key"]
    imported = import_jetbackup_remote(data)
    assert imported.config["ssh_defaults"]["key"] == "~/.ssh/id_ed25519"
    assert any("no ssh_key: assumed ~/.ssh/id_ed25519" in n for n in imported.notes)
