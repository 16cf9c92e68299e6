"""Matching after database errors, with several workers, and over a long time: no alert lost
to the cooldown ledger, no rule edit unseen, no event set aside but the one that failed."""

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from alerting.extensions import db
from alerting.models import AlertRule, Event
from tests.support.databases import postgres_base
from tests.support.factories import (
    break_matching_for,
    create_rule,
    event_body,
    post_event,
    run_matcher,
)
from tests.support.faults import ERRORS, StatementFaults

NEARBY_ALERT = "SELECT alerts.event_time"  # the cooldown's look-up in the alerts table


def alerts(client, headers):
    return client.get("/api/alerts?limit=500", headers=headers).json["alerts"]


def engine_of(app):
    with app.app_context():
        return db.engine


def first_kind(app):
    return (ERRORS[engine_of(app).dialect.name][0],)


def test_a_database_error_mid_batch_does_not_let_the_retry_suppress_its_alerts(
        app, client, admin_headers):
    create_rule(client, admin_headers, camera_ids=None, cooldown_seconds=300,
                dedup_key_template="{camera_id}")
    post_event(client, admin_headers, camera_id="a")
    post_event(client, admin_headers, camera_id="b")
    # The cooldown look-up of the first event succeeds, the second one's fails.
    with StatementFaults(engine_of(app), at=(2,), only=NEARBY_ALERT, threads=("MainThread",),
                         kinds=first_kind(app)) as faults:
        with pytest.raises(Exception, match="lock|serialize"):
            run_matcher(app)
    assert faults.total == 1
    assert run_matcher(app) == 2
    assert sorted(a["camera_id"] for a in alerts(client, admin_headers)) == ["a", "b"]


def test_a_database_error_while_matching_on_ingest_does_not_suppress_the_retry(
        app, client, admin_headers):
    from alerting.workers.matcher_loop import Matcher

    if engine_of(app).dialect.name != "sqlite":
        pytest.skip("matching on ingest is for SQLite")
    app.extensions["alerting.matcher"] = Matcher(app)  # a process that runs the matcher
    create_rule(client, admin_headers, camera_ids=None, cooldown_seconds=300,
                dedup_key_template="{camera_id}")
    batch = {"events": [event_body(camera_id=camera, source="t", external_id=camera)
                        for camera in ("a", "b")]}
    with StatementFaults(engine_of(app), at=(2,), only=NEARBY_ALERT, threads=("MainThread",),
                         kinds=("locked",)):
        failed = client.post("/api/events", json=batch, headers=admin_headers)
    assert failed.status_code == 503  # nothing stored: the detector posts it again
    again = client.post("/api/events", json=batch, headers=admin_headers)
    assert again.status_code == 201
    assert sorted(a["camera_id"] for a in alerts(client, admin_headers)) == ["a", "b"]


def test_a_rule_edit_by_a_process_whose_clock_is_behind_is_seen(app, client, admin_headers):
    first = create_rule(client, admin_headers, name="first")
    create_rule(client, admin_headers, name="second")
    post_event(client, admin_headers)
    run_matcher(app)  # the rule cache is built
    assert len(alerts(client, admin_headers)) == 2
    with app.app_context():
        # Another worker, its clock an hour behind, disables the first rule.
        rule = db.session.get(AlertRule, first["id"])
        rule.enabled = False
        rule.updated_at = datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()
    post_event(client, admin_headers, started_at="2026-01-15T03:00:00Z")
    run_matcher(app)
    later = [a["rule_name"] for a in alerts(client, admin_headers)
             if a["event_time"] == "2026-01-15T03:00:00Z"]
    assert later == ["second"]


def test_the_cooldown_ledger_stays_bounded_with_a_date_in_the_dedup_key(
        app, client, admin_headers, monkeypatch):
    from alerting.services import alert_pipeline

    monkeypatch.setattr(alert_pipeline, "LEDGER_PRUNE_AT", 50, raising=False)
    app.extensions.pop("alerting.rule_cache", None)
    create_rule(client, admin_headers, cooldown_seconds=3600,
                dedup_key_template="{rule_id}:{date}")
    start = datetime(2025, 1, 1, 12, tzinfo=UTC)
    days = 300
    body = {"events": [event_body(started_at=(start + timedelta(days=d)).isoformat(),
                                  source="t", external_id=f"d{d}") for d in range(days)]}
    assert client.post("/api/events", json=body, headers=admin_headers).status_code == 201
    assert run_matcher(app) == days
    with app.app_context():
        ledger = alert_pipeline._cache().ledger
    assert len(ledger) <= 100  # pruned, not one entry a day forever
    assert len(alerts(client, admin_headers)) == days
    # A backfilled event within the cooldown of a pruned entry is still suppressed: the
    # alerts table answers for what the ledger forgot.
    post_event(client, admin_headers, started_at=(start + timedelta(minutes=30)).isoformat())
    run_matcher(app)
    assert len(alerts(client, admin_headers)) == days


@pytest.mark.skipif(postgres_base() is None, reason="row locks between workers: PostgreSQL")
def test_only_the_event_that_fails_is_set_aside_not_one_another_worker_holds(
        app, client, admin_headers, monkeypatch, caplog):
    from alerting.workers.matcher_loop import Matcher

    # (alembic's fileConfig, run by an earlier test's upgrade, disables existing loggers)
    monkeypatch.setattr(logging.getLogger("alerting.workers.matcher_loop"), "disabled", False)
    create_rule(client, admin_headers, camera_ids=None)
    held = post_event(client, admin_headers, camera_id="held")
    poison = post_event(client, admin_headers, camera_id="poison")
    good = post_event(client, admin_headers, camera_id="good")
    break_matching_for(monkeypatch)
    other = create_engine(engine_of(app).url.render_as_string(hide_password=False))
    worker = other.connect()  # another worker, in the middle of matching the first event
    worker.begin()
    worker.execute(text("SELECT id FROM events WHERE id = :id FOR UPDATE"), {"id": held["id"]})
    matcher = Matcher(app, poll_seconds=0.05)
    matcher.start()

    def processed(event_id):
        with app.app_context():
            done = db.session.get(Event, event_id).processed_at is not None
            db.session.remove()
        return done

    def wait(condition, seconds=10.0):
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
        return condition()

    try:
        assert wait(lambda: processed(poison["id"]) and processed(good["id"]))
        assert not processed(held["id"])  # untouched while the other worker holds it
        worker.rollback()  # that worker gives up
        assert wait(lambda: processed(held["id"]))
    finally:
        matcher.stop()
        worker.close()
        other.dispose()
    assert sorted(a["camera_id"] for a in alerts(client, admin_headers)) == ["good", "held"]
    assert f"event {poison['id']} could not be matched" in caplog.text
