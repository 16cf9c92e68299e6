"""Camera health: events, heartbeats and Frigate's reports keep the cameras table; a
camera_offline rule raises an alert through the normal path (webhook to a real receiver,
cooldown, live) when a camera goes silent and a camera_online one when it returns, once
however many workers check at the same time."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest

from alerting import metrics
from alerting.extensions import db
from alerting.ingest import frigate_status
from alerting.live import hub
from alerting.models import Alert, Camera, CameraOutage, Event, utcnow
from alerting.services import cameras
from tests.support.app import make_app, make_key
from tests.support.factories import configure, create_rule, post_event, run_dispatcher
from tests.support.metrics import recorded, scrape, value


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], CAMERA_OFFLINE_SECONDS=120)


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


def camera(app, camera_id: str) -> Camera | None:
    with app.app_context():
        found = db.session.get(Camera, camera_id)
        db.session.expunge_all()
        return found


def check(app, now):
    with app.app_context():
        return cameras.check(now)


def offline_rule(client, headers, **overrides):
    body = {"name": "Camera unplugged", "severity": "critical", "kind": "camera_offline",
            "camera_ids": ["porch"], "offline_after_seconds": 60, "channels": ["webhook"],
            "cooldown_seconds": 0, **overrides}
    return create_rule(client, headers, **body)


def beat(client, headers, camera_id="porch", **body):
    response = client.post(f"/api/cameras/{camera_id}/heartbeat", json=body or None,
                           headers=headers)
    assert response.status_code == 200, response.json
    return response.json


# --- what reports a camera ------------------------------------------------------------------


def test_an_ingested_event_brings_its_camera_online(app, headers):
    client = app.test_client()
    before = utcnow()
    post_event(client, headers, camera_id="gate", source="yolo", external_id="1")
    found = camera(app, "gate")
    assert found.status == "online" and found.source == "yolo"
    assert found.last_seen >= before - timedelta(seconds=1)
    listed = client.get("/api/cameras", headers=headers).json
    assert listed["count"] == 1 and listed["cameras"][0]["id"] == "gate"
    assert listed["cameras"][0]["status"] == "online"


def test_heartbeat_needs_the_ingest_scope(app, headers):
    client = app.test_client()
    ingest = {"x-access-token": make_key(app, "ingest")}
    read = {"x-access-token": make_key(app, "read")}
    assert beat(client, ingest, name="Porch camera")["name"] == "Porch camera"
    assert client.post("/api/cameras/porch/heartbeat", headers=read).status_code == 403
    assert client.post("/api/cameras/porch/heartbeat").status_code == 401
    assert client.get("/api/cameras", headers=ingest).status_code == 403
    bad = client.post("/api/cameras/porch/heartbeat", json={"name": 5}, headers=headers)
    assert bad.status_code == 422 and "name" in bad.json["fields"]
    assert client.get("/api/cameras?status=sideways", headers=headers).status_code == 422
    assert client.post(f"/api/cameras/{'c' * 256}/heartbeat",
                       headers=headers).status_code == 404
    assert client.post("/api/cameras/%20/heartbeat", headers=headers).status_code == 404
    assert client.post("/api/cameras/a%00b/heartbeat", headers=headers).status_code == 404
    assert beat(client, headers, camera_id="%20porch%20")["id"] == "porch"


def test_heartbeat_brings_an_offline_camera_back_and_sets_since(app, headers):
    client = app.test_client()
    beat(client, headers)
    first = camera(app, "porch")
    with app.app_context():
        cameras.report(["porch"], "offline", utcnow(), "frigate:frigate")
    down = camera(app, "porch")
    assert down.status == "offline" and down.since > first.since
    assert down.last_seen == first.last_seen  # a report of offline is no sign of life
    body = beat(client, headers)
    assert body["status"] == "online" and body["since"] >= body["last_seen"][:19]


def test_silent_cameras_are_marked_offline_since_they_were_last_seen(app, headers):
    client = app.test_client()
    beat(client, headers)
    seen = camera(app, "porch").last_seen
    assert check(app, seen + timedelta(seconds=119))["marked_offline"] == 0
    assert check(app, seen + timedelta(seconds=121))["marked_offline"] == 1
    down = camera(app, "porch")
    assert down.status == "offline" and down.since == seen
    assert client.get("/api/cameras?status=offline", headers=headers).json["count"] == 1


# --- Frigate's topics -------------------------------------------------------------------------


def test_frigate_camera_status_topics(app):
    now = utcnow()
    with app.app_context():
        assert frigate_status.handle("frigate", "frigate/porch/status/detect", b"offline",
                                     now) == "porch:offline"
        assert frigate_status.handle("frigate", "frigate/garden/status/detect", "online",
                                     now) == "garden:online"
        assert frigate_status.handle("frigate", "frigate/shed/status/record", b"disabled",
                                     now) == "shed:disabled"
    assert camera(app, "porch").status == "offline" and camera(app, "porch").last_seen is None
    assert camera(app, "garden").status == "online" and camera(app, "garden").last_seen == now
    assert camera(app, "shed").status == "disabled"
    assert camera(app, "porch").source == "frigate:frigate"


def test_a_camera_is_offline_while_any_of_its_roles_is(app):
    """Frigate reports each ffmpeg role on its own topic and repeats each every retry
    interval: a camera whose detect stream is dead while its recording is fine gets
    `detect offline` and `record online` in turn, and must stay offline, not flap (a
    camera_offline rule would never see it offline long enough)."""
    now = utcnow()
    said = []
    with app.app_context():
        for role, word in (("detect", b"offline"), ("record", b"online"),
                           ("audio", b"online"), ("detect", b"offline"),
                           ("record", b"online")):
            said.append(frigate_status.handle("frigate", f"frigate/porch/status/{role}",
                                              word, now))
        assert said == ["porch:offline"] * 5
        assert camera(app, "porch").status == "offline"
        assert frigate_status.handle("frigate", "frigate/porch/status/detect", b"online",
                                     now + timedelta(seconds=10)) == "porch:online"
        assert camera(app, "porch").last_seen == now + timedelta(seconds=10)
        # A disabled role (audio turned off) is no outage: the others say.
        assert frigate_status.handle("frigate", "frigate/porch/status/audio", b"disabled",
                                     now) == "porch:online"
        for role in ("detect", "record"):
            frigate_status.handle("frigate", f"frigate/porch/status/{role}", b"disabled", now)
        assert camera(app, "porch").status == "disabled"
        # Frigate gone, then back: its cameras' roles are reported afresh.
        frigate_status.handle("frigate", "frigate/porch/status/detect", b"offline", now)
        frigate_status.handle("frigate", "frigate/available", b"offline", now)
        assert frigate_status.handle("frigate", "frigate/available", b"online",
                                     now) == "*:online"
        assert frigate_status.handle("frigate", "frigate/porch/status/record", b"online",
                                     now) == "porch:online"


@pytest.mark.parametrize(("topic", "payload"), [
    ("frigate/porch/status/detect", b"sideways"),
    ("frigate/porch/status/detect", b"\xff\xfe"),
    ("frigate/porch/status/detect", b"online" * 100),
    ("frigate/available", b"maybe"),
    ("frigate/porch/motion", b"ON"),
    ("other/porch/status/detect", b"online"),
    ("frigate//status/detect", b"online"),
    ("frigate/a\x00b/status/detect", b"online"),
    (f"frigate/{'c' * 256}/status/detect", b"online"),
])
def test_topics_and_payloads_it_does_not_know_change_nothing(app, topic, payload):
    with app.app_context():
        assert frigate_status.handle("frigate", topic, payload, utcnow()) is None
        assert db.session.query(Camera).count() == 0


def test_frigate_going_away_takes_its_cameras_with_it(app, headers):
    now = utcnow()
    with app.app_context():
        frigate_status.handle("frigate", "frigate/porch/status/detect", b"online", now)
        frigate_status.handle("nvr2", "nvr2/yard/status/detect", b"online", now)
        assert frigate_status.handle("frigate", "frigate/available", b"offline",
                                     now) == "*:offline"
    assert camera(app, "porch").status == "offline"
    assert camera(app, "yard").status == "online"  # another instance's camera
    with app.app_context():
        frigate_status.handle("frigate", "frigate/available", b"online",
                              now + timedelta(seconds=5))
    assert camera(app, "porch").status == "online"
    assert frigate_status.is_status_topic("frigate", "frigate/available")
    assert not frigate_status.is_status_topic("frigate", "frigate/events")


# --- camera_offline rules -----------------------------------------------------------------


def test_camera_offline_rule_validation(app, headers):
    client = app.test_client()
    rule = offline_rule(client, headers)
    assert rule["kind"] == "camera_offline" and rule["offline_after_seconds"] == 60
    for body, field in (({"kind": "sideways"}, "kind"),
                        ({"offline_after_seconds": 5}, "offline_after_seconds")):
        response = client.post("/api/alerts/rules", headers=headers,
                               json={"name": "x", "severity": "low", **body})
        assert response.status_code == 422 and field in response.json["fields"]


def test_a_camera_offline_rule_never_matches_events(app, headers):
    from tests.support.factories import run_matcher

    client = app.test_client()
    rule = offline_rule(client, headers, camera_ids=None)
    post_event(client, headers, camera_id="porch")
    run_matcher(app)
    with app.app_context():
        assert db.session.query(Alert).count() == 0
    tested = client.post(f"/api/alerts/rules/{rule['id']}/test", headers=headers)
    assert tested.status_code == 409 and "camera_offline" in tested.json["message"]


def test_offline_then_online_alerts_reach_a_real_webhook_once(app, headers, httpserver):
    client = app.test_client()
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    rule = offline_rule(client, headers)
    beat(client, headers)
    beat(client, headers, camera_id="garden")  # not one of the rule's cameras
    seen = camera(app, "porch").last_seen
    subscription = hub(app).subscribe(fmt="json")
    try:
        assert check(app, seen + timedelta(seconds=59))["offline"] == 0
        assert check(app, seen + timedelta(seconds=61))["offline"] == 1
        assert check(app, seen + timedelta(seconds=90))["offline"] == 0  # once an outage
        run_dispatcher(app)
        [(request, _)] = httpserver.log
        sent = json.loads(request.get_data())
        assert "porch" in json.dumps(sent) and "offline" in json.dumps(sent)
        with app.app_context():
            [alert] = db.session.query(Alert).all()
            assert (alert.rule_id, alert.camera_id, alert.severity, alert.status) == \
                (rule["id"], "porch", "critical", "delivered")
            event = db.session.get(Event, alert.event_id)
            assert event.source == "camera_health" and event.labels == ["camera_offline"]
            assert event.processed_at is not None
        live = [m.type for m in iter(lambda: subscription.get(timeout=0), None)]
        assert live[:2] == ["event_created", "alert_created"]  # then delivered: updated

        beat(client, headers)  # it is back
        back = camera(app, "porch").last_seen
        assert check(app, back + timedelta(seconds=1))["online"] == 1
        assert check(app, back + timedelta(seconds=2)) == {
            "marked_offline": 0, "offline": 0, "online": 0}
        run_dispatcher(app)
        assert len(httpserver.log) == 2
        back = json.dumps(json.loads(httpserver.log[1][0].get_data()))
        assert "back online" in back
        with app.app_context():
            online = db.session.query(Alert).order_by(Alert.id.desc()).first()
            assert online.severity == "low" and "camera online" in online.rule_name
            [outage] = db.session.query(CameraOutage).all()
            assert outage.resolved_at is not None and outage.online_alert_id == online.id
    finally:
        hub(app).unsubscribe(subscription)


def test_the_rules_cooldown_applies_to_outages(app, headers):
    client = app.test_client()
    offline_rule(client, headers, cooldown_seconds=3600, channels=[])
    for _ in range(2):  # two outages, minutes apart
        beat(client, headers)
        seen = camera(app, "porch").last_seen
        check(app, seen + timedelta(seconds=61))
    with app.app_context():
        outages = db.session.query(CameraOutage).order_by(CameraOutage.id).all()
        assert len(outages) == 2
        assert outages[0].offline_alert_id is not None
        assert outages[1].offline_alert_id is None  # suppressed by the cooldown
        assert outages[0].resolved_at is not None  # the second beat ended the first outage
        assert db.session.query(Alert).filter(Alert.severity == "critical").count() == 1


def test_reported_offline_counts_from_the_report(app, headers):
    client = app.test_client()
    offline_rule(client, headers, channels=[])
    now = utcnow()
    with app.app_context():
        frigate_status.handle("frigate", "frigate/porch/status/detect", b"offline", now)
    assert check(app, now + timedelta(seconds=30))["offline"] == 0
    assert check(app, now + timedelta(seconds=61))["offline"] == 1


def test_several_workers_checking_at_once_raise_an_outage_once(app, headers):
    client = app.test_client()
    offline_rule(client, headers, channels=[])
    beat(client, headers)
    later = camera(app, "porch").last_seen + timedelta(seconds=61)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(check(app, later)["offline"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and sum(results) == 1
    with app.app_context():
        assert db.session.query(Alert).count() == 1
        assert db.session.query(CameraOutage).count() == 1


def test_the_camera_gauge_follows_reports_the_check_and_the_database(app, headers):
    client = app.test_client()
    porch, shed = f"porch-{uuid.uuid4().hex[:8]}", f"shed-{uuid.uuid4().hex[:8]}"
    beat(client, headers, porch)
    post_event(client, headers, camera_id=shed)
    assert value(recorded(), "alerting_camera_online", camera_id=porch) == 1
    assert value(recorded(), "alerting_camera_online", camera_id=shed) == 1
    check(app, utcnow() + timedelta(seconds=121))  # both silent past CAMERA_OFFLINE_SECONDS
    assert value(recorded(), "alerting_camera_online", camera_id=porch) == 0
    assert value(recorded(), "alerting_camera_online", camera_id=shed) == 0
    with app.app_context():
        cameras.report([porch], "disabled", utcnow(), "frigate:f")
    # A process's stale value (one that ended, another's view): the scrape reads the table.
    metrics.camera_status(porch, True)
    assert value(scrape(client, **headers), "alerting_camera_online", camera_id=porch) == 0


@pytest.mark.parametrize("body", ["false", "0", "[]", '"porch"'])
def test_a_heartbeat_body_that_is_not_an_object_is_refused(app, headers, body):
    # No body is a heartbeat; a JSON body must be an object (false once passed as none).
    response = app.test_client().post("/api/cameras/porch/heartbeat", data=body, headers={
        **headers, "Content-Type": "application/json"})
    assert response.status_code == 422, response.json
