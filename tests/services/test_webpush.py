"""Web push through the outbox: every alert a subscription's filter takes gets a delivery row
for it; the dispatcher sends it to a real push service on loopback, which verifies VAPID and
decrypts the payload; a 410 removes the subscription; keys are stored encrypted."""

import pytest
from py_vapid import Vapid02
from sqlalchemy import text

from alerting.extensions import db
from alerting.models import Delivery, WebPushKeys, WebPushSubscription
from alerting.services import webpush
from tests.support.app import make_app, make_key
from tests.support.factories import create_rule, post_event, run_dispatcher, run_matcher
from tests.support.webpush import b64url, start_push_service


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"],
                    VAPID_SUBJECT="mailto:ops@example.org", RETRY_SCHEDULE=[0.05])


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


@pytest.fixture
def push():
    service = start_push_service()
    yield service
    service.server.stop()


def subscribe(app, headers, body):
    response = app.test_client().post("/api/push/subscriptions", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def fire(app, headers, n=1, camera="back-door", **rule):
    client = app.test_client()
    create_rule(client, headers, camera_ids=[camera], **rule)
    for i in range(n):
        post_event(client, headers, external_id=f"{camera}-{i}", source="t", camera_id=camera)
    run_matcher(app)


def deliveries(app):
    with app.app_context():
        return [(d.channel, d.target, d.status) for d in db.session.query(Delivery)
                .order_by(Delivery.id)]


def test_an_alert_reaches_every_subscribed_device(app, headers, push):
    phone = subscribe(app, headers, push.subscribe("phone", label="Phone"))
    laptop = subscribe(app, headers, push.subscribe("laptop", label="Laptop"))

    fire(app, headers, severity="high")
    run_dispatcher(app)

    assert sorted(p.path for p in push.received) == ["laptop", "phone"]
    payload = push.received[0].payload
    assert payload["title"].startswith("[HIGH] Person at the back door")
    assert payload["url"] == f"/alerts/{payload['alert_id']}" and payload["tag"].startswith(
        "alert-")
    assert [a["action"] for a in payload["actions"]] == ["open"]
    # the VAPID key is the app's own, whose public key the pages hand to the browser
    with app.app_context():
        public = webpush.public_key()
    assert {p.claims["k"] for p in push.received} == {public}
    assert sorted(deliveries(app)) == sorted([
        ("webpush", f"webpush:{phone['id']}@127.0.0.1", "delivered"),
        ("webpush", f"webpush:{laptop['id']}@127.0.0.1", "delivered")])
    listed = app.test_client().get("/api/push/subscriptions", headers=headers).json
    assert listed["count"] == 2 and all(s["last_success_at"] for s in listed["subscriptions"])


@pytest.mark.parametrize(("filters", "fires"), [
    ({"min_severity": "critical"}, False),
    ({"min_severity": "high"}, True),
    ({"camera_ids": ["driveway"]}, False),
    ({"camera_ids": ["driveway", "back-door"]}, True),
])
def test_a_subscription_gets_only_what_its_filter_takes(app, headers, push, filters, fires):
    subscribe(app, headers, push.subscribe("phone", **filters))

    fire(app, headers, severity="high")
    run_dispatcher(app)

    assert bool(push.received) is fires
    assert bool(deliveries(app)) is fires


def test_a_gone_subscription_is_removed(app, headers, push):
    kept = subscribe(app, headers, push.subscribe("kept"))
    subscribe(app, headers, push.subscribe("old"))
    push.answers["old"] = 410

    fire(app, headers)
    run_dispatcher(app)

    with app.app_context():
        assert [s.id for s in db.session.query(WebPushSubscription)] == [kept["id"]]
    statuses = {target.split(":")[1].split("@")[0]: status
                for _c, target, status in deliveries(app)}
    assert statuses == {str(kept["id"]): "delivered", str(kept["id"] + 1): "dead"}
    # the next alert goes only to the device that is still there
    push.received.clear()
    fire(app, headers, camera="driveway")
    run_dispatcher(app)
    assert [p.path for p in push.received] == ["kept"]


def test_the_same_endpoint_again_replaces_the_subscription(app, headers, push):
    first = subscribe(app, headers, push.subscribe("phone", min_severity="critical"))
    again = subscribe(app, headers, push.subscribe("phone", min_severity="low"))

    assert again["id"] == first["id"] and again["min_severity"] == "low"
    fire(app, headers, severity="low")
    run_dispatcher(app)
    [got] = push.received  # decrypted with the new keys
    assert got.path == "phone"


def test_a_revoked_subscription_gets_nothing(app, headers, push):
    made = subscribe(app, headers, push.subscribe("phone"))
    client = app.test_client()
    assert client.delete(f"/api/push/subscriptions/{made['id']}",
                         headers=headers).status_code == 204
    assert client.delete(f"/api/push/subscriptions/{made['id']}",
                         headers=headers).status_code == 404

    fire(app, headers)
    run_dispatcher(app)
    assert push.received == [] and deliveries(app) == []


def test_secrets_are_stored_encrypted(app, headers, push):
    body = push.subscribe("phone")
    subscribe(app, headers, body)
    fire(app, headers)
    with app.app_context():
        webpush.vapid()
        dump = "\n".join(str(row) for table in ("web_push_subscriptions", "web_push_keys",
                                                 "deliveries")
                         for row in db.session.execute(text(f"SELECT * FROM {table}")))
        stored_key = db.session.get(WebPushKeys, 1)
        pem = webpush.vapid().private_pem().decode()
    assert body["keys"]["auth"] not in dump
    assert "PRIVATE KEY" not in dump and pem not in dump
    assert stored_key.public_key == webpush.public_key(Vapid02.from_pem(pem.encode()))


def test_the_configured_vapid_key_wins(tmp_path):
    key = Vapid02()
    key.generate_keys()
    app = make_app(tmp_path, VAPID_PRIVATE_KEY=key.private_pem().decode())
    with app.app_context():
        assert webpush.public_key() == webpush.public_key(key)
        assert db.session.get(WebPushKeys, 1) is None
    client = app.test_client()
    answer = client.get("/api/push/vapid-public-key",
                        headers={"x-access-token": make_key(app, "read")})
    assert answer.json == {"public_key": webpush.public_key(key)}
    assert len(b64url(b"x" * 65)) == len(answer.json["public_key"])


@pytest.mark.parametrize(("body", "field"), [
    ({"endpoint": "ftp://x/y"}, "endpoint"),
    ({"keys": {"p256dh": "short", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys.p256dh"),
    ({"keys": {"p256dh": None, "auth": "AAAA"}}, "keys.p256dh"),
    ({"min_severity": "urgent"}, "min_severity"),
    ({"camera_ids": "front"}, "camera_ids"),
    ({"surprise": 1}, "surprise"),
    ({"endpoint": "http://10.0.0.5/push/x"}, "endpoint"),
    ({"expirationTime": {}}, "expirationTime"),  # schemathesis: documented a number or null
    ({"expirationTime": True}, "expirationTime"),
])
def test_bad_subscriptions_are_a_422_naming_the_field(app, headers, push, body, field):
    good = push.subscribe("phone")
    if "keys" in body:
        good["keys"] = {**good["keys"], **body.pop("keys")}
    response = app.test_client().post("/api/push/subscriptions", json={**good, **body},
                                      headers=headers)
    assert response.status_code == 422
    assert any(name == field or name.startswith(field + ".") for name in response.json["fields"]), \
        response.json


def test_a_webpush_channel_mute_timing_holds_web_push_back(app, headers, push):
    client = app.test_client()
    subscribe(app, headers, push.subscribe("phone"))
    # The events' time (factories: Thursday 2026-01-15 02:00 UTC) is inside "nights".
    assert client.post("/api/mute-timings", headers=headers, json={
        "name": "nights", "timezone": "UTC", "intervals": [
            {"days": ["thu"], "start_time": "00:00", "end_time": "06:00"}]}).status_code == 201
    answer = client.put("/api/notification/config", headers=headers,
                        json={"channel_mute_timings": {"webpush": ["nights"]}})
    assert answer.status_code == 200, answer.json
    assert answer.json["channel_mute_timings"] == {"webpush": ["nights"]}

    fire(app, headers)
    run_dispatcher(app)

    assert push.received == [] and deliveries(app) == []
    [alert] = client.get("/api/alerts", headers=headers).json["alerts"]
    assert alert["status"] == "silenced"


def test_deliveries_can_be_listed_by_the_webpush_channel(app, headers, push):
    subscribe(app, headers, push.subscribe("phone"))
    fire(app, headers)
    answer = app.test_client().get("/api/deliveries?channel=webpush", headers=headers)

    assert answer.status_code == 200, answer.json
    assert [d["channel"] for d in answer.json["deliveries"]] == ["webpush"]


def test_a_vapid_key_the_secret_key_cannot_read_is_reported_and_fails_retryably(
        app, headers, push):
    subscribe(app, headers, push.subscribe("phone"))
    with app.app_context():
        webpush.vapid()  # stored with the first secret key
    app.config["SECRET_KEY"] = "another-secret-key-entirely-0123456789"
    client = app.test_client()
    health = client.get("/api/health").json
    assert health["secrets"] == "unreadable" and "vapid_private_key" in health[
        "unreadable_secrets"]
    # the pages still hand out the public key (stored in clear: nothing to decrypt)
    with app.app_context():
        assert webpush.public_key() == db.session.get(WebPushKeys, 1).public_key

    fire(app, headers)
    run_dispatcher(app, timeout=2)
    assert push.received == []
    detail = client.get("/api/deliveries?channel=webpush", headers=headers).json
    assert all("VAPID key" in (d["last_error"] or "") for d in detail["deliveries"])
