"""The dispatcher against real receivers on loopback: webhook, email, push; retries,
dead letters, leases, and a slow receiver that must not delay the others."""

import threading
import time
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Response

from alerting.extensions import db
from alerting.models import Alert, Delivery, utcnow
from alerting.notify.dispatcher import Dispatcher
from alerting.services import deliveries
from tests.support.app import make_app, make_key
from tests.support.factories import (
    configure,
    create_rule,
    post_event,
    run_dispatcher,
    run_matcher,
)
from tests.support.receivers import Collector
from tests.support.statements import executed


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], SMTP_USE_TLS=False,
                    RETRY_SCHEDULE=[0.05, 0.05, 0.05])


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


def fire(app, headers, n=1, **rule):
    client = app.test_client()
    create_rule(client, headers, **{"channels": ["webhook"], **rule})
    for i in range(n):
        post_event(client, headers, external_id=f"ev-{i}", source="t")
    run_matcher(app)


def statuses(app):
    with app.app_context():
        return (sorted(d.status for d in db.session.query(Delivery)),
                sorted(a.status for a in db.session.query(Alert)))


def secret(app, headers):
    return app.test_client().post("/api/notification/webhook-secret/reveal",
                                  headers=headers).json["webhook_secret"]


def test_webhook_delivered_signed_and_alert_delivered(app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    key = secret(app, headers)
    fire(app, headers)
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    body = Webhook(key).verify(request.get_data(), dict(request.headers))
    assert body["type"] == "alert.created"
    assert body["data"]["alert"]["rule_name"] == "Person at the back door"
    assert body["data"]["event"]["camera_id"] == "back-door"
    assert body["data"]["matched_conditions"] == ["object_type", "camera"]
    assert statuses(app) == (["delivered"], ["delivered"])
    detail = app.test_client().get("/api/alerts/1", headers=headers).json
    [attempt] = detail["deliveries"][0]["attempt_log"]
    assert attempt["ok"] is True and attempt["status_code"] == 200


def test_retries_keep_the_same_webhook_id(app, headers, httpserver):
    replies = iter([500, 503, 200])
    httpserver.expect_request("/hook").respond_with_handler(
        lambda request: Response("x", status=next(replies)))
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers)
    deadline = time.monotonic() + 10
    while statuses(app)[0] != ["delivered"] and time.monotonic() < deadline:
        run_dispatcher(app)
        time.sleep(0.05)
    ids = {request.headers["webhook-id"] for request, _ in httpserver.log}
    assert len(httpserver.log) == 3 and len(ids) == 1
    assert statuses(app) == (["delivered"], ["delivered"])


def test_retry_after_is_honoured(app, headers, httpserver):
    httpserver.expect_ordered_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"})
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers)
    run_dispatcher(app)
    with app.app_context():
        delivery = db.session.query(Delivery).one()
        assert delivery.status == "pending"
        assert delivery.next_attempt_at - utcnow() > timedelta(seconds=100)


def test_permanent_failure_is_dead_at_once_then_retried_by_hand(app, headers, httpserver):
    httpserver.expect_ordered_request("/hook").respond_with_data("gone", status=410)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", status=200)
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers)
    run_dispatcher(app)
    assert statuses(app) == (["dead"], ["failed"])
    client = app.test_client()
    dead = client.get("/api/deliveries?status=dead", headers=headers).json
    assert dead["count"] == 1 and "410" in dead["deliveries"][0]["last_error"]
    delivery_id = dead["deliveries"][0]["id"]
    response = client.post(f"/api/deliveries/{delivery_id}/retry", headers=headers)
    assert response.status_code == 200 and response.json["status"] == "pending"
    assert statuses(app) == (["pending"], ["pending"])
    run_dispatcher(app)
    assert statuses(app) == (["delivered"], ["delivered"])
    assert client.post(f"/api/deliveries/{delivery_id}/retry", headers=headers).status_code == 409
    assert client.post("/api/deliveries/999/retry", headers=headers).status_code == 404


def test_retries_run_out_into_a_dead_letter(app, headers, httpserver):
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers)
    deadline = time.monotonic() + 10
    while statuses(app)[0] != ["dead"] and time.monotonic() < deadline:
        run_dispatcher(app)
        time.sleep(0.06)
    assert statuses(app) == (["dead"], ["failed"])
    assert len(httpserver.log) == 4  # the first try and three retries


