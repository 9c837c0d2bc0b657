"""Flow ``backup-cycle``: every configured JetBackup job, one writer per storage target.

What it guarantees:

* one lane per storage target; inside a lane jobs run one after another (priority, then
  config order), lanes of different targets run at the same time;
* each job is a task tagged ``nas:<target>`` whose concurrency limit (the target's writer
  count, default 1) is made sure of before anything starts, so even two cycles at once never
  put more of our jobs on a target than it tolerates;
* a job holds its slot until JetBackup says it ended: timeouts warn, nothing is stopped;
* every job ends with exactly one record, published as a table artifact; one job's failure
  does not stop the others, and the run ends Failed if any job failed;
* alerts (docs/alerts.md) go out in the background, once each: job problems as they happen,
  one summary per cycle, and "could not run" when the cycle fails or crashes. A dead
  notification service never fails or holds up the backups.
"""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Sequence
from typing import Any, cast

from prefect import allow_failure, flow, get_run_logger, runtime
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.states import Cancelled, Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.job_task import backup_job, log_event, register, unregister
from flows.lane_limits import ensure_lane_limits
from flows.report import Progress, publish_plan, publish_summary
from flows.shutdown import GracefulStop
from jbremote.config import load_config
from jbremote.config.models import Job
from jbremote.cycle.connections import connection_pool
from jbremote.cycle.plan import Lane, plan_lanes
from jbremote.cycle.runner import Cycle, new_record, skipped
from jbremote.cycle.summary import counts, verdict
from jbremote.lifecycle.result import JobRecord, Result
from jbremote.notify.flowrun import CycleAlerts, on_crashed, on_failure
from jbremote.pause import apply_pauses, paused

#: longest wait before the next lane starts when the previous lane's first job has not begun
LANE_START_SPACING = 1.0
MAX_PARALLEL_JOBS = 64


@flow(
    name="backup-cycle",
    # A lane uses a thread per running job and one per job submitted ahead (waiting on its
    # predecessor, which was submitted first and so always has its thread: no starvation).
    task_runner=cast(Any, ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_JOBS)),
    retries=0,
    log_prints=False,
    on_failure=[on_failure],
    on_crashed=[on_crashed],
)
def backup_cycle(
    config_path: str,
    servers: list[str] | None = None,
    jobs: list[str] | None = None,
    targets: list[str] | None = None,
    dry_run: bool = False,
    send_alerts: bool | None = None,
) -> State:
    """Run (or with ``dry_run`` only check) the selected jobs of the config at ``config_path``.

    ``send_alerts``: None sends alerts except in dry runs (unless the config's
    ``notifications.send_in_dry_run``); False only logs what would be sent (demo runs);
    True always sends.
    """
    logger = get_run_logger()
    run_id = str(runtime.flow_run.id or "")
    with CycleAlerts(config_path, run_id, logger, dry_run=dry_run, send=send_alerts) as alerts:
        records, final = _cycle(config_path, servers, jobs, targets, dry_run, alerts)
        if final.is_cancelled():
            alerts.interrupted(records, final.message or "the cycle was stopped")
        else:
            alerts.completed(records)
    return final


def _cycle(
    config_path: str,
    servers: list[str] | None,
    jobs: list[str] | None,
    targets: list[str] | None,
    dry_run: bool,
    alerts: CycleAlerts,
) -> tuple[list[JobRecord], State]:
    logger = get_run_logger()
    config = load_config(config_path)
    lanes, disabled = plan_lanes(config, servers, jobs, targets)
    lanes, held = apply_pauses(lanes, paused())
    for record in held:
        logger.warning("%s not run: %s", record.display, record.reason)
    for lane in lanes:
        order = ", ".join(f"{j.server}/{j.label or j.id}" for j in lane.jobs)
        logger.info("lane %s (%d writer(s)): %s", lane.target, lane.writers, order)

    with connection_pool(config) as pool:
        cycle = Cycle(config, pool.get, emit=alerts.sink(log_event))
        if dry_run:
            records = [cycle.check_job(job) for lane in lanes for job in lane.jobs] + held
            publish_plan(lanes, records)
            return records, _final_state(records, dry_run=True)
        for change in ensure_lane_limits(lanes):
            logger.info(change)
        cycle.plan(lanes)
        key = uuid.uuid4().hex
        register(key, cycle)
        try:
            with GracefulStop(cycle.stop) as graceful:
                records = run_lanes(lanes, key, cycle)
        finally:
            unregister(key)
    records += held + [skipped(job, "disabled in the config") for job in disabled]
    publish_summary(records)
    logger.info(verdict(records))
    if graceful.received:
        return records, _interrupted(records, graceful.received)
    return records, _final_state(records)


