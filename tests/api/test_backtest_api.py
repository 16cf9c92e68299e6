"""POST /api/alerts/rules/{id}/backtest and /api/alerts/rules/backtest (a draft rule): the
range and its limits, the answer's parts, and that nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime

from alerting.extensions import db
from alerting.models import Alert, AlertRule, ModeChange, Silence
from tests.support.app import make_key
from tests.support.factories import create_rule, post_event, rule_body

RANGE = {"since": "2026-01-14T00:00:00Z", "until": "2026-01-17T00:00:00Z"}


def _post_events(client, headers):
    # Thursday 15 January: three at 02:00-02:10 (one dedup key, cooldown 300 s), one
    # elsewhere; Friday 16: one at 23:00.
    for i, (camera, when) in enumerate((
            ("back-door", "2026-01-15T02:00:00Z"), ("back-door", "2026-01-15T02:03:00Z"),
            ("back-door", "2026-01-15T02:10:00Z"), ("garage", "2026-01-15T02:01:00Z"),
            ("back-door", "2026-01-16T23:00:00Z"), ("back-door", "2026-02-20T23:00:00Z"))):
        post_event(client, headers, camera_id=camera, started_at=when, source="t",
                   external_id=str(i))


def test_saved_rule_answers_days_hours_keys_and_alerts(app, client, admin_headers):
    _post_events(client, admin_headers)
    rule = create_rule(client, admin_headers, camera_ids=None, cooldown_seconds=300,
                       dedup_key_template="{camera_id}")
    response = client.post(f"/api/alerts/rules/{rule['id']}/backtest",
                           json={**RANGE, "limit": 2}, headers=admin_headers)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["events_replayed"], body["matches"], body["alerts"]) == (5, 5, 4)
    assert body["suppressed_by_cooldown"] == 1
    assert body["per_day"] == [{"date": "2026-01-14", "alerts": 0},
                               {"date": "2026-01-15", "alerts": 3},
                               {"date": "2026-01-16", "alerts": 1}]
    assert body["per_hour_of_week"]["thu"][2] == 3 and body["per_hour_of_week"]["fri"][23] == 1
    assert sum(map(sum, body["per_hour_of_week"].values())) == 4
    assert body["busiest_dedup_keys"] == [{"dedup_key": "back-door", "alerts": 3},
                                          {"dedup_key": "garage", "alerts": 1}]
    # In the order the matcher takes them (as stored), the first two.
    assert [a["started_at"] for a in body["alerts_listed"]] == ["2026-01-15T02:00:00Z",
                                                                "2026-01-15T02:10:00Z"]
    assert body["alerts_truncated"] is True and body["timezone"] == "UTC"
    with app.app_context():
        assert db.session.query(Alert).count() == 0  # writes nothing


def test_the_range_is_at_most_90_days(client, admin_headers):
    rule = create_rule(client, admin_headers)
    url = f"/api/alerts/rules/{rule['id']}/backtest"
    ok = client.post(url, json={"since": "2026-01-01T00:00:00Z",
                                "until": "2026-04-01T00:00:00Z"}, headers=admin_headers)
    assert ok.status_code == 200, ok.json  # 90 days exactly
    too_long = client.post(url, json={"since": "2026-01-01T00:00:00Z",
                                      "until": "2026-04-01T00:00:01Z"}, headers=admin_headers)
    assert too_long.status_code == 422
    assert "90 days" in too_long.json["fields"]["until"]
    backwards = client.post(url, json={"since": "2026-01-02T00:00:00Z",
                                       "until": "2026-01-01T00:00:00Z"}, headers=admin_headers)
    assert backwards.status_code == 422 and "since" in backwards.json["fields"]
    only_since = client.post(url, json={"since": "2000-01-01T00:00:00Z"}, headers=admin_headers)
    assert only_since.status_code == 422 and "90 days" in only_since.json["fields"]["until"]
    bad = client.post(url, json={"since": "yesterday", "limit": 5000}, headers=admin_headers)
    assert bad.status_code == 422 and set(bad.json["fields"]) == {"since", "limit"}


def test_defaults_to_the_last_seven_days(client, admin_headers):
    rule = create_rule(client, admin_headers)
    response = client.post(f"/api/alerts/rules/{rule['id']}/backtest", headers=admin_headers)
    assert response.status_code == 200, response.json
    assert len(response.json["per_day"]) in (7, 8)  # 7 x 24 h, maybe over 8 dates


def test_unknown_rule_is_404(client, admin_headers):
    response = client.post("/api/alerts/rules/4c1f0f0e-0000-4000-8000-000000000000/backtest",
                           json=RANGE, headers=admin_headers)
    assert response.status_code == 404


def test_draft_rule_is_validated_and_not_saved(app, client, admin_headers):
    _post_events(client, admin_headers)
    draft = rule_body(camera_ids=["garage"], dedup_key_template="{rule_id}:{camera_id}")
    response = client.post("/api/alerts/rules/backtest", json={**RANGE, "rule": draft},
                           headers=admin_headers)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["rule_id"] is None and body["rule_name"] == draft["name"]
    assert body["alerts"] == 1 and body["alerts_listed"][0]["dedup_key"] == "draft:garage"
    bad = client.post("/api/alerts/rules/backtest",
                      json={**RANGE, "rule": {**draft, "severity": "loud",
                                              "dedup_key_template": "{nope}"}},
                      headers=admin_headers)
    assert bad.status_code == 422
    assert set(bad.json["fields"]) == {"rule.severity", "rule.dedup_key_template"}
    missing = client.post("/api/alerts/rules/backtest", json=RANGE, headers=admin_headers)
    assert missing.status_code == 422 and "rule" in missing.json["fields"]
    with app.app_context():
        assert db.session.query(AlertRule).count() == 0


def test_read_scope_may_not_backtest(app, client, admin_headers):
    rule = create_rule(client, admin_headers)
    reader = {"x-access-token": make_key(app, "read")}
    response = client.post(f"/api/alerts/rules/{rule['id']}/backtest", json=RANGE,
                           headers=reader)
    assert response.status_code == 403


def test_silences_mute_timings_and_modes_reach_the_replay(app, client, admin_headers):
    """A silence of the garage camera that ended long ago (active then), a mute timing the
    rule names over Friday evening, and a mode the rule is not armed in from Friday noon:
    the draft and the saved rule are replayed with them as they were."""
    _post_events(client, admin_headers)
    with app.app_context():
        db.session.add(Silence(matchers=[{"field": "camera_id", "op": "=", "value": "garage"}],
                               starts_at=datetime(2026, 1, 15, 1, tzinfo=UTC),
                               ends_at=datetime(2026, 1, 15, 3, tzinfo=UTC), comment="",
                               created_by="test"))
        db.session.commit()
    assert client.post("/api/mute-timings", headers=admin_headers, json={
        "name": "friday night", "timezone": "UTC", "intervals": [
            {"days": ["fri"], "start_time": "22:00", "end_time": "23:30"}]}).status_code == 201
    rule = create_rule(client, admin_headers, camera_ids=None, cooldown_seconds=0,
                       mute_timings=["friday night"])
    body = client.post(f"/api/alerts/rules/{rule['id']}/backtest", json=RANGE,
                       headers=admin_headers).json
    assert (body["matches"], body["silenced"], body["alerts"]) == (5, 2, 3)
    with app.app_context():
        db.session.add(ModeChange(at=datetime(2026, 1, 16, 12, tzinfo=UTC), mode="away",
                                  previous="home", source="user", actor="test"))
        db.session.commit()
    draft = client.post("/api/alerts/rules/backtest", headers=admin_headers, json={
        **RANGE, "rule": rule_body(camera_ids=None, cooldown_seconds=0, modes=["home"])}).json
    assert (draft["matches"], draft["silenced"], draft["disarmed"], draft["alerts"]) == \
        (5, 1, 1, 3)
