"""Connecting Frigate with the environment only, as the README's "Connecting Frigate" says:
one Frigate with a topic prefix of its own takes ALERTING_FRIGATE_URL, and credentials in that
URL (Frigate behind a proxy with HTTP basic auth) are sent as basic auth, never kept in an
event's links. The machine's real Mosquitto, and a local HTTP server playing Frigate's API."""

from __future__ import annotations

import time

import pytest

from alerting.ingest.mqtt import frigate_instances, routes
from alerting.services import integrations
from tests.support.app import make_key
from tests.support.factories import listed
from tests.support.mqtt import FakeFrigate, basic, lifecycle, run_subscriber
from tests.support.server import wait_for
from tests.support.web import login


@pytest.fixture
def frigate():
    fake = FakeFrigate()
    yield fake
    fake.close()


@pytest.mark.parametrize(("prefixes", "taken"), [
    (["frigate"], {"frigate": "http://nvr:5000"}),
    (["nvr"], {"nvr": "http://nvr:5000"}),  # one Frigate, its own topic_prefix
    (["frigate", "garage"], {"frigate": "http://nvr:5000", "garage": None}),
    (["front", "garage"], {"front": None, "garage": None}),  # which one: not guessed
    (["nvr=http://other:5000"], {"nvr": "http://other:5000"}),
])
def test_the_frigate_url_goes_to_the_default_prefix_or_the_only_one(prefixes, taken):
    assert frigate_instances({"FRIGATE_PREFIXES": prefixes,
                              "FRIGATE_URL": "http://nvr:5000"}) == taken


def test_credentials_in_an_environment_url_are_taken_out_of_it(tmp_path):
    config = {"FRIGATE_PREFIXES": ["frigate", "garage=http://cam%40home:p%3Ass@10.0.0.9:5000/"],
              "FRIGATE_URL": "https://viewer:s3cret@frigate.lan:8443/frigate"}
    instances = integrations.from_environment(config).by_prefix()
    assert instances["frigate"] == integrations.FrigateInstance(
        "frigate", "https://frigate.lan:8443/frigate", "viewer", "s3cret")
    assert instances["garage"].base_url == "http://10.0.0.9:5000"
    assert instances["garage"].auth == ("cam@home", "p:ss")
    garage = [r for r in routes(config) if r.pattern == "garage/events"][0]
    assert garage.handler.args == ("garage", "http://10.0.0.9:5000")


def test_one_frigate_behind_basic_auth_from_the_environment_alone(mqtt_app, prefix, publisher,
                                                                  frigate):
    frigate.credentials = ("viewer", "s3cret")
    app = mqtt_app(FRIGATE_URL=frigate.url.replace("http://", "http://viewer:s3cret@"))
    client = app.test_client()
    headers = {"x-access-token": make_key(app, "admin")}
    run_subscriber(app)
    # The reconnect's backfill asked Frigate with the credentials.
    wait_for(lambda: any(path.startswith("/api/events?") for path in frigate.requests))
    assert frigate.auth_headers[0] == basic("viewer", "s3cret")

    object_id = "1765000001.2-envauth"
    for message in lifecycle(object_id, "front", time.time()):
        publisher.publish(f"{prefix}/events", message)
    event = wait_for(lambda: [e for e in listed(client, headers, "events")
                              if e["external_id"] == object_id and e["ended_at"]])[0]
    # Its links are Frigate's API without the credentials (they are shown to readers and
    # sent to webhooks)...
    assert event["media"]["thumbnail_url"] == (
        f"{frigate.url}/api/events/{object_id}/thumbnail.jpg")
    assert "s3cret" not in str(event)
    # ... and the media route sends them to Frigate.
    login(client)
    thumbnail = client.get(f"/media/events/{event['id']}/thumbnail.jpg")
    assert thumbnail.status_code == 200 and thumbnail.data[:2] == b"\xff\xd8"
    assert frigate.auth_headers[-1] == basic("viewer", "s3cret")
    shown = client.get("/api/integrations", headers=headers).json["frigate"]
    assert shown == [{"prefix": prefix, "base_url": frigate.url, "username": "viewer",
                      "password_set": True}]
