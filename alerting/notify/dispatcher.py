"""The dispatcher: drains the delivery outbox. Claims due rows with a lease, sends them on a
pool of threads outside any transaction, records each outcome, retries with backoff.

A slow receiver holds at most DISPATCH_PER_TARGET sending slots (and as many leases queued
behind them), so it cannot delay the others; a killed process loses nothing, because its
leases expire and the rows are claimed again (receivers de-duplicate on the stable
webhook-id).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select

from .. import signals
from ..extensions import db
from ..models import NotificationSettings, utcnow
from ..services import deliveries
from ..services.notification_settings import ROW_ID as SETTINGS_ROW
from ..services.notification_settings import channel_settings
from ..workers.loop import BACKOFF_MAX_SECONDS, SupervisedLoop
from . import ChannelSettings, Outcome, get_notifier
from .base import with_notes

log = logging.getLogger(__name__)

EXPIRED_CHECK_SECONDS = 1.0

_SETTINGS = NotificationSettings.__table__
_SETTINGS_VERSION = select(_SETTINGS.c.updated_at).where(_SETTINGS.c.id == SETTINGS_ROW)


class Dispatcher(SupervisedLoop):
    """One loop claiming and recording in batches; a thread pool doing the network I/O.

    Claims run ahead: a target may have twice `per_target` deliveries leased, `per_target`
    of them sending and the others queued here, and a sender that finishes takes the next
    one of its target at once. The loop is woken when half of a target's leases are done
    (or new rows are due): it records them and refills the target in one step. Each step
    has a fixed cost (two transactions), so steps of one row, one per finished send, capped
    throughput at about 300 webhooks/s.

    It runs as a SupervisedLoop: a failed step (the database) is retried after a backoff.
    Outcomes that could not be recorded are kept and recorded by the next step, while their
    leases hold, so a send is never repeated because its record failed.
    """

    def __init__(self, app: Flask, *, concurrency: int | None = None,
                 per_target: int | None = None, poll_seconds: float = 1.0,
                 backoff_max: float = BACKOFF_MAX_SECONDS):
        super().__init__("dispatcher", backoff_max=backoff_max)
        self.app = app
        self.concurrency = concurrency or app.config["DISPATCH_CONCURRENCY"]
        self.per_target = per_target or app.config["DISPATCH_PER_TARGET"]
        self.poll_seconds = poll_seconds
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="alerting-send")
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        # Shared with the senders, under _lock: per target, what is leased and not yet
        # recorded, what is sending, what waits for a sending slot, and what finished.
        self._lock = threading.Lock()
        self._leased: Counter[str] = Counter()
        self._sending: Counter[str] = Counter()
        self._queued: dict[str, deque[tuple[deliveries.Claimed, ChannelSettings]]] = {}
        self._finished: Counter[str] = Counter()
        self._channel_settings: ChannelSettings | None = None
        self._settings_version: datetime | None = None
        self._expired_checked = -EXPIRED_CHECK_SECONDS
        self._claimed_at: datetime | None = None  # when the last claim started

    # -- one step of the loop; also what tests call -------------------------------------

    def step(self) -> int:
        """Record finished sends, then claim and start as many due deliveries as slots allow.
        Returns how many were started."""
        ahead = 2 * self.per_target
        with self.app.app_context():
            try:
                self._record_finished()
                if self._channel_settings is None:
                    self._settings()  # once, before any claim: see _settings_after_claim
                with self._lock:
                    # A target more than half leased is not refilled yet: refills come in
                    # batches of at least per_target.
                    held = {target: n if n <= self.per_target else ahead
                            for target, n in self._leased.items()}
                    room = 2 * self.concurrency - sum(self._leased.values())
                # Expired leases come from a process that died; they last minutes, so
                # looking for them once a second is enough and spares most claims a query.
                expired = time.monotonic() - self._expired_checked >= EXPIRED_CHECK_SECONDS
                self._claimed_at = utcnow()
                claimed = deliveries.claim_due(room, per_target=ahead, in_flight=held,
                                               expired=expired)
                if expired:
                    self._expired_checked = time.monotonic()
                settings = self._settings_after_claim(claimed[0].settings_version) \
                    if claimed else None
            finally:
                db.session.remove()
        if claimed and len(claimed) == room:
            self._wake.set()  # the claim was full: more may be due
        for item in claimed:
            self._start(item, settings)
        return len(claimed)

    def _start(self, item: deliveries.Claimed, settings: ChannelSettings) -> None:
        with self._lock:
            self._leased[item.target] += 1
            if self._sending[item.target] >= self.per_target:
                self._queued.setdefault(item.target, deque()).append((item, settings))
                return
            self._sending[item.target] += 1
        self._pool.submit(self._send, item, settings)

    def _settings_after_claim(self, version: datetime | None) -> ChannelSettings:
        """The settings for what was just claimed (`version`: the settings row's, as the
        claim read it): those last read if reading them fails now (the leased rows must go
        out, not wait for their leases to expire)."""
        try:
            return self._settings(version)
        except Exception:
            db.session.rollback()
            if self._channel_settings is None:  # not so: step() reads them before any claim
                raise
            log.warning("dispatcher: could not read the channel settings; using the last "
                        "ones read", exc_info=True)
            return self._channel_settings

    def _settings(self, version: datetime | None = None) -> ChannelSettings:
        """The channel settings, decrypted again only when the settings row changed: that
        costs about 1 ms (an ORM load and two decryptions). The row's version comes with the
        claim (the content settings' query reads it), else from one small query."""
        if version is None:
            version = db.session.connection().scalar(_SETTINGS_VERSION)
        if self._channel_settings is None or version != self._settings_version:
            self._channel_settings, self._settings_version = channel_settings(), version
        return self._channel_settings

    def drain(self, timeout: float = 30.0) -> None:
        """Run until nothing is due or in flight (tests and the CLI's one-shot mode)."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                started = self.step()
                if not started and not self._leased and self._done.empty():
                    return
                self._wake.wait(0.01)
                self._wake.clear()
        finally:
            timer.cancel()

    def _send(self, item: deliveries.Claimed, settings: ChannelSettings) -> None:
        """Send `item`, then the target's queued deliveries one after the other."""
        while True:
            started = datetime.now(UTC)
            try:
                outcome = get_notifier(item.channel).send(item.message, item.destination, settings)
                with_notes(outcome, *item.message.notes)
            except Exception as exc:  # a bug in a channel must not lose the delivery
                log.exception("channel %s raised", item.channel)
                outcome = Outcome(ok=False, retryable=True, error=f"internal error: {exc!r}")
            self._done.put((item, outcome, started))
            target = item.target
            with self._lock:
                self._finished[target] += 1
                if 2 * self._finished[target] >= self._leased[target]:
                    self._wake.set()
                waiting = self._queued.get(target)
                if not waiting or self._stop.is_set():
                    self._sending[target] -= 1
                    if not self._sending[target]:
                        del self._sending[target]
                        self._queued.pop(target, None)
                    return
                item, settings = waiting.popleft()

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
        except BaseException:
            for result in results:  # recorded by the next step, under the same leases
                self._done.put(result)
            raise
        else:
            with self._lock:
                for item, _outcome, _started in results:
                    self._finished[item.target] -= 1
                    self._leased[item.target] -= 1
                    if self._leased[item.target] <= 0:
                        del self._leased[item.target]
                        self._finished.pop(item.target, None)

    # -- the background loop (run by SupervisedLoop) -------------------------------------

    def cycle(self) -> None:
        """One step, then wait until woken or the next delivery is due."""
        self.step()
        if self._wake.is_set():
            self._wake.clear()
            return
        with self.app.app_context():
            try:
                # Only rows due since the claim: those due before it that it left were held
                # back by their targets' slots, and a sender finishing wakes the loop for
                # them. Waiting for them (0 s) made the loop spin, claiming nothing, the
                # whole time a busy target had a backlog.
                wait = deliveries.next_due_in(self.poll_seconds, after=self._claimed_at)
            finally:
                db.session.remove()
        self._wake.wait(wait)
        self._wake.clear()

    def start(self) -> threading.Thread:
        # Woken only when delivery rows were written (by the matcher, or a manual retry):
        # most alerts of a home set-up have none, and a wake costs two queries.
        signals.deliveries_due.connect(self.wake, sender=self.app)
        return super().start()

    def stop(self, timeout: float = 5.0) -> None:
        signals.deliveries_due.disconnect(self.wake, sender=self.app)
        super().stop(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
