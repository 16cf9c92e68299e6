"""The history's retention (services/retention.py): events past EVENT_RETENTION_DAYS go with
their detections, alerts, deliveries and attempts; groups and digests of that time too; the
audit log after AUDIT_RETENTION_DAYS; 0 keeps everything; a bounded batch at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from alerting.extensions import db
from alerting.models import (
    Alert,
    AlertGroup,
    AuditLog,
    Delivery,
    DeliveryAttempt,
    Detection,
    Event,
    utcnow,
)
from alerting.services import retention
from tests.support.app import make_app, make_key
from tests.support.factories import create_rule, post_event, run_matcher

TABLES = (Event, Detection, Alert, Delivery, DeliveryAttempt, AlertGroup, AuditLog)


def _counts(app) -> dict[str, int]:
    with app.app_context():
        counts = {table.__tablename__: db.session.scalar(select(func.count()).select_from(table))
                  for table in TABLES}
        db.session.remove()
        return counts


def _history(app, count: int, received_days_ago: float) -> list[int]:
    """`count` events received that long ago, each with an alert, a delivery, an attempt."""
    client = app.test_client()
    headers = {"x-access-token": make_key(app, "admin")}
    create_rule(client, headers, name=f"rule {received_days_ago} {count}", channels=["email"],
                targets={"email_recipients": ["ops@example.org"]})
    ids = [post_event(client, headers, external_id=f"e-{received_days_ago}-{n}",
                      source="retention")["id"] for n in range(count)]
    run_matcher(app)
    at = utcnow() - timedelta(days=received_days_ago)
    with app.app_context():
        db.session.execute(update(Event).where(Event.id.in_(ids)).values(received_at=at))
        alert_ids = db.session.scalars(select(Alert.id).where(Alert.event_id.in_(ids))).all()
        for delivery_id in db.session.scalars(
                select(Delivery.id).where(Delivery.alert_id.in_(alert_ids))):
            db.session.add(DeliveryAttempt(delivery_id=delivery_id, duration_ms=1.0, ok=False,
                                           error="refused"))
        db.session.commit()
        db.session.remove()
    return ids


def _group_digest_and_audit(app, days_ago: float) -> None:
    at = utcnow() - timedelta(days=days_ago)
    with app.app_context():
        group = AlertGroup(rule_name="r", group_key=f"k{days_ago}", first_alert_at=at,
                           last_alert_at=at)
        db.session.add(group)
        db.session.flush()
        db.session.add(Delivery(group_id=group.id, channel="email", target="a@example.org",
                                created_at=at))
        db.session.add(Delivery(kind="digest", payload={"subject": "s"}, channel="email",
                                target="a@example.org", created_at=at))
        db.session.add(AuditLog(at=at, actor="admin", action="rule_update"))
        db.session.commit()
        db.session.remove()


def test_old_history_goes_with_everything_that_hangs_on_it(app):
    assert (app.config["EVENT_RETENTION_DAYS"], app.config["AUDIT_RETENTION_DAYS"]) == (90, 365)
    old = _history(app, 3, received_days_ago=91)
    recent = _history(app, 2, received_days_ago=89)
    _group_digest_and_audit(app, days_ago=91)
    _group_digest_and_audit(app, days_ago=400)
    _group_digest_and_audit(app, days_ago=1)
    before = _counts(app)
    assert before["events"] == 5
    with app.app_context():
        hanging = (select(func.count()).select_from(DeliveryAttempt).join(Delivery)
                   .join(Alert).where(Alert.event_id.in_(old)))
        old_attempts = db.session.scalar(hanging)
        assert old_attempts >= 3
        pruned = retention.prune()
    assert pruned == {"events": 3, "groups": 2, "digests": 2, "audit entries": 1}
    after = _counts(app)
    assert after["events"] == 2 and after["detections"] == 2
    assert after["alerts"] == before["alerts"] - 3  # (the second rule came after the old)
    assert after["delivery_attempts"] == before["delivery_attempts"] - old_attempts
    # Each group's delivery went with its group; one group, digest and alert delivery left.
    assert after["deliveries"] == before["deliveries"] - 3 - 2 - 2
    assert after["alert_groups"] == 1
    assert after["audit_log"] == before["audit_log"] - 1
    with app.app_context():
        assert sorted(db.session.scalars(select(Event.id))) == sorted(recent)
        assert not set(old) & set(db.session.scalars(select(Alert.event_id)))


def test_a_batch_at_a_time(app):
    _history(app, 5, received_days_ago=100)
    with app.app_context():
        assert retention.prune(limit=2)["events"] == 2
        assert retention.prune(limit=2)["events"] == 2
        assert retention.prune(limit=2)["events"] == 1
        assert retention.prune(limit=2)["events"] == 0
    assert _counts(app)["alerts"] == 0


def test_a_backfill_of_old_events_is_kept_from_when_it_arrived(app):
    """Retention counts from the event's arrival: last year's events sent today stay."""
    client = app.test_client()
    headers = {"x-access-token": make_key(app, "admin")}
    post_event(client, headers, started_at="2025-01-01T00:00:00Z")
    with app.app_context():
        assert retention.prune()["events"] == 0
    assert _counts(app)["events"] == 1


@pytest.mark.parametrize("setting", ["EVENT_RETENTION_DAYS", "AUDIT_RETENTION_DAYS"])
def test_zero_keeps_for_ever(tmp_path, setting):
    app = make_app(tmp_path, **{setting: 0})
    _history(app, 1, received_days_ago=5000)
    _group_digest_and_audit(app, days_ago=5000)
    before = _counts(app)
    with app.app_context():
        pruned = retention.prune()
    kept = {"EVENT_RETENTION_DAYS": ("events", "groups", "digests"),
            "AUDIT_RETENTION_DAYS": ("audit entries",)}[setting]
    assert all(pruned[kind] == 0 for kind in kept) and any(pruned.values())
    after = _counts(app)
    if setting == "EVENT_RETENTION_DAYS":
        assert after["events"] == before["events"] and after["alert_groups"] == 1
    else:
        assert after["audit_log"] == before["audit_log"]
