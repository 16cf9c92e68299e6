"""The digest timer: sends each digest at its time (services/digests.py). Several processes
may run it at once: the database decides which one sends each digest."""

from __future__ import annotations

from flask import Flask

from ..engine.escalation import wait_seconds
from ..extensions import db
from ..models import utcnow
from ..services import digests
from .loop import BACKOFF_MAX_SECONDS, SupervisedLoop


class DigestLoop(SupervisedLoop):
    """Each cycle sends the due digests, then sleeps until the next is due, at most
    `poll_seconds` (a digest added or changed in another process is seen within that)."""

    def __init__(self, app: Flask, *, poll_seconds: float = 1.0,
                 backoff_max: float = BACKOFF_MAX_SECONDS):
        super().__init__("digests", backoff_max=backoff_max)
        self.app = app
        self.poll_seconds = poll_seconds

    def run_once(self) -> float:
        """Send what is due; the seconds until the next digest is (at most the poll)."""
        with self.app.app_context():
            try:
                digests.send_due()
                earliest = digests.next_due()
            finally:
                db.session.remove()
        return wait_seconds(earliest, utcnow(), self.poll_seconds)

    def cycle(self) -> None:
        wait = self.run_once()
        self._wake.wait(wait)
        self._wake.clear()
