"""The command line: parsing, parameter decoding, envelope, output formats, exit statuses."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from jbremote.jetbackup.command import encode_params
from jbremote.sim.api import decode_params


def test_decode_params_reverses_the_client_encoding() -> None:
    params = [("name", "a b+c&d=e/ü%"), ("find[info.ID]", "x"), ("sort[created]", -1)]
    assert decode_params(encode_params(params)) == {
        "name": "a b+c&d=e/ü%",
        "find[info.ID]": "x",
        "sort[created]": "-1",
    }


def test_decode_params_reads_plus_as_space_and_bare_keys_as_empty() -> None:
    assert decode_params("a=x+y&b&c=1=2&") == {"a": "x y", "b": "", "c": "1=2"}


def test_envelope_has_the_four_documented_keys(sim: Any) -> None:
    reply = sim.call("listBackupJobs")
    assert set(reply) == {"success", "message", "system", "data"}
    assert reply["system"]["version"] == "5.3.3"
    assert reply["system"]["type"] == "cPanel"


def test_json_output_escapes_slashes_like_php(sim: Any) -> None:
    sim.trigger()
    (group,) = sim.groups()
    out = sim.run("getQueueGroup", {"_id": group["_id"]})
    assert b"\\/usr\\/local\\/jetapps" in out.stdout
    assert json.loads(out.stdout)["data"]["log_file"].startswith("/usr/local/jetapps/")


@pytest.mark.parametrize(
    "binary", ["jetbackup5api", "/usr/local/bin/jetbackup5api", "/usr/bin/jetbackup5api"]
)
def test_binary_may_be_named_by_path(sim: Any, binary: str) -> None:
    out = sim.raw(shlex.join([binary, "-F", "listBackupJobs", "-O", "json"]))
    assert (out.exit_status, json.loads(out.stdout)["success"]) == (0, 1)


@pytest.mark.parametrize(
    "argv",
    [
        ["jetbackup5api", "-F", "listBackupJobs", "-F", "getBackupJob", "-O", "json"],
        ["jetbackup5api", "-F", "listBackupJobs", "-X", "1"],
        ["jetbackup5api", "-D", "a=1", "-O", "json"],
        ["jetbackup5api", "-F", "listBackupJobs", "-O", "yaml"],
        ["jetbackup5api", "-F"],
        ["jetbackup5apix", "-F", "listBackupJobs"],
        ["sh", "-c", "id"],
    ],
)
def test_bad_command_lines_are_usage_errors(sim: Any, argv: list[str]) -> None:
    out = sim.raw(shlex.join(argv))
    assert out.exit_status == 1
    assert out.stdout == b""
    assert b"Usage: jetbackup5api" in out.stderr


def test_unbalanced_quotes_are_a_usage_error(sim: Any) -> None:
    out = sim.raw("jetbackup5api -F 'listBackupJobs")
    assert out.exit_status == 1


def test_help_prints_usage(sim: Any) -> None:
    out = sim.raw("jetbackup5api --help")
    assert (out.exit_status, out.stdout.startswith(b"Usage:")) == (0, True)


def test_unknown_function_is_success_0_with_exit_status_0(sim: Any) -> None:
    out = sim.run("editBackupJob", {"_id": sim.job_id()})
    reply = json.loads(out.stdout)
    assert out.exit_status == 0
    assert reply["success"] == 0
    assert "editBackupJob" in reply["message"]


def test_missing_required_parameter_is_success_0(sim: Any) -> None:
    reply = sim.call("getBackupJob")
    assert reply["success"] == 0
    assert "_id" in reply["message"]


def test_exit_status_on_error_is_configurable(sim: Any) -> None:
    with sim.store.edit("srv01") as server:
        server.faults.exit_status_on_error = 3
    assert sim.run("editBackupJob").exit_status == 3
    assert sim.run("listBackupJobs").exit_status == 0


def test_multiple_data_flags_are_merged(sim: Any) -> None:
    command = shlex.join(
        ["jetbackup5api", "-F", "listQueueGroups", "-D", "type=1", "-D", "limit=5", "-O", "json"]
    )
    assert json.loads(sim.raw(command).stdout)["success"] == 1


def test_plain_output_prints_indented_key_value_lines(sim: Any) -> None:
    out = sim.raw("jetbackup5api -F listBackupJobs")  # no -O: the docs' text form
    lines = out.stdout.decode().splitlines()
    assert lines[0] == "success: 1"
    assert "message:" in lines
    assert "  jobs:" in lines
    assert "    0:" in lines
    assert "      name: job1" in lines
    assert "      disabled:" in lines  # false prints as nothing


def test_unknown_server_is_an_error_on_stderr(sim: Any) -> None:
    from jbremote.sim.service import handle_command

    out = handle_command(sim.store, "nosuch", "jetbackup5api -F listBackupJobs", "", sim.clock)
    assert out.exit_status == 1
    assert b"nosuch" in out.stderr


def test_every_call_is_logged_with_its_decoded_parameters(sim: Any) -> None:
    sim.raw(
        "jetbackup5api -F getBackupJob -D _id=abc%2Fd -O json",
        connection="10.0.0.1 5000 10.0.0.2 22",
    )
    sim.raw("jetbackup5api -F -O json -F x")
    first, second = sim.store.read_calls()
    assert first["function"] == "getBackupJob"
    assert first["params"] == {"_id": "abc/d"}
    assert first["ssh_connection"] == "10.0.0.1 5000 10.0.0.2 22"
    assert (first["success"], first["garbage"], first["t"]) == (False, None, sim.clock.now)
    assert (second["function"], second["exit_status"]) == (None, 1)
