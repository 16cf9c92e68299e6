"""The track timer: a supervised loop that re-matches a track's latest event at the moment a
dwell or stationary criterion first holds, without waiting for a new message.

It also keeps the database from growing without end: it prunes the ended tracks past their
retention, the used action tokens that have expired, and the history past its retention
(services/retention.py: events with their alerts and deliveries, groups, digests, the audit
log). The tracks are its own (it already ends the silent ones on a timer of its own); the
rest rides along because this loop runs wherever the background loops run, wakes at least
every TRACK_POLL_SECONDS, and its work is already short write transactions on a timer, where
the matcher and dispatcher are on every event's and delivery's path."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from flask import Flask

from .. import signals
from ..extensions import db
from ..models import utcnow
from ..services import action_links, retention, tracks
from .loop import BACKOFF_MAX_SECONDS, SupervisedLoop

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0  # how often silent tracks are marked ended
# How often ended tracks, expired used action tokens and old history are pruned, a batch of
# each at a time; a full batch means more is left, pruned at the next cycle.
PRUNE_SECONDS = 300.0
PRUNE_BATCH = 500


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
        self._pruned_at = 0.0

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
                if now.timestamp() - self._pruned_at >= PRUNE_SECONDS:
                    self._prune(now)
            finally:
                db.session.remove()
        if upcoming is None:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.0, (upcoming - utcnow()).total_seconds()))

    def _prune(self, now: datetime) -> None:
        """One batch of each table, again at the next cycle while one comes back full. A
        failure is logged and tried again PRUNE_SECONDS later: the timers do not wait on it."""
        try:
            pruned = {"ended tracks": tracks.prune_ended(now, PRUNE_BATCH),
                      "expired used action tokens": action_links.prune_used(now, PRUNE_BATCH),
                      **retention.prune(now, PRUNE_BATCH)}
        except Exception:
            log.exception("track timer: pruning failed")
            pruned = {}
        if any(pruned.values()):
            log.info("pruned %s", ", ".join(f"{count} {what}" for what, count in pruned.items()
                                            if count))
        if max(pruned.values(), default=0) < PRUNE_BATCH:
            self._pruned_at = now.timestamp()

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
