"""The subscriber follows the integration settings (services/integrations.py): a Frigate
instance saved through the API is subscribed to within seconds (reconnecting), its media are
served through the app and its backfill sends the stored credentials; a broker saved when
the environment names none starts the subscriber. The machine's real Mosquitto, and a local
HTTP server playing Frigate's API."""

from __future__ import annotations

import time

import pytest

from alerting import workers
from tests.support.app import make_app, make_key
from tests.support.factories import create_rule, listed
from tests.support.mqtt import (
    FakeFrigate,
    Publisher,
    basic,
    lifecycle,
    run_subscriber,
    settle,
    unique_prefix,
)
from tests.support.server import wait_for
from tests.support.web import login


@pytest.fixture
def frigate():
    fake = FakeFrigate()
    yield fake
    fake.close()


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path, MQTT_URL="mqtt://127.0.0.1:1883",
                   FRIGATE_PREFIXES=[unique_prefix()], MQTT_CLIENT_ID=unique_prefix("test"))
    yield app
    workers.stop(app)


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app, "admin")}


def _events(client, headers):
    return {e["external_id"]: e for e in listed(client, headers, "events")}


def test_a_saved_instance_is_subscribed_with_media_and_credentials(app, headers, frigate):
    client = app.test_client()
    create_rule(client, headers, camera_ids=["front"], zone_ids=["porch"])
    old_prefix = app.config["FRIGATE_PREFIXES"][0]
    prefix = unique_prefix()
    frigate.credentials = ("viewer", "frigate-secret")
    subscriber = run_subscriber(app)
    connects = subscriber.stats.connects
    response = client.put("/api/integrations", headers=headers, json={"frigate": [
        {"prefix": prefix, "base_url": frigate.url, "username": "viewer",
         "password": "frigate-secret"}]})
    assert response.status_code == 200
    wait_for(lambda: subscriber.stats.connects > connects and subscriber.subscribed.is_set()
             and f"{prefix}/events" in [r.pattern for r in subscriber.table], timeout=15)
    assert not [r.pattern for r in subscriber.table if r.pattern.startswith(old_prefix)]
    # The reconnect's backfill asked the instance's API with its credentials.
    wait_for(lambda: any(path.startswith("/api/events?") for path in frigate.requests))
    assert basic("viewer", "frigate-secret") in frigate.auth_headers

    publisher = Publisher()
    try:
        publisher.publish(f"{old_prefix}/events", lifecycle("old-1", "front", time.time())[0])
        for message in lifecycle("1765000001.2-saved", "front", time.time() - 20):
            publisher.publish(f"{prefix}/events", message)
    finally:
        publisher.close()
    event = wait_for(lambda: (e := _events(client, headers).get("1765000001.2-saved"))
                     and e["ended_at"] and e)
    assert event["source"] == f"frigate:{prefix}"
    assert event["media"]["thumbnail_url"] == (
        f"{frigate.url}/api/events/1765000001.2-saved/thumbnail.jpg")
    wait_for(lambda: listed(client, headers))
    settle()
    assert "old-1" not in _events(client, headers)  # the old prefix is no longer taken
    login(client)
    thumbnail = client.get(f"/media/events/{event['id']}/thumbnail.jpg")
    assert thumbnail.status_code == 200 and thumbnail.data[:2] == b"\xff\xd8"


def test_a_broker_saved_later_starts_the_subscriber(tmp_path):
    app = make_app(tmp_path, INPROCESS_WORKERS=True, FRIGATE_PREFIXES=[unique_prefix()],
                   MQTT_CLIENT_ID=unique_prefix("test"))
    try:
        workers.start(app)
        client = app.test_client()
        assert "mqtt" not in client.get("/api/health").json["workers"]
        headers = {"x-access-token": make_key(app, "admin")}
        body = client.put("/api/integrations", headers=headers,
                          json={"mqtt": {"url": "mqtt://127.0.0.1:1883"}}).json
        assert body["mqtt"]["url_from"] == "stored"
        health = wait_for(lambda: (h := client.get("/api/health").json)
                          .get("mqtt", {}).get("connected") and h)
        assert health["workers"]["mqtt"]["state"] == "running"
    finally:
        workers.stop(app)
