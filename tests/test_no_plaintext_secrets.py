"""No plaintext API key, SMTP password, push token or webhook secret anywhere in the
database, in any API response, or on any page, once they have been set."""

import json

from sqlalchemy import inspect, text

from alerting.extensions import db
from tests.conftest import make_app
from tests.test_security import PAGES, login

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

    # Every column of every row of every table, as text.
    with app.app_context():
        dump = []
        for table in inspect(db.engine).get_table_names():
            for row in db.session.execute(text(f'SELECT * FROM "{table}"')):
                dump.append(json.dumps([str(value) for value in row]))
        everything = "\n".join(dump)
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


def _bootstrap_key(app) -> str:
    from tests.conftest import make_key

    return make_key(app, "admin", name="setup")
