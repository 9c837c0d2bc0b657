"""Talk to a deployed Prefect from tests: the CLI as an operator runs it, the API, waiting.

Everything takes the API URL and auth string explicitly, so a test never depends on
(or changes) the settings of the test process beyond a ``with api(...)`` block.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import FlowRun
from prefect.settings import (
    PREFECT_API_AUTH_STRING,
    PREFECT_API_URL,
    PREFECT_SERVER_ANALYTICS_ENABLED,
    temporary_settings,
)

from tests.deploy_units import default_signals_argv

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
PREFECT = Path(sys.executable).with_name("prefect")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def wait_until(check: Callable[[], T], timeout: float, message: str, every: float = 0.5) -> T:
    """Return the first truthy ``check()``; raise TimeoutError(message) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(message)
        time.sleep(every)


def healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@contextmanager
def api(api_url: str, auth: str | None = None) -> Iterator[SyncPrefectClient]:
    """A sync client for ``api_url`` (basic auth with ``auth``)."""
    settings = {PREFECT_API_URL: api_url, PREFECT_SERVER_ANALYTICS_ENABLED: False}
    with (
        temporary_settings({**settings, PREFECT_API_AUTH_STRING: auth}),
        get_client(sync_client=True) as client,
    ):
        yield client


def cli(
    env: dict[str, str], *args: str, cwd: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``prefect ARGS`` with exactly ``env`` (plus no prompts); never raises on failure."""
    return subprocess.run(
        [str(PREFECT), "--no-prompt", *args],
        env={**env, "PREFECT_CLI_PROMPT": "false", "COLUMNS": "200"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_deployment(env: dict[str, str], name: str, *params: str) -> UUID:
    """``prefect deployment run NAME -p k=v…``; return the new flow run's id."""
    args = ["deployment", "run", name]
    for param in params:
        args += ["-p", param]
    result = cli(env, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    found = UUID_RE.search(result.stdout.split("UUID")[-1])
    assert found, result.stdout
    return UUID(found.group(0))


def wait_final(client: SyncPrefectClient, flow_run_id: UUID, timeout: float) -> FlowRun:
    """Wait for the flow run to reach a final state; return it."""

    def final() -> FlowRun | None:
        run = client.read_flow_run(flow_run_id)
        return run if run.state and run.state.is_final() else None

    found = wait_until(final, timeout, f"flow run {flow_run_id} did not finish in {timeout} s")
    assert found is not None
    return found


def start_worker(
    name: str, env: dict[str, str], log_path: Path, *extra: str
) -> subprocess.Popen[bytes]:
    """``prefect worker start --pool jbremote`` with default signal dispositions."""
    argv = [str(PREFECT), "worker", "start", "--pool", "jbremote", "--type", "process"]
    with log_path.open("ab") as log:
        return subprocess.Popen(
            default_signals_argv([*argv, "--name", name, *extra]),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
