"""Stop a cycle gracefully on SIGTERM/SIGINT (also how a Prefect cancellation arrives).

The first signal sets the cycle's stop event: no new job starts, running jobs are left alone
in JetBackup (never stopped) and recorded as still running, the summary and one alert go out,
and the flow ends promptly. A second signal is passed to the handler that was there before
(Prefect's, which aborts the run at once).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class GracefulStop:
    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> GracefulStop:
        # Handlers can only be installed from the main thread; elsewhere (tests calling the
        # flow from a thread) the default behaviour stays.
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            previous = self._previous.get(signum)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)
            return
        self.received = signal.Signals(signum).name
        self.stop.set()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()
