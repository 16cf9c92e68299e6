"""The mode scheduler: a supervised loop that records the weekly mode schedule's changes at
their scheduled times, catching up the ones missed while no process ran it."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask

from ..engine.modes import boundaries, schedule_from_record
from ..extensions import db
from ..models import utcnow
from ..services import modes
from .loop import BACKOFF_MAX_SECONDS, SupervisedLoop

log = logging.getLogger(__name__)


class ModeScheduler(SupervisedLoop):
    """Each cycle records what the schedule did since it was last applied (every change at
    its own time, so after downtime the history reads as if it had run), then sleeps until
    the next window boundary, at most `poll_seconds` (a schedule edited in another process
    is seen within that)."""

    def __init__(self, app: Flask, *, poll_seconds: float = 30.0,
                 backoff_max: float = BACKOFF_MAX_SECONDS):
        super().__init__("modes", backoff_max=backoff_max)
        self.app = app
        self.poll_seconds = poll_seconds

    def run_once(self) -> float:
        """Apply the schedule up to now; the seconds until the next boundary (or the poll)."""
        with self.app.app_context():
            try:
                made = modes.apply_schedule()
                for change in made:
                    log.info("mode schedule: %s -> %s at %s", change.previous, change.mode,
                             change.at.isoformat())
                now = utcnow()
                schedule = schedule_from_record(modes.schedule_json())
                upcoming = boundaries(schedule, now, now + timedelta(seconds=self.poll_seconds))
            finally:
                db.session.remove()
        if upcoming:
            # Just after the boundary, so that it is in (applied_through, now].
            return max(0.0, (upcoming[0].at - now).total_seconds()) + 0.01
        return self.poll_seconds

    def cycle(self) -> None:
        wait = self.run_once()
        self._wake.wait(wait)
        self._wake.clear()
