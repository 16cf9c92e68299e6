"""The background matcher: a thread that matches new events as soon as ingest wakes it."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask
from sqlalchemy.exc import DBAPIError

from . import signals
from .extensions import db
from .services.matching import match_pending, set_aside_oldest

log = logging.getLogger(__name__)


class Matcher:
    """Runs match_pending in its own app context per batch, woken by ingest.

    `poll_seconds` is only a safety net for events stored by another process; in-process
    ingest wakes the thread at once. When it is woken again within `gather_seconds` of
    finishing a batch, events are streaming in: it waits that long for more to arrive, since
    a batch costs about the same for one event as for several (a few queries and a commit).
    At a trickle, events more than `gather_seconds` apart, nothing waits.
    """

    def __init__(self, app: Flask, *, batch_size: int | None = None,
                 poll_seconds: float = 1.0, gather_seconds: float = 0.002):
        self.app = app
        self.batch_size = batch_size or int(app.config.get("MATCH_BATCH_SIZE", 500))
        self.poll_seconds = poll_seconds
        self.gather_seconds = gather_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def wake(self, *_args, **_kwargs) -> None:
        self._wake.set()

    def run_once(self) -> int:
        """Match every unprocessed event now; returns how many were matched."""
        total = 0
        while True:
            with self.app.app_context():
                try:
                    done = match_pending(self.batch_size)
                finally:
                    db.session.remove()
            total += done
            if done < self.batch_size:
                return total

    def isolate(self) -> int | None:
        """After a failed batch: match the oldest event alone, and if that fails too with an
        error that is not the database's, set it aside (processed, no alert, logged with its
        id) so one bad event cannot stall matching for every other. Returns its id if so."""
        with self.app.app_context():
            try:
                match_pending(1)
                return None
            except DBAPIError:
                raise
            except Exception as exc:
                db.session.rollback()
                event_id = set_aside_oldest()
                log.error("matcher: event %s could not be matched (%r); it is set aside "
                          "unmatched so the others go on", event_id, exc)
                return event_id
            finally:
                db.session.remove()

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.run_once()
                failures = 0
            except DBAPIError:
                failures += 1
                log.exception("matcher: database error; retrying")
                self._stop.wait(min(0.1 * 2 ** failures, 5.0))
                continue
            except Exception:
                failures += 1
                log.exception("matcher batch failed; isolating the event that fails")
                self.isolate()
                self._stop.wait(min(0.01 * 2 ** failures, 1.0))
                continue
            finished = time.monotonic()
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if time.monotonic() - finished < self.gather_seconds:
                self._stop.wait(self.gather_seconds)

    def start(self) -> threading.Thread:
        signals.events_stored.connect(self.wake, sender=self.app)
        self.thread = threading.Thread(target=self._loop, name="alerting-matcher", daemon=True)
        self.thread.start()
        return self.thread

    def stop(self, timeout: float = 5.0) -> None:
        signals.events_stored.disconnect(self.wake, sender=self.app)
        self._stop.set()
        self._wake.set()
        if self.thread is not None:
            self.thread.join(timeout)
