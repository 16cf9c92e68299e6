"""No plaintext API key, SMTP password, push token or webhook secret anywhere in the
database, in any API response, or on any page, once they have been set."""

import base64
import json
import logging
import re

from sqlalchemy import inspect, text

from alerting.extensions import db
from alerting.models import Delivery
from tests.support.app import make_app, make_key
from tests.support.factories import create_rule, post_event, run_dispatcher, run_matcher
from tests.support.receivers import Collector
from tests.support.web import PAGES, login

SMTP_PASSWORD = "smtp-pass-7c1e9b2f"
PUSH_TOKEN = "ntfy-topic-token-51a8"


def test_secrets_appear_nowhere(tmp_path):
    app = make_app(tmp_path, SMTP_PASSWORD="env-smtp-secret-99d")
    client = app.test_client()
    created = client.post("/api/keys", json={"name": "k", "scope": "admin"},
                          headers={"x-access-token": _bootstrap_key(app)})
    api_key = created.json["key"]
    headers = {"x-access-token": api_key}
    assert client.put("/api/notification/config", headers=headers, json={
        "smtp_host": "smtp.example.com", "smtp_password": SMTP_PASSWORD,
        "smtp_from_address": "a@example.com", "push_urls": [f"ntfy://{PUSH_TOKEN}"],
    }).status_code == 200
    webhook_secret = client.post("/api/notification/webhook-secret/reveal",
                                 headers=headers).json["webhook_secret"]
    secrets = [api_key, SMTP_PASSWORD, PUSH_TOKEN, webhook_secret,
               webhook_secret.removeprefix("whsec_"), "env-smtp-secret-99d"]

    everything = database_text(app)
    assert "smtp.example.com" in everything  # the dump does see the settings row
    for secret in secrets:
        assert secret not in everything

    # Every GET of the API (with ids where a listing gives them) and every page.
    responses = [client.get(path, headers=headers).get_data(as_text=True) for path in (
        "/api/keys", "/api/notification/config", "/api/notification/settings",
        "/api/alerts/rules", "/api/events", "/api/alerts", "/api/deliveries", "/api/health",
        "/api/openapi.json")]
    assert "smtp.example.com" in responses[1]  # the responses are the real ones
    login(client)
    responses += [client.get(path).get_data(as_text=True) for path in PAGES]
    for body in responses:
        for secret in secrets:
            assert secret not in body


def database_text(app) -> str:
    """Every column of every row of every table, as text."""
    with app.app_context():
        dump = []
        for table in inspect(db.engine).get_table_names():
            for row in db.session.execute(text(f'SELECT * FROM "{table}"')):
                dump.append(json.dumps([str(value) for value in row]))
    return "\n".join(dump)


def _bootstrap_key(app) -> str:
    from tests.support.app import make_key

    return make_key(app, "admin", name="setup")


# --- deliveries on every channel, with secrets in their URLs ---------------------------------

