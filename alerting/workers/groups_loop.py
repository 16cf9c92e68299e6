"""The groups worker: flushes notification groups when due (services/groups.flush_due), woken
when grouped alerts are written or one is acknowledged, else at the next group's due time.
Several processes may run it at once: each claims due groups with SKIP LOCKED (PostgreSQL),
or through the one SQLite writer."""

from __future__ import annotations

import threading

from flask import Flask

from .. import signals
from ..extensions import db
from ..services import groups
from .loop import SupervisedLoop

POLL_SECONDS = 1.0


class GroupFlusher(SupervisedLoop):
    """Runs groups.flush_due in its own app context, then waits until the next is due."""

    def __init__(self, app: Flask, *, poll_seconds: float = POLL_SECONDS):
        super().__init__("groups")
        self.app = app
        self.poll_seconds = poll_seconds

    def run_once(self) -> int:
        with self.app.app_context():
            try:
                return groups.flush_due()
            finally:
                db.session.remove()

    def cycle(self) -> None:
        self.run_once()
        if self._wake.is_set():
            self._wake.clear()
            return
        with self.app.app_context():
            try:
                wait = groups.next_due_in(self.poll_seconds)
            finally:
                db.session.remove()
        self._wake.wait(wait)
        self._wake.clear()

    def start(self) -> threading.Thread:
        signals.groups_due.connect(self.wake, sender=self.app)
        return super().start()

    def stop(self, timeout: float = 5.0) -> None:
        signals.groups_due.disconnect(self.wake, sender=self.app)
        super().stop(timeout)
