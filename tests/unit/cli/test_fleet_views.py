"""status, test, list --remote and stop logic against simulated servers (no SSH)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from jbremote.checks import GATE_ARGV, Verdict, check_server
from jbremote.errors import CannotRun
from jbremote.inventory import remote_inventory, suggested_entries
from jbremote.jetbackup.call import Call, parse_message
from jbremote.sim.fleetspec import DestinationSpec, FleetSpec, JobSpec, ServerSpec
from jbremote.status import fleet_status
from jbremote.stop import find_active_group, parse_request, send_stop
from jbremote.transport.base import CommandResult, ConnectError, Transport
from jbremote.transport.settings import SshSettings
from tests.unit.cli.fleet import Fleet


def two_servers() -> FleetSpec:
    """web1 and web2 on nas1; web2 also has a job jbremote does not manage on the same NAS."""
    nas = DestinationSpec("nas", "nas1")
    web1 = ServerSpec("web1", [nas], [JobSpec("acc", ["nas"]), JobSpec("dirs", ["nas"])])
    web2 = ServerSpec(
        "web2",
        [DestinationSpec("nas", "nas1"), DestinationSpec("s3", "cloud")],
        [
            JobSpec("acc", ["nas"]),
            JobSpec("own", ["nas"], managed=False),
            JobSpec("off", ["s3"], managed=False),
        ],
    )
    return FleetSpec([web1, web2])


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    return Fleet(two_servers(), tmp_path)


def test_status_shows_who_holds_the_target_and_last_results(fleet: Fleet) -> None:
    fleet.trigger("web1", "acc")
    fleet.clock.now += 61 + 5  # acc ran 60 s after a 1 s start delay: finished (100)
    fleet.trigger("web1", "dirs")
    fleet.trigger("web2", "own")  # JetBackup's own schedule, say
    fleet.clock.now += 10

    result = fleet_status(fleet.config, factory=fleet.transport)

    assert result.all_reachable
    web1 = result.servers[0]
    assert (web1.name, web1.version, [a.label for a in web1.active]) == ("web1", "5.3.3", ["dirs"])
    active = web1.active[0]
    assert (active.status, active.status_meaning) == (2, "2 processing")
    assert active.progress is not None and 0 < active.progress < 100
    assert [(a.name, a.label) for a in result.servers[1].active] == [("own", None)]

    (nas1,) = [t for t in result.targets if t.name == "nas1"]
    holders = sorted((h.server, h.name, h.managed) for h in nas1.holders)
    assert holders == [("web1", "dirs", True), ("web2", "own", False)]
    assert all(h.since for h in nas1.holders)
    assert nas1.unknown_servers == []

    jobs = {(j.server, j.label): j for j in result.jobs}
    acc = jobs[("web1", "acc")]
    assert acc.last is not None
    assert (acc.last.outcome, acc.last.status, acc.last.source) == ("completed", 100, "queue")
    assert acc.running is False
    assert jobs[("web1", "dirs")].running is True and jobs[("web1", "dirs")].last is None
    assert jobs[("web2", "acc")].last is None


def test_status_falls_back_to_logs_when_the_queue_was_cleared(fleet: Fleet) -> None:
    fleet.trigger("web1", "acc")
    fleet.clock.now += 100
    fleet.client("web1").call(_clear_queue())

    (acc, *_rest) = fleet_status(fleet.config, ["web1"], factory=fleet.transport).jobs
    assert acc.last is not None
    assert acc.last.source == "log"
    assert acc.last.ended is not None
    assert "undocumented" in acc.last.status_meaning


def test_status_of_an_unreachable_server_keeps_the_others(fleet: Fleet) -> None:
    fleet.down.add("web2")
    fleet.trigger("web1", "acc")
    fleet.clock.now += 5

    result = fleet_status(fleet.config, factory=fleet.transport)

    assert not result.all_reachable
    web2 = result.servers[1]
    assert (web2.reachable, web2.error) == (
        False,
        "cannot connect to 127.0.0.1:22: Connection refused",
    )
    cloud, nas1 = result.targets  # config order (the sim sorts target names)
    assert (nas1.name, nas1.unknown_servers) == ("nas1", ["web2"])
    assert (cloud.name, cloud.holders, cloud.unknown_servers) == ("cloud", [], ["web2"])
    assert [h.server for h in nas1.holders] == ["web1"]
    web2_acc = next(j for j in result.jobs if j.server == "web2")
    assert web2_acc.error and "Connection refused" in web2_acc.error


def test_status_rejects_an_unknown_server_before_contacting_anyone(fleet: Fleet) -> None:
    with pytest.raises(CannotRun, match=r"unknown server 'web9' \(known: web1, web2\)"):
        fleet_status(fleet.config, ["web9"], factory=_no_transport)


class GatedTransport:
    """A transport with a jbremote-gate in front: answers --version, passes the rest on."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.name = inner.name

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        if tuple(argv) == GATE_ARGV:
            return CommandResult(0, b"jbremote-gate 0.1.0\n", b"")
        return self.inner.run(argv, timeout)

    def close(self) -> None:
        self.inner.close()


