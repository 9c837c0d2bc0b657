"""Suite-wide guards: network traffic in tests goes to loopback only."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths


def _guarded(real: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise AssertionError(f"test tried to reach {address!r}; tests may only use loopback")
        return real(self, address)

    return connect


def _ensure_scan_handler() -> None:
    from tests.secret_scan import ScanHandler

    root = logging.getLogger()
    if not any(isinstance(h, ScanHandler) for h in root.handlers):
        root.addHandler(ScanHandler())


def pytest_configure(config: pytest.Config) -> None:
    _ensure_scan_handler()


@pytest.fixture(autouse=True)
def _scan_logs_for_secrets() -> None:
    # Prefect's logging setup replaces the root handlers when it is first imported.
    _ensure_scan_handler()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.secret_scan import LEAKS

    if LEAKS:
        print("\nSECRET LEAKS found by the suite-wide scan:\n  " + "\n  ".join(sorted(set(LEAKS))))
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
    yield


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``prefect server start`` process for the session; the test process uses it.

    Yields the API URL. Started only by tests that ask for it.
    """
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )

    from tests.prefect_server import PrefectServer

    server = PrefectServer(tmp_path_factory.mktemp("prefect-home"))
    server.start()
    try:
        with temporary_settings(
            {PREFECT_API_URL: server.api_url, PREFECT_SERVER_ANALYTICS_ENABLED: False}
        ):
            yield server.api_url
            _drain_prefect_workers()
            from tests.secret_scan import scan_prefect

            scan_prefect(server.api_url)
    finally:
        server.stop()


def _drain_prefect_workers() -> None:
    """Send buffered run logs and events before the server goes away (as Prefect's harness does)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)
