"""GET/PUT /api/integrations and POST /api/integrations/test: the environment as defaults,
stored settings winning, credentials encrypted and never shown, tests of a connection
against a local HTTP server playing Frigate's API and the machine's real Mosquitto."""

from __future__ import annotations

import threading
import time

import pytest

from alerting.extensions import db
from alerting.models import AuditLog, IntegrationSettings
from tests.support.app import make_app, make_key
from tests.support.mqtt import FakeFrigate, Publisher, basic, tracked, unique_prefix
from tests.support.server import free_port
from tests.support.web import login


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, MQTT_URL="mqtt://ingest:broker-secret@127.0.0.1:1883",
                    FRIGATE_URL="http://frigate.lan:5000")


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app, "admin")}


@pytest.fixture
def frigate():
    fake = FakeFrigate()
    yield fake
    fake.close()


def test_the_environment_is_the_default_with_secrets_masked(client, headers):
    body = client.get("/api/integrations", headers=headers).json
    assert body["mqtt"] == {"url": "mqtt://ingest:***@127.0.0.1:1883", "client_id": "alerting",
                            "topics": [], "url_from": "environment"}
    assert body["frigate"] == [{"prefix": "frigate", "base_url": "http://frigate.lan:5000",
                                "username": None, "password_set": False}]
    assert body["frigate_from"] == "environment"


def test_only_admin_keys(app, client):
    read = {"x-access-token": make_key(app, "read")}
    assert client.get("/api/integrations", headers=read).status_code == 403
    assert client.put("/api/integrations", json={}, headers=read).status_code == 403


def test_stored_settings_win_encrypted_and_audited_masked(app, client, headers):
    response = client.put("/api/integrations", headers=headers, json={
        "mqtt": {"url": "mqtt://other:stored-secret@broker.lan:1884", "client_id": "site-a"},
        "frigate": [{"prefix": "frigate", "base_url": "http://nvr.lan:5000/",
                     "username": "viewer", "password": "frigate-secret"},
                    {"prefix": "garage", "base_url": None}]})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["mqtt"]["url"] == "mqtt://other:***@broker.lan:1884"
    assert body["mqtt"]["url_from"] == "stored" and body["mqtt"]["client_id"] == "site-a"
    assert body["frigate"] == [
        {"prefix": "frigate", "base_url": "http://nvr.lan:5000", "username": "viewer",
         "password_set": True},
        {"prefix": "garage", "base_url": None, "username": None, "password_set": False}]
    with app.app_context():
        row = db.session.get(IntegrationSettings, 1)
        stored = repr((row.mqtt_url_encrypted, row.frigate_instances))
        assert "stored-secret" not in stored and "frigate-secret" not in stored
        entry = db.session.query(AuditLog).filter_by(action="integrations_update").one()
        logged = repr(entry.details)
        assert "stored-secret" not in logged and "frigate-secret" not in logged
        assert entry.details["changes"]["mqtt_client_id"] == {"before": "alerting",
                                                             "after": "site-a"}
    # A PUT without the password keeps it; null returns to the environment's values.
    client.put("/api/integrations", headers=headers, json={
        "frigate": [{"prefix": "frigate", "base_url": "http://nvr.lan:5000",
                     "username": "viewer"}]})
    from alerting.services import integrations

    with app.app_context():
        instance = integrations.effective().by_prefix()["frigate"]
        assert instance.password == "frigate-secret"
        assert integrations.effective().mqtt_url == "mqtt://other:stored-secret@broker.lan:1884"
    back = client.put("/api/integrations", headers=headers,
                      json={"mqtt": {"url": None}, "frigate": None}).json
    assert back["mqtt"]["url"] == "mqtt://ingest:***@127.0.0.1:1883"
    assert back["frigate"][0]["base_url"] == "http://frigate.lan:5000"