def _key(host: str, port: int, timeout: float) -> str:
    return "ssh-ed25519 SHA256:testkey"


def test_checks_all_pass_behind_a_gate(fleet: Fleet) -> None:
    result = check_server(
        fleet.config, "web2", lambda s: GatedTransport(fleet.transport(s)), key_of=_key
    )
    assert [(c.name, c.verdict) for c in result.checks] == [
        ("ssh", Verdict.OK),
        ("gate", Verdict.OK),
        ("api", Verdict.OK),
        ("jobs", Verdict.OK),
        ("destinations", Verdict.OK),
    ]
    details = {c.name: c.detail for c in result.checks}
    assert details["ssh"] == "root@127.0.0.1:22, host key ssh-ed25519 SHA256:testkey"
    assert details["gate"] == "active: jbremote-gate 0.1.0"
    assert details["api"] == "JetBackup 5.3.3 EDGE, 3 backup jobs"
    assert details["jobs"] == "1 configured, all found: acc"
    assert details["destinations"] == "cloud: s3, nas1: nas"
    assert result.ok


def test_checks_without_a_gate_fail_with_the_install_hint(fleet: Fleet) -> None:
    result = check_server(fleet.config, "web1", fleet.transport, key_of=_key)
    gate = result.checks[1]
    assert (gate.name, gate.verdict) == ("gate", Verdict.FAILED)
    assert (
        "no jbremote-gate answered (exit 1: 'jetbackup5api: not a jetbackup5api command')"
        in gate.detail
    )
    assert gate.detail.endswith("install one: jbremote gate install web1")
    assert not result.ok


def test_checks_find_missing_jobs_disabled_jobs_and_foreign_destinations(
    fleet: Fleet, tmp_path: Path
) -> None:
    data = fleet.config.model_dump(mode="json")
    data["jobs"].append({"id": "f" * 24, "server": "web2", "target": "nas1", "label": "ghost"})
    # web2/off sends to the s3 destination, which nas1 does not list for web2
    data["jobs"].append(
        {"id": fleet.job_id("web2", "off"), "server": "web2", "target": "nas1", "label": "off"}
    )
    data["targets"]["nas1"]["destinations"]["web2"].append("e" * 24)
    with fleet.store.edit("web2") as server:
        server.job(fleet.job_id("web2", "acc")).disabled = True  # type: ignore[union-attr]
    from jbremote.config import validate_data

    config = validate_data(data)
    result = check_server(config, "web2", fleet.transport, key_of=_key)
    checks = {c.name: c for c in result.checks}
    assert checks["api"].verdict is Verdict.OK
    assert checks["jobs"].verdict is Verdict.FAILED
    assert checks["jobs"].detail == (
        "acc is disabled in JetBackup: enable it, or set targets.nas1.manage_destination_state; "
        f"ghost ({'f' * 24}) not found on the server; "
        "off sends to s3, none of which targets.nas1.destinations lists for web2"
    )
    assert checks["destinations"].verdict is Verdict.FAILED
    assert checks["destinations"].detail == f"not found on the server: {'e' * 24} (target nas1)"


