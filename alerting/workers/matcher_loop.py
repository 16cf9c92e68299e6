"""The background matcher: a supervised loop that matches new events as soon as ingest
wakes it."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from .. import signals
from ..extensions import db
from ..services.alert_pipeline import DATABASE_ERRORS, Unmatchable, match_pending, set_aside
from .loop import BACKOFF_MAX_SECONDS, SupervisedLoop

log = logging.getLogger(__name__)


class Matcher(SupervisedLoop):
    """Runs match_pending in its own app context per batch, woken by ingest.

    `poll_seconds` is only a safety net for events stored by another process; in-process
    ingest wakes the thread at once. When it is woken again within `gather_seconds` of
    finishing a batch, events are streaming in: it waits that long for more to arrive, since
    a batch costs about the same for one event as for several (a few queries and a commit).
    At a trickle, events more than `gather_seconds` apart, nothing waits.

    An event that makes matching fail by itself (not the database: the engine, a bad value)
    is set aside: marked processed with no alert and logged with its id, so one bad event
    cannot stall every other. A database error is retried by the supervisor's backoff.
    """

    def __init__(self, app: Flask, *, batch_size: int | None = None,
                 poll_seconds: float = 1.0, gather_seconds: float = 0.002,
                 backoff_max: float = BACKOFF_MAX_SECONDS):
        super().__init__("matcher", backoff_max=backoff_max)
        self.app = app
        self.batch_size = batch_size or app.config["MATCH_BATCH_SIZE"]
        self.poll_seconds = poll_seconds
        self.gather_seconds = gather_seconds
        self._isolate = False  # the last batch failed for no event in particular

    def _match(self, batch_size: int) -> int:
        with self.app.app_context():
            try:
                return match_pending(batch_size)
            finally:
                db.session.remove()

    def run_once(self) -> int:
        """Match every unprocessed event now; returns how many were matched (or set aside).

        A batch that fails with an error that is neither the database's nor pinned on one
        event is followed by a batch of one, the oldest event alone: if that fails too, the
        error is its own and it is set aside."""
        total = 0
        while True:
            size = 1 if self._isolate else self.batch_size
            try:
                done = self._match(size)
                self._isolate = False
            except Unmatchable as exc:
                self._set_aside(exc)
                total += 1
                continue
            except DATABASE_ERRORS:
                raise
            except Exception:
                if self._isolate:
                    raise  # nothing was read (the error came before): back off and retry
                log.exception("matcher: a batch failed; matching the oldest event alone")
                self._isolate = True
                continue
            total += done
            if done < size:
                return total

    def _set_aside(self, exc: Unmatchable) -> None:
        with self.app.app_context():
            try:
                done = set_aside(exc.event_id)
            finally:
                db.session.remove()
        if done:
            log.error("matcher: event %s could not be matched (%r); it is set aside "
                      "unmatched so the others go on", exc.event_id, exc.__cause__,
                      exc_info=exc.__cause__)

    def cycle(self) -> None:
        self.run_once()
        finished = time.monotonic()
        self._wake.wait(self.poll_seconds)
        self._wake.clear()
        if time.monotonic() - finished < self.gather_seconds:
            self._stop.wait(self.gather_seconds)

    def start(self) -> threading.Thread:
        signals.events_stored.connect(self.wake, sender=self.app)
        return super().start()

    def stop(self, timeout: float = 5.0) -> None:
        signals.events_stored.disconnect(self.wake, sender=self.app)
        super().stop(timeout)
