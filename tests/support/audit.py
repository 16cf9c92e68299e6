"""Objects to act on, made over the API, for the tests that walk every route that changes
something and check its audit entry (tests/api/test_audit_every_route.py and
tests/web/test_audit_every_page.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

from alerting.extensions import db
from alerting.models import Alert, Delivery
from tests.support.factories import create_rule, post_event, run_matcher

SILENCE = {"matchers": [{"field": "camera_id", "op": "=", "value": "back-door"}],
           "duration": 3600}
TIMING = {"name": "mornings", "intervals": [{"days": ["mon"], "start_time": "07:00",
                                             "end_time": "09:00"}], "timezone": "UTC"}


def new_alert(app, client, headers) -> int:
    """A rule, an event it matches, the matcher run: the new alert's id."""
    create_rule(client, headers)
    post_event(client, headers)
    run_matcher(app)
    with app.app_context():
        return db.session.query(func.max(Alert.id)).scalar()


def new_group(app, client, headers) -> int:
    """A grouped rule with a target, an event it matches, the matcher run: the new alert's
    notification group id."""
    create_rule(client, headers, name="Grouped", channels=["email"], group_by=["rule_id"],
                targets={"email_recipients": ["ops@example.org"]})
    post_event(client, headers)
    run_matcher(app)
    with app.app_context():
        return db.session.query(func.max(Alert.group_id)).scalar()


def new_silence(client, headers, expired: bool = False) -> str:
    silence_id = client.post("/api/silences", json=SILENCE, headers=headers).json["id"]
    if expired:
        client.post(f"/api/silences/{silence_id}/expire", headers=headers)
    return silence_id


def new_mute_timing(client, headers) -> str:
    return client.post("/api/mute-timings", json=TIMING, headers=headers).json["name"]


def dead_delivery(app, client, headers) -> int:
    """A delivery of a new alert that has given up (as the dispatcher leaves one)."""
    alert_id = new_alert(app, client, headers)
    with app.app_context():
        row = Delivery(alert_id=alert_id, channel="webhook", target="http://127.0.0.1:9/",
                       status="dead", attempts=5)
        db.session.add(row)
        db.session.commit()
        return row.id


def changed_config(client, headers) -> dict[str, Any]:
    """The exported site configuration with one rule's severity changed."""
    create_rule(client, headers, name="From the file")
    document = client.get("/api/config/export",
                          headers={**headers, "Accept": "application/json"}).json
    document["rules"][0]["severity"] = "low"
    return document