def test_acknowledged_alert_keeps_its_status(app, headers, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers)
    app.test_client().post("/api/alerts/1/acknowledge", headers=headers)
    run_dispatcher(app)
    assert statuses(app) == (["delivered"], ["acknowledged"])


def test_email_to_real_smtp_with_both_bodies(app, headers, smtp_server):
    collector = Collector()
    smtp = smtp_server(collector)
    configure(app, headers, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_use_tls=False,
              smtp_from_address="alerts@example.com",
              default_email_recipients=["me@example.com"])
    fire(app, headers, channels=["email"])
    run_dispatcher(app)
    [envelope] = collector.envelopes
    raw = envelope.content.decode()
    assert "text/plain" in raw and "text/html" in raw
    assert "Person at the back door" in raw and "back-door" in raw
    assert statuses(app) == (["delivered"], ["delivered"])


def test_smtp_down_then_up_is_delivered(app, headers, smtp_server):
    from tests.support.server import free_port

    port = free_port()
    configure(app, headers, smtp_host="127.0.0.1", smtp_port=port, smtp_use_tls=False,
              smtp_from_address="alerts@example.com",
              default_email_recipients=["me@example.com"])
    fire(app, headers, channels=["email"])
    run_dispatcher(app)
    assert statuses(app) == (["pending"], ["pending"])
    collector = Collector()
    smtp_server(collector, port=port)
    time.sleep(0.1)
    run_dispatcher(app)
    assert len(collector.envelopes) == 1
    assert statuses(app) == (["delivered"], ["delivered"])


def test_push_through_apprise(app, headers, httpserver):
    httpserver.expect_request("/push").respond_with_data("ok")
    configure(app, headers, push_urls=[f"json://127.0.0.1:{httpserver.port}/push"])
    fire(app, headers, channels=["push"])
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    assert "Person at the back door" in request.get_json()["title"]
    assert statuses(app) == (["delivered"], ["delivered"])


def test_expired_lease_is_claimed_again_and_stale_outcome_ignored(app, headers, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers)
    with app.app_context():
        [stale] = deliveries.claim_due(10)  # a dispatcher that then dies
        db.session.query(Delivery).update({"lease_until": utcnow() - timedelta(seconds=1)})
        db.session.commit()
    run_dispatcher(app)  # claims it again after the lease expired, and delivers
    from alerting.notify import Outcome
    with app.app_context():
        deliveries.record_outcomes([(stale, Outcome(ok=False, error="late"), utcnow())])
    assert statuses(app) == (["delivered"], ["delivered"])
    assert len(httpserver.log) == 1


def test_slow_receiver_does_not_delay_the_others(tmp_path, httpserver):
    slow_server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    slow_server.start()
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], DISPATCH_CONCURRENCY=8,
                   DISPATCH_PER_TARGET=2)
    headers = {"x-access-token": make_key(app)}
    release = threading.Event()

    def slow(_request):
        release.wait(10)
        return Response("late")

    slow_server.expect_request("/slow").respond_with_handler(slow)
    httpserver.expect_request("/fast").respond_with_data("ok")
    client = app.test_client()
    create_rule(client, headers, name="slow", channels=["webhook"],
                targets={"webhook_url": slow_server.url_for("/slow")})
    create_rule(client, headers, name="fast", channels=["webhook"],
                targets={"webhook_url": httpserver.url_for("/fast")})
    for i in range(20):
        post_event(client, headers, external_id=f"e{i}", source="t")
    run_matcher(app)
    dispatcher = Dispatcher(app)
    thread = dispatcher.start()
    try:
        deadline = time.monotonic() + 10
        fast = 0
        while time.monotonic() < deadline:
            fast = len(httpserver.log)
            if fast == 20:
                break
            time.sleep(0.02)
        assert fast == 20  # all fast deliveries done while the slow receiver is stuck
        assert len(slow_server.log) == 0  # ... and it really was stuck
    finally:
        release.set()
        dispatcher.stop()
        thread.join(5)
        slow_server.clear()
        slow_server.stop()


def add_deliveries(app, *targets_and_ages):
    """Delivery rows for one alert, each (target, seconds since it became due)."""
    fire(app, {"x-access-token": make_key(app)})  # one alert, with a delivery to no receiver
    with app.app_context():
        alert_id = db.session.query(Alert.id).scalar()
        db.session.query(Delivery).delete()
        now = utcnow()
        rows = [Delivery(alert_id=alert_id, channel="webhook", target=target,
                         next_attempt_at=now - timedelta(seconds=age))
                for target, age in targets_and_ages]
        db.session.add_all(rows)
        db.session.commit()
        return {row.id: row.target for row in rows}


