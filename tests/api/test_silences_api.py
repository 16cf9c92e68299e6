"""Silences and mute timings through the API, and what the matcher makes of them."""

from datetime import UTC, datetime, timedelta

import pytest

from alerting.extensions import db
from alerting.models import Alert, AuditLog, Delivery
from tests.support.factories import create_rule, post_event, run_matcher

CAMERA = {"field": "camera_id", "op": "=", "value": "back-door"}


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC)


def make_silence(client, headers, status=201, **body):
    body.setdefault("matchers", [CAMERA])
    if "ends_at" not in body:
        body.setdefault("duration", 3600)
    response = client.post("/api/silences", json=body, headers=headers)
    assert response.status_code == status, response.json
    return response.json


def actions(app):
    with app.app_context():
        return [a.action for a in db.session.query(AuditLog).order_by(AuditLog.id)
                if a.action.startswith(("silence", "mute_timing"))]


def test_lifecycle_and_states(app, client, admin_headers):
    active = make_silence(client, admin_headers, comment="gardener")
    assert active["state"] == "active" and active["created_by"].startswith("key:")
    pending = make_silence(client, admin_headers, starts_at=iso(now() + timedelta(hours=1)),
                           ends_at=iso(now() + timedelta(hours=2)))
    assert pending["state"] == "pending"
    listed = client.get("/api/silences?state=active", headers=admin_headers).json
    assert [s["id"] for s in listed["silences"]] == [active["id"]] and listed["count"] == 1
    assert client.get("/api/silences", headers=admin_headers).json["count"] == 2

    url = f"/api/silences/{active['id']}"
    changed = client.put(url, json={"comment": "still here", "matchers": [
        CAMERA, {"field": "object_type", "op": "=~", "value": "person|dog"}]},
        headers=admin_headers).json
    assert changed["comment"] == "still here" and len(changed["matchers"]) == 2
    extended = client.post(f"{url}/extend", json={"duration": 1800}, headers=admin_headers).json
    assert extended["ends_at"] > active["ends_at"]
    expired = client.post(f"{url}/expire", headers=admin_headers).json
    assert expired["state"] == "expired"
    assert client.post(f"{url}/expire", headers=admin_headers).status_code == 409
    assert client.post(f"{url}/extend", json={"duration": 60},
                       headers=admin_headers).status_code == 409
    again = client.post(f"{url}/recreate", headers=admin_headers)
    assert again.status_code == 201 and again.json["state"] == "active"
    assert again.json["matchers"] == changed["matchers"] and again.json["id"] != active["id"]
    assert client.post(f"/api/silences/{pending['id']}/recreate",
                       headers=admin_headers).status_code == 409  # not expired yet
    expired_pending = client.post(f"/api/silences/{pending['id']}/expire",
                                  headers=admin_headers).json
    assert expired_pending["state"] == "expired"
    assert client.get("/api/silences?state=expired", headers=admin_headers).json["count"] == 2
    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(url, headers=admin_headers).status_code == 404
    assert client.get("/api/silences/not-a-uuid", headers=admin_headers).status_code == 404
    assert actions(app) == ["silence_create", "silence_create", "silence_update",
                            "silence_extend", "silence_expire", "silence_recreate",
                            "silence_expire", "silence_delete"]


@pytest.mark.parametrize(("body", "fields"), [
    ({"matchers": [{"field": "camera_id", "op": "=~", "value": "(back"}]},
     {"matchers.0.value"}),
    ({"matchers": [{"field": "camera", "op": "=", "value": "x"}]}, {"matchers.0.field"}),
    ({"matchers": [{"field": "camera_id", "op": "==", "value": "x"}]}, {"matchers.0.op"}),
    ({"matchers": []}, {"matchers"}),
    ({"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z",
      "duration": None}, {"ends_at"}),
    ({"ends_at": "2020-01-01T00:00:00Z", "duration": None}, {"ends_at"}),
    ({"duration": None}, {"ends_at"}),
    ({"duration": 10}, {"duration"}),
    ({"comment": 5}, {"comment"}),
    ({"extra": 1}, {"extra"}),
])
def test_bad_silences_name_the_field(client, admin_headers, body, fields):
    body = {"matchers": [CAMERA], "duration": 3600, **body}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/silences", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert set(response.json["fields"]) == fields


