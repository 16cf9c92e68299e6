"""Where the MQTT subscriber runs: in the web process when ALERTING_MQTT_URL is set (unless
ALERTING_MQTT_INPROCESS is off), or as `flask mqtt`."""

from alerting import workers
from tests.support.app import make_app
from tests.support.mqtt import unique_prefix
from tests.support.server import wait_for


def _app(tmp_path, **settings):
    return make_app(tmp_path, INPROCESS_WORKERS=True, FRIGATE_PREFIXES=[unique_prefix()],
                    MQTT_CLIENT_ID=unique_prefix("test"), **settings)


def test_the_web_process_runs_the_subscriber_when_a_broker_is_set(tmp_path):
    app = _app(tmp_path, MQTT_URL="mqtt://127.0.0.1:1883")
    try:
        workers.start(app)
        health = wait_for(lambda: (h := app.test_client().get("/api/health").json)
                          .get("mqtt", {}).get("connected") and h)
        assert set(health["workers"]) == {"matcher", "dispatcher", "modes", "camera_health",
                                          "tracks", "groups", "escalation", "digests",
                                          "mqtt"}
        assert health["workers"]["mqtt"]["state"] == "running"
    finally:
        workers.stop(app)
    assert "alerting.mqtt" not in app.extensions


def test_no_broker_or_inprocess_off_no_subscriber(tmp_path):
    for settings in ({}, {"MQTT_URL": "mqtt://127.0.0.1:1883", "MQTT_INPROCESS": False}):
        app = _app(tmp_path, **settings)
        try:
            workers.start(app)
            health = app.test_client().get("/api/health").json
            assert "mqtt" not in health and "mqtt" not in health["workers"]
        finally:
            workers.stop(app)


def test_flask_mqtt_needs_a_broker(tmp_path):
    result = _app(tmp_path).test_cli_runner().invoke(args=["mqtt"])
    assert result.exit_code != 0 and "ALERTING_MQTT_URL is not set" in result.output