def test_claims_oldest_first_across_targets_within_each_targets_slots(app):
    ids = add_deliveries(app, ("http://a/", 50), ("http://a/", 40), ("http://a/", 30),
                         ("http://b/", 20), ("http://c/", 45), ("http://b/", 60))
    with app.app_context():
        claimed = deliveries.claim_due(4, per_target=2)
    by_age = [ids[c.id] for c in claimed]
    assert by_age == ["http://b/", "http://a/", "http://c/", "http://a/"]
    assert {c.attempt for c in claimed} == {1} and len({c.token for c in claimed}) == 1


def test_a_saturated_targets_backlog_leaves_room_for_the_others(app):
    ids = add_deliveries(app, *[("http://slow/", 100 + i) for i in range(50)],
                         ("http://fast/", 1), ("http://fast/", 2))
    with app.app_context():
        claimed = deliveries.claim_due(4, per_target=2, in_flight={"http://slow/": 2})
        assert sorted(ids[c.id] for c in claimed) == ["http://fast/", "http://fast/"]
        # ... and the slow one's slots are filled again once they are free.
        again = deliveries.claim_due(4, per_target=2, in_flight={"http://fast/": 2})
    assert [ids[c.id] for c in again] == ["http://slow/", "http://slow/"]


def test_a_target_filling_up_within_a_claim_leaves_room_for_the_others(app):
    # No target is saturated when the claim starts; the oldest 50 due rows are all one
    # target's, which fills after two: the claim goes on to the other target's rows.
    ids = add_deliveries(app, *[("http://busy/", 100 + i) for i in range(50)],
                         ("http://quiet/", 2), ("http://quiet/", 1))
    with app.app_context():
        claimed = deliveries.claim_due(4, per_target=2, in_flight={"http://busy/": 1})
    assert [ids[c.id] for c in claimed] == ["http://busy/", "http://quiet/", "http://quiet/"]
    assert claimed[0].id == list(ids)[49]  # the busy target's oldest (due 149 s ago)


def test_claim_builds_the_message_and_leases_once(app, headers):
    configure(app, headers, default_webhook_url="http://127.0.0.1:9/hook")
    fire(app, headers, n=2, zone_ids=["porch"])
    with app.app_context():
        claimed = deliveries.claim_due(10)
        assert deliveries.claim_due(10) == []  # leased: not claimed twice
    assert len(claimed) == 2
    message = claimed[0].message
    assert message.title == "[HIGH] Person at the back door: person (camera back-door, zone porch)"
    body = message.webhook_body["data"]
    assert body["event"]["detections"][0]["zone_ids"] == ["porch"]
    assert body["rule"]["name"] == "Person at the back door"
    assert body["alert"]["status"] == "pending" and body["alert"]["event_time"].endswith("Z")
    # The templates' alert has the group (none here); the ungrouped body leaves it out.
    assert "group_id" not in body["alert"] and message.context["alert"]["group_id"] is None
    assert {**body["alert"], "group_id": None} == message.context["alert"]


def test_a_running_dispatcher_signs_with_the_secret_after_a_rotation(app, headers, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    client = app.test_client()
    create_rule(client, headers, channels=["webhook"])
    dispatcher = Dispatcher(app)
    try:
        keys = [secret(app, headers)]
        for i in range(2):
            post_event(client, headers, external_id=f"ev-{i}", source="t")
            run_matcher(app)
            with executed(app) as seen:
                dispatcher.drain()
            keys.append(client.post("/api/notification/webhook-secret/rotate",
                                    headers=headers).json["webhook_secret"])
    finally:
        dispatcher.stop()
    assert keys[0] != keys[1]
    # After the first claim the settings row's version comes with the claim (the content
    # settings' query reads it): no query of its own, and the rotation is still seen.
    version_only = "SELECT notification_settings.updated_at FROM notification_settings WHERE"
    assert not [s for s, _ in seen if s.startswith(version_only)]
    for (request, _), key in zip(httpserver.log, keys[:2], strict=True):
        Webhook(key).verify(request.get_data(), dict(request.headers))


def test_a_running_dispatcher_takes_over_an_expired_lease(app, headers, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    dispatcher = Dispatcher(app, poll_seconds=0.05)
    thread = dispatcher.start()
    try:
        time.sleep(0.2)  # it has looked for expired leases already, and found none
        fire(app, headers)
        with app.app_context():
            deliveries.claim_due(10)  # a dispatcher that then dies
            db.session.query(Delivery).update({"lease_until": utcnow()})
            db.session.commit()
        deadline = time.monotonic() + 5
        while statuses(app)[0] != ["delivered"] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        dispatcher.stop()
        thread.join(5)
    assert statuses(app) == (["delivered"], ["delivered"])
    assert len(httpserver.log) == 1


def test_claims_run_ahead_and_senders_take_the_queued_ones(tmp_path, httpserver):
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], DISPATCH_CONCURRENCY=8,
                   DISPATCH_PER_TARGET=2)
    headers = {"x-access-token": make_key(app)}
    httpserver.expect_request("/hook").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    fire(app, headers, n=6)
    dispatcher = Dispatcher(app)
    try:
        assert dispatcher.step() == 4  # two sending, two queued behind them
        deadline = time.monotonic() + 5
        while len(httpserver.log) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(httpserver.log) == 4  # without another step
        assert dispatcher.step() == 2  # all four recorded in that step, the rest claimed
        dispatcher.drain()
    finally:
        dispatcher.stop()
    assert statuses(app) == (["delivered"] * 6, ["delivered"] * 6)


