"""Fixtures that start real OpenSSH sshd instances (see tests/sshd_harness.py).

``sshd_factory(forced_command, **options)`` starts an sshd whose every session runs
``forced_command`` and stops it after the test; ``module_sshd_factory`` does the same for a
whole module. ``stub_sshd`` is an sshd running tests/sshd_stub.py, which logs every call.
All of them skip the test, with the reason, when /usr/sbin/sshd is not installed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The harness is shared test support, not part of the package: make tests/ importable.
_TESTS = Path(__file__).resolve().parents[1]
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

from sshd_harness import SshdServer, require_sshd, stub_command  # noqa: E402

SshdFactory = Callable[..., SshdServer]


def _factory(root: Path) -> Iterator[SshdFactory]:
    require_sshd()
    servers: list[SshdServer] = []

    def start(forced_command: str, **options: Any) -> SshdServer:
        server = SshdServer(root / f"sshd-{len(servers)}", forced_command, **options)
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def sshd_factory(tmp_path: Path) -> Iterator[SshdFactory]:
    """Start sshd instances for one test: ``sshd_factory("cmd", name="web1")``."""
    yield from _factory(tmp_path)


@pytest.fixture(scope="module")
def module_sshd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFactory]:
    """Start sshd instances shared by a whole test module."""
    yield from _factory(tmp_path_factory.mktemp("sshd"))


@pytest.fixture
def calls_log(tmp_path: Path) -> Path:
    """Where the stub records each call it serves."""
    return tmp_path / "calls.jsonl"


@pytest.fixture
def stub_sshd(sshd_factory: SshdFactory, calls_log: Path) -> SshdServer:
    """An sshd whose forced command is tests/sshd_stub.py logging to ``calls_log``."""
    return sshd_factory(stub_command(calls_log))
