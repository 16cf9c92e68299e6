"""The escalation timer: sends alerts nobody acknowledged in time to their rules'
escalation targets (services/escalations.py). Several processes may run it at once: each
alert is claimed by one of them, in the transaction that writes its deliveries."""

from __future__ import annotations

from flask import Flask

from .. import signals
from ..engine import escalation
from ..extensions import db
from ..models import utcnow
from ..services import escalations
from .loop import BACKOFF_MAX_SECONDS, SupervisedLoop


class EscalationLoop(SupervisedLoop):
    """Each cycle escalates what is due, then sleeps until the earliest escalate_at, at
    most `poll_seconds` (alerts written by another process are seen within that; this
    process's matcher wakes it at once)."""

    def __init__(self, app: Flask, *, poll_seconds: float = 1.0,
                 backoff_max: float = BACKOFF_MAX_SECONDS):
        super().__init__("escalation", backoff_max=backoff_max)
        self.app = app
        self.poll_seconds = poll_seconds

    def run_once(self) -> float:
        """Escalate what is due; the seconds until the next one is (at most the poll)."""
        with self.app.app_context():
            try:
                while len(escalations.escalate_due()) == escalations.BATCH:
                    pass  # a full batch: more may be due
                earliest = escalations.next_due()
            finally:
                db.session.remove()
        return escalation.wait_seconds(earliest, utcnow(), self.poll_seconds)

    def cycle(self) -> None:
        wait = self.run_once()
        self._wake.wait(wait)
        self._wake.clear()

    def start(self):
        # Woken by alerts that will escalate only: waking on every matched batch cost two
        # queries a batch, contending for the interpreter with the POST that made it
        # (BENCHMARKS.md, live latency).
        signals.escalations_due.connect(self.wake, sender=self.app)
        return super().start()

    def stop(self, timeout: float = 5.0) -> None:
        signals.escalations_due.disconnect(self.wake, sender=self.app)
        super().stop(timeout)
