"""Stored secrets the secret key cannot decrypt (it changed or was lost): deliveries needing
them fail saying why, against real receivers that get nothing unsigned; start-up and
/api/health say so."""

import logging
import time

import pytest
from standardwebhooks import Webhook

from alerting import bootstrap
from alerting.extensions import db
from alerting.models import Alert, Delivery, DeliveryAttempt
from alerting.services import secrets_box
from tests.support.app import make_app, make_key
from tests.support.factories import configure, create_rule, post_event, run_dispatcher, run_matcher
from tests.support.receivers import Collector

OTHER_KEY = "a-different-secret-key"


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], SMTP_USE_TLS=False,
                    RETRY_SCHEDULE=[0.05, 0.05])


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


def fire(app, headers, channels):
    client = app.test_client()
    create_rule(client, headers, channels=channels)
    post_event(client, headers, external_id="ev-1", source="t")
    run_matcher(app)


def deliveries(app):
    with app.app_context():
        return [(d.channel, d.status, d.last_error) for d in db.session.query(Delivery)]


def run_until_dead(app):
    deadline = time.monotonic() + 10
    while any(status != "dead" for _c, status, _e in deliveries(app)):
        assert time.monotonic() < deadline, deliveries(app)
        run_dispatcher(app)
        time.sleep(0.06)


def test_decrypt_with_another_key_raises_not_none(app):
    with app.app_context():
        token = secrets_box.encrypt("whsec_x")
        app.config["SECRET_KEY"] = OTHER_KEY
        with pytest.raises(secrets_box.UnreadableSecret):
            secrets_box.decrypt(token)
        assert secrets_box.decrypt(None) is None


def test_a_webhook_is_never_sent_unsigned(app, headers, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    secret = app.test_client().post("/api/notification/webhook-secret/reveal",
                                    headers=headers).json["webhook_secret"]
    original_key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = OTHER_KEY  # as after a restart with another key
    fire(app, headers, ["webhook"])

    run_dispatcher(app)
    [(_channel, status, error)] = deliveries(app)
    assert status == "pending"  # retried: the key may come back
    assert "webhook signing secret cannot be decrypted" in error
    assert "ALERTING_SECRET_KEY" in error
    run_until_dead(app)
    assert httpserver.log == []  # nothing reached the receiver, signed or not
    with app.app_context():
        assert db.session.query(Alert).one().status == "failed"
        attempts = db.session.query(DeliveryAttempt).all()
        assert len(attempts) == 3 and all("cannot be decrypted" in a.error for a in attempts)

    # The key is restored: the dead letter, retried by hand, goes out signed.
    app.config["SECRET_KEY"] = original_key
    [delivery] = app.test_client().get("/api/deliveries?status=dead",
                                       headers=headers).json["deliveries"]
    app.test_client().post(f"/api/deliveries/{delivery['id']}/retry", headers=headers)
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    assert Webhook(secret).verify(request.get_data(), dict(request.headers))


def test_email_with_an_unreadable_password_is_not_sent(app, headers, smtp_server):
    collector = Collector()
    server = smtp_server(collector)
    configure(app, headers, smtp_host="127.0.0.1", smtp_port=server.port,
              smtp_from_address="alerts@example.com", smtp_username="alerts",
              smtp_password="hunter2", default_email_recipients=["me@example.com"])
    app.config["SECRET_KEY"] = OTHER_KEY
    result = app.test_client().post("/api/notification/test", json={"channel": "email"},
                                    headers=headers).json
    assert result["success"] is False and "SMTP password cannot be decrypted" in result["error"]
    fire(app, headers, ["email"])
    run_dispatcher(app)
    [(_channel, status, error)] = deliveries(app)
    assert status == "pending" and "SMTP password cannot be decrypted" in error
    assert collector.envelopes == []


def test_unreadable_push_urls_fail_the_push_instead_of_dropping_it(app, headers, httpserver):
    httpserver.expect_request("/push").respond_with_data("ok")
    configure(app, headers, push_urls=[f"json://127.0.0.1:{httpserver.port}/push"])
    app.config["SECRET_KEY"] = OTHER_KEY
    fire(app, headers, ["push"])
    run_dispatcher(app)
    [(channel, status, error)] = deliveries(app)
    assert channel == "push" and status == "pending"
    assert "push URLs cannot be decrypted" in error
    assert httpserver.log == []


def test_reveal_says_the_secret_cannot_be_read(app, headers):
    app.config["SECRET_KEY"] = OTHER_KEY
    response = app.test_client().post("/api/notification/webhook-secret/reveal",
                                      headers=headers)
    assert response.status_code == 409 and "cannot be decrypted" in response.json["message"]
    rotated = app.test_client().post("/api/notification/webhook-secret/rotate", headers=headers)
    assert rotated.status_code == 200, rotated.json


def test_start_up_and_health_say_which_secrets_cannot_be_read(app, headers, caplog):
    configure(app, headers, smtp_password="hunter2")
    client = app.test_client()
    body = client.get("/api/health").json
    assert body["status"] == "ok" and body["secrets"] == "ok"
    assert "unreadable_secrets" not in body

    app.config["SECRET_KEY"] = OTHER_KEY
    with caplog.at_level(logging.WARNING, logger="alerting"):
        bootstrap(app)
    [warning] = [r.getMessage() for r in caplog.records if "cannot be decrypted" in
                 r.getMessage()]
    assert "smtp_password, webhook_secret" in warning and "ALERTING_SECRET_KEY" in warning
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json["status"] == "degraded" and response.json["secrets"] == "unreadable"
    # (the web push VAPID key pair too: made with the first key when the settings were read)
    assert response.json["unreadable_secrets"] == ["smtp_password", "webhook_secret",
                                                   "vapid_private_key"]
