"""Faults of whole cycles: the real ``backup-cycle`` flow in a child process, a real Prefect
server (filesystem lease storage), a simulated fleet served over SSH from this process, and a
JSON webhook for alerts.

The child is killed, terminated, or loses its Prefect server; servers drop, restart, refuse
us or change keys. Judged from the simulator's ledger and call log (one writer per target, one
successful trigger and run per job, no stop call), the flow run's state, the records and the
alerts received.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings

from jbremote.config import load_config
from jbremote.doctor import diagnose
from jbremote.lifecycle.journal import StateJournal
from jbremote.sim import ledger, timeline
from jbremote.sim.fleet import SimFleet
from jbremote.sim.fleetspec import DestinationSpec, FleetSpec, JobSpec, ServerSpec
from jbremote.sim.keys import generate_ed25519
from tests.prefect_server import PrefectServer
from tests.unit.notify.receivers import JsonReceiver, wait_until

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FLOW = """
import json, sys
from flows.backup_cycle import backup_cycle
state = backup_cycle.with_options(flow_run_name=sys.argv[2])(sys.argv[1], return_state=True)
summary = state.result(raise_on_failure=False)
records = summary.get("records", []) if isinstance(summary, dict) else []
print("FINAL " + json.dumps({"type": state.type.value, "name": state.name, "records": records}))
"""


class FaultsPrefect(PrefectServer):
    """The session's kind of server, but sweeping expired leases every second and persisting
    events (heartbeats) at once, so the SIGKILL scenario takes one lease time, not more."""

    def env(self) -> dict[str, str]:
        env = super().env()
        env["PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS"] = "1"
        env["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL"] = "0.5"
        return env


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultsPrefect]:
    server = FaultsPrefect(tmp_path_factory.mktemp("faults-prefect"))
    server.start()
    try:
        with temporary_settings(
            {PREFECT_API_URL: server.api_url, PREFECT_SERVER_ANALYTICS_ENABLED: False}
        ):
            yield server
    finally:
        server.stop()


# -- a fleet, its config and the flow in a child process ---------------------------------------------
def server(name: str, target: str, *jobs: JobSpec, disabled: bool = False) -> ServerSpec:
    return ServerSpec(name, [DestinationSpec("nas", target, disabled=disabled)], list(jobs))


def job(name: str, duration: float = 1.0, **knobs: Any) -> JobSpec:
    return JobSpec(name, ["nas"], duration=duration, start_delay=0.2, **knobs)


@dataclass
class Scene:
    fleet: SimFleet
    hook: JsonReceiver
    tmp: Path
    children: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.fleet.state_dir

    @property
    def journal(self) -> StateJournal:
        return StateJournal(self.tmp / "jbremote-state")

    def start_flow(self, name: str, **env: str) -> subprocess.Popen[str]:
        log = (self.tmp / f"{name}.log").open("w")
        child = subprocess.Popen(
            [sys.executable, "-c", FLOW, str(self.fleet.config_path), name],
            env={
                **os.environ,
                "PREFECT_API_URL": str(PREFECT_API_URL.value()),
                "PREFECT_LOGGING_LEVEL": "INFO",
                # `jbremote run` tests quieten Prefect's console in this process's environment
                "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO",
                "JB_HOOK_URL": self.hook.url("/alerts"),
                "PYTHONPATH": str(ROOT),
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.children.append(child)
        return child

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def final(self, name: str) -> dict[str, Any]:
        line = next(x for x in self.log(name).splitlines() if x.startswith("FINAL "))
        result: dict[str, Any] = json.loads(line[len("FINAL ") :])
        return result

    def records(self, name: str) -> dict[str, dict[str, Any]]:
        return {f"{r['server']}/{r['label']}": r for r in self.final(name)["records"]}

    def run(self, server: str) -> timeline.RunView | None:
        runs = self.fleet.store.load(server).runs
        return timeline.view(runs[-1], time.time()) if runs else None

    def processing(self, server: str, job_name: str | None = None) -> bool:
        runs = self.fleet.store.load(server).runs
        runs = [r for r in runs if job_name is None or r.job_name == job_name]
        return bool(runs) and timeline.view(runs[-1], time.time()).status == timeline.PROCESSING

    def end_hang(self, server: str, in_seconds: float = 1.0) -> None:
        """JetBackup finishes the hanging run of ``server`` ``in_seconds`` from now."""
        with self.fleet.store.edit(server) as state:
            run = state.runs[-1]
            run.hangs, run.duration = False, time.time() + in_seconds - run.start_at


@pytest.fixture
def scene(prefect: FaultsPrefect, tmp_path: Path) -> Iterator[Callable[..., Scene]]:
    made: list[Scene] = []

    def build(spec: FleetSpec, manage_state: bool = False, **ssh: Any) -> Scene:
        fleet = SimFleet(spec, tmp_path / "fleet").start()
        data = yaml.safe_load(fleet.config_path.read_text())
        data["ssh_defaults"].update(connect_timeout=5.0, command_timeout=20.0, **ssh)
        data["orchestration"]["state_dir"] = str(tmp_path / "jbremote-state")
        data["notifications"] = {"urls": [{"url": "env:JB_HOOK_URL"}], "flush_timeout": 10}
        for target in data["targets"].values():
            target["manage_destination_state"] = manage_state
        fleet.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
        hook = JsonReceiver().__enter__()
        made.append(Scene(fleet, hook, tmp_path))
        return made[-1]

    yield build
    for s in made:
        for child in s.children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        s.hook.__exit__(None, None, None)
        s.fleet.stop()


def flow_run(name: str) -> FlowRun:
    with get_client(sync_client=True) as client:
        (found,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
        )
    return found


def unique(stem: str) -> str:
    return f"{stem}-{os.getpid()}-{time.time_ns()}"


def assert_ledger(s: Scene, ran: set[str], triggered: set[str] | None = None) -> None:
    """``ran``/``triggered``: "server/job" names. One writer per target, no stop call."""
    state = s.state_dir
    names = {
        (sv.name, sv.job_id(j.name)): f"{sv.name}/{j.name}"
        for sv in s.fleet.spec.servers
        for j in sv.jobs
    }
    assert set(ledger.max_writers(state, s.fleet.spec.target_of()).values()) <= {1}
    ok = [
        names[(c["server"], c["params"]["_id"])]
        for c in ledger.calls(state, "runBackupJobManually")
        if c["success"]
    ]
    assert sorted(ok) == sorted(ran if triggered is None else triggered), "triggers"
    runs = ledger.runs_per_job(state)
    assert {names[k]: n for k, n in runs.items()} == dict.fromkeys(ran, 1), "runs"
    assert ledger.stop_calls(state) == []


def final_line(records: dict[str, dict[str, Any]]) -> str:
    from jbremote.cycle.summary import verdict
    from jbremote.lifecycle.result import JobRecord

    return verdict([JobRecord.from_dict(r) for r in records.values()])


def titles(s: Scene) -> list[str]:
    return sorted(str(body["title"]) for body in s.hook.bodies)


# -- everything at once -------------------------------------------------------------------------------
def test_cycle_through_every_server_fault_runs_each_job_once_and_alerts_once(
    scene: Callable[..., Scene],
) -> None:
    # "down" runs its job in a lane of its own (its bounded retries take ~30 s) but is also a
    # possible writer to nas1 (a destination there), so nas1's lane must get past it.
    down = ServerSpec(
        "down",
        [DestinationSpec("nas", "nas4"), DestinationSpec("shared", "nas1")],
        [job("e")],
    )
    spec = FleetSpec(
        [
            server("srv01", "nas1", job("a", 3.0), job("b")),
            server("srv02", "nas1", job("c", 3.0)),
            down,
            server("srv03", "nas2", job("d", 2.0)),
            server("nokey", "nas2", job("f")),
            server("newkey", "nas3", job("g")),
            server("never", "nas3", job("h", never_starts=True)),
            server("noisy", "nas3", job("i")),
        ],
        orchestration={"poll_interval": 0.5, "startup_timeout": 4.0, "job_timeout": 3600.0},
    )
    spec.server("srv03").faults.fail_rate = 0.2  # a fifth of the API calls fail
    spec.server("srv03").faults.slow_seconds = 0.3  # and every call is slow
    spec.server("noisy").faults.garbage_rate = 0.3
    spec.server("noisy").faults.garbage_kind = "truncated_json"
    s = scene(spec, connect_retries=0)
    s.fleet.servers["down"].stop()
    s.fleet.servers["nokey"].authorized_keys = []
    s.fleet.servers["newkey"].host_key = generate_ed25519("intruder")[0]
    name = unique("faults")
    child = s.start_flow(name)

    dropped = restarted = False
    deadline = time.monotonic() + 150
    while child.poll() is None and time.monotonic() < deadline:
        if not dropped and s.processing("srv01", "a"):
            time.sleep(0.7)
            dropped = s.fleet.servers["srv01"].drop_connections() > 0
        if not restarted and s.processing("srv02"):
            s.fleet.servers["srv02"].stop()
            time.sleep(1.5)
            s.fleet.servers["srv02"].start()
            restarted = True
        time.sleep(0.1)
    assert child.wait(5) == 0, s.log(name)[-4000:]
    assert dropped and restarted

    final, records = s.final(name), s.records(name)
    assert (final["type"], final["name"]) == ("FAILED", "Failed")
    results = {k: r["result"] for k, r in records.items()}
    assert results == {
        "srv01/a": "completed",
        "srv01/b": "completed",
        "srv02/c": "completed",
        "down/e": "failed",
        "srv03/d": "completed",
        "nokey/f": "failed",
        "newkey/g": "failed",
        "never/h": "did not start",
        "noisy/i": "completed",
    }, {k: r["reason"] for k, r in records.items()}
    assert "Connection refused" in records["down/e"]["reason"]
    assert "refused key" in records["nokey/f"]["reason"]
    assert "HOST KEY CHANGED" in records["newkey/g"]["reason"]
    assert "no run appeared within 4 s" in records["never/h"]["reason"]
    assert any("could not check down" in n for n in records["srv01/a"]["notes"])
    connections = ledger.connections_per_server(s.state_dir)
    assert connections["srv01"] >= 2 and connections["srv02"] >= 2, "they reconnected"
    assert any(not c["success"] for c in ledger.calls(s.state_dir) if c["server"] == "srv03")
    assert any(c["garbage"] for c in ledger.calls(s.state_dir) if c["server"] == "noisy")
    ran = {"srv01/a", "srv01/b", "srv02/c", "srv03/d", "noisy/i"}
    assert_ledger(s, ran, triggered=ran | {"never/h"})

    assert wait_until(lambda: len(s.hook.posts) >= 5, 10)
    time.sleep(0.5)  # a duplicate would show up now
    got = titles(s)
    assert len(got) == 5, got
    for who in ("down/e", "nokey/f", "newkey/g", "never/h"):
        headline = "did not start" if who == "never/h" else "failed"
        assert [t for t in got if t.endswith(f": {who}")] == [
            f"[jbremote] Backup {headline}: {who}"
        ]
    assert [t for t in got if t.startswith("[jbremote] Backup cycle")] == [
        f"[jbremote] Backup cycle finished: {final_line(records)}"
    ]


# -- the flow process stops -------------------------------------------------------------------------------
def test_sigterm_mid_job_leaves_it_and_its_destination_alone_and_alerts_once(
    scene: Callable[..., Scene],
) -> None:
    spec = FleetSpec(
        [server("srv01", "term", job("job1", 60.0), job("job2"), disabled=True)],
        orchestration={"poll_interval": 5.0, "startup_timeout": 20.0, "job_timeout": 3600.0},
    )
    s = scene(spec, manage_state=True)
    name = unique("sigterm")
    child = s.start_flow(name)
    assert wait_until(lambda: s.processing("srv01"), 60), s.log(name)[-3000:]
    sent = time.monotonic()
    child.send_signal(signal.SIGTERM)
    child.wait(60)
    took = time.monotonic() - sent

    assert took < 12, f"exited {took:.1f} s after SIGTERM"
    run = flow_run(name)
    assert run.state is not None
    assert (run.state.type.value, run.state.name) == ("CANCELLED", "Interrupted")
    records = s.records(name)
    assert records["srv01/job1"]["result"] == "still running"
    assert records["srv01/job2"]["result"] == "skipped"
    view = s.run("srv01")
    assert view is not None and view.status == timeline.PROCESSING, "still writing"
    dest = s.fleet.store.load("srv01").destinations[0]
    assert not dest.disabled, "its destination is not disabled under the running job"
    assert [c.kind for c in s.journal.entries()] == ["destination"], "left for later restore"
    assert_ledger(s, {"srv01/job1"})
    assert wait_until(lambda: len(s.hook.posts) >= 1, 10)
    time.sleep(1.0)
    assert len(s.hook.posts) == 1, titles(s)
    assert "stopped by SIGTERM" in titles(s)[0]


def test_sigkill_mid_job_next_cycle_adopts_the_orphan_and_doctor_crashes_the_zombie(
    scene: Callable[..., Scene],
) -> None:
    """Lease expiry frees the killed run's lane slot (~60 s): the lane is not stuck. The
    next cycle adopts the orphaned run instead of triggering it, waits for its end and
    restores the destination state the killed run changed."""
    spec = FleetSpec(
        [server("srv01", "kill", job("job1", hangs=True), disabled=True)],
        orchestration={"poll_interval": 1.0, "startup_timeout": 20.0, "job_timeout": 3600.0},
    )
    s = scene(spec, manage_state=True)
    config = load_config(s.fleet.config_path)
    beat = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"}
    first, second = unique("killed"), unique("next")
    killed = s.start_flow(first, **beat)
    assert wait_until(lambda: s.processing("srv01"), 60), s.log(first)[-3000:]
    time.sleep(1.0)  # its task run is RUNNING in Prefect by now
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert not s.fleet.store.load("srv01").destinations[0].disabled
    assert len(s.journal.entries()) == 1, "the killed run's change is in the journal"

    follower = s.start_flow(second, **beat)
    # Right after the kill the dead run still holds a live lease: not called a zombie yet.
    early = diagnose(config, stale_after=20.0)
    assert early.zombies == [] and first in early.live_cycles

    adopted = "waiting for it instead of triggering"
    assert wait_until(lambda: adopted in s.log(second), 150), s.log(second)[-3000:]
    report = diagnose(config, fix=True, stale_after=20.0)
    assert [z.name for z in report.zombies] == [first] and report.zombies[0].fixed
    assert "no heartbeat" in report.zombies[0].reason
    assert second in report.live_cycles
    assert flow_run(first).state.name == "Crashed"  # type: ignore[union-attr]
    assert report.journal and report.journal[0].status == "job running"

    s.end_hang("srv01")
    assert follower.wait(60) == 0, s.log(second)[-3000:]
    record = s.records(second)["srv01/job1"]
    assert record["adopted"] and record["result"] == "completed"
    assert s.fleet.store.load("srv01").destinations[0].disabled, "prior state restored"
    assert s.journal.entries() == []
    assert_ledger(s, {"srv01/job1"})
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name("tag:nas:kill")
    assert limit.active_slots == 0


def test_prefect_server_restart_mid_cycle_does_not_leave_the_lane_stuck(
    prefect: FaultsPrefect, scene: Callable[..., Scene]
) -> None:
    spec = FleetSpec(
        [server("srv01", "restart", job("job1", 16.0), job("job2"))],
        orchestration={"poll_interval": 1.0, "startup_timeout": 20.0, "job_timeout": 3600.0},
    )
    s = scene(spec)
    first = unique("restart")
    child = s.start_flow(first)
    assert wait_until(lambda: s.processing("srv01", "job1"), 60), s.log(first)[-3000:]
    prefect.stop()
    prefect.start()
    assert s.processing("srv01", "job1"), "the server came back while the job still ran"
    assert child.wait(90) == 0, s.log(first)[-4000:]
    final = s.final(first)
    assert (final["type"], final["name"]) == ("COMPLETED", "Completed"), s.log(first)[-3000:]
    assert_ledger(s, {"srv01/job1", "srv01/job2"})
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name("tag:nas:restart")
    assert limit.active_slots == 0, "the slot held across the restart was released"

    # The lane takes the next job at once.
    with s.fleet.store.edit("srv01") as state:
        for sim_job in state.jobs:
            sim_job.duration = 0.5
    second = unique("after-restart")
    started = time.monotonic()
    assert s.start_flow(second).wait(60) == 0, s.log(second)[-3000:]
    assert time.monotonic() - started < 20
    assert {r["result"] for r in s.records(second).values()} == {"completed"}


# -- doctor against the real server -------------------------------------------------------------------
def test_doctor_cli_frees_a_confirmed_leaked_slot_and_never_a_held_one(
    prefect: FaultsPrefect, scene: Callable[..., Scene]
) -> None:
    from uuid import uuid4

    from prefect.client.schemas.objects import ConcurrencyLeaseHolder

    s = scene(FleetSpec.uniform(1, 1, targets=("leaky",)))
    name = "tag:nas:leaky"
    with get_client(sync_client=True) as client:
        from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=2))
        holder = ConcurrencyLeaseHolder(type="task_run", id=uuid4())
        client.increment_concurrency_slots_with_lease([name], 1, "concurrency", 60, holder)
        # a second slot counted with no lease behind it: what a lost lease leaves
        client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active_slots=2))

    env = {**os.environ, "PREFECT_API_URL": prefect.api_url, "PYTHONPATH": str(ROOT)}
    jbremote = str(Path(sys.executable).with_name("jbremote"))
    args = [jbremote, "doctor", "--json", "-c", str(s.fleet.config_path)]
    found = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert found.returncode == 3, found.stderr
    report = json.loads(found.stdout)
    (slot,) = [x for x in report["slots"] if x["tag"] == "nas:leaky"]
    assert (slot["active_slots"], slot["leaked"]) == (2, 1)
    assert "1 leaked slot(s) of tag:nas:leaky" in report["problems"]

    fixed = subprocess.run([*args, "--fix"], env=env, capture_output=True, text=True, timeout=60)
    report = json.loads(fixed.stdout)
    assert "freed 1 leaked slot(s) of tag:nas:leaky (no live holder)" in report["actions"]
    (slot,) = [x for x in report["slots"] if x["tag"] == "nas:leaky"]
    assert (slot["active_slots"], slot["leaked"], slot["holders"]) == (1, 0, [str(holder.id)])
    assert fixed.returncode == 0, fixed.stdout
