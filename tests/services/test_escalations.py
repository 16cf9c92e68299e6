"""Escalation through the outbox, against a real webhook receiver on loopback: an alert
nobody acknowledged goes to the rule's escalation targets once; acknowledged first, never."""

from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer

from alerting.extensions import db
from alerting.models import Alert, Delivery, utcnow
from alerting.services import escalations
from alerting.workers.escalation_loop import EscalationLoop
from tests.support.app import make_app, make_key
from tests.support.factories import (
    ACKNOWLEDGE_FROM,
    acknowledge_from,
    create_rule,
    post_event,
    run_dispatcher,
    run_matcher,
)


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], RETRY_SCHEDULE=[0.05])


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


def escalating_rule(client, headers, url, **overrides):
    return create_rule(client, headers, escalate_after=300,
                       escalation_targets={"webhook_url": url}, **overrides)


def fired(app, headers, url, **overrides):
    """A rule escalating to `url` and one alert of it (id 1); the rule."""
    client = app.test_client()
    rule = escalating_rule(client, headers, url, **overrides)
    post_event(client, headers)
    run_matcher(app)
    return rule


def alert_row(app, alert_id=1):
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        db.session.expunge(alert)
        return alert


def later(seconds=301):
    return utcnow() + timedelta(seconds=seconds)


def test_an_unacknowledged_alert_escalates_once(app, headers, httpserver: HTTPServer):
    httpserver.expect_request("/neighbour", method="POST").respond_with_data("ok")
    client = app.test_client()
    fired(app, headers, httpserver.url_for("/neighbour"))
    alert = alert_row(app)
    assert (alert.escalate_at - alert.created_at) == timedelta(seconds=300)
    with app.app_context():
        assert escalations.escalate_due() == []  # not yet due
        assert escalations.escalate_due(later()) == [1]
        assert escalations.escalate_due(later()) == []  # claimed: never twice
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    body = request.get_json()
    assert body["type"] == "alert.escalated"
    assert body["data"]["escalation"] == {
        "after_seconds": 300, "reason": "Escalated: not acknowledged within 5 min"}
    assert body["data"]["alert"]["id"] == 1 and body["data"]["alert"]["escalate_at"] is None
    with app.app_context():
        [delivery] = db.session.query(Delivery).all()
        assert (delivery.kind, delivery.status) == ("escalation", "delivered")
    detail = client.get("/api/alerts/1", headers=headers).json
    assert detail["deliveries"][0]["kind"] == "escalation"


@pytest.mark.parametrize("action", ["acknowledge", "dismiss"])
def test_acknowledged_before_it_is_due_it_never_escalates(app, headers, action,
                                                           httpserver: HTTPServer):
    client = app.test_client()
    fired(app, headers, httpserver.url_for("/neighbour"))
    response = client.post(f"/api/alerts/1/{action}", headers=headers)
    assert response.status_code == 200, response.json
    assert alert_row(app).escalate_at is None
    with app.app_context():
        assert escalations.escalate_due(later()) == []
        assert db.session.query(Delivery).count() == 0


@pytest.mark.parametrize("where", ACKNOWLEDGE_FROM)
def test_acknowledged_from_anywhere_before_it_is_due_it_never_escalates(app, headers, where,
                                                                       httpserver: HTTPServer):
    fired(app, headers, httpserver.url_for("/neighbour"))
    acknowledge_from(app, headers, where, 1)
    assert alert_row(app).escalate_at is None  # the alert says it no longer escalates
    with app.app_context():
        assert escalations.escalate_due(later()) == []
        assert escalations.next_due() is None
        assert db.session.query(Delivery).count() == 0


@pytest.mark.parametrize("where", ACKNOWLEDGE_FROM)
def test_acknowledged_after_it_was_claimed_but_before_it_went_out(app, headers, where,
                                                                  httpserver: HTTPServer):
    httpserver.expect_request("/neighbour").respond_with_data("ok")
    fired(app, headers, httpserver.url_for("/neighbour"))
    with app.app_context():
        assert escalations.escalate_due(later()) == [1]
        assert db.session.query(Delivery).count() == 1
    acknowledge_from(app, headers, where, 1)
    with app.app_context():
        assert escalations.escalate_due(later(600)) == []
        assert db.session.query(Delivery).count() == 0  # taken back out of the outbox
    run_dispatcher(app)
    assert httpserver.log == []
    assert alert_row(app).status == "acknowledged"


