"""A compromised server answering with hostile output: the client neither crashes nor hangs,
and no control character, bidi override or lone surrogate gets through unescaped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import pytest

from jbremote.jetbackup.client import JetBackupClient
from jbremote.jetbackup.envelope import (
    MAX_DEPTH,
    ApiError,
    GarbageOutputError,
    RemoteCommandError,
    parse_envelope,
)
from jbremote.jetbackup.models import MAX_LOG_TEXT
from jbremote.jetbackup.status import Outcome, is_finished, meaning, outcome_of
from jbremote.text import one_line, printable
from jbremote.transport.base import CommandResult

JOB = "6504c79fd4b57d536c05bbe2"
GROUP = "650a00000000000000000001"
# Everything a terminal, a log viewer or a mail client might act on.
CONTROLS = (
    "".join(chr(c) for c in range(0x20))
    + "\x7f"
    + "".join(chr(c) for c in range(0x80, 0xA0))
    + "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    + "\udfff\ud800"  # low before high: two lone surrogates, not a pair
)
DANGEROUS = set(CONTROLS)
NASTY = CONTROLS + "\x1b[2J\x1b]0;owned\x07"


def assert_clean(text: str, newlines_ok: bool = False) -> None:
    allowed = {"\n", "\t"} if newlines_ok else set()
    bad = {c for c in text if c in DANGEROUS} - allowed
    assert not bad, f"unescaped: {sorted(hex(ord(c)) for c in bad)}"
    text.encode("utf-8")  # a lone surrogate would raise here


class Canned:
    """A transport that answers every call with one fixed output."""

    name = "evil"

    def __init__(self, stdout: bytes, exit_status: int = 0, stderr: bytes = b"") -> None:
        self.result = CommandResult(exit_status, stdout, stderr)

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        return self.result

    def close(self) -> None:
        pass


def answer(data: Any, **envelope: Any) -> bytes:
    body = {"success": 1, "message": "", "system": {"version": "5.3.3"}, "data": data, **envelope}
    return json.dumps(body).encode()


def client(stdout: bytes, exit_status: int = 0, stderr: bytes = b"") -> JetBackupClient:
    return JetBackupClient(Canned(stdout, exit_status, stderr))


# -- size -------------------------------------------------------------------------------------


def test_huge_garbage_is_rejected_quickly_with_a_short_excerpt() -> None:
    started = time.monotonic()
    with pytest.raises(GarbageOutputError, match="not JSON") as info:
        client(b"\x1b[31m" * (16 * 1024 * 1024 // 5)).get_backup_job(JOB)

    assert time.monotonic() - started < 5
    # 120 characters of output, each escaped to at most 6 ("\\u202e"), and the cut mark.
    assert len(info.value.excerpt) <= 6 * 120 + 1
    assert_clean(str(info.value))


def test_output_beyond_the_hard_cap_is_not_even_decoded() -> None:
    with pytest.raises(GarbageOutputError, match="larger than"):
        parse_envelope("getBackupJob", b"{" + b" " * (64 * 1024 * 1024))


def test_huge_string_fields_are_capped() -> None:
    giant = "A" * 10_000_000
    jobs = client(answer({"jobs": [{"_id": JOB, "name": giant}]})).list_backup_jobs()

    assert len(jobs[0].name) == 201 and jobs[0].name.endswith("…")


def test_huge_log_keeps_its_end() -> None:
    content = "start\n" + "x" * (2 * MAX_LOG_TEXT) + "\nthe failure\x1b[2J"
    log = client(answer({"_id": JOB, "content": content})).get_log(JOB, content=True)

    assert log.content.startswith("…") and log.content.endswith("\nthe failure\\x1b[2J")
    assert len(log.content) == 1 + MAX_LOG_TEXT + len("\\x1b") - 1  # the tail, escaped


def test_many_objects_parse_in_bounded_time() -> None:
    items = [{"_id": GROUP, "status": 100, "message": "ok"}] * 100_000
    started = time.monotonic()

    parsed = client(answer({"items": items})).list_queue_items(GROUP)

    assert len(parsed) == 100_000
    assert time.monotonic() - started < 10


# -- JSON bombs -------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 100_000])
def test_deep_nesting_is_garbage_not_a_recursion_crash(depth: int) -> None:
    bomb = b'{"success": 1, "data": {"x": ' + b"[" * depth + b"]" * depth + b"}}"

    with pytest.raises(GarbageOutputError, match=r"not JSON|nested deeper"):
        parse_envelope("getQueueGroup", bomb)


def test_ordinary_nesting_is_fine() -> None:
    nested: Any = {"account": "acct1"}
    for _ in range(MAX_DEPTH - 4):
        nested = {"inner": nested}

    group = client(answer({"_id": GROUP, "status": 2, "data": nested})).get_queue_group(GROUP)

    assert group.status == 2


def test_integer_with_thousands_of_digits_is_garbage() -> None:
    with pytest.raises(GarbageOutputError, match="not JSON"):
        client(
            b'{"success": 1, "data": {"_id": "'
            + JOB.encode()
            + b'", "state": '
            + b"9" * 5000
            + b"}}"
        ).get_backup_job(JOB)


def test_huge_status_code_is_an_unknown_outcome() -> None:
    status = 10**4000
    group = client(answer({"_id": GROUP, "status": status})).get_queue_group(GROUP)

    assert is_finished(group.status) and outcome_of(group.status) is Outcome.UNKNOWN
    assert meaning(group.status).endswith("(not a documented JetBackup status)")


@pytest.mark.parametrize("value", [1e20, -1e20, 10**30, "1e999", float("inf"), float("nan")])
def test_absurd_timestamps_are_garbage_not_overflow(value: Any) -> None:
    raw = answer({"_id": JOB, "last_run": value})
    if value == "1e999":
        raw = raw.replace(b'"1e999"', b"1e999")  # JSON infinity by overflow

    with pytest.raises(GarbageOutputError, match="unexpected data shape"):
        client(raw).get_backup_job(JOB)


@pytest.mark.parametrize("flag", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_flags_are_garbage(flag: str) -> None:
    raw = f'{{"success": 1, "data": {{"_id": "{JOB}", "running": {flag}}}}}'.encode()

    with pytest.raises(GarbageOutputError):
        client(raw).get_backup_job(JOB)


def test_non_finite_success_flag_is_garbage() -> None:
    with pytest.raises(GarbageOutputError, match="'success' is not a flag"):
        parse_envelope("getBackupJob", b'{"success": NaN, "data": {}}')


# -- escapes and encodings --------------------------------------------------------------------


def test_every_text_field_arrives_escaped() -> None:
    job = {
        "_id": JOB,
        "name": NASTY,
        "destination": [NASTY],
        "destination_details": [{"_id": JOB, "name": NASTY, "type": NASTY}],
    }
    (parsed,) = client(answer({"jobs": [job]})).list_backup_jobs()
    item = {"_id": GROUP, "group_id": NASTY, "message": NASTY, "owner_name": NASTY, "status": 102}
    (queue_item,) = client(answer({"items": [item]})).list_queue_items(GROUP)
    group = {
        "_id": GROUP,
        "status": 2,
        "log_file": NASTY,
        "log_id": NASTY,
        "progress": {"name": NASTY},
        "data": {"_id": NASTY},
    }
    parsed_group = client(answer(group)).get_queue_group(GROUP)
    log = client(answer({"_id": JOB, "file": NASTY, "content": NASTY})).get_log(JOB, True)

    for text in [
        parsed.name,
        *parsed.destination,
        parsed.destination_details[0].name,
        parsed.destination_details[0].type,
        queue_item.message,
        queue_item.owner_name,
        parsed_group.log_file,
        parsed_group.progress.name if parsed_group.progress else "",
        log.file,
    ]:
        assert_clean(text)
    assert_clean(log.content, newlines_ok=True)
    assert "\\x1b[2J" in parsed.name
    assert queue_item.group_id == "" and parsed_group.log_id == ""
    assert parsed_group.job_id is None


def test_api_error_message_is_one_escaped_line() -> None:
    with pytest.raises(ApiError) as info:
        client(
            answer([], success=0, message="denied\n2024-01-01 CRITICAL forged" + NASTY)
        ).get_backup_job(JOB)

    assert_clean(str(info.value))
    assert "\\n2024-01-01 CRITICAL forged" in info.value.reason


def test_stderr_of_a_failed_command_is_one_escaped_line() -> None:
    with pytest.raises(RemoteCommandError) as info:
        client(
            b"", 77, b"jbremote-gate: denied\n" + NASTY.encode("utf-8", "surrogatepass")
        ).get_backup_job(JOB)

    assert_clean(str(info.value))
    assert str(info.value).startswith("getBackupJob: exit status 77: jbremote-gate: denied\\n")


@pytest.mark.parametrize(
    "stdout",
    [
        b"\xff\xfe\x00garbage",
        b'{"success": 1, "data": {"_id": "' + JOB.encode() + b'", "name": "\xff\xfe\xc0\xaf"}}',
        json.dumps({"success": 1, "data": {"_id": JOB, "name": "\ud800x\udfff"}}).encode(),
        b"\x1b]52;c;" + b"A" * 200 + b"\x07",  # OSC 52: write the operator's clipboard
    ],
)
def test_invalid_utf8_and_lone_surrogates_never_crash(stdout: bytes) -> None:
    try:
        job = client(stdout).get_backup_job(JOB)
    except GarbageOutputError as exc:
        assert_clean(str(exc))
    else:
        assert_clean(job.name)
        assert "\ufffd" in job.name or "\\ud800" in job.name


def test_version_is_escaped_and_short() -> None:
    env = parse_envelope("x", answer({}, system={"version": NASTY * 10}))
    assert_clean(env.version)
    assert len(env.version) <= 6 * 40 + 1
    assert parse_envelope("x", answer({}, system={"version": [1] * 10**5})).version == ""


def test_garbage_timestamp_error_does_not_echo_raw_control_characters() -> None:
    with pytest.raises(GarbageOutputError) as info:
        client(answer({"_id": JOB, "last_run": "\x1b[2J2023\u202e"})).get_backup_job(JOB)

    assert_clean(str(info.value))


def test_shape_error_of_a_list_item_is_clean() -> None:
    with pytest.raises(GarbageOutputError) as info:
        client(answer({"groups": [{"_id": NASTY, "status": 1}]})).list_queue_groups()

    assert_clean(str(info.value))


# -- the escaping helpers themselves ----------------------------------------------------------


def test_printable_escapes_everything_dangerous_but_keeps_lines() -> None:
    out = printable(NASTY + "ok", 10_000)
    assert_clean(out, newlines_ok=True)
    assert "\n" in out and "\t" in out and out.endswith("ok")
    assert "\\ud800" in out and "\\u202e" in out and "\\x85" in out


def test_one_line_escapes_line_breaks_too() -> None:
    assert one_line("a\nb\tc\r") == "a\\nb\\tc\\r"
    assert_clean(one_line(NASTY, 10_000))


def test_cut_is_marked_for_text_and_bytes() -> None:
    assert printable("abcdef", 3) == "abc…"
    assert printable(b"abcdef", 3) == "abc…"
    assert printable("abc", 3) == "abc"
    assert printable(b"\xe2\x82\xac" * 5, 2) == "€€…"
    assert printable(b"x" * 10_000_000, 5) == "xxxxx…"