@pytest.mark.parametrize(("body", "field"), [
    ({"mqtt": {"url": "http://broker.lan"}}, "mqtt.url"),
    ({"frigate": [{"prefix": "frigate", "base_url": "ftp://nvr"}]}, "frigate.0.base_url"),
    # Credentials in the URL would be shown, and kept in every event's links.
    ({"frigate": [{"prefix": "frigate", "base_url": "http://u:secret@nvr:5000"}]},
     "frigate.0.base_url"),
    ({"frigate": [{"prefix": "front/#"}]}, "frigate.0.prefix"),
    ({"frigate": "frigate"}, "frigate"),
    ({"mqtt": {"topics": [7]}}, "mqtt.topics.0"),
    ({"nope": 1}, "nope"),
])
def test_bad_input_names_the_field(client, headers, body, field):
    response = client.put("/api/integrations", headers=headers, json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["fields"], response.json


def test_credentials_in_a_base_url_are_refused_saying_where_they_go(client, headers):
    for path, body in (("/api/integrations", {"frigate": [{
            "prefix": "frigate", "base_url": "http://viewer:secret@nvr:5000"}]}),
            ("/api/integrations/test", {"kind": "frigate",
                                        "base_url": "http://viewer:secret@nvr:5000"})):
        method = client.put if path == "/api/integrations" else client.post
        response = method(path, headers=headers, json=body)
        assert response.status_code == 422, response.json
        message = str(response.json["fields"])
        assert "username and password" in message and "secret" not in message


def test_frigate_test_reports_version_and_cameras_with_credentials(app, client, headers,
                                                                   frigate):
    frigate.credentials = ("viewer", "frigate-secret")
    client.put("/api/integrations", headers=headers, json={"frigate": [
        {"prefix": "frigate", "base_url": frigate.url, "username": "viewer",
         "password": "frigate-secret"}]})
    result = client.post("/api/integrations/test", headers=headers,
                         json={"kind": "frigate", "prefix": "frigate"}).json
    assert result["ok"] is True, result
    assert result["version"] == FakeFrigate.VERSION
    assert result["cameras"] == ["front", "garage"]
    assert "/api/version" in frigate.requests and "/api/config" in frigate.requests
    wrong = client.post("/api/integrations/test", headers=headers, json={
        "kind": "frigate", "prefix": "frigate", "password": "wrong"}).json
    assert wrong["ok"] is False and "401" in wrong["message"]
    assert "wrong credentials" in wrong["message"] and "basic auth" in wrong["message"]


def test_frigate_test_says_credentials_are_wanted_and_which_kind(client, headers, frigate):
    frigate.credentials = ("viewer", "frigate-secret")
    client.put("/api/integrations", headers=headers,
               json={"frigate": [{"prefix": "frigate", "base_url": frigate.url}]})
    result = client.post("/api/integrations/test", headers=headers,
                         json={"kind": "frigate", "prefix": "frigate"}).json
    assert result["ok"] is False
    assert result["message"].startswith("the detector answered HTTP 401 (no credentials:")
    assert "port 8971" in result["message"]


def test_an_unconfigured_loopback_url_stays_under_the_outgoing_policy(client, headers,
                                                                       frigate):
    result = client.post("/api/integrations/test", headers=headers,
                         json={"kind": "frigate", "base_url": frigate.url}).json
    assert result["ok"] is False and "outgoing policy" in result["message"]
    assert frigate.requests == []


def test_mqtt_test_counts_what_it_saw_per_topic_kind(client, headers):
    prefix = unique_prefix()
    publisher = Publisher()
    stop = threading.Event()
    state = tracked("1765000000.5-mqtttest", "front", time.time())

    def publish():
        while not stop.is_set():
            publisher.publish(f"{prefix}/events", {"type": "new", "before": state,
                                                   "after": state})
            publisher.publish(f"{prefix}/front/status/detect", b"ON")
            time.sleep(0.1)

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    try:
        result = client.post("/api/integrations/test", headers=headers, json={
            "kind": "mqtt", "prefix": prefix, "url": "mqtt://127.0.0.1:1883",
            "seconds": 1}).json
    finally:
        stop.set()
        thread.join(5)
        publisher.close()
    assert result["ok"] is True and result["connected"] is True, result
    assert result["messages"]["events"] >= 3 and result["messages"]["status"] >= 3
    assert result["messages"]["reviews"] == 0


def test_mqtt_test_names_the_prefix_frigate_is_on_when_the_one_typed_is_silent(client,
                                                                                headers):
    typed, actual = unique_prefix(), unique_prefix("nvr")
    publisher = Publisher()
    publisher.client.publish(f"{actual}/available", b"online", qos=1,
                             retain=True).wait_for_publish(10)  # as Frigate does
    try:
        result = client.post("/api/integrations/test", headers=headers, json={
            "kind": "mqtt", "prefix": typed, "url": "mqtt://127.0.0.1:1883",
            "seconds": 1}).json
        right = client.post("/api/integrations/test", headers=headers, json={
            "kind": "mqtt", "prefix": actual, "url": "mqtt://127.0.0.1:1883",
            "seconds": 1}).json
    finally:
        publisher.client.publish(f"{actual}/available", b"", qos=1,
                                 retain=True).wait_for_publish(10)
        publisher.close()
    assert result["ok"] is True and sum(result["messages"].values()) == 0, result
    assert f"another prefix: {actual}" in result["message"]
    assert right["messages"]["available"] == 1 and "another prefix" not in right["message"]


def test_mqtt_test_reports_a_broker_that_is_not_there(client, headers):
    result = client.post("/api/integrations/test", headers=headers, json={
        "kind": "mqtt", "url": f"mqtt://127.0.0.1:{free_port()}", "seconds": 1}).json
    assert result["ok"] is False and result["connected"] is False
    assert "cannot connect" in result["message"]


def test_tests_are_audited(app, client, headers):
    client.post("/api/integrations/test", headers=headers,
                json={"kind": "mqtt", "url": f"mqtt://127.0.0.1:{free_port()}"})
    with app.app_context():
        entry = db.session.query(AuditLog).filter_by(action="integrations_test").one()
        assert entry.details["kind"] == "mqtt" and entry.details["ok"] is False


def test_media_of_a_stored_instance_is_trusted(tmp_path, frigate):
    app = make_app(tmp_path)
    headers = {"x-access-token": make_key(app, "admin")}
    client = app.test_client()
    frigate.credentials = ("viewer", "pw")
    event = client.post("/api/events", headers=headers, json={
        "camera_id": "front", "started_at": "2026-12-06T08:00:00Z", "risk_score": 50,
        "media": {"thumbnail_url": f"{frigate.url}/api/events/1.2-abc/thumbnail.jpg"},
        "detections": [{"object_type": "person", "confidence": 0.9}]}).json
    path = f"/media/events/{event['id']}/thumbnail.jpg"
    login(client)
    assert client.get(path).status_code == 502  # loopback, not configured: refused
    client.put("/api/integrations", headers=headers, json={"frigate": [
        {"prefix": "frigate", "base_url": frigate.url, "username": "viewer", "password": "pw"}]})
    response = client.get(path)
    assert response.status_code == 200 and response.data[:2] == b"\xff\xd8"
    assert frigate.auth_headers[-1] == basic("viewer", "pw")