def test_a_stale_outcome_in_the_same_batch_as_the_current_one_is_ignored(app, headers):
    configure(app, headers, default_webhook_url="http://127.0.0.1:9/hook")
    fire(app, headers)
    from alerting.notify import Outcome
    with app.app_context():
        [stale] = deliveries.claim_due(10)
        db.session.query(Delivery).update({"lease_until": utcnow() - timedelta(seconds=1)})
        db.session.commit()
        [current] = deliveries.claim_due(10)
        deliveries.record_outcomes([
            (stale, Outcome(ok=False, retryable=False, error="late"), utcnow()),
            (current, Outcome(ok=True, status_code=200), utcnow()),
        ])
    assert statuses(app) == (["delivered"], ["delivered"])


def test_a_busy_targets_backlog_does_not_keep_the_loop_claiming(tmp_path, monkeypatch):
    # One target, its slots taken by sends that hang, and more of its rows due: nothing can
    # be claimed until a send ends, so the loop waits (here for its poll) instead of
    # claiming nothing over and over.
    stuck = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    stuck.start()
    release = threading.Event()
    arrived = []

    def hang(_request):
        arrived.append(1)
        release.wait(10)
        return Response("late")

    stuck.expect_request("/hook").respond_with_handler(hang)
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], DISPATCH_CONCURRENCY=4,
                   DISPATCH_PER_TARGET=1)
    headers = {"x-access-token": make_key(app)}
    configure(app, headers, default_webhook_url=stuck.url_for("/hook"))
    fire(app, headers, n=5)
    claims = []
    claim_due = deliveries.claim_due
    monkeypatch.setattr(deliveries, "claim_due",
                        lambda *args, **kwargs: claims.append(1) or claim_due(*args, **kwargs))
    dispatcher = Dispatcher(app, poll_seconds=0.2)
    thread = dispatcher.start()
    try:
        deadline = time.monotonic() + 5
        while not arrived and time.monotonic() < deadline:
            time.sleep(0.01)
        claims.clear()
        time.sleep(1.0)
        assert len(arrived) == 1  # still the one slot, still hanging
        assert len(claims) <= 8  # about one a poll; it claimed hundreds of times a second
    finally:
        release.set()
        dispatcher.stop()
        thread.join(5)
        stuck.clear()
        stuck.stop()


def test_a_batchs_alerts_move_in_one_update_per_status_change(app, headers):
    configure(app, headers, default_webhook_url="http://127.0.0.1:9/hook")
    fire(app, headers, n=4)
    from alerting.notify import Outcome
    with app.app_context():
        claimed = deliveries.claim_due(10)
        outcomes = [Outcome(ok=True, status_code=200)] * 3 + [
            Outcome(ok=False, retryable=False, error="gone")]
        with executed(app) as seen:
            moved = deliveries.record_outcomes(
                [(c, o, utcnow()) for c, o in zip(claimed, outcomes, strict=True)])
    assert sorted(moved) == sorted(c.alert_id for c in claimed)
    updates = [(s, many) for s, many in seen if s.startswith("UPDATE alerts")]
    assert len(updates) == 2 and not any(many for _, many in updates)  # delivered, failed
    assert statuses(app) == (["dead", "delivered", "delivered", "delivered"],
                             ["delivered", "delivered", "delivered", "failed"])
