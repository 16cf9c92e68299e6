"""Several matchers on PostgreSQL match at once, but take cooldown decisions in event order.

Another worker is played by a second connection holding the first event's row lock, as a
worker does while it matches its batch.
"""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from alerting.extensions import db
from alerting.services import alert_pipeline
from alerting.services import ingest as ingest_service
from alerting.services import rules as rules_service
from tests.support.app import make_app
from tests.support.databases import postgres_base

pytestmark = pytest.mark.skipif(
    postgres_base() is None,
    reason="needs PostgreSQL: set ALERTING_TEST_DATABASE_URL=postgresql+psycopg://... "
           "(.ci/run does)")

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def seed(app, cooldown):
    """One rule keyed on itself alone, and two events 10 s apart; returns their ids."""
    with app.app_context():
        rules_service.create_rule({"name": "back door", "severity": "high",
                                   "dedup_key_template": "{rule_id}",
                                   "cooldown_seconds": cooldown}, "test")
        _, body = ingest_service.ingest({"events": [
            {"camera_id": "back", "started_at": (T0 + timedelta(seconds=s)).isoformat()}
            for s in (0, 10)]})
        db.session.remove()
    return [r["id"] for r in body["results"]]


class OtherWorker:
    """A second connection holding the first event's row lock, as a worker matching it."""

    def __init__(self, app, event_id):
        self.engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        self.conn = self.engine.connect()
        self.event_id = event_id
        self.conn.execute(text("SELECT id FROM events WHERE id = :id FOR UPDATE"),
                          {"id": event_id})

    def commit_alert(self, app):
        """Store the alert the other worker decided, mark its event processed, commit."""
        rule_id = self.conn.execute(text("SELECT id FROM alert_rules")).scalar()
        now = datetime.now(UTC)
        self.conn.execute(text(
            "INSERT INTO alerts (rule_id, rule_name, event_id, camera_id, severity, "
            "severity_priority, status, dedup_key, matched_conditions, event_time, "
            "created_at, updated_at) VALUES (:rule, 'back door', :event, 'back', 'high', 3, "
            "'delivered', :key, '[]', :when, :now, :now)"),
            {"rule": rule_id, "event": self.event_id, "key": rule_id, "when": T0, "now": now})
        self.conn.execute(text("UPDATE events SET processed_at = :now WHERE id = :id"),
                          {"now": now, "id": self.event_id})
        self.conn.commit()

    def die(self):
        self.conn.rollback()

    def close(self):
        self.conn.close()
        self.engine.dispose()


def match_in_thread(app):
    result = {}

    def run():
        with app.app_context():
            try:
                result["matched"] = alert_pipeline.match_pending(100)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def alerts_by_event(app):
    with app.app_context():
        rows = db.session.execute(text("SELECT event_id FROM alerts ORDER BY event_id"))
        fired = list(rows.scalars())
        db.session.remove()
    return fired


def test_a_cooldown_decision_waits_for_the_earlier_event_being_matched(app):
    first, second = seed(app, cooldown=300)
    other = OtherWorker(app, first)
    try:
        thread, result = match_in_thread(app)
        time.sleep(0.5)
        assert thread.is_alive(), "decided before the earlier event was committed"
        other.commit_alert(app)
        thread.join(10)
        assert result == {"matched": 1}
    finally:
        other.close()
    # The earlier event's alert, seen once it was committed, suppresses the second: one
    # worker would have fired only the first.
    assert alerts_by_event(app) == [first]


def test_events_left_by_a_worker_that_died_are_claimed_and_matched_first(app):
    first, second = seed(app, cooldown=300)
    other = OtherWorker(app, first)
    try:
        thread, result = match_in_thread(app)
        time.sleep(0.3)
        assert thread.is_alive()
        other.die()  # its lock goes; the event is still unprocessed
        thread.join(10)
        assert result == {"matched": 2}
    finally:
        other.close()
    assert alerts_by_event(app) == [first]


def test_without_a_cooldown_nothing_waits(app):
    first, second = seed(app, cooldown=0)
    other = OtherWorker(app, first)
    try:
        thread, result = match_in_thread(app)
        thread.join(5)
        assert result == {"matched": 1}, "a batch without cooldowns waited for another"
        assert alerts_by_event(app) == [second]
    finally:
        other.die()
        other.close()
