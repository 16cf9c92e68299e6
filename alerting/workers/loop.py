"""The one supervised loop every background worker runs on (matcher, dispatcher, and the
loops to come): it calls `cycle()` until asked to stop, and an exception never ends it.

A failing cycle is retried after a backoff (exponential, capped, with jitter so that the
workers of several processes do not retry in step). Each distinct error is logged once, with
its traceback, while the loop keeps failing; the recovery is logged too. `state()` is what
/api/health shows: running, failing (since when, how many times, the last error) or stopped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any

from ..engine.timeparse import isoformat_z

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 0.05
BACKOFF_MAX_SECONDS = 5.0


class SupervisedLoop(ABC):
    """A background loop: subclasses implement `cycle()` (one unit of work and the wait
    after it; wait on `self._wake` or `self._stop`, never sleep). `start()` runs it in a
    daemon thread, `stop()` ends it; nothing else does."""

    def __init__(self, name: str, *, backoff_base: float = BACKOFF_BASE_SECONDS,
                 backoff_max: float = BACKOFF_MAX_SECONDS):
        self.name = name
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None
        self._state_lock = threading.Lock()
        self._failures = 0
        self._failing_since: datetime | None = None
        self._failing_started = 0.0
        self._last_error: str | None = None
        self._seen: set[str] = set()

    @abstractmethod
    def cycle(self) -> None:
        """One unit of work and the wait after it."""

    def wake(self, *_args: Any, **_kwargs: Any) -> None:
        """Cut the current wait short (signal receivers call it with their arguments)."""
        self._wake.set()

    # -- the thread ------------------------------------------------------------------------

    def start(self) -> threading.Thread:
        self._stop.clear()
        self.thread = threading.Thread(target=self.run, name=f"alerting-{self.name}",
                                       daemon=True)
        self.thread.start()
        return self.thread

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def run(self) -> None:
        """Cycle until stopped; an exception is logged and retried after a backoff."""
        while not self._stop.is_set():
            try:
                self.cycle()
            except Exception as exc:
                self._stop.wait(self._failed(exc))
            else:
                if self._failures:
                    self._recovered()

    def _failed(self, exc: Exception) -> float:
        """Note a failure; the seconds to wait before the next try."""
        # Distinct by type and first line: a driver's error goes on with the statement and
        # its parameters, which differ every time.
        first_line = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        error = first_line
        with self._state_lock:
            self._failures += 1
            if self._failing_since is None:
                self._failing_since = datetime.now(UTC)
                self._failing_started = time.monotonic()
            self._last_error = type(exc).__name__  # health is public: no messages
            failures = self._failures
            new = error not in self._seen
            if new:
                self._seen.add(error)
        if new:
            log.error("%s: cycle failed (%s failure(s) in a row); retrying with backoff",
                      self.name, failures, exc_info=exc)
        else:
            log.debug("%s: failed again: %s", self.name, first_line)
        delay = min(self.backoff_max, self.backoff_base * 2 ** min(failures - 1, 20))
        return delay * random.uniform(0.5, 1.0)

    def _recovered(self) -> None:
        with self._state_lock:
            failures, since = self._failures, time.monotonic() - self._failing_started
            self._failures, self._failing_since, self._last_error = 0, None, None
            self._seen.clear()
        log.warning("%s: recovered after %s failure(s) over %.1f s", self.name, failures, since)

    # -- what /api/health shows ----------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def state(self) -> dict[str, Any]:
        """alive, expected, state (running / failing / stopped), and while failing: since
        when, how many failures in a row, and the last error's type (the log has the rest:
        health is public, and a driver's message may name hosts or users)."""
        with self._state_lock:
            failing_since, failures, last_error = (
                self._failing_since, self._failures, self._last_error)
        alive = self.alive
        body: dict[str, Any] = {"alive": alive, "expected": True,
                                "state": "stopped" if not alive
                                else "failing" if failing_since else "running"}
        if failing_since is not None:
            body["failing_since"] = isoformat_z(failing_since)
            body["failures"] = failures
            body["last_error"] = last_error
        return body
