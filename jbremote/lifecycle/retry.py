"""Retrying the read-only calls of a lifecycle, with backoff, without re-sending a trigger."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from jbremote.jetbackup.command import InvalidParameterError
from jbremote.jetbackup.envelope import JetBackupError
from jbremote.lifecycle.clock import Clock
from jbremote.transport.base import TransportError

T = TypeVar("T")

DEFAULT_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)

RemoteError: tuple[type[Exception], ...] = (JetBackupError, TransportError)


def is_transient(error: BaseException) -> bool:
    """Return whether trying the same read again later may succeed.

    Authentication and host-key failures are permanent; so is a malformed id. API errors,
    garbage output and network trouble may pass (a busy server, a dropped connection).
    """
    if isinstance(error, InvalidParameterError):
        return False
    if isinstance(error, TransportError):
        return error.transient
    return isinstance(error, JetBackupError)


def retry_read(
    fn: Callable[[], T],
    clock: Clock,
    backoff: Sequence[float] = DEFAULT_BACKOFF,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """Call ``fn`` until it succeeds, sleeping ``backoff[i]`` after the i-th transient failure.

    Re-raise a permanent error at once and the last transient one when the backoff runs out.
    Only for calls that are safe to repeat (reads).
    """
    for delay in (*backoff, None):
        try:
            return fn()
        except RemoteError as exc:
            if delay is None or not is_transient(exc):
                raise
            if on_retry:
                on_retry(exc, delay)
            clock.sleep(delay)
    raise AssertionError("unreachable")
