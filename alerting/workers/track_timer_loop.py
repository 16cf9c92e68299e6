"""The track timer: a supervised loop that re-matches a track's latest event at the moment a
dwell or stationary criterion first holds, without waiting for a new message."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from .. import signals
from ..extensions import db
from ..models import utcnow
from ..services import tracks
from .loop import BACKOFF_MAX_SECONDS, SupervisedLoop

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0  # how often silent tracks are marked ended


class TrackTimer(SupervisedLoop):
    """Each cycle claims the tracks due by now and queues their events for the matcher
    (woken at once), then sleeps until the earliest due time, at most `poll_seconds` (a due
    time set by another process is seen within that; this process's matcher wakes it).

    The due times are in the database (`tracks.due_at`), so a timer pending across a restart
    fires once after it, at its time or at once if that has passed."""

    def __init__(self, app: Flask, *, poll_seconds: float | None = None,
                 backoff_max: float = BACKOFF_MAX_SECONDS):
        super().__init__("tracks", backoff_max=backoff_max)
        self.app = app
        self.poll_seconds = poll_seconds or float(app.config["TRACK_POLL_SECONDS"])
        self._swept_at = 0.0

    def run_once(self) -> float:
        """Fire what is due; the seconds until the next due time (or the poll)."""
        with self.app.app_context():
            try:
                now = utcnow()
                if now.timestamp() - self._swept_at >= SWEEP_SECONDS:
                    tracks.end_silent(now)
                    self._swept_at = now.timestamp()
                queued = tracks.claim_due(now)
                if queued:
                    log.debug("track timer: events %s queued for matching at %s", queued, now)
                    signals.events_stored.send(self.app, ids=queued)
                upcoming = tracks.next_due()
            finally:
                db.session.remove()
        if upcoming is None:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.0, (upcoming - utcnow()).total_seconds()))

    def cycle(self) -> None:
        wait = self.run_once()
        if wait > 0:
            self._wake.wait(wait)
        self._wake.clear()

    def start(self) -> threading.Thread:
        signals.tracks_due.connect(self.wake, sender=self.app)
        return super().start()

    def stop(self, timeout: float = 5.0) -> None:
        signals.tracks_due.disconnect(self.wake, sender=self.app)
        super().stop(timeout)