def run_lanes(lanes: Sequence[Lane], cycle_key: str, cycle: Cycle) -> list[JobRecord]:
    """Run every lane: up to ``writers`` jobs of a lane at once, lanes side by side.

    A lane of ``writers`` = k runs as k chains: job i waits for job i - k. Each chain has its
    next job submitted ahead, waiting on its predecessor (Prefect ``wait_for``), so it takes
    the target's slot the moment the predecessor releases it, with no round trip through this
    thread. The job after that is submitted once the next one has begun: creating a task run
    while a slot changes hands can clash on the Prefect server (on SQLite that clash costs a
    2 s client retry; docs/performance.md).

    Once the cycle's ``stop`` is set no further job is submitted; a job already waiting sees
    the stop and records itself skipped, the rest are recorded skipped here.
    """
    stop = cycle.stop
    logger = get_run_logger()
    progress = Progress(sum(len(lane.jobs) for lane in lanes))
    records: dict[str, JobRecord] = {}
    submitted: dict[tuple[str, int], PrefectFuture[State]] = {}
    running: dict[PrefectFuture[State], tuple[Lane, int]] = {}
    # What wakes this thread: a job's future completed, or a job began (None).
    wake: queue.SimpleQueue[PrefectFuture[State] | None] = queue.SimpleQueue()
    deferred: list[tuple[Lane, int]] = []  # to submit once the job ahead of it has begun

    def submit(lane: Lane, index: int) -> None:
        job = lane.jobs[index]
        before = submitted.get((lane.target, index - lane.writers))
        task = backup_job.with_options(tags=[lane.tag])
        future = task.submit(
            cycle_key,
            job.id,
            job.server,
            job.label or job.id,
            job.target,
            return_state=False,
            wait_for=[allow_failure(before)] if before is not None else None,
        )
        submitted[(lane.target, index)] = future
        running[future] = (lane, index)
        future.add_done_callback(wake.put)

    def submit_deferred(ended: tuple[Lane, int] | None = None) -> None:
        """Submit what waited for its predecessor to begin (or, ``ended``, to end)."""
        for lane, index in list(deferred):
            ahead = index - lane.writers
            if cycle.has_begun(lane.jobs[ahead]) or ended == (lane, ahead):
                deferred.remove((lane, index))
                if not stop.is_set():
                    submit(lane, index)

    def announce(lane: Lane, index: int) -> None:
        holder, waiting = lane.jobs[index], lane.jobs[index + 1 :]
        if waiting:
            logger.info(
                "%s holds %s; waiting in its lane: %s",
                f"{holder.server}/{holder.label or holder.id}",
                lane.target,
                ", ".join(f"{j.server}/{j.label or j.id}" for j in waiting),
            )

    cycle.on_begin = lambda job: wake.put(None)

    # Every lane's first jobs before any waiting one: the thread pool serves in order.
    def start(lane: Lane) -> None:
        for index in range(min(2 * lane.writers, len(lane.jobs))):
            submit(lane, index)
        announce(lane, min(lane.writers, len(lane.jobs)) - 1)

    # Lanes start one after another: the next once the previous one's first job has begun
    # (at most LANE_START_SPACING s later): first jobs taking their slots at the same
    # instant clash on a SQLite-backed Prefect server, and the loser waits 2 s or more.
    unstarted = list(lanes)
    previous: Lane | None = None  # the lane started last, and when
    started_at = 0.0
    while unstarted or running:
        if unstarted and (
            previous is None
            or stop.is_set()
            or cycle.has_begun(previous.jobs[0])
            or time.monotonic() - started_at >= LANE_START_SPACING
        ):
            previous, started_at = unstarted.pop(0), time.monotonic()
            if not stop.is_set():
                start(previous)
            continue
        try:
            future = wake.get(timeout=LANE_START_SPACING / 4 if unstarted else None)
        except queue.Empty:
            continue
        if future is None or future not in running:
            submit_deferred()
            continue
        lane, index = running.pop(future)
        job = lane.jobs[index]
        submit_deferred(ended=(lane, index))  # a job that never began still frees its chain
        records[job.id] = _record_of(future, job, cycle)
        progress.job_done()
        if stop.is_set():
            continue
        successor = index + lane.writers
        if successor < len(lane.jobs):
            announce(lane, successor)
        if successor + lane.writers < len(lane.jobs):
            deferred.append((lane, successor + lane.writers))
            submit_deferred()
    progress.close()
    return [
        records.get(job.id)
        or cycle.left_behind(job)
        or skipped(job, "the cycle was stopped before this job started")
        for lane in lanes
        for job in lane.jobs
    ]


def _record_of(future: PrefectFuture[State], job: Job, cycle: Cycle) -> JobRecord:
    # wait() keeps the in-memory final state; without it ``state`` is re-read from the API,
    # which has no data (result persistence is off: records hold nothing to persist).
    future.wait()
    state = future.state
    if state.is_pending():
        # Never ran: Prefect holds a job back (NotReady) when the job before it in its
        # chain was cancelled or crashed.
        left = cycle.left_behind(job)  # triggered at the hand-over all the same
        if left is not None:
            return left
        if cycle.stop.is_set():
            return skipped(job, "the cycle was stopped before this job started")
        record = new_record(job)
        record.result = Result.NOT_STARTED
        record.reason = (
            f"not started: the job before it in its lane ended abnormally ({state.message})"
        )
        return record
    try:
        data = state.result(raise_on_failure=False)
    except Exception as exc:
        data = exc
    if isinstance(data, JobRecord):
        return data
    record = new_record(job)
    record.result = Result.FAILED
    record.reason = f"the task ended {state.name}: {state.message or data}"
    return record


def _interrupted(records: list[JobRecord], signal_name: str) -> State:
    """The run was stopped by ``signal_name``: Cancelled, saying what was left running."""
    left = [r.display for r in records if r.result is Result.STILL_RUNNING]
    line = f"stopped by {signal_name}; " + verdict(records)
    if left:
        line += f" (left running in JetBackup, never stopped: {', '.join(left)})"
    summary = {"records": [r.to_dict() for r in records], "counts": counts(records)}
    return Cancelled(name="Interrupted", message=line, data=summary)


def _final_state(records: list[JobRecord], dry_run: bool = False) -> State:
    summary = {"records": [r.to_dict() for r in records], "counts": counts(records)}
    line = verdict(records)
    failed = [r for r in records if r.result.is_failure]
    if failed:
        names = ", ".join(r.display for r in failed[:5])
        return Failed(message=f"{line} (failed: {names})", data=summary)
    if any(r.result.is_problem or r.timed_out for r in records):
        return Completed(name="CompletedWithProblems", message=line, data=summary)
    return Completed(name="DryRun" if dry_run else "Completed", message=line, data=summary)
