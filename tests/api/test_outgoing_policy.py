"""The outgoing connection policy at save and at send, through the API: rule webhook and
push URLs, VideoDB callback_url, the default push URLs and the SMTP host are refused when
saved (a 422 naming the field, like the default webhook URL), and what gets past a save (an
environment default, a test send) is refused at the connection, reaching no receiver."""

import pytest

from alerting.extensions import db
from alerting.models import Delivery
from tests.support.app import make_app, make_key
from tests.support.factories import create_rule, post_event, rule_body, run_dispatcher, run_matcher
from tests.support.videodb import JSON, fails

INTERNAL_WEBHOOKS = ["http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data/",
                     "http://[::1]/hook", "http://10.0.0.1/hook", "http://localhost/hook"]
INTERNAL_PUSH = ["json://127.0.0.1:8080/push", "xml://127.0.0.1/push", "form://127.0.0.1/p",
                 "ntfy://localhost/topic", "gotify://127.0.0.1/AbCdEfGhIjKlMnO",
                 "json://[::1]/push", "json://2130706433/push", "json://169.254.169.254/"]


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app), **JSON}


@pytest.mark.parametrize("url", INTERNAL_WEBHOOKS)
def test_rule_webhook_url_refused_at_save(client, headers, url):
    response = client.post("/api/alerts/rules", headers=headers, json=rule_body(
        channels=["webhook"], targets={"webhook_url": url}))
    assert response.status_code == 422, response.json
    assert response.json["fields"]["targets.webhook_url"].startswith("refused: ")


@pytest.mark.parametrize("url", INTERNAL_PUSH)
def test_rule_push_url_refused_at_save(client, headers, url):
    response = client.post("/api/alerts/rules", headers=headers, json=rule_body(
        channels=["push"], targets={"push_urls": ["ntfy://a-topic", url]}))
    assert response.status_code == 422, response.json
    assert response.json["fields"]["targets.push_urls.1"].startswith("refused: ")


def test_rule_update_refused_too(client, headers):
    rule = create_rule(client, headers)
    response = client.put(f"/api/alerts/rules/{rule['id']}", headers=headers,
                          json={"targets": {"webhook_url": "http://169.254.169.254/"}})
    assert response.status_code == 422
    assert "cloud metadata" in response.json["fields"]["targets.webhook_url"]


@pytest.mark.parametrize("url", INTERNAL_WEBHOOKS)
def test_videodb_callback_url_refused_at_save(client, headers, world, url):  # noqa: F811
    sid, iid, eid = world
    message = fails(client.post(f"/rtstream/{sid}/index/{iid}/alert", headers=headers,
                                json={"event_id": eid, "callback_url": url}), 422)
    assert "callback_url" in message and "refused" in message
    assert client.get(f"/rtstream/{sid}/index/{iid}/alert", headers=headers).json[
        "data"]["alerts"] == []


@pytest.mark.parametrize(("fields", "field"), [
    ({"smtp_host": "10.0.0.1"}, "smtp_host"),
    ({"smtp_host": "169.254.169.254"}, "smtp_host"),
    ({"smtp_host": "127.0.0.1"}, "smtp_host"),
    ({"push_urls": ["json://127.0.0.1:9/push"]}, "push_urls.0"),
    ({"push_urls": ["ntfy://ok-topic", "json://[::1]/push"]}, "push_urls.1"),
])
def test_settings_hosts_refused_at_save(client, headers, fields, field):
    response = client.put("/api/notification/config", headers=headers, json=fields)
    assert response.status_code == 422, response.json
    assert response.json["fields"][field].startswith("refused: ")


def test_the_allow_list_lets_them_be_saved(tmp_path):
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8", "::1/128"])
    client, headers = app.test_client(), {"x-access-token": make_key(app)}
    create_rule(client, headers, channels=["webhook", "push"], targets={
        "webhook_url": "http://127.0.0.1:8080/hook", "push_urls": ["json://[::1]/push"]})
    assert client.put("/api/notification/config", headers=headers, json={
        "smtp_host": "127.0.0.1", "push_urls": ["json://127.0.0.1:9/push"]}).status_code == 200


def test_test_send_to_loopback_push_reaches_nothing(client, headers, httpserver):
    httpserver.expect_request("/push").respond_with_json({})
    body = client.post("/api/notification/test", headers=headers, json={
        "channel": "push", "push_urls": [f"json://127.0.0.1:{httpserver.port}/push"]}).json
    assert body["success"] is False
    assert body["error"] == ("refused by the outgoing connection policy: "
                             "loopback address 127.0.0.1 is not allowed")
    assert httpserver.log == []


def test_fired_deliveries_to_refused_defaults_are_dead_with_the_reason(tmp_path, httpserver,
                                                                        smtp_server):
    """Defaults from the environment are not checked at save: the connection is."""
    from tests.support.receivers import Collector

    httpserver.expect_request("/push").respond_with_json({})
    collector = Collector()
    smtp = smtp_server(collector)
    app = make_app(tmp_path, PUSH_URLS=[f"json://127.0.0.1:{httpserver.port}/push"],
                   SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_USE_TLS=False,
                   SMTP_FROM_ADDRESS="a@example.com", EMAIL_RECIPIENTS=["b@example.com"],
                   RETRY_SCHEDULE=[1, 1])
    client, headers = app.test_client(), {"x-access-token": make_key(app)}
    create_rule(client, headers, channels=["push", "email"])
    post_event(client, headers)
    run_matcher(app)
    run_dispatcher(app)
    with app.app_context():
        rows = {d.channel: (d.status, d.attempts, d.last_error)
                for d in db.session.query(Delivery)}
    reason = "refused by the outgoing connection policy: loopback address 127.0.0.1 is not allowed"
    assert rows == {"push": ("dead", 1, reason), "email": ("dead", 1, reason)}
    assert httpserver.log == [] and collector.envelopes == []