def test_no_matchers_needs_confirm_all(client, admin_headers):
    make_silence(client, admin_headers, status=422, matchers=[])
    everything = make_silence(client, admin_headers, matchers=[], confirm_all=True)
    assert everything["matchers"] == []


def test_matches_under_an_active_silence_are_kept_silenced(app, client, admin_headers):
    rule = create_rule(client, admin_headers, cooldown_seconds=300, channels=["email"],
                       targets={"email_recipients": ["owner@example.com"]})
    silence = make_silence(client, admin_headers)
    start = now()
    post_event(client, admin_headers, started_at=iso(start))
    post_event(client, admin_headers, started_at=iso(start + timedelta(seconds=1)),
               camera_id="front")  # not covered (and the rule is for back-door only)
    run_matcher(app)
    [alert] = client.get("/api/alerts", headers=admin_headers).json["alerts"]
    assert alert["status"] == "silenced" and alert["silence_id"] == silence["id"]
    assert alert["rule_id"] == rule["id"] and alert["mute_timing"] is None
    client.post(f"/api/silences/{silence['id']}/expire", headers=admin_headers)
    post_event(client, admin_headers, started_at=iso(start + timedelta(seconds=2)))
    run_matcher(app)
    alerts = client.get("/api/alerts?status=pending", headers=admin_headers).json["alerts"]
    # Within the rule's cooldown of the silenced one: delivered all the same.
    assert len(alerts) == 1 and alerts[0]["silence_id"] is None
    with app.app_context():
        deliveries = db.session.query(Delivery).all()
        assert [d.alert_id for d in deliveries] == [alerts[0]["id"]]
        # A silence never reaches back: the silenced alert stays silenced.
        assert db.session.get(Alert, alert["id"]).status == "silenced"


def test_a_silence_is_judged_at_the_events_time(app, client, admin_headers):
    create_rule(client, admin_headers, channels=[])
    make_silence(client, admin_headers, starts_at=iso(now() - timedelta(minutes=5)))
    post_event(client, admin_headers, started_at=iso(now() - timedelta(minutes=10)))
    post_event(client, admin_headers, started_at=iso(now() - timedelta(minutes=1)))
    run_matcher(app)
    statuses = [a["status"] for a in sorted(
        client.get("/api/alerts", headers=admin_headers).json["alerts"],
        key=lambda a: a["event_time"])]
    assert statuses == ["delivered", "silenced"]


def test_silence_cache_follows_changes(app, client, admin_headers):
    create_rule(client, admin_headers, channels=[])
    post_event(client, admin_headers, started_at=iso(now()))
    run_matcher(app)  # the cache is loaded, without silences
    make_silence(client, admin_headers)
    post_event(client, admin_headers, started_at=iso(now()))
    run_matcher(app)
    statuses = {a["status"] for a in client.get("/api/alerts", headers=admin_headers).json[
        "alerts"]}
    assert statuses == {"delivered", "silenced"}


WEEKDAY_MORNINGS = {"name": "always", "intervals": [{"days": ["mon", "tue", "wed", "thu", "fri",
                                                              "sat", "sun"]}],
                    "timezone": "Europe/Berlin"}


