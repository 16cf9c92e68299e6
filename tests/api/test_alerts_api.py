"""GET /api/alerts and the lifecycle of DESIGN.md."""

import pytest

from alerting.extensions import db
from alerting.models import AuditLog
from tests.support.factories import create_rule, post_event, run_matcher


@pytest.fixture
def alert(app, client, admin_headers):
    create_rule(client, admin_headers)
    post_event(client, admin_headers)
    run_matcher(app)
    return client.get("/api/alerts", headers=admin_headers).json["alerts"][0]


def test_detail_has_event_and_deliveries(client, admin_headers, alert):
    body = client.get(f"/api/alerts/{alert['id']}", headers=admin_headers).json
    assert body["event"]["id"] == alert["event_id"] and body["deliveries"] == []
    assert body["matched_conditions"] == ["object_type", "camera"]


def test_acknowledge_then_dismiss(app, client, admin_headers, alert):
    url = f"/api/alerts/{alert['id']}"
    acked = client.post(url + "/acknowledge", headers=admin_headers)
    assert acked.status_code == 200 and acked.json["status"] == "acknowledged"
    assert acked.json["acknowledged_by"] == "key:test-admin"
    assert client.post(url + "/acknowledge", headers=admin_headers).status_code == 409
    assert client.post(url + "/dismiss", headers=admin_headers).json["status"] == "dismissed"
    assert client.post(url + "/dismiss", headers=admin_headers).status_code == 409
    assert client.post(url + "/acknowledge", headers=admin_headers).status_code == 409
    with app.app_context():
        actions = [e.action for e in db.session.query(AuditLog).filter_by(target_type="alert")]
        assert actions == ["alert_acknowledge", "alert_dismiss"]


def test_unknown_alert_is_404(client, admin_headers):
    assert client.post("/api/alerts/999/acknowledge", headers=admin_headers).status_code == 404
    assert client.get("/api/alerts/999", headers=admin_headers).status_code == 404


def test_filters_and_sorting(app, client, admin_headers):
    low = create_rule(client, admin_headers, name="low", severity="low")
    create_rule(client, admin_headers, name="crit", severity="critical")
    post_event(client, admin_headers)
    post_event(client, admin_headers, camera_id="back-door", started_at="2026-01-15T03:00:00Z")
    run_matcher(app)
    body = client.get("/api/alerts", headers=admin_headers).json
    assert [a["severity"] for a in body["alerts"]] == ["critical", "critical", "low", "low"]
    assert body["count"] == 4
    def count(query):
        return client.get(f"/api/alerts?{query}", headers=admin_headers).json["count"]
    assert count("severity=low") == 2
    assert count(f"rule_id={low['id']}") == 2
    assert count("camera_id=nowhere") == 0
    assert count("status=delivered") == 4
    assert count("since=2100-01-01T00:00:00Z") == 0
    bad = client.get("/api/alerts?status=lost", headers=admin_headers)
    assert bad.status_code == 422 and "status" in bad.json["fields"]
