"""Frigate's status topics through the machine's real Mosquitto: a paho client subscribed to
a unique prefix hands each message to ingest/frigate_status.handle, as the MQTT subscriber
does, and the cameras table follows."""

from __future__ import annotations

import queue
import socket
import uuid

import pytest

from alerting.extensions import db
from alerting.ingest import frigate_status
from alerting.models import Camera, utcnow

paho = pytest.importorskip("paho.mqtt.client")
BROKER = ("127.0.0.1", 1883)


def _broker_up() -> bool:
    try:
        socket.create_connection(BROKER, timeout=1).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _broker_up(), reason="no Mosquitto on 127.0.0.1:1883")


def _client(name: str):
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4()}")
    client.connect(*BROKER)
    client.loop_start()
    return client


def test_published_status_messages_reach_the_cameras_table(app):
    prefix = f"frigate-{uuid.uuid4().hex[:8]}"
    received: queue.Queue = queue.Queue()
    subscribed: queue.Queue = queue.Queue()
    listener = _client("listener")
    listener.on_message = lambda _c, _u, message: received.put(message)
    listener.on_subscribe = lambda *_args: subscribed.put(True)
    listener.subscribe(f"{prefix}/#", qos=1)
    subscribed.get(timeout=10)
    publisher = _client("publisher")
    try:
        for topic, payload in ((f"{prefix}/porch/status/detect", "online"),
                               (f"{prefix}/garden/status/detect", "online"),
                               (f"{prefix}/porch/status/detect", "offline"),
                               (f"{prefix}/garden/motion", "ON"),
                               (f"{prefix}/available", "offline")):
            publisher.publish(topic, payload, qos=1).wait_for_publish(10)
        done = []
        with app.app_context():
            for _ in range(5):
                message = received.get(timeout=10)
                done.append(frigate_status.handle(prefix, message.topic, message.payload,
                                                  utcnow()))
            assert done == ["porch:online", "garden:online", "porch:offline", None, "*:offline"]
            states = {c.id: (c.status, c.source) for c in db.session.query(Camera)}
        assert states == {"porch": ("offline", f"frigate:{prefix}"),
                          "garden": ("offline", f"frigate:{prefix}")}
    finally:
        for client in (publisher, listener):
            client.loop_stop()
            client.disconnect()