def test_mute_timings_crud_and_rule_field(app, client, admin_headers):
    created = client.post("/api/mute-timings", json=WEEKDAY_MORNINGS, headers=admin_headers)
    assert created.status_code == 201, created.json
    assert created.json["intervals"][0]["start_time"] == "00:00"
    assert client.post("/api/mute-timings", json=WEEKDAY_MORNINGS,
                       headers=admin_headers).status_code == 409
    bad = client.post("/api/alerts/rules", json={"name": "r", "severity": "low",
                                                 "mute_timings": ["always", "nope"]},
                      headers=admin_headers)
    assert bad.status_code == 422 and set(bad.json["fields"]) == {"mute_timings.1"}
    rule = create_rule(client, admin_headers, mute_timings=["always"], channels=[])
    assert rule["mute_timings"] == ["always"]
    timing = client.get("/api/mute-timings/always", headers=admin_headers).json
    assert timing["rules"] == [rule["id"]]
    assert client.delete("/api/mute-timings/always", headers=admin_headers).status_code == 409
    post_event(client, admin_headers, started_at=iso(now()))
    run_matcher(app)
    [alert] = client.get("/api/alerts", headers=admin_headers).json["alerts"]
    assert alert["status"] == "silenced" and alert["mute_timing"] == "always"
    body = client.post(f"/api/alerts/rules/{rule['id']}/test", json={},
                       headers=admin_headers).json
    assert body["results"][0]["silenced_by"] == {"silence_id": None, "mute_timing": "always"}
    assert body["alerts_that_would_fire"] == 0
    changed = client.put("/api/mute-timings/always", json={"date_ranges": [
        {"start": "2000-01-01", "end": "2000-01-02"}]}, headers=admin_headers)
    assert changed.status_code == 200 and changed.json["date_ranges"][0]["end"] == "2000-01-02"
    client.put(f"/api/alerts/rules/{rule['id']}", json={"mute_timings": None},
               headers=admin_headers)
    assert client.delete("/api/mute-timings/always", headers=admin_headers).status_code == 204
    assert actions(app) == ["mute_timing_create", "mute_timing_update", "mute_timing_delete"]


@pytest.mark.parametrize(("body", "fields"), [
    ({"name": "x", "intervals": []}, {"intervals"}),
    ({"name": "", "intervals": [{}]}, {"name"}),
    ({"name": "x/y", "intervals": [{}]}, {"name"}),
    ({"name": "x", "intervals": [{"days": ["funday"]}]}, {"intervals.0.days.0"}),
    ({"name": "x", "intervals": [{"start_time": "25:00"}]}, {"intervals.0.start_time"}),
    ({"name": "x", "intervals": [{}], "timezone": "Mars/Olympus"}, {"timezone"}),
    ({"name": "x", "intervals": [{}], "date_ranges": [{"start": "2026-12-31",
                                                       "end": "2026-12-24"}]},
     {"date_ranges.0.end"}),
])
def test_bad_mute_timings_name_the_field(client, admin_headers, body, fields):
    response = client.post("/api/mute-timings", json=body, headers=admin_headers)
    assert response.status_code == 422 and set(response.json["fields"]) == fields


def test_an_update_fills_in_each_interval_as_a_create_does(client, admin_headers):
    # A partial update changes only the fields given, but each whole: an interval sent as {}
    # is the whole week, 00:00-00:00 (once stored as {}, which the answer's schema refuses).
    assert client.post("/api/mute-timings", headers=admin_headers, json={
        "name": "gardener", "intervals": [{"days": ["mon"]}]}).status_code == 201
    response = client.put("/api/mute-timings/gardener", headers=admin_headers,
                          json={"intervals": [{}, {"start_time": "07:00"}]})
    assert response.status_code == 200, response.json
    week = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
    expected = [{"days": week, "start_time": "00:00", "end_time": "00:00"},
                {"days": week, "start_time": "07:00", "end_time": "00:00"}]
    assert response.json["intervals"] == expected
    stored = client.get("/api/mute-timings/gardener", headers=admin_headers).json
    assert stored["intervals"] == expected


def test_channel_mute_timings(app, client, admin_headers):
    client.post("/api/mute-timings", json=WEEKDAY_MORNINGS, headers=admin_headers)
    bad = client.put("/api/notification/config", json={
        "channel_mute_timings": {"email": ["nope"]}}, headers=admin_headers)
    assert bad.status_code == 422 and set(bad.json["fields"]) == {
        "channel_mute_timings.email.0"}
    ok = client.put("/api/notification/config", json={
        "channel_mute_timings": {"email": ["always"]}}, headers=admin_headers)
    assert ok.status_code == 200 and ok.json["channel_mute_timings"] == {"email": ["always"]}
    create_rule(client, admin_headers, channels=["email"],
                targets={"email_recipients": ["owner@example.com"]})
    post_event(client, admin_headers, started_at=iso(now()))
    run_matcher(app)
    [alert] = client.get("/api/alerts", headers=admin_headers).json["alerts"]
    assert alert["status"] == "silenced" and alert["mute_timing"] == "always"
    assert client.get("/api/mute-timings/always",
                      headers=admin_headers).json["channels"] == ["email"]


