#!/bin/sh
# Drain a Prefect process worker before it is stopped (the worker unit's ExecStop=).
#
#   worker-drain.sh WORKER_PID
#
# 1. Wait until the worker runs no flow run (each one is a child process of the worker),
#    at most JBREMOTE_DRAIN_SECONDS (default 900).
# 2. Flow runs still going then get SIGTERM, the backup-cycle flow's signal to stop: it
#    starts no further job, leaves the JetBackup jobs already running alone, publishes its
#    summary and alert and ends (flows/shutdown.py), instead of being killed with the
#    worker and left "Running" forever. Wait for that at most JBREMOTE_STOP_GRACE_SECONDS
#    (default 2400).
# Then it returns and systemd sends SIGTERM to the worker, which stops at once.
# A worker that picks up a new run meanwhile just makes the wait longer (bounded as above).
set -u
pid=${1:-}
drain=${JBREMOTE_DRAIN_SECONDS:-900}
grace=${JBREMOTE_STOP_GRACE_SECONDS:-2400}
poll=${JBREMOTE_DRAIN_POLL_SECONDS:-2}

if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "worker-drain: no worker process to drain"
    exit 0
fi

runs() { pgrep -P "$pid" | tr '\n' ' '; }

# Return 0 once the worker has no child, 1 after $1 seconds.
wait_idle() {
    end=$(($(date +%s) + $1))
    while [ -n "$(runs)" ]; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep "$poll"
    done
    return 0
}

if [ -z "$(runs)" ]; then
    echo "worker-drain: worker $pid is idle"
    exit 0
fi
echo "worker-drain: waiting up to ${drain}s for the flow runs of worker $pid (pids $(runs)) to end"
if wait_idle "$drain"; then
    echo "worker-drain: worker $pid is idle"
    exit 0
fi
echo "worker-drain: still running after ${drain}s; asking flow runs (pids $(runs)) to stop"
# shellcheck disable=SC2046 # one pid per word
kill -TERM $(runs) 2>/dev/null
if wait_idle "$grace"; then
    echo "worker-drain: flow runs ended; worker $pid is idle"
else
    echo "worker-drain: flow runs still alive after ${grace}s more; they will be killed"
fi
exit 0
