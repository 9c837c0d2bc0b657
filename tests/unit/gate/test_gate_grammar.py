"""The gate's grammar against the client: every call jbremote builds passes, nothing else does."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from jbremote.gate import jbremote_gate as gate
from jbremote.jetbackup.call import Call
from jbremote.jetbackup.command import encode_params
from jbremote.transport.base import command_line
from tests.unit.gate.client_calls import every_call
from tests.unit.gate.hostile import J, corpus

CALLS = list(every_call())
API = "/usr/bin/jetbackup5api"


def check(command: str | bytes, **policy: Any) -> gate.Decision:
    raw = command.encode() if isinstance(command, str) else command
    return gate.check_command(raw, gate.Policy(**policy))


def api(function: str, data: str | None = None) -> str:
    return shlex.join(
        ["jetbackup5api", "-F", function, *(["-D", data] if data else []), "-O", "json"]
    )


def test_client_builds_every_function_of_the_grammar() -> None:
    assert len(CALLS) >= 50
    assert {call.function for _, call in CALLS} == set(gate.FUNCTIONS)


@pytest.mark.parametrize(("label", "call"), CALLS, ids=[label for label, _ in CALLS])
def test_gate_allows_every_call_the_client_builds(label: str, call: Call[Any]) -> None:
    decision = check(command_line(call.argv()))

    assert decision.allowed, decision.reason
    assert decision.argv == [API, *call.argv()[1:]]


@pytest.mark.parametrize(("label", "call"), CALLS[:5], ids=[label for label, _ in CALLS[:5]])
def test_gate_allows_the_client_naming_the_api_by_the_gates_path(
    label: str, call: Call[Any]
) -> None:
    assert check(
        command_line(call.argv("/opt/jb/bin/jetbackup5api")), api="/opt/jb/bin/jetbackup5api"
    ).allowed
    denied = check(command_line(call.argv("/usr/local/bin/jetbackup5api")))
    assert not denied.allowed and "only jetbackup5api may run" in denied.reason


def test_grammar_has_no_parameter_the_client_never_sends() -> None:
    sent: dict[str, set[str]] = {}
    for _, call in CALLS:
        keys = {key for key, _ in call.params}
        sent.setdefault(call.function, set()).update(keys)
        assert set(gate.FUNCTIONS[call.function].required) <= keys, call.function
    for name, function in gate.FUNCTIONS.items():
        assert set(function.rules) == sent[name], name


def test_read_functions_are_exactly_the_calls_that_change_nothing() -> None:
    for _, call in CALLS:
        assert (gate.FUNCTIONS[call.function].kind == gate.READ) == (not call.mutating), (
            call.function
        )


@pytest.mark.parametrize(("label", "call"), CALLS, ids=[label for label, _ in CALLS])
def test_read_only_gate_allows_only_reads(label: str, call: Call[Any]) -> None:
    decision = check(command_line(call.argv()), read_only=True)

    assert decision.allowed is (not call.mutating)
    if call.mutating:
        assert decision.reason == f"{call.function} changes the server and this gate is read-only"


def test_stop_needs_a_gate_without_no_stop() -> None:
    stop = api("stopQueueGroup", f"_id={J}")
    run = api("runBackupJobManually", f"_id={J}")

    assert check(stop).allowed
    assert not check(stop, no_stop=True).allowed
    assert "--no-stop" in check(stop, no_stop=True).reason
    assert check(run, no_stop=True).allowed
    assert not check(stop, read_only=True).allowed


@pytest.mark.parametrize(
    ("data", "allowed"),
    [
        ("limit=1&skip=0", True),
        ("limit=10000&skip=10000000", True),
        ("skip=0&limit=5", True),  # any order: the client's order is not a security property
        ("limit=0&skip=0", False),
        ("limit=10001&skip=0", False),
        ("limit=5&skip=10000001", False),
        ("limit=-0&skip=0", False),
        ("limit=5", False),
        ("limit=5&skip=0&limit=5", False),
    ],
)
def test_integer_bounds(data: str, allowed: bool) -> None:
    assert check(api("listBackupJobs", data)).allowed is allowed


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (
            api("manageBackupJob", f"action=create&_id={J}&disabled=1"),
            "action: 'create' is not exactly modify",
        ),
        (api("manageBackupJob", f"action=modify&_id={J}&disabled=1&name=x"), "takes no 'name'"),
        (api("getBackupJob", f"_id={J}&_id={J}"), "parameter _id given twice"),
        (api("getBackupJob", J.upper().join(["_id=", ""])), "is not an id"),
        (api("getLog", f"_id={J}&content=2"), "content: '2' is not a flag (0 or 1)"),
        (
            api("listQueueGroups", "type=8&sort[created]=0&limit=1"),
            "sort[created]: '0' is not one of -1, 1",
        ),
        (
            api("listLogs", f"find[type]=2&sort[start_time]=-1&limit=1&find[info.ID]={J}"),
            "find[type]: '2'",
        ),
        (api("getLogItem", f"log_id={J}"), "getLogItem needs _id"),
        (api("getBackupJob"), "getBackupJob needs -D"),
        (api("getBackupJob", f"_id={J}") + " -F getLog", "-F given twice"),
        (api("getBackupJob", f"_id={J}").replace(" -D", " -X"), "unknown argument '-X'"),
        (
            f"jetbackup5api -F getBackupJob -D '_id={J}' -O json",
            "not quoted the way the client quotes",
        ),
        (api("getBackupJob", f"_id={J}%20"), "character '%' (0x25) at position"),
        ("jbremote-gate --version ", "empty word"),
        ("", "interactive sessions are not allowed"),
    ],
)
def test_denial_reasons_name_the_broken_rule(command: str, reason: str) -> None:
    decision = check(command)

    assert not decision.allowed
    assert reason in decision.reason


def test_forbidden_byte_is_reported_with_its_position() -> None:
    decision = check(api("getBackupJob", f"_id={J}").encode() + b"\x00; id")

    assert decision.reason == "NUL (0x00) at position 69 is not allowed"
    assert decision.position == 69


def test_over_long_command_is_denied_before_anything_else() -> None:
    decision = check(b";" * (gate.MAX_COMMAND_BYTES + 1))

    assert decision.reason == f"command is {gate.MAX_COMMAND_BYTES + 1} bytes long, at most 1024"


def test_version_request_is_exact() -> None:
    assert check("jbremote-gate --version").version
    for near in ("jbremote-gate  --version", "jbremote-gate --version --api /x", "jbremote-gate"):
        assert not check(near).allowed


HOSTILE = corpus("/tmp/jbremote-canaries", "/tmp/jbremote-trap/jetbackup5api")


def test_hostile_corpus_is_large() -> None:
    assert len(HOSTILE) >= 60


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.label for h in HOSTILE])
@pytest.mark.parametrize("read_only", [False, True])
def test_hostile_command_is_denied(hostile: Any, read_only: bool) -> None:
    decision = gate.check_command(hostile.command, gate.Policy(read_only=read_only))

    assert not decision.allowed
    assert decision.reason and not decision.argv


def test_client_encoding_never_needs_a_forbidden_byte() -> None:
    # Every value the builders send is ASCII letters, digits, "_", "-": the gate can refuse "%".
    for _, call in CALLS:
        assert "%" not in encode_params(call.params)
