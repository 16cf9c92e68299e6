"""GET/PUT /api/notification/config, the signing secret, POST /api/notification/test."""

import json

import pytest
from standardwebhooks import Webhook

from alerting.extensions import db
from alerting.models import AuditLog, NotificationSettings
from tests.support.app import make_app, make_key
from tests.support.receivers import Collector

SPEC_FIELDS = {
    "notification_enabled", "email_configured", "webhook_configured", "push_configured",
    "available_channels", "smtp_host", "smtp_port", "smtp_from_address", "smtp_use_tls",
    "default_webhook_url", "webhook_timeout_seconds", "default_email_recipients",
    "webhook_allow_cidrs", "webhook_allow_cidrs_fixed",
}


@pytest.fixture
def loopback_app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], SMTP_USE_TLS=False)


@pytest.fixture
def headers(loopback_app):
    return {"x-access-token": make_key(loopback_app)}


def test_config_has_exactly_the_spec_fields(client, admin_headers):
    body = client.get("/api/notification/config", headers=admin_headers).json
    assert set(body) == SPEC_FIELDS
    assert body["available_channels"] == [] and body["email_configured"] is False


def test_config_seeded_from_environment(tmp_path):
    app = make_app(tmp_path, SMTP_HOST="smtp.example.com", SMTP_FROM_ADDRESS="a@example.com",
                   SMTP_PASSWORD="hunter2", EMAIL_RECIPIENTS=["s@example.com"],
                   WEBHOOK_URL="https://hooks.example.com/a")
    body = app.test_client().get("/api/notification/config",
                                 headers={"x-access-token": make_key(app)}).json
    assert body["email_configured"] and body["webhook_configured"]
    assert body["available_channels"] == ["email", "webhook"]
    assert body["default_email_recipients"] == ["s@example.com"]
    assert "hunter2" not in json.dumps(body)


def test_put_settings_secrets_write_only_and_encrypted(app, client, admin_headers):
    response = client.put("/api/notification/config", headers=admin_headers, json={
        "smtp_host": "smtp.example.com", "smtp_port": 2525, "smtp_password": "hunter2-secret",
        "smtp_from_address": "alerts@example.com", "default_email_recipients": ["a@example.com"],
        "push_urls": ["ntfy://secret-topic-token"]})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["smtp_password_set"] is True and body["push_urls_count"] == 1
    text = json.dumps(body) + json.dumps(client.get("/api/notification/config",
                                                    headers=admin_headers).json)
    assert "hunter2" not in text and "secret-topic-token" not in text
    with app.app_context():
        row = db.session.get(NotificationSettings, 1)
        stored = json.dumps({c.name: str(getattr(row, c.name)) for c in row.__table__.columns})
        assert "hunter2" not in stored and "secret-topic-token" not in stored
        assert "whsec_" not in stored
        assert db.session.query(AuditLog).filter_by(
            action="notification_config_update").count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"smtp_port": 70000}, "smtp_port"),
    ({"smtp_from_address": "not-an-address"}, "smtp_from_address"),
    ({"default_webhook_url": "ftp://x"}, "default_webhook_url"),
    ({"default_webhook_url": "http://127.0.0.1/hook"}, "default_webhook_url"),
    ({"default_webhook_url": "http://169.254.169.254/latest"}, "default_webhook_url"),
    ({"default_email_recipients": ["x"]}, "default_email_recipients.0"),
    ({"smtp_use_tls": True, "smtp_use_ssl": True}, "smtp_use_ssl"),
    ({"nonsense": 1}, "nonsense"),
])
def test_put_settings_validation(client, admin_headers, body, field):
    response = client.put("/api/notification/config", json=body, headers=admin_headers)
    assert response.status_code == 422 and field in response.json["fields"], response.json


def test_webhook_secret_shown_once_then_rotated(client, admin_headers):
    first = client.post("/api/notification/webhook-secret/reveal", headers=admin_headers)
    assert first.status_code == 200 and first.json["webhook_secret"].startswith("whsec_")
    again = client.post("/api/notification/webhook-secret/reveal", headers=admin_headers)
    assert again.status_code == 409
    rotated = client.post("/api/notification/webhook-secret/rotate", headers=admin_headers).json
    assert rotated["webhook_secret"] != first.json["webhook_secret"]


def test_email_not_configured_is_the_spec_error(client, admin_headers):
    body = client.post("/api/notification/test", headers=admin_headers,
                       json={"channel": "email", "email_recipients": ["test@example.com"]}).json
    assert body == {
        "channel": "email", "success": False,
        "error": "Email is not configured (missing SMTP settings)",
        "message": "Please configure SMTP settings (host, from address) to enable email "
                   "notifications"}


def test_email_test_reaches_real_smtp_server(loopback_app, headers, smtp_server):
    collector = Collector()
    smtp = smtp_server(collector)
    client = loopback_app.test_client()
    client.put("/api/notification/config", headers=headers, json={
        "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_use_tls": False,
        "smtp_from_address": "alerts@example.com"})
    body = client.post("/api/notification/test", headers=headers,
                       json={"channel": "email", "email_recipients": ["test@example.com"]}).json
    assert body == {"channel": "email", "success": True, "error": None,
                    "message": "Test email sent successfully to test@example.com"}
    [envelope] = collector.envelopes
    assert envelope.rcpt_tos == ["test@example.com"]
    with loopback_app.app_context():
        assert db.session.query(AuditLog).filter_by(action="notification_test").count() == 1


def test_webhook_test_is_signed(loopback_app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    client = loopback_app.test_client()
    secret = client.post("/api/notification/webhook-secret/reveal",
                         headers=headers).json["webhook_secret"]
    body = client.post("/api/notification/test", headers=headers,
                       json={"channel": "webhook", "webhook_url": httpserver.url_for("/hook")}).json
    assert body["success"] is True, body
    [(request, _)] = httpserver.log
    payload = Webhook(secret).verify(request.get_data(), dict(request.headers))
    assert payload["type"] == "test"


def test_webhook_test_failure_is_reported(loopback_app, headers, httpserver):
    httpserver.expect_request("/hook").respond_with_data("gone", status=410)
    body = loopback_app.test_client().post(
        "/api/notification/test", headers=headers,
        json={"channel": "webhook", "webhook_url": httpserver.url_for("/hook")}).json
    assert body["success"] is False and body["status_code"] == 410


def test_push_test_through_apprise_json(loopback_app, headers, httpserver):
    httpserver.expect_request("/push", method="POST").respond_with_data("ok")
    url = f"json://127.0.0.1:{httpserver.port}/push"
    body = loopback_app.test_client().post("/api/notification/test", headers=headers,
                                           json={"channel": "push", "push_urls": [url]}).json
    assert body["success"] is True, body
    [(request, _)] = httpserver.log
    assert "TEST" in request.get_json()["title"]


def test_bad_channel_is_422(client, admin_headers):
    response = client.post("/api/notification/test", json={"channel": "sms"},
                           headers=admin_headers)
    assert response.status_code == 422 and "channel" in response.json["fields"]
