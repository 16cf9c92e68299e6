"""GET /api/audit and the entries behind it: one for every change, with who, when, from
where and before -> after, secrets masked; filters and paging (SQLite and PostgreSQL)."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from alerting.services import sessions, users
from tests.support.app import make_key
from tests.support.factories import create_rule
from tests.support.web import csrf_token, login

ADDRESS = "203.0.113.7"


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app, "admin", name="ops")}


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    return client


def entries(client, headers, **filters):
    response = client.get("/api/audit", headers=headers, query_string=filters)
    assert response.status_code == 200, response.json
    return response.json


def latest(client, headers, action):
    [entry, *_] = entries(client, headers, action=action)["entries"]
    return entry


def test_rule_changes_carry_who_where_and_before_after(client, headers):
    rule = create_rule(client, headers, severity="high", cooldown_seconds=60)
    created = latest(client, headers, "rule_create")
    assert created["actor"] == "key:ops" and created["client_address"] == ADDRESS
    assert created["target_type"] == "alert_rule" and created["target_id"] == rule["id"]
    assert created["details"]["changes"]["severity"] == {"before": None, "after": "high"}
    client.put(f"/api/alerts/rules/{rule['id']}", headers=headers,
               json={"severity": "low", "cooldown_seconds": 60})
    updated = latest(client, headers, "rule_update")
    assert updated["details"]["changes"] == {"severity": {"before": "high", "after": "low"}}
    client.delete(f"/api/alerts/rules/{rule['id']}", headers=headers)
    deleted = latest(client, headers, "rule_delete")
    assert deleted["details"]["changes"]["severity"] == {"before": "low", "after": None}


def test_rule_target_secrets_are_masked(app, client, headers):
    from tests.support.factories import rule_body

    app.config["WEBHOOK_ALLOW_CIDRS"] = ["127.0.0.0/8"]
    body = rule_body(channels=["webhook"],
                     targets={"webhook_url": "http://127.0.0.1:9/h?token=rule-secret-123"})
    response = client.post("/api/alerts/rules", headers=headers, json=body)
    assert response.status_code == 201, response.json
    text = json.dumps(entries(client, headers))
    assert "rule-secret-123" not in text
    assert latest(client, headers, "rule_create")["details"]["changes"]["targets_sealed"] == {
        "before": None, "after": "***"}


def test_notification_settings_show_what_changed_and_never_a_secret(client, headers):
    response = client.put("/api/notification/config", headers=headers, json={
        "smtp_host": "smtp.example.com", "smtp_password": "hunter2-secret",
        "push_urls": ["ntfy://secret-topic-token"], "notification_enabled": False})
    assert response.status_code == 200, response.json
    changes = latest(client, headers, "notification_config_update")["details"]["changes"]
    assert changes["smtp_host"]["after"] == "smtp.example.com"
    assert changes["notification_enabled"] == {"before": True, "after": False}
    assert changes["smtp_password_encrypted"] == {"before": None, "after": "***"}
    assert changes["push_urls_encrypted"] == {"before": None, "after": "***"}
    text = json.dumps(entries(client, headers))
    assert "hunter2" not in text and "secret-topic-token" not in text
    client.post("/api/notification/webhook-secret/rotate", headers=headers)
    rotated = latest(client, headers, "webhook_secret_rotate")
    assert rotated["details"]["changes"] == {"webhook_secret": {"before": "***", "after": "***"}}


def test_every_notification_test_is_audited_failed_ones_too(client, headers):
    result = client.post("/api/notification/test", headers=headers, json={"channel": "email"})
    assert result.json["success"] is False
    entry = latest(client, headers, "notification_test")
    assert entry["details"] == {"channel": "email", "success": False,
                                "error": "Email is not configured (missing SMTP settings)"}
    assert entry["client_address"] == ADDRESS


def test_keys_are_audited(client, headers):
    created = client.post("/api/keys", headers=headers, json={"name": "nvr", "scope": "ingest"})
    entry = latest(client, headers, "api_key_create")
    assert entry["details"]["changes"]["scope"] == {"before": None, "after": "ingest"}
    assert created.json["key"] not in json.dumps(entries(client, headers))
    client.delete(f"/api/keys/{created.json['id']}", headers=headers)
    revoked = latest(client, headers, "api_key_revoke")
    assert revoked["target_id"] == str(created.json["id"])
    assert revoked["details"]["changes"]["revoked_at"]["before"] is None


def test_logins_logouts_passwords_and_users_are_audited(app, client, headers):
    with app.app_context():
        users.create_user("carol", "carol-password-1", actor="cli")
    login(client)
    started = latest(client, headers, "session_start")
    assert started["actor"] == "user:admin" and started["client_address"] == ADDRESS
    page = client.get("/account/password")
    client.post("/account/password", data={
        "current": "admin-password-for-tests", "new": "a-brand-new-password-9",
        "confirm": "a-brand-new-password-9", "csrf_token": csrf_token(page.data)})
    changed = latest(client, headers, "password_change")
    assert changed["actor"] == "user:admin"
    assert changed["details"]["changes"]["password"] == {"before": "***", "after": "***"}
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account/password").data)})
    ended = latest(client, headers, "session_end")
    assert ended["actor"] == "user:admin" and ended["target_type"] == "user"
    made = latest(client, headers, "user_create")
    assert made["actor"] == "cli" and made["client_address"] is None
    assert made["details"]["changes"]["password"] == {"before": None, "after": "***"}
    text = json.dumps(entries(client, headers, limit=1000))
    assert "carol-password-1" not in text and "a-brand-new-password-9" not in text
    with app.app_context():
        user_id = users.check_login("carol", "carol-password-1").id
        sessions.end_all(user_id, "key:ops")
    assert latest(client, headers, "sessions_end")["target_id"] == str(user_id)


def test_filters_and_paging(client, headers):
    for i in range(5):
        create_rule(client, headers, name=f"rule {i}")
    other = {"x-access-token": make_key(client.application, "admin", name="robot")}
    create_rule(client, other, name="by the robot")
    everything = entries(client, headers, action="rule_create")
    assert everything["count"] == 6 and everything["limit"] == 50 and everything["offset"] == 0
    names = [e["details"]["name"] for e in everything["entries"]]
    assert names[0] == "by the robot"  # newest first
    page = entries(client, headers, action="rule_create", limit=2, offset=2)
    assert page["count"] == 6 and [e["details"]["name"] for e in page["entries"]] == names[2:4]
    assert entries(client, headers, actor="robot")["count"] == 1
    assert entries(client, headers, actor="key:robot")["count"] == 1
    assert entries(client, headers, actor="key:ops", action="rule_create")["count"] == 5
    rule_id = everything["entries"][0]["target_id"]
    by_object = entries(client, headers, target_type="alert_rule", target_id=rule_id)
    assert [e["details"]["name"] for e in by_object["entries"]] == ["by the robot"]
    now = datetime.now(UTC)
    assert entries(client, headers, since=(now - timedelta(minutes=5)).isoformat(),
                   action="rule_create")["count"] == 6
    assert entries(client, headers, until=(now - timedelta(minutes=5)).isoformat())["count"] == 0
    assert entries(client, headers, since=(now + timedelta(minutes=5)).isoformat())["count"] == 0


@pytest.mark.parametrize(("query", "field"), [
    ({"since": "yesterday-ish"}, "since"), ({"limit": "0"}, "limit"),
    ({"actor": "x" * 121}, "actor")])
def test_bad_filters_are_422_naming_the_field(client, headers, query, field):
    response = client.get("/api/audit", headers=headers, query_string=query)
    assert response.status_code == 422
    assert field in response.json["fields"]


@pytest.mark.parametrize(("scope", "status"), [("read", 403), ("ingest", 403),
                                               ("metrics", 403), ("admin", 200)])
def test_only_admins_read_the_audit_log(app, client, scope, status):
    key = {"x-access-token": make_key(app, scope)}
    assert client.get("/api/audit", headers=key).status_code == status


def test_alert_transitions_are_audited_with_the_status_change(app, client, headers):
    from tests.support.factories import post_event, run_matcher

    create_rule(client, headers)
    post_event(client, headers)
    run_matcher(app)
    [alert] = client.get("/api/alerts", headers=headers).json["alerts"]
    client.post(f"/api/alerts/{alert['id']}/acknowledge", headers=headers)
    entry = latest(client, headers, "alert_acknowledge")
    assert entry["target_id"] == str(alert["id"]) and entry["client_address"] == ADDRESS
    assert entry["details"]["changes"] == {"status": {"before": "delivered",
                                                      "after": "acknowledged"}}


def test_entries_filter_by_object_type_and_a_bad_type_names_the_field(client, headers):
    silence = client.post("/api/silences", headers=headers, json={
        "matchers": [{"field": "camera_id", "op": "=", "value": "porch"}], "duration": 600})
    assert silence.status_code == 201, silence.json
    client.put("/api/mode", headers=headers, json={"mode": "away"})
    listed = entries(client, headers, target_type="silence")
    assert [(e["action"], e["target_id"]) for e in listed["entries"]] == [
        ("silence_create", silence.json["id"])]
    assert listed["entries"][0]["details"]["changes"]["matchers"]["before"] is None
    assert [e["action"] for e in entries(client, headers, target_type="mode")["entries"]] == [
        "mode_set"]
    bad = client.get("/api/audit", headers=headers, query_string={"target_type": "rulez"})
    assert bad.status_code == 422 and "target_type" in bad.json["fields"]


def test_a_videodb_stream_url_is_audited_without_its_password(client, headers):
    from tests.support.videodb import JSON, stream

    created = stream(client, {**headers, **JSON}, url="rtsp://admin:cam-pass-42@cam.local/1")
    entry = latest(client, headers, "videodb_stream_create")
    assert entry["target_id"] == created["id"]
    assert entry["details"]["changes"]["url"]["before"] is None
    assert "cam-pass-42" not in json.dumps(entries(client, headers))


def test_an_object_named_at_the_longest_is_audited_under_its_whole_name(client, headers):
    # A mute timing's name may have 100 characters; the audit log keeps it whole (it once
    # held 64: a 500 on PostgreSQL, found by schemathesis).
    name = "n" * 100
    response = client.post("/api/mute-timings", headers=headers, json={
        "name": name, "intervals": [{"days": ["tue"], "end_time": "16:00"}]})
    assert response.status_code == 201, response.json
    entry = latest(client, headers, "mute_timing_create")
    assert entry["target_id"] == name
    assert entries(client, headers, target_id=name)["count"] == 1


def test_the_monitoring_docs_list_every_target_type_the_filter_takes():
    """docs/monitoring/README.md lists the `target_type` values GET /api/audit takes (any
    other is a 422): the list must be the filter's."""
    import re
    from pathlib import Path

    from alerting.schemas.queries import AUDIT_TARGET_TYPES

    docs = (Path(__file__).resolve().parents[2] / "docs/monitoring/README.md").read_text()
    listed = re.search(r"`target_type` is one of (.+?) \(another is a 422", docs, re.S).group(1)
    assert re.findall(r"`([a-z_]+)`", listed) == list(AUDIT_TARGET_TYPES)
