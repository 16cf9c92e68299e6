"""Events become the right alerts and no others: the matcher through the API."""

import pytest

from alerting.extensions import db
from alerting.models import Alert, Delivery, Event
from tests.support.app import make_app, make_key
from tests.support.factories import break_matching_for, create_rule, post_event, run_matcher


def alerts(client, headers, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return client.get(f"/api/alerts?{qs}", headers=headers).json["alerts"]


def test_matching_event_becomes_an_alert(app, client, admin_headers):
    rule = create_rule(client, admin_headers, risk_threshold=50, zone_ids=["porch"],
                       min_confidence=0.8)
    event = post_event(client, admin_headers)
    assert run_matcher(app) == 1
    [alert] = alerts(client, admin_headers)
    assert alert["rule_id"] == rule["id"] and alert["event_id"] == event["id"]
    assert alert["severity"] == "high" and alert["object_type"] == "person"
    assert alert["zone_id"] == "porch"
    assert alert["matched_conditions"] == ["risk_threshold", "object_type", "camera", "zone",
                                           "min_confidence"]
    assert alert["status"] == "delivered"  # no channels: recorded and shown only
    detail = client.get(f"/api/events/{event['id']}", headers=admin_headers).json
    assert detail["processed_at"] is not None and len(detail["alerts"]) == 1


def test_non_matching_events_make_no_alert(app, client, admin_headers):
    create_rule(client, admin_headers, risk_threshold=50)
    post_event(client, admin_headers, camera_id="front")  # other camera
    post_event(client, admin_headers, risk_score=20)  # below threshold
    post_event(client, admin_headers, detections=[{"object_type": "cat", "confidence": 0.99}])
    assert run_matcher(app) == 3
    assert alerts(client, admin_headers) == []


def test_one_detection_must_satisfy_type_zone_and_confidence(app, client, admin_headers):
    create_rule(client, admin_headers, zone_ids=["driveway"], min_confidence=0.8)
    post_event(client, admin_headers, detections=[
        {"object_type": "person", "confidence": 0.5, "zone_ids": ["driveway"]},
        {"object_type": "cat", "confidence": 0.9, "zone_ids": ["driveway"]},
        {"object_type": "person", "confidence": 0.95, "zone_ids": ["garden"]},
    ])
    run_matcher(app)
    assert alerts(client, admin_headers) == []


def test_disabled_rule_does_not_fire(app, client, admin_headers):
    create_rule(client, admin_headers, enabled=False)
    post_event(client, admin_headers)
    run_matcher(app)
    assert alerts(client, admin_headers) == []


def test_rule_changes_are_seen_by_the_next_batch(app, client, admin_headers):
    rule = create_rule(client, admin_headers)
    post_event(client, admin_headers)
    run_matcher(app)
    client.put(f"/api/alerts/rules/{rule['id']}", json={"enabled": False}, headers=admin_headers)
    post_event(client, admin_headers)
    run_matcher(app)
    assert len(alerts(client, admin_headers)) == 1


def test_cooldown_per_dedup_key(app, client, admin_headers):
    create_rule(client, admin_headers, cooldown_seconds=300,
                dedup_key_template="{camera_id}:{object_type}")
    for minute in ("00", "02", "04", "06"):
        post_event(client, admin_headers, started_at=f"2026-01-15T02:{minute}:00Z")
    post_event(client, admin_headers, started_at="2026-01-15T02:01:00Z", camera_id="back-door",
               detections=[{"object_type": "PERSON", "confidence": 0.9}])
    run_matcher(app)
    got = alerts(client, admin_headers)
    # 02:00 fires; 02:02 and 02:04 and 02:01 are within 300 s of it; 02:06 is 360 s later.
    assert sorted(a["event_time"] for a in got) == ["2026-01-15T02:00:00Z",
                                                    "2026-01-15T02:06:00Z"]


def test_cooldown_zero_fires_every_time(app, client, admin_headers):
    create_rule(client, admin_headers, cooldown_seconds=0)
    for _ in range(3):
        post_event(client, admin_headers)
    run_matcher(app)
    assert len(alerts(client, admin_headers)) == 3


def test_hour_in_dedup_key_separates_hours(app, client, admin_headers):
    create_rule(client, admin_headers, cooldown_seconds=7200, dedup_key_template="{rule_id}:{hour}")
    post_event(client, admin_headers, started_at="2026-01-15T02:59:00Z")
    post_event(client, admin_headers, started_at="2026-01-15T03:01:00Z")
    post_event(client, admin_headers, started_at="2026-01-15T03:30:00Z")
    run_matcher(app)
    keys = sorted(a["dedup_key"].split(":")[1] for a in alerts(client, admin_headers))
    assert keys == ["02", "03"]


def test_schedule_and_conditions(app, client, admin_headers):
    create_rule(client, admin_headers, schedule={"days": ["thu"], "start_time": "22:00",
                                                 "end_time": "06:00"},
                conditions=[{"field": "summary", "op": "contains", "value": "ladder"}])
    # 2026-01-15 is a Thursday; 2026-01-16 03:00 is Friday morning, inside Thursday's night.
    post_event(client, admin_headers, started_at="2026-01-16T03:00:00Z", summary="man with ladder")
    post_event(client, admin_headers, started_at="2026-01-16T03:00:00Z", summary="postman")
    post_event(client, admin_headers, started_at="2026-01-16T12:00:00Z", summary="a ladder")
    run_matcher(app)
    [alert] = alerts(client, admin_headers)
    assert alert["matched_conditions"] == ["object_type", "camera", "schedule", "conditions"]


def test_schedule_uses_configured_timezone(tmp_path):
    app = make_app(tmp_path, TIMEZONE="America/New_York")
    client, headers = app.test_client(), {"x-access-token": make_key(app)}
    create_rule(client, headers, schedule={"days": ["wed"], "start_time": "21:00",
                                           "end_time": "22:00"})
    post_event(client, headers, started_at="2026-01-15T02:30:00Z")  # Wed 21:30 in New York
    run_matcher(app)
    assert len(client.get("/api/alerts", headers=headers).json["alerts"]) == 1


def test_several_rules_one_event(app, client, admin_headers):
    create_rule(client, admin_headers, name="a", severity="low")
    create_rule(client, admin_headers, name="b", severity="critical", camera_ids=None)
    create_rule(client, admin_headers, name="c", object_types=["vehicle"])
    post_event(client, admin_headers)
    run_matcher(app)
    assert [a["rule_name"] for a in alerts(client, admin_headers)] == ["b", "a"]  # by severity


def test_deliveries_written_with_the_alert(tmp_path):
    app = make_app(tmp_path, EMAIL_RECIPIENTS=["a@example.com", "b@example.com"],
                   WEBHOOK_URL="https://hooks.example.com/x")
    client, headers = app.test_client(), {"x-access-token": make_key(app)}
    create_rule(client, headers, channels=["email", "webhook", "push"])
    create_rule(client, headers, name="own", channels=["webhook"],
                targets={"webhook_url": "https://93.184.215.14/hook"})
    post_event(client, headers)
    run_matcher(app)
    with app.app_context():
        rows = sorted((d.channel, d.target) for d in db.session.query(Delivery))
        assert rows == [("email", "a@example.com"), ("email", "b@example.com"),
                        ("webhook", "https://93.184.215.14/hook"),
                        ("webhook", "https://hooks.example.com/x")]
        assert {a.status for a in db.session.query(Alert)} == {"pending"}


def test_each_event_matched_once(app, client, admin_headers):
    create_rule(client, admin_headers)
    post_event(client, admin_headers)
    run_matcher(app)
    assert run_matcher(app) == 0
    with app.app_context():
        assert db.session.query(Event).filter(Event.processed_at.is_(None)).count() == 0
    assert len(alerts(client, admin_headers)) == 1


def test_alert_history_survives_rule_deletion(app, client, admin_headers):
    rule = create_rule(client, admin_headers)
    post_event(client, admin_headers)
    run_matcher(app)
    client.delete(f"/api/alerts/rules/{rule['id']}", headers=admin_headers)
    [alert] = alerts(client, admin_headers)
    assert alert["rule_id"] is None and alert["rule_name"] == "Person at the back door"


def test_an_event_that_breaks_matching_is_set_aside_not_a_stall(app, client, admin_headers,
                                                                  monkeypatch, caplog):
    import time

    from alerting.workers.matcher_loop import Matcher

    create_rule(client, admin_headers, camera_ids=None)
    break_matching_for(monkeypatch)
    post_event(client, admin_headers, camera_id="front")
    poison = post_event(client, admin_headers, camera_id="poison")
    post_event(client, admin_headers, camera_id="back")
    matcher = Matcher(app, poll_seconds=0.05)
    matcher.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with app.app_context():
                if db.session.query(Event).filter(Event.processed_at.is_(None)).count() == 0:
                    break
            time.sleep(0.05)
    finally:
        matcher.stop()
    cameras = sorted(a["camera_id"] for a in alerts(client, admin_headers))
    assert cameras == ["back", "front"]
    assert f"event {poison['id']} could not be matched" in caplog.text


def test_the_dispatcher_is_woken_only_when_there_is_something_to_send(tmp_path):
    from alerting import signals

    app = make_app(tmp_path, WEBHOOK_URL="https://hooks.example.com/x")
    client, headers = app.test_client(), {"x-access-token": make_key(app)}
    wakes = []

    def woken(_sender, **_kw):
        wakes.append(1)

    signals.deliveries_due.connect(woken, sender=app)
    try:
        create_rule(client, headers, name="shown only", channels=[])
        post_event(client, headers)
        run_matcher(app)
        assert wakes == []  # an alert with no deliveries wakes nobody
        create_rule(client, headers, name="sent", channels=["webhook"], camera_ids=["cam-2"])
        post_event(client, headers, camera_id="cam-2")
        run_matcher(app)
        assert wakes == [1]
    finally:
        signals.deliveries_due.disconnect(woken, sender=app)


# -- matching on ingest (SQLite, a process that runs the matcher) -----------------------------


def sqlite_only(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("matching on ingest is for SQLite; PostgreSQL workers match apart")


def with_matcher(app):
    """Mark `app` as a process running the matcher thread (not started: nothing in the
    background, so what happens is what ingest did)."""
    from alerting.workers.matcher_loop import Matcher

    app.extensions["alerting.matcher"] = Matcher(app)
    return app


def processed(app, event_id):
    with app.app_context():
        done = db.session.get(Event, event_id).processed_at is not None
        db.session.remove()
    return done


def test_ingest_matches_in_the_transaction_that_stores_the_event(app, client, admin_headers):
    from alerting import signals

    sqlite_only(app)
    with_matcher(app)
    heard = {"stored": [], "matched": []}
    signals.events_stored.connect(stored := lambda _s, **kw: heard["stored"].append(kw),
                                  sender=app)
    signals.events_matched.connect(matched := lambda _s, **kw: heard["matched"].append(kw),
                                   sender=app)
    try:
        create_rule(client, admin_headers)
        event = post_event(client, admin_headers)
        # Without the matcher thread running, the alert is there when the POST returns.
        assert processed(app, event["id"])
        [alert] = alerts(client, admin_headers)
        assert alert["event_id"] == event["id"]
        assert heard == {"stored": [], "matched": [
            {"event_ids": [event["id"]], "alert_ids": [alert["id"]]}]}
        assert run_matcher(app) == 0
    finally:
        signals.events_stored.disconnect(stored, sender=app)
        signals.events_matched.disconnect(matched, sender=app)


def test_ingest_leaves_events_to_the_matcher_behind_an_older_one(app, client, admin_headers):
    sqlite_only(app)
    create_rule(client, admin_headers, cooldown_seconds=600, dedup_key_template="{rule_id}")
    older = post_event(client, admin_headers, started_at="2026-01-15T02:00:00Z")
    with_matcher(app)
    newer = post_event(client, admin_headers, started_at="2026-01-15T02:01:00Z")
    assert not processed(app, newer["id"])  # matched after the older one, in order
    assert run_matcher(app) == 2
    assert [a["event_id"] for a in alerts(client, admin_headers)] == [older["id"]]


def test_ingest_leaves_events_to_a_busy_matcher(app, client, admin_headers):
    from alerting.services.alert_pipeline import _cache

    sqlite_only(app)
    with_matcher(app)
    create_rule(client, admin_headers)
    with app.app_context():
        cache = _cache()
    with cache.lock:  # the matcher thread is in the middle of a batch
        event = post_event(client, admin_headers)
    assert not processed(app, event["id"])
    assert run_matcher(app) == 1


def test_when_matching_on_ingest_fails_the_event_is_stored_for_the_matcher(
        app, client, admin_headers, monkeypatch):
    from alerting.services import alert_pipeline

    sqlite_only(app)
    with_matcher(app)
    create_rule(client, admin_headers)
    monkeypatch.setattr(alert_pipeline, "_decide", lambda *_a: 1 / 0)
    event = post_event(client, admin_headers)
    assert not processed(app, event["id"])
    monkeypatch.undo()
    assert run_matcher(app) == 1 and len(alerts(client, admin_headers)) == 1


def test_track_rules_fire_through_the_matcher_on_the_tracks_of_http_events(
        app, client, admin_headers):
    """Issue 20 over the HTTP API: a car entering (not one leaving), the third person in the
    yard at once, only an unknown dog; each judged on tracks built from earlier events."""
    entering = create_rule(client, admin_headers, name="car enters", object_types=["car"],
                           zone_sequence=["street", "driveway"])
    crowd = create_rule(client, admin_headers, name="crowd", zone_ids=["yard"], min_count=3)
    unknown = create_rule(client, admin_headers, name="stray dog", object_types=["dog"],
                          exclude_identities=["*"])
    fired = {}

    def post(*detections):
        event = post_event(client, admin_headers, detections=list(detections))
        run_matcher(app)
        for alert in alerts(client, admin_headers):
            fired.setdefault(alert["id"], (alert["rule_id"], event["id"]))
        return event["id"]

    def car(track, zone):
        return {"object_type": "car", "zone_ids": [zone], "track_id": track}

    def person(track):
        return {"object_type": "person", "zone_ids": ["yard"], "track_id": track}

    post(car("c1", "driveway"))
    post(car("c1", "street"))  # leaving
    post(car("c2", "street"))
    came_in = post(car("c2", "driveway"))
    post(person("a"), person("b"))
    third = post(person("c"))
    post({"object_type": "dog", "track_id": "d1", "identity": "Rex", "identity_score": 0.9})
    stray = post({"object_type": "dog", "track_id": "d2"})
    assert sorted(fired.values()) == sorted([(entering["id"], came_in), (crowd["id"], third),
                                             (unknown["id"], stray)])
