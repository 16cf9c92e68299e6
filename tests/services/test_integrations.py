"""services/integrations.py: the settings in force, and a stored secret the secret key can
no longer read (ingest goes on with the environment's value)."""

from __future__ import annotations

from alerting.services import integration_tests, integrations
from tests.support.app import make_app


def test_an_unreadable_stored_secret_falls_back_to_the_environment(tmp_path):
    app = make_app(tmp_path, MQTT_URL="mqtt://127.0.0.1:1883")
    with app.app_context():
        integrations.update({"mqtt": {"url": "mqtt://u:p@broker.lan:1883"},
                             "frigate": [{"prefix": "frigate", "base_url": "http://nvr:5000",
                                          "username": "viewer", "password": "pw"}]}, "test")
        assert integrations.effective().mqtt_url == "mqtt://u:p@broker.lan:1883"
        app.config["SECRET_KEY"] = "another-secret-key"
        now = integrations.effective()
        assert now.mqtt_url == "mqtt://127.0.0.1:1883" and now.mqtt_from == "environment"
        assert now.by_prefix()["frigate"].password is None


def test_topic_kinds():
    assert [integration_tests.topic_kind("frigate", topic) for topic in (
        "frigate/events", "frigate/reviews", "frigate/available",
        "frigate/front/status/detect", "frigate/front/person", "frigate/stats")] == [
        "events", "reviews", "available", "status", "other", "other"]