HOOK_PASSWORD = "hook-pass-3f9d2a"
HOOK_QUERY_TOKEN = "hook-query-token-0c5e"
RULE_HOOK_PASSWORD = "rule-hook-pass-5a0b71"
PUSH_PASSWORD = "push-pass-b71c04"
PUSH_HEADER_TOKEN = "push-header-token-9e2d"
NTFY_TOPIC = "ntfy-topic-secret-c4a1e8"
FAILING_PUSH_PASSWORD = "failing-push-pass-61f3"
DELIVERY_SECRETS = [HOOK_PASSWORD, HOOK_QUERY_TOKEN, RULE_HOOK_PASSWORD, PUSH_PASSWORD,
                    PUSH_HEADER_TOKEN, NTFY_TOPIC, FAILING_PUSH_PASSWORD]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_delivery_targets_show_no_secret_anywhere(tmp_path, httpserver, smtp_server, caplog):
    """Deliveries by email, webhook and push, from the defaults and from a rule's own targets,
    delivered and dead-lettered, with passwords and tokens in their URLs: the receivers get
    the secrets, and no table, API response (read scope), page or log line holds one."""
    caplog.set_level(logging.DEBUG)
    collector = Collector()
    smtp = smtp_server(collector)
    httpserver.expect_request("/failing-push").respond_with_data(
        f"no such user (password {FAILING_PUSH_PASSWORD})", status=500)
    httpserver.expect_request(re.compile("/.*")).respond_with_data("ok")
    base = f"127.0.0.1:{httpserver.port}"
    default_hook = f"http://hookuser:{HOOK_PASSWORD}@{base}/default-hook?token={HOOK_QUERY_TOKEN}"
    rule_hook = f"http://ruleuser:{RULE_HOOK_PASSWORD}@{base}/rule-hook"
    json_push = f"json://pushuser:{PUSH_PASSWORD}@{base}/push?+X-Token={PUSH_HEADER_TOKEN}"
    ntfy_push = f"ntfy://{base}/{NTFY_TOPIC}"
    failing_push = f"json://pushuser:{FAILING_PUSH_PASSWORD}@{base}/failing-push"

    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], SMTP_USE_TLS=False,
                   RETRY_SCHEDULE=[])
    client = app.test_client()
    admin = {"x-access-token": make_key(app, "admin")}
    read = {"x-access-token": make_key(app, "read")}
    assert client.put("/api/notification/config", headers=admin, json={
        "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_from_address": "a@example.com",
        "default_email_recipients": ["ops@example.com"], "default_webhook_url": default_hook,
        "push_urls": [json_push]}).status_code == 200
    defaults_rule = create_rule(client, admin, name="defaults",
                                channels=["email", "webhook", "push"])
    own_rule = create_rule(client, admin, name="own", channels=["webhook", "push"],
                           targets={"webhook_url": rule_hook,
                                    "push_urls": [ntfy_push, failing_push]})
    post_event(client, admin)
    run_matcher(app)
    run_dispatcher(app)

    # The receivers got the clear secrets: they were used, not lost.
    received = {request.path: request for request, _response in httpserver.log}
    assert received["/default-hook"].headers["Authorization"] == _basic("hookuser", HOOK_PASSWORD)
    assert received["/default-hook"].args["token"] == HOOK_QUERY_TOKEN
    assert received["/rule-hook"].headers["Authorization"] == _basic("ruleuser",
                                                                     RULE_HOOK_PASSWORD)
    assert received["/push"].headers["Authorization"] == _basic("pushuser", PUSH_PASSWORD)
    assert received["/push"].headers["X-Token"] == PUSH_HEADER_TOKEN
    assert any(NTFY_TOPIC in request.get_data(as_text=True) + request.path
               for request, _response in httpserver.log)
    assert "/failing-push" in received and len(collector.envelopes) == 1

    with app.app_context():
        rows = {(d.channel, d.target): d.status for d in db.session.query(Delivery)}
    assert rows == {
        ("email", "ops@example.com"): "delivered",
        ("webhook", f"http://hookuser:***@{base}/default-hook?token=***"): "delivered",
        ("push", f"json://pushuser:***@{base}/push?%2BX-Token=***".replace("%2B", "+")):
            "delivered",
        ("webhook", f"http://ruleuser:***@{base}/rule-hook"): "delivered",
        ("push", f"ntfy://{base}/***"): "delivered",
        ("push", f"json://pushuser:***@{base}/failing-push"): "dead",
    }

    everything = database_text(app)
    assert f"ruleuser:***@{base}" in everything

    alert_ids = [a["id"] for a in client.get("/api/alerts", headers=read).json["alerts"]]
    assert len(alert_ids) == 2
    api = [client.get(path, headers=read) for path in (
        "/api/deliveries", "/api/deliveries?status=dead", "/api/alerts", "/api/alerts/rules",
        f"/api/alerts/rules/{defaults_rule['id']}", f"/api/alerts/rules/{own_rule['id']}",
        *(f"/api/alerts/{i}" for i in alert_ids))]
    api += [client.get(path, headers=admin) for path in (
        "/api/notification/config", "/api/notification/settings", "/api/audit")]
    assert all(r.status_code in (200, 404) for r in api)
    api_text = [r.get_data(as_text=True) for r in api]
    assert f"ruleuser:***@{base}" in api_text[0] and "error=500" in api_text[1]
    login(client)
    pages = [client.get(path).get_data(as_text=True) for path in (
        *PAGES, *(f"/alerts/{i}" for i in alert_ids), f"/rules/{own_rule['id']}/edit",
        "/notifications")]
    assert any(f"ruleuser:***@{base}" in page for page in pages)  # the alert page's targets
    logs = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records
                     if r.name != "werkzeug")  # (the receivers' own request lines)
    for body in [everything, *api_text, *pages, logs]:
        for secret in DELIVERY_SECRETS:
            assert secret not in body


def test_a_rule_given_back_as_shown_keeps_its_secrets(tmp_path, httpserver):
    """GET a rule and PUT it back (what a client or the edit form does with what it read):
    the secrets stay, and the next delivery still carries them. *** in a new URL is a 422."""
    httpserver.expect_request(re.compile("/.*")).respond_with_data("ok")
    base = f"127.0.0.1:{httpserver.port}"
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], RETRY_SCHEDULE=[])
    client = app.test_client()
    admin = {"x-access-token": make_key(app, "admin")}
    rule = create_rule(client, admin, channels=["webhook", "push"], targets={
        "webhook_url": f"http://u:{RULE_HOOK_PASSWORD}@{base}/hook",
        "push_urls": [f"json://p:{PUSH_PASSWORD}@{base}/a", f"json://p:{HOOK_PASSWORD}@{base}/a"]})
    shown = client.get(f"/api/alerts/rules/{rule['id']}", headers=admin).json
    assert shown["targets"]["push_urls"] == [f"json://p:***@{base}/a"] * 2
    body = {k: v for k, v in shown.items() if k not in ("id", "created_at", "updated_at")}
    assert client.put(f"/api/alerts/rules/{rule['id']}", headers=admin,
                      json={**body, "name": "renamed"}).status_code == 200
    login(client)
    form = client.get(f"/rules/{rule['id']}/edit").get_data(as_text=True)
    assert f"json://p:***@{base}/a" in form and PUSH_PASSWORD not in form
    post_event(client, admin)
    run_matcher(app)
    run_dispatcher(app)
    auth = sorted(request.headers["Authorization"] for request, _ in httpserver.log)
    assert auth == sorted([_basic("u", RULE_HOOK_PASSWORD), _basic("p", PUSH_PASSWORD),
                           _basic("p", HOOK_PASSWORD)])

    response = client.put(f"/api/alerts/rules/{rule['id']}", headers=admin, json={
        "targets": {"webhook_url": f"http://u:***@{base}/other"}})
    assert response.status_code == 422
    assert "targets.webhook_url" in response.json["fields"]
