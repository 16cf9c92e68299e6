"""What the MQTT tests over the machine's real Mosquitto share: a topic prefix of the test's
own, an admin key's headers, a publisher, and an app subscribed with given settings."""

from __future__ import annotations

import pytest

from alerting import workers
from tests.support.app import make_app, make_key
from tests.support.mqtt import Publisher, unique_prefix

BROKER = "mqtt://127.0.0.1:1883"


@pytest.fixture
def prefix():
    return unique_prefix()


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app, "admin")}


@pytest.fixture
def publisher():
    publisher = Publisher()
    yield publisher
    publisher.close()


@pytest.fixture
def mqtt_app(tmp_path, prefix):
    """make_app(**settings) on the real broker, Frigate at `prefix`; its workers stopped after
    the test."""
    made = []

    def make(**settings):
        app = make_app(tmp_path, MQTT_URL=BROKER, FRIGATE_PREFIXES=[prefix],
                       MQTT_CLIENT_ID=f"test-{prefix}", **settings)
        made.append(app)
        return app
    yield make
    for app in made:
        workers.stop(app)
