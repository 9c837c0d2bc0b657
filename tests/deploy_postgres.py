"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests: ``initdb`` in a temp dir, ``pg_ctl``.

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user
(created by Debian's package) and every command runs through ``runuser``. Its directory is
made outside pytest's (root-only) temp tree so that user can reach it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.prefect_server import free_port

RUN_AS = "postgres"


def _bindir() -> Path | None:
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def postgres_missing_reason() -> str | None:
    """Return why a PostgreSQL test cannot run here, or None."""
    if _bindir() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root needs the '{RUN_AS}' user (Debian's postgresql package)"
        if shutil.which("runuser") is None:
            return "runuser is missing (util-linux)"
    return None


class PostgresCluster:
    """``start()`` → a database ``prefect`` reachable at :attr:`url`; ``stop()`` removes it."""

    def __init__(self, database: str = "prefect") -> None:
        bindir = _bindir()
        assert bindir is not None, postgres_missing_reason()
        self.bindir = bindir
        self.database = database
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="jbremote-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Prefect's server takes (trust auth on loopback)."""
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def user(self) -> str:
        return RUN_AS if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, program: str, *args: str) -> None:
        argv = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", RUN_AS, "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} failed: {result.stderr}{result.stdout}\n{log[-2000:]}")

    def start(self) -> PostgresCluster:
        if os.geteuid() == 0:
            shutil.chown(self.root, RUN_AS, RUN_AS)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.database
        )
        return self

    def query(self, sql: str) -> str:
        """Run ``sql`` with psql; return its unaligned output."""
        psql = self.bindir / "psql"
        argv = [str(psql), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user]
        argv += ["-d", self.database, "-At", "-c", sql]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
        return result.stdout.strip()

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
