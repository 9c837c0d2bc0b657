"""ConnectionPool: one transport per server name, thread-safe, closed together."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

import pytest

from jbremote.transport.pool import ConnectionPool
from jbremote.transport.settings import SshSettings
from jbremote.transport.ssh import SshTransport


def settings_for(name: str) -> SshSettings:
    if name not in {"web1", "web2"}:
        raise KeyError(name)
    return SshSettings(
        name=name,
        host=f"{name}.example.com",
        port=22,
        user="root",
        key=None,
        known_hosts=Path("/nonexistent"),
    )


class CountingTransport(SshTransport):
    created: ClassVar[list[CountingTransport]] = []

    def __init__(self, settings: SshSettings) -> None:
        super().__init__(settings)
        self.closes = 0
        CountingTransport.created.append(self)

    def close(self) -> None:
        self.closes += 1
        super().close()


@pytest.fixture
def pool() -> ConnectionPool:
    CountingTransport.created = []
    return ConnectionPool(settings_for, factory=CountingTransport)


def test_get_returns_one_transport_per_server(pool: ConnectionPool) -> None:
    first = pool.get("web1")

    assert pool.get("web1") is first
    assert pool.get("web2") is not first
    assert pool.get("web2").name == "web2"
    assert len(CountingTransport.created) == 2


def test_get_by_default_builds_ssh_transports_without_connecting() -> None:
    transport = ConnectionPool(settings_for).get("web1")

    assert isinstance(transport, SshTransport)
    assert transport.settings == settings_for("web1")


def test_get_unknown_server_raises_what_settings_for_raises(pool: ConnectionPool) -> None:
    with pytest.raises(KeyError):
        pool.get("nope")


def test_get_from_many_threads_creates_each_transport_once(pool: ConnectionPool) -> None:
    seen: list[SshTransport] = []
    start = threading.Barrier(16)

    def worker(n: int) -> None:
        start.wait()
        seen.append(pool.get(f"web{n % 2 + 1}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(CountingTransport.created) == 2
    assert {id(t) for t in seen} == {id(t) for t in CountingTransport.created}


def test_close_all_closes_each_and_later_get_starts_afresh(pool: ConnectionPool) -> None:
    first = pool.get("web1")
    pool.get("web2")

    pool.close_all()

    assert [t.closes for t in CountingTransport.created] == [1, 1]
    assert pool.get("web1") is not first


def test_pool_as_context_manager_closes_everything(pool: ConnectionPool) -> None:
    with pool as same:
        same.get("web1")

    assert [t.closes for t in CountingTransport.created] == [1]
