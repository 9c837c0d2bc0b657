"""Run what a systemd unit runs, without systemd: its environment and its ExecStart/ExecStop.

Used to test the units that ``deployments/install.sh`` renders: the process gets what systemd
would give it (a clean environment made of ``Environment=`` lines then the
``EnvironmentFile=``, default signal dispositions, its own session) instead of the test's
environment, so a unit that only works thanks to the test's settings fails here.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Exec a command with SIGINT and SIGTERM at their defaults. Python's subprocess keeps an
# ignored SIGINT (what a shell gives background jobs), and a Prefect worker that ignores
# SIGINT never stops on SIGTERM (it turns SIGTERM into SIGINT). systemd resets them too.
_EXEC_WITH_DEFAULT_SIGNALS = (
    "import os, signal, sys\n"
    "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n"
    "    signal.signal(s, signal.SIG_DFL)\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)


def default_signals_argv(argv: list[str]) -> list[str]:
    """Return an argv that runs ``argv`` with default signal dispositions."""
    return [sys.executable, "-c", _EXEC_WITH_DEFAULT_SIGNALS, *argv]


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a systemd ``EnvironmentFile=``: KEY=VALUE lines, # comments, optional quotes."""
    env = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


@dataclass
class Unit:
    """The [Service] settings of a unit file that matter for running it by hand."""

    path: Path
    settings: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Unit:
        unit = cls(path)
        section = ""
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            unit.settings.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
        return unit

    def get(self, key: str, section: str = "Service") -> list[str]:
        return self.settings.get(f"{section}.{key}", [])

    def environment(self, **overrides: str) -> dict[str, str]:
        """The process environment systemd would build, then ``overrides`` (for free ports)."""
        env = {"PATH": SYSTEMD_PATH, "LANG": "C.UTF-8"}
        for line in self.get("Environment"):
            for assignment in shlex.split(line):
                key, _, value = assignment.partition("=")
                env[key] = value
        for name in self.get("EnvironmentFile"):
            optional = name.startswith("-")
            path = Path(name.lstrip("-"))
            if path.exists() or not optional:
                env.update(read_env_file(path))
        env.update(overrides)
        return env

    def command(self, key: str, mainpid: int | None = None) -> list[str]:
        """``ExecStart``/``ExecStop`` as an argv (specifiers %H, %% and $MAINPID expanded)."""
        (line,) = self.get(key)
        line = line.replace("%H", socket.gethostname()).replace("%%", "%")
        if mainpid is not None:
            line = line.replace("$MAINPID", str(mainpid))
        return shlex.split(line)


class UnitProcess:
    """A unit's ExecStart running in its own session; output in ``log_path``."""

    def __init__(self, unit: Unit, log_path: Path, **env_overrides: str) -> None:
        self.unit = unit
        self.env = unit.environment(**env_overrides)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> UnitProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                default_signals_argv(self.unit.command("ExecStart")),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",
            )
        return self

    def run_stop_command(self, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run the unit's ExecStop (with $MAINPID) as systemd would before it sends SIGTERM."""
        return subprocess.run(
            self.unit.command("ExecStop", mainpid=self.pid),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def terminate(self, timeout: float = 20.0) -> float:
        """Send SIGTERM to the main process only (KillMode=mixed). Return seconds to exit.

        Raise TimeoutError (after killing the whole session) if it did not exit in time.
        """
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError(f"{self.unit.path.name} ignored SIGTERM for {timeout} s") from None
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
