"""A group's notification (services/group_messages.py) takes the push priority and sound of
the loudest rule among its alerts' rules, as far as the push channels carry them."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from alerting.extensions import db
from alerting.models import Alert, Delivery, utcnow
from alerting.notify import push, webpush
from alerting.services import group_messages, groups
from alerting.services.alerts import alert_json
from tests.support.app import make_app, make_key
from tests.support.factories import create_rule, post_event, run_matcher


def rule(priority, sound, name=""):
    return SimpleNamespace(priority=priority, sound=sound, name=name)


def test_the_loudest_rule_is_the_highest_priority_the_first_of_equals():
    rules = [rule("low", "chime", "a"), rule("high", "alarm", "b"), rule("normal", None, "c"),
             rule("high", "default", "d")]
    assert group_messages.loudest(rules).name == "b"
    assert group_messages.loudest([rule("urgent", "none", "e"), *rules]).name == "e"
    assert group_messages.loudest([]) is None


FLUSH = SimpleNamespace(group_id=7, number=1, group_key="back-door", labels={}, status="firing",
                        kind="first", rule_id="r1", rule_name="Doors", count=1, truncated=False,
                        at=utcnow())
ALERT = {"id": 3, "severity": "low", "camera_id": "back-door", "zone_id": None,
         "object_type": "person", "event_time": "2026-01-15T02:00:00Z", "alert_url": None}


def message(loudest_rule):
    delivery = SimpleNamespace(message_id="m", channel="push")
    return group_messages.build_message(delivery, FLUSH, [ALERT], rule=loudest_rule)


@pytest.mark.parametrize("priority, sound, ntfy, urgency", [
    ("urgent", "alarm", "priority=5", "high"), ("high", "chime", "priority=4", "high"),
    ("low", "none", "priority=2", "low")])
def test_a_group_message_carries_its_rules_priority_and_sound(priority, sound, ntfy, urgency):
    built = message(rule(priority, sound))
    assert built.priority == priority
    assert built.context["rule"]["priority"] == priority
    assert built.context["rule"]["sound"] == sound
    # Through the channels: ntfy's URL argument, web push's Urgency and payload.
    assert ntfy in push.with_options("ntfy://host/topic", built.priority, None)
    assert webpush.urgency(built) == urgency  # the severity alone (low) would say low
    assert (webpush.payload(built)["priority"], webpush.payload(built)["sound"]) == (
        priority, sound)


def test_a_group_message_without_a_rule_is_normal_and_silent_of_its_own():
    built = message(None)
    assert built.priority == "normal"
    assert push.with_options("ntfy://host/topic", built.priority, None) == "ntfy://host/topic"
    assert "sound" not in webpush.payload(built)


def test_messages_take_the_loudest_of_the_listed_alerts_rules_as_they_are_now(tmp_path):
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"])  # the push URL: never sent
    headers = {"x-access-token": make_key(app)}
    client = app.test_client()
    quiet = create_rule(client, headers, priority="low", sound="chime", channels=["push"],
                        group_by=["camera_id"], group_wait=5,
                        targets={"push_urls": ["ntfy://127.0.0.1:9/alerts"]})
    for name in ("e0", "e1"):
        post_event(client, headers, external_id=name, source="t")
    run_matcher(app)
    with app.app_context():
        assert groups.flush_due(now=utcnow() + timedelta(seconds=6)) == 1
        [delivery] = db.session.scalars(select(Delivery).where(Delivery.group_id.is_not(None)))

        def built():
            return group_messages.messages(db.session.connection(), [delivery],
                                           alert_json)[delivery.id]

        assert (built().priority, built().context["rule"]["sound"]) == ("low", "chime")
        # The rule as it is at send time (a retry after an edit sends the edited priority).
        response = client.put(f"/api/alerts/rules/{quiet['id']}",
                              json={"priority": "high", "sound": "default"}, headers=headers)
        assert response.status_code == 200, response.json
        db.session.expire_all()
        assert (built().priority, built().context["rule"]["sound"]) == ("high", "default")
        # An alert of the group whose rule is louder (a rule's alerts share its group in
        # practice; the message still takes the loudest of any listed).
        loud = create_rule(client, headers, name="Loud", priority="urgent", sound="alarm")
        alert = db.session.scalars(select(Alert).order_by(Alert.id.desc())).first()
        alert.rule_id = loud["id"]
        db.session.commit()
        assert (built().priority, built().context["rule"]["sound"]) == ("urgent", "alarm")
        db.session.remove()