def test_checks_stop_at_the_first_failure_and_skip_the_rest(fleet: Fleet) -> None:
    def refuse(host: str, port: int, timeout: float) -> str:
        raise ConnectError(f"{host}:{port}", "cannot connect: Connection refused")

    result = check_server(fleet.config, "web1", fleet.transport, key_of=refuse)
    assert [(c.name, c.verdict.value) for c in result.checks] == [
        ("ssh", "failed"),
        ("gate", "skipped"),
        ("api", "skipped"),
        ("jobs", "skipped"),
        ("destinations", "skipped"),
    ]
    assert result.checks[0].detail == "cannot connect: Connection refused"

    with fleet.store.edit("web1") as server:
        server.faults.fail_rate = 1.0
    result = check_server(fleet.config, "web1", fleet.transport, key_of=_key)
    api = result.checks[2]
    assert (api.name, api.verdict) == ("api", Verdict.FAILED)
    assert "simulated fault" in api.detail
    assert [c.verdict for c in result.checks[3:]] == [Verdict.SKIPPED, Verdict.SKIPPED]


def test_inventory_marks_configured_jobs_and_suggests_the_rest(fleet: Fleet) -> None:
    from jbremote.config import validate_data

    data = fleet.config.model_dump(mode="json")
    data["targets"]["cloud"]["destinations"] = {}  # the s3 destination belongs to no target
    inventories = remote_inventory(validate_data(data), factory=fleet.transport)
    web2 = inventories[1]
    assert web2.reachable
    jobs = {j.name: j for j in web2.jobs}
    assert (jobs["acc"].configured, jobs["own"].configured) == (True, False)
    assert jobs["own"].type_name == "accounts"
    assert jobs["own"].destinations == [
        {"id": fleet.spec.server("web2").destination_id("nas"), "name": "nas"}
    ]
    assert {d.name: d.target for d in web2.destinations} == {"nas": "nas1", "s3": None}
    assert suggested_entries(inventories) == [
        {"id": fleet.job_id("web2", "own"), "server": "web2", "target": "nas1", "label": "own"},
        {"id": fleet.job_id("web2", "off"), "server": "web2", "target": "CHOOSE", "label": "off"},
    ]


def test_stop_requests_are_checked_before_any_contact(fleet: Fleet) -> None:
    job = fleet.job_id("web1", "acc")
    assert parse_request(fleet.config, "web1", job).job_id == job
    assert parse_request(fleet.config, "web1", "acc").job_id == job  # the configured label
    with pytest.raises(CannotRun, match="unknown server 'web3'"):
        parse_request(fleet.config, "web3", job)
    for bad in ("xyz", job.upper(), job[:-1], "own"):  # "own" is not configured
        with pytest.raises(CannotRun, match="neither a JetBackup id"):
            parse_request(fleet.config, "web1", bad)


def test_stop_finds_the_active_group_and_jetbackup_aborts_it(fleet: Fleet) -> None:
    client = fleet.client("web1")
    request = parse_request(fleet.config, "web1", "acc")
    with pytest.raises(
        CannotRun, match="nothing to stop: web1/acc has no queued or running backup"
    ):
        find_active_group(client, request)

    fleet.trigger("web1", "acc")
    fleet.clock.now += 5
    found = find_active_group(client, request)
    assert (found.job_id, found.job_name, found.group.status) == (request.job_id, "acc", 2)
    assert send_stop(client, found) == "Queue Group stop signal sent"
    fleet.clock.now += 1
    assert client.get_queue_group(found.group.id).status == 103

    # jetbackup-remote's users pass the queue group id: that works as well
    fleet.clock.now += 100
    fleet.trigger("web1", "acc")
    group = find_active_group(client, request).group
    by_group = parse_request(fleet.config, "web1", group.id)
    assert find_active_group(client, by_group).group.id == group.id


def _no_transport(settings: SshSettings) -> Transport:
    raise AssertionError("nothing may be contacted")


def _clear_queue() -> Call[None]:
    return Call("clearQueue", (), parse_message, mutating=True)