def test_below_min_severity_no_escalation(app, headers, httpserver: HTTPServer):
    fired(app, headers, httpserver.url_for("/n"), severity="medium",
          escalate_min_severity="high")
    assert alert_row(app).escalate_at is None


def test_the_rule_escalating_no_more_drops_a_due_one(app, headers, httpserver: HTTPServer):
    client = app.test_client()
    rule = fired(app, headers, httpserver.url_for("/n"))
    response = client.put(f"/api/alerts/rules/{rule['id']}", json={"escalate_after": None},
                          headers=headers)
    assert response.status_code == 200 and response.json["escalate_after"] is None
    with app.app_context():
        assert escalations.escalate_due(later()) == []
        assert db.session.query(Delivery).count() == 0
    assert alert_row(app).escalate_at is None


def test_escalation_fields_round_trip_and_are_validated(app, headers):
    client = app.test_client()
    rule = create_rule(client, headers, escalate_after=60, escalate_min_severity="critical",
                       escalation_targets={"email_recipients": ["n@example.com"],
                                           "push_urls": ["ntfy://u:s3cret@127.0.0.1/t"]})
    assert rule["escalate_after"] == 60 and rule["escalate_min_severity"] == "critical"
    assert rule["escalation_targets"]["email_recipients"] == ["n@example.com"]
    assert rule["escalation_targets"]["push_urls"] == ["ntfy://u:***@127.0.0.1/***"]
    with app.app_context():  # the clear URL is kept sealed, as a rule's targets are
        from alerting.models import AlertRule
        from alerting.services.notification_targets import unseal

        stored = db.session.get(AlertRule, rule["id"])
        assert unseal(stored.escalation_targets["push_urls"][0],
                      stored.escalation_targets_sealed["push_urls"][0]) \
            == "ntfy://u:s3cret@127.0.0.1/t"
    bad = client.post("/api/alerts/rules", json={
        "name": "x", "severity": "low", "escalate_after": 0,
        "escalation_targets": {"webhook_url": "ftp://nope"},
        "escalate_min_severity": "urgent"}, headers=headers)
    assert bad.status_code == 422
    assert {"escalate_after", "escalation_targets.webhook_url",
            "escalate_min_severity"} <= set(bad.json["fields"])


def test_the_loop_fires_within_a_second_of_due(app, headers, httpserver: HTTPServer):
    httpserver.expect_request("/n").respond_with_data("ok")
    fired(app, headers, httpserver.url_for("/n"))
    with app.app_context():
        due = utcnow() + timedelta(seconds=0.5)
        db.session.query(Alert).update({"escalate_at": due})
        db.session.commit()
    loop = EscalationLoop(app)
    assert 0.3 < loop.run_once() <= 0.5  # sleeps until it is due
    with app.app_context():
        assert db.session.query(Delivery).count() == 0
    loop.start()
    try:
        deadline = utcnow() + timedelta(seconds=3)
        while utcnow() < deadline:
            with app.app_context():
                if db.session.query(Delivery).count():
                    break
        with app.app_context():
            [delivery] = db.session.query(Delivery).all()
            assert delivery.kind == "escalation"
            assert delivery.created_at - due < timedelta(seconds=1)
    finally:
        loop.stop()


def test_only_an_alert_that_will_escalate_wakes_the_escalation_timer(app, headers):
    """The timer sleeps through batches whose alerts do not escalate (each wake-up costs
    queries beside the POST); one that will escalate wakes it."""
    from alerting import signals

    heard = []

    def listen(sender, **_):
        heard.append(sender)
    signals.escalations_due.connect(listen, sender=app)
    try:
        client = app.test_client()
        create_rule(client, headers, camera_ids=["plain"])
        post_event(client, headers, camera_id="plain")
        run_matcher(app)
        with app.app_context():
            assert db.session.query(Alert).count() == 1
        assert heard == []
        escalating_rule(client, headers, "http://127.0.0.1:9/x", camera_ids=["door"])
        post_event(client, headers, camera_id="door")
        run_matcher(app)
        assert heard == [app]
    finally:
        signals.escalations_due.disconnect(listen, sender=app)
