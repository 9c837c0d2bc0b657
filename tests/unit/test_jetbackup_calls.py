"""Argument lists, envelope parsing and model parsing — pure logic, no network."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from jbremote.jetbackup import destinations, jobs, logs, queues
from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.command import InvalidParameterError, api_argv, encode_value
from jbremote.jetbackup.envelope import (
    ApiError,
    GarbageOutputError,
    RemoteCommandError,
    parse_envelope,
)
from jbremote.jetbackup.status import Outcome, is_finished, meaning, outcome_of
from jbremote.transport.base import CommandResult, command_line

JOB = "6504c79fd4b57d536c05bbe2"
GROUP = "650a00000000000000000001"


def test_argv_is_a_list_with_one_encoded_data_flag() -> None:
    assert jobs.run_backup_job_manually(JOB).argv() == [
        "jetbackup5api",
        "-F",
        "runBackupJobManually",
        "-D",
        f"_id={JOB}",
        "-O",
        "json",
    ]
    assert (
        jobs.set_backup_job_disabled(JOB, True).argv()[4] == f"action=modify&_id={JOB}&disabled=1"
    )
    assert logs.list_logs(JOB).argv()[4] == (
        f"find[type]=1&find[info.ID]={JOB}&sort[start_time]=-1&limit=10"
    )


@pytest.mark.parametrize("bad", ["", "6504C79FD4B57D536C05BBE2", JOB + "0", "x; rm -rf /", None, 5])
def test_malformed_ids_never_leave(bad: Any) -> None:
    with pytest.raises(InvalidParameterError, match="24 lowercase hex"):
        jobs.get_backup_job(bad)


def test_values_are_percent_encoded() -> None:
    assert encode_value("a+b c&d=é") == "a%2Bb%20c%26d%3D%C3%A9"
    assert encode_value(True) == "1" and encode_value(False) == "0"


def test_bad_function_or_key_is_refused() -> None:
    with pytest.raises(InvalidParameterError):
        api_argv("get;ls")
    with pytest.raises(InvalidParameterError):
        api_argv("getLog", [("_id&x", "1")])


def test_command_line_quotes_brackets_and_ampersands() -> None:
    line = command_line(queues.list_queue_groups().argv())
    assert line == "jetbackup5api -F listQueueGroups -D 'type=1&sort[created]=-1&limit=50' -O json"


def envelope(data: Any, success: Any = 1, message: str = "") -> bytes:
    return json.dumps(
        {"success": success, "message": message, "system": {"version": "5.3.3"}, "data": data}
    ).encode()


def test_envelope_success_is_judged_by_the_field_not_the_exit_status() -> None:
    env = parse_envelope("getBackupJob", envelope({"_id": JOB}), exit_status=3)
    assert env.success and env.version == "5.3.3"
    with pytest.raises(ApiError, match="no such job"):
        parse_envelope("getBackupJob", envelope([], success=0, message="no such job"))
    with pytest.raises(ApiError):
        parse_envelope("getBackupJob", envelope([], success=""))


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        (b"<html>502</html>", "not JSON"),
        (b'{"success": 1, "data": {', "not JSON"),
        (b"[1, 2]", "not a JetBackup envelope"),
        (b'{"ok": true}', "not a JetBackup envelope"),
        (b'{"success": "maybe"}', "'success' is not a flag"),
        (b"", "empty output"),
        (b"[" * 100000 + b"]" * 100000, "not JSON"),
    ],
)
def test_garbage_output_is_a_typed_error_with_an_excerpt(output: bytes, problem: str) -> None:
    with pytest.raises(GarbageOutputError, match=problem) as info:
        parse_envelope("getBackupJob", output)
    assert len(info.value.excerpt) <= 121


def test_escape_sequences_in_output_are_neutralised() -> None:
    with pytest.raises(GarbageOutputError) as info:
        parse_envelope("getBackupJob", b"\x1b]0;owned\x07\x1b[2J")
    assert "\x1b" not in str(info.value)


def test_no_output_with_nonzero_exit_is_a_command_error() -> None:
    with pytest.raises(RemoteCommandError, match="exit status 127: jetbackup5api: not found"):
        parse_envelope("getBackupJob", b"", 127, b"jetbackup5api: not found\n")


@pytest.mark.parametrize("running", [1, "1", True, "true"])
@pytest.mark.parametrize("idle", [0, "", None, False, "0"])
def test_flag_spellings(running: Any, idle: Any) -> None:
    parse = jobs.get_backup_job(JOB).parse
    assert parse({"_id": JOB, "running": running}).running is True
    assert parse({"_id": JOB, "running": idle, "disabled": idle}).running is False


def test_queue_group_parses_the_documented_sample() -> None:
    group = {
        "_id": GROUP,
        "created": "2023-09-20T14:39:10+00:00",
        "started": "2023-09-20T14:39:11+00:00",
        "ended": None,
        "type": 1,
        "status": 2,
        "log_id": "650a0000e2238a334103e001",
        "progress": {"percentage": 41, "name": "acct05"},
        "data": {"_id": JOB},
    }
    (parsed,) = queues.list_queue_groups().parse({"groups": [group], "total": 1})
    assert parsed.job_id == JOB and parsed.ended is None and parsed.progress
    assert parsed.started and parsed.started.isoformat() == "2023-09-20T14:39:11+00:00"
    assert parsed.progress.percentage == 41


def test_numeric_keyed_map_counts_as_a_list() -> None:
    parsed = destinations.list_destinations().parse({"destinations": {"0": {"_id": GROUP}}})
    assert [d.id for d in parsed] == [GROUP]


def test_status_codes_follow_the_official_list() -> None:
    assert [outcome_of(c) for c in (100, 101, 102, 103, 104, 200)] == [
        Outcome.COMPLETED,
        Outcome.PARTIAL,
        Outcome.FAILED,
        Outcome.ABORTED,
        Outcome.UNKNOWN,
        Outcome.UNKNOWN,
    ]
    assert not is_finished(2) and is_finished(104)
    assert meaning(101) == "101 partially completed"
    assert meaning(104) == "104 (not a documented JetBackup status)"


class CannedTransport:
    """Answers each call with the next canned output and records the argv sent."""

    name = "web1"

    def __init__(self, *outputs: bytes) -> None:
        self.outputs = list(outputs)
        self.sent: list[list[str]] = []

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        self.sent.append(list(argv))
        return CommandResult(0, self.outputs.pop(0), b"")

    def close(self) -> None:
        pass


def test_client_sends_argv_and_parses_data() -> None:
    transport = CannedTransport(envelope({"_id": JOB, "running": 1}))
    job = JetBackupClient(transport, binary="/usr/bin/jetbackup5api").run_backup_job_manually(JOB)
    assert job.running and transport.sent[0][:3] == [
        "/usr/bin/jetbackup5api",
        "-F",
        "runBackupJobManually",
    ]


def test_client_wrong_data_shape_is_garbage() -> None:
    transport = CannedTransport(envelope([]))
    with pytest.raises(GarbageOutputError, match="unexpected data shape"):
        JetBackupClient(transport).get_backup_job(JOB)
    transport = CannedTransport(envelope({"groups": [{"_id": "nope", "status": 1}]}))
    with pytest.raises(GarbageOutputError, match="groups"):
        JetBackupClient(transport).list_queue_groups()
