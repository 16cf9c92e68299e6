"""POST /api/alerts/rules/{id}/test: verdicts, explanations, cooldown replay; writes nothing."""

from alerting.extensions import db
from alerting.models import Alert
from tests.support.factories import create_rule, post_event, run_matcher


def test_spec_shape_and_explanations(app, client, admin_headers):
    rule = create_rule(client, admin_headers, risk_threshold=75, cooldown_seconds=300,
                       schedule={"days": ["thu"], "start_time": "00:00", "end_time": "06:00"})
    hit = post_event(client, admin_headers, risk_score=85, started_at="2026-01-15T03:15:00Z")
    low = post_event(client, admin_headers, risk_score=45, started_at="2026-01-15T03:20:00Z")
    again = post_event(client, admin_headers, risk_score=90, started_at="2026-01-15T03:19:00Z")
    response = client.post(f"/api/alerts/rules/{rule['id']}/test",
                           json={"event_ids": [hit["id"], low["id"], again["id"]]},
                           headers=admin_headers)
    assert response.status_code == 200
    body = response.json
    assert body["rule_id"] == rule["id"] and body["rule_name"] == rule["name"]
    assert (body["events_tested"], body["events_matched"]) == (3, 2)
    assert body["match_rate"] == round(2 / 3, 4)
    assert body["alerts_that_would_fire"] == 1
    first, third, second = body["results"]  # time order: 03:15, 03:19, 03:20
    assert first["event_id"] == hit["id"] and first["matches"] is True
    assert first["matched_conditions"] == ["risk_threshold", "object_type", "camera", "schedule"]
    assert set(first) >= {"event_id", "camera_id", "risk_score", "object_types", "matches",
                          "matched_conditions", "started_at"}
    assert second["matches"] is False and second["failed_conditions"] == ["risk_threshold"]
    assert second["matched_conditions"] == ["object_type", "camera", "schedule"]
    assert third["matches"] is True and third["suppressed_by_cooldown"] is True
    with app.app_context():
        assert db.session.query(Alert).count() == 0


def test_test_time_overrides_schedule_time(client, admin_headers):
    rule = create_rule(client, admin_headers,
                       schedule={"days": ["sun"], "start_time": "00:00", "end_time": "06:00"})
    post_event(client, admin_headers, started_at="2026-01-15T12:00:00Z")
    url = f"/api/alerts/rules/{rule['id']}/test"
    assert client.post(url, json={}, headers=admin_headers).json["events_matched"] == 0
    body = client.post(url, json={"test_time": "2026-01-18T03:00:00Z"},
                       headers=admin_headers).json
    assert body["events_matched"] == 1 and body["test_time"] == "2026-01-18T03:00:00Z"


def test_latest_events_and_limit(client, admin_headers):
    rule = create_rule(client, admin_headers)
    for hour in range(5):
        post_event(client, admin_headers, started_at=f"2026-01-15T0{hour}:00:00Z")
    url = f"/api/alerts/rules/{rule['id']}/test"
    body = client.post(url, headers=admin_headers).json  # no body at all
    assert body["events_tested"] == 5
    body = client.post(url, json={"limit": 2}, headers=admin_headers).json
    assert [r["started_at"][11:13] for r in body["results"]] == ["03", "04"]


def test_missing_events_reported(client, admin_headers):
    rule = create_rule(client, admin_headers)
    body = client.post(f"/api/alerts/rules/{rule['id']}/test", json={"event_ids": [424242]},
                       headers=admin_headers).json
    assert body["events_tested"] == 0 and body["missing_event_ids"] == [424242]


def test_errors(client, admin_headers):
    assert client.post("/api/alerts/rules/nope/test", json={},
                       headers=admin_headers).status_code == 404
    rule = create_rule(client, admin_headers)
    response = client.post(f"/api/alerts/rules/{rule['id']}/test", json={"limit": 0},
                           headers=admin_headers)
    assert response.status_code == 422 and "limit" in response.json["fields"]


def test_cooldown_replay_counts_the_alerts_already_stored(app, client, admin_headers):
    """An older event's stored alert suppresses a tested event, though that older event is
    not among those tested (the default "latest 50" missed it so)."""
    rule = create_rule(client, admin_headers, cooldown_seconds=600)
    first = post_event(client, admin_headers, started_at="2026-01-15T03:00:00Z")
    assert run_matcher(app) == 1  # alert stored for `first`
    later = post_event(client, admin_headers, started_at="2026-01-15T03:05:00Z")
    url = f"/api/alerts/rules/{rule['id']}/test"
    body = client.post(url, json={"event_ids": [later["id"]]}, headers=admin_headers).json
    [result] = body["results"]
    with app.app_context():
        [alert] = db.session.query(Alert).all()
    assert result["matches"] is True and result["suppressed_by_cooldown"] is True
    assert result["cooldown"] == {"alert_id": alert.id, "event_id": None,
                                  "until": "2026-01-15T03:10:00Z"}
    assert body["alerts_that_would_fire"] == 0
    # The event that raised the alert is not suppressed by its own alert.
    body = client.post(url, json={"event_ids": [first["id"]]}, headers=admin_headers).json
    assert body["results"][0]["cooldown"] is None and body["alerts_that_would_fire"] == 1


def test_cooldown_replay_names_the_tested_event_that_starts_it(client, admin_headers):
    rule = create_rule(client, admin_headers, cooldown_seconds=300)
    one = post_event(client, admin_headers, started_at="2026-01-15T03:00:00Z")
    two = post_event(client, admin_headers, started_at="2026-01-15T03:02:00Z")
    three = post_event(client, admin_headers, started_at="2026-01-15T03:06:00Z")
    body = client.post(f"/api/alerts/rules/{rule['id']}/test",
                       json={"event_ids": [one["id"], two["id"], three["id"]]},
                       headers=admin_headers).json
    first, second, third = body["results"]
    assert first["cooldown"] is None
    assert second["cooldown"] == {"alert_id": None, "event_id": one["id"],
                                  "until": "2026-01-15T03:05:00Z"}
    assert third["cooldown"] is None and body["alerts_that_would_fire"] == 2


def test_a_silenced_stored_alert_starts_no_cooldown(app, client, admin_headers):
    rule = create_rule(client, admin_headers, cooldown_seconds=600)
    post_event(client, admin_headers, started_at="2026-01-15T03:00:00Z")
    run_matcher(app)
    with app.app_context():
        db.session.query(Alert).update({"status": "silenced"})
        db.session.commit()
    later = post_event(client, admin_headers, started_at="2026-01-15T03:05:00Z")
    body = client.post(f"/api/alerts/rules/{rule['id']}/test",
                       json={"event_ids": [later["id"]]}, headers=admin_headers).json
    assert body["results"][0]["suppressed_by_cooldown"] is False


def test_unknown_ids_reported_beside_the_known(client, admin_headers):
    rule = create_rule(client, admin_headers)
    known = post_event(client, admin_headers)
    body = client.post(f"/api/alerts/rules/{rule['id']}/test",
                       json={"event_ids": [known["id"], 999999]}, headers=admin_headers).json
    assert body["events_tested"] == 1 and body["missing_event_ids"] == [999999]
    assert body["results"][0]["event_id"] == known["id"]
