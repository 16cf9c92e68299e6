"""The dispatcher: drains the delivery outbox. Claims due rows with a lease, sends them on a
pool of threads outside any transaction, records each outcome, retries with backoff.

A slow receiver holds at most DISPATCH_PER_TARGET sending slots, so it cannot delay the
others; a killed process loses nothing, because its leases expire and the rows are claimed
again (receivers de-duplicate on the stable webhook-id).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from flask import Flask

from .. import signals
from ..extensions import db
from ..services import deliveries
from ..services.notification_settings import channel_settings
from . import ChannelSettings, Outcome, get_notifier

log = logging.getLogger(__name__)


class Dispatcher:
    """One loop claiming and recording in batches; a thread pool doing the network I/O."""

    def __init__(self, app: Flask, *, concurrency: int | None = None,
                 per_target: int | None = None, poll_seconds: float = 1.0):
        self.app = app
        self.concurrency = concurrency or int(app.config.get("DISPATCH_CONCURRENCY", 32))
        self.per_target = per_target or int(app.config.get("DISPATCH_PER_TARGET", 8))
        self.poll_seconds = poll_seconds
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="alerting-send")
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._in_flight: Counter[str] = Counter()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def wake(self, *_args, **_kwargs) -> None:
        self._wake.set()

    # -- one step of the loop; also what tests call -------------------------------------

    def step(self) -> int:
        """Record finished sends, then claim and start as many due deliveries as slots allow.
        Returns how many were started."""
        with self.app.app_context():
            try:
                self._record_finished()
                free = self.concurrency - sum(self._in_flight.values())
                claimed = deliveries.claim_due(free, per_target=self.per_target,
                                               in_flight=dict(self._in_flight))
                settings = channel_settings() if claimed else None
            finally:
                db.session.remove()
        for item in claimed:
            self._in_flight[item.target] += 1
            self._pool.submit(self._send, item, settings)
        return len(claimed)

    def drain(self, timeout: float = 30.0) -> None:
        """Run until nothing is due or in flight (tests and the CLI's one-shot mode)."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                started = self.step()
                if not started and not self._in_flight and self._done.empty():
                    return
                self._wake.wait(0.01)
                self._wake.clear()
        finally:
            timer.cancel()

    def _send(self, item: deliveries.Claimed, settings: ChannelSettings) -> None:
        started = datetime.now(UTC)
        try:
            outcome = get_notifier(item.channel).send(item.message, item.target, settings)
        except Exception as exc:  # a bug in a channel must not lose the delivery
            log.exception("channel %s raised", item.channel)
            outcome = Outcome(ok=False, retryable=True, error=f"internal error: {exc!r}")
        self._done.put((item, outcome, started))
        self._wake.set()

    def _record_finished(self) -> None:
        results = []
        while True:
            try:
                results.append(self._done.get_nowait())
            except queue.Empty:
                break
        if not results:
            return
        try:
            deliveries.record_outcomes(results)
        finally:
            for item, _outcome, _started in results:
                self._in_flight[item.target] -= 1
                if self._in_flight[item.target] <= 0:
                    del self._in_flight[item.target]

    # -- the background thread ------------------------------------------------------------

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                started = self.step()
                failures = 0
            except Exception:
                failures += 1
                log.exception("dispatcher step failed; retrying")
                self._stop.wait(min(0.1 * 2 ** failures, 5.0))
                continue
            if started:
                continue
            with self.app.app_context():
                try:
                    wait = deliveries.next_due_in(self.poll_seconds)
                finally:
                    db.session.remove()
            self._wake.wait(wait)
            self._wake.clear()

    def start(self) -> threading.Thread:
        # Woken only when delivery rows were written (by the matcher, or a manual retry):
        # most alerts of a home set-up have none, and a wake costs two queries.
        signals.deliveries_due.connect(self.wake, sender=self.app)
        self.thread = threading.Thread(target=self._loop, name="alerting-dispatcher",
                                       daemon=True)
        self.thread.start()
        return self.thread

    def stop(self, timeout: float = 5.0) -> None:
        signals.deliveries_due.disconnect(self.wake, sender=self.app)
        self._stop.set()
        self._wake.set()
        if self.thread is not None:
            self.thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