def test_preview_lists_the_recent_alerts_a_draft_covers(app, client, admin_headers):
    create_rule(client, admin_headers, channels=[], camera_ids=None)
    for camera in ("back-door", "front", "back-door"):
        post_event(client, admin_headers, camera_id=camera, started_at=iso(now()))
    run_matcher(app)
    body = client.post("/api/silences/preview", json={"matchers": [CAMERA], "hours": 1},
                       headers=admin_headers).json
    assert body["count"] == 2 and {a["camera_id"] for a in body["alerts"]} == {"back-door"}
    assert client.post("/api/silences/preview", json={"matchers": []},
                       headers=admin_headers).status_code == 422
    with app.app_context():
        assert db.session.query(AuditLog).filter(
            AuditLog.action.like("silence%")).count() == 0  # a preview writes nothing


def test_openapi_documents_silences(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for path in ("/api/silences", "/api/silences/{silence_id}", "/api/silences/preview",
                 "/api/silences/{silence_id}/expire", "/api/silences/{silence_id}/extend",
                 "/api/silences/{silence_id}/recreate", "/api/mute-timings",
                 "/api/mute-timings/{name}"):
        assert path in paths, path


def test_videodb_socket_sends_no_frame_for_a_silenced_alert(app, client, admin_headers):
    from alerting.live import LiveMessage
    from alerting.videodb.socket import _Frames
    from tests.support.videodb import event, ok, scene_index, stream

    sid = stream(client, admin_headers)["id"]
    iid = scene_index(client, admin_headers, sid)["rtstream_index_id"]
    ok(client.post(f"/rtstream/{sid}/index/{iid}/alert", headers=admin_headers, json={
        "event_id": event(client, admin_headers), "ws_connection_id": "conn-1"}))
    [bound] = ok(client.get(f"/rtstream/{sid}/index/{iid}/alert",
                            headers=admin_headers))["alerts"]
    stored = post_event(client, admin_headers, camera_id=sid)
    frames = _Frames("conn-1")

    def frame(status):
        return frames.frame(LiveMessage.build("alert_created", {
            "rule_id": bound["rule_id"], "event_id": stored["id"], "status": status}))

    with app.app_context():
        assert frame("pending") is not None  # the connection's alerts are framed...
        assert frame("silenced") is None  # ...but a silenced one is not delivered there


def test_preview_of_a_draft_with_its_own_window_covers_only_that_window(app, client,
                                                                         admin_headers):
    create_rule(client, admin_headers, channels=[], camera_ids=None)
    for hours_ago in (5, 3, 1):
        post_event(client, admin_headers, started_at=iso(now() - timedelta(hours=hours_ago)))
    run_matcher(app)

    def preview(**body):
        return client.post("/api/silences/preview", json={"matchers": [CAMERA], **body},
                           headers=admin_headers)

    window = preview(starts_at=iso(now() - timedelta(hours=4)), duration=2 * 3600).json
    assert window["count"] == 1 and window["until"] < iso(now() - timedelta(hours=1))
    assert preview(starts_at=iso(now() - timedelta(hours=4))).json["count"] == 2  # to now
    assert preview(hours=6).json["count"] == 3
    assert "starts_at" in preview(starts_at=iso(now() + timedelta(hours=1))).json["fields"]
    late = preview(starts_at=iso(now() - timedelta(hours=2)),
                   ends_at=iso(now() - timedelta(hours=3)))
    assert late.status_code == 422 and "ends_at" in late.json["fields"]


def test_a_duration_past_the_year_9999_is_a_422_not_a_500(client, admin_headers):
    headers = admin_headers
    created = make_silence(client, headers)
    response = client.put(f"/api/silences/{created['id']}", headers=headers,
                          json={"starts_at": 253402300798.99997, "duration": 940392})
    assert response.status_code == 422
    assert response.json["fields"] == {"duration": "puts the end past the year 9999"}
