"""The subscriber's other topics over the machine's real Mosquitto (unique topics per test):
Frigate's `<prefix>/available` and `<prefix>/<camera>/status/<role>` reach camera health
(and a camera_offline rule's alert), the arming-mode command topic sets the mode and the
state topic carries it, and the MQTT and camera metrics move."""

from __future__ import annotations

import queue
import uuid
from datetime import timedelta

import paho.mqtt.client as paho
import pytest

from alerting.models import utcnow
from alerting.services import cameras
from tests.support.factories import create_rule, listed
from tests.support.metrics import scrape, value
from tests.support.mqtt import run_subscriber, settle, unique_prefix
from tests.support.server import wait_for


@pytest.fixture
def mode_topic():
    return f"{unique_prefix('alerting')}/mode/set"


@pytest.fixture
def app(mqtt_app, mode_topic):
    return mqtt_app(MQTT_MODE_TOPIC=mode_topic)


def _camera(client, headers, camera_id):
    found = [c for c in listed(client, headers, "cameras") if c["id"] == camera_id]
    return found[0] if found else None


def _status(client, headers, camera_id):
    camera = _camera(client, headers, camera_id)
    return camera and camera["status"]


def _bad(client, topic):
    return client.get("/api/health").json["mqtt"]["bad_payloads"].get(topic, 0)


def test_frigate_going_offline_takes_its_cameras_and_raises_the_rule(app, headers, prefix,
                                                                     publisher):
    client = app.test_client()
    porch, garden = f"porch-{prefix}", f"garden-{prefix}"
    rule = create_rule(client, headers, name="Unplugged", kind="camera_offline",
                       camera_ids=[porch], offline_after_seconds=10, cooldown_seconds=0)
    run_subscriber(app)
    before = scrape(client, **headers)
    for camera in (porch, garden):
        publisher.publish(f"{prefix}/{camera}/status/detect", b"online", qos=1)
    wait_for(lambda: _status(client, headers, garden) == "online")
    assert _camera(client, headers, porch)["source"] == f"frigate:{prefix}"
    up = scrape(client, **headers)
    assert value(up, "alerting_camera_online", camera_id=porch) == 1

    publisher.publish(f"{prefix}/available", b"offline", qos=1)  # Frigate's last will
    wait_for(lambda: _status(client, headers, porch) == _status(client, headers, garden)
             == "offline")
    down = scrape(client, **headers)
    assert value(down, "alerting_camera_online", camera_id=porch) == 0
    assert value(down, "alerting_camera_online", camera_id=garden) == 0
    assert value(down, "alerting_mqtt_messages_total", topic_kind="camera_status") - \
        value(before, "alerting_mqtt_messages_total", topic_kind="camera_status") == 2
    assert value(down, "alerting_mqtt_messages_total", topic_kind="available") - \
        value(before, "alerting_mqtt_messages_total", topic_kind="available") == 1

    with app.app_context():  # the camera health worker's check, once the rule's time passed
        done = cameras.check(utcnow() + timedelta(seconds=11))
    assert done["offline"] == 1
    [alert] = listed(client, headers)
    assert alert["rule_id"] == rule["id"] and alert["camera_id"] == porch

    publisher.publish(f"{prefix}/available", b"online", qos=1)  # Frigate is back
    wait_for(lambda: _status(client, headers, porch) == "online")
    assert value(scrape(client, **headers), "alerting_camera_online", camera_id=porch) == 1


def test_a_dead_detect_stream_beside_a_working_recording_stays_offline(app, headers, prefix,
                                                                      publisher):
    client = app.test_client()
    gate = f"gate-{prefix}"
    subscriber = run_subscriber(app)
    for _ in range(2):  # as Frigate repeats them, each role in turn
        for role, word in (("detect", b"offline"), ("record", b"online")):
            publisher.publish(f"{prefix}/{gate}/status/{role}", word, qos=1)
    wait_for(lambda: subscriber.stats.messages >= 4 and not subscriber._inbox)
    settle()
    assert _status(client, headers, gate) == "offline"
    publisher.publish(f"{prefix}/{gate}/status/detect", b"online", qos=1)
    wait_for(lambda: _status(client, headers, gate) == "online")


def test_a_retained_online_on_subscribing_is_no_news_of_the_cameras(app, headers, prefix,
                                                                    publisher):
    """Frigate's `online` is retained: the broker hands it to every (re)connect of the
    subscriber (a restart, a saved setting, a broker blip), while a camera it reported
    offline may still be dead. Only a live `online` (Frigate just started) brings the
    cameras back; a retained `offline` (its last will) still takes them."""
    client = app.test_client()
    porch = f"porch-{prefix}"
    create_rule(client, headers, name="Unplugged", kind="camera_offline",
                camera_ids=[porch], offline_after_seconds=10, cooldown_seconds=0)
    with app.app_context():
        cameras.report([porch], "offline", utcnow() - timedelta(minutes=5), f"frigate:{prefix}")
        assert cameras.check()["offline"] == 1
    publisher.client.publish(f"{prefix}/available", b"online", qos=1,
                             retain=True).wait_for_publish(10)
    try:
        subscriber = run_subscriber(app)
        wait_for(lambda: subscriber.stats.messages >= 1 and not subscriber._inbox)
        settle()
        assert _status(client, headers, porch) == "offline"
        with app.app_context():
            assert cameras.check()["online"] == 0
        assert [a["rule_name"] for a in listed(client, headers)] == ["Unplugged"]
        assert not subscriber.stats.bad

        subscriber.stop()
        with app.app_context():
            cameras.report([porch], "online", utcnow(), f"frigate:{prefix}")
        publisher.client.publish(f"{prefix}/available", b"offline", qos=1,
                                 retain=True).wait_for_publish(10)
        run_subscriber(app)  # the next connection finds Frigate's last will kept
        wait_for(lambda: _status(client, headers, porch) == "offline")
    finally:
        publisher.client.publish(f"{prefix}/available", b"", qos=1,
                                 retain=True).wait_for_publish(10)


def test_a_camera_status_and_bad_status_payloads(app, headers, prefix, publisher):
    client = app.test_client()
    camera = f"shed-{prefix}"
    run_subscriber(app)
    before = scrape(client, **headers)
    publisher.publish(f"{prefix}/{camera}/status/detect", b"disabled", qos=1)
    wait_for(lambda: _status(client, headers, camera) == "disabled")
    for topic, payload in ((f"{prefix}/available", b"exploded"),
                           (f"{prefix}/{camera}/status/detect", b"\xff\xfe"),
                           (f"{prefix}/{camera}/status/detect", b"x" * 1000)):
        publisher.publish(topic, payload, qos=1)
    wait_for(lambda: _bad(client, f"{prefix}/{camera}/status/detect") == 2)
    assert _bad(client, f"{prefix}/available") == 1
    assert _status(client, headers, camera) == "disabled"
    after = scrape(client, **headers)
    assert value(after, "alerting_mqtt_bad_payloads_total", topic_kind="camera_status") - \
        value(before, "alerting_mqtt_bad_payloads_total", topic_kind="camera_status") == 2
    assert value(after, "alerting_mqtt_bad_payloads_total", topic_kind="available") - \
        value(before, "alerting_mqtt_bad_payloads_total", topic_kind="available") == 1
    assert value(after, "alerting_camera_online", camera_id=camera) == 0


def _mode(client, headers):
    return client.get("/api/mode", headers=headers).json


class StateListener:
    """A client subscribed to the mode's state topic: what it received, in order."""

    def __init__(self, topic: str):
        self.received: queue.Queue = queue.Queue()
        subscribed: queue.Queue = queue.Queue()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                                  client_id=f"test-state-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda _c, _u, m: self.received.put((m.payload, m.retain))
        self.client.on_subscribe = lambda *_args: subscribed.put(True)
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        subscribed.get(timeout=10)

    def next(self) -> tuple[bytes, bool]:
        return self.received.get(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_the_mode_command_topic_sets_the_mode_and_the_state_topic_follows(
        app, headers, mode_topic, publisher):
    client = app.test_client()
    state_topic = mode_topic.removesuffix("/set") + "/state"
    before = scrape(client, **headers)
    run_subscriber(app)
    listener = StateListener(state_topic)
    try:
        assert listener.next()[0] == b"home"  # published on connect (retained)
        publisher.publish(mode_topic, b"away", qos=1)
        wait_for(lambda: _mode(client, headers)["mode"] == "away")
        current = _mode(client, headers)
        assert current["source"] == "mqtt" and current["changed_by"] == f"mqtt:{mode_topic}"
        assert listener.next() == (b"away", False)

        publisher.publish(mode_topic, {"mode": "night"}, qos=1)
        wait_for(lambda: _mode(client, headers)["mode"] == "night")
        assert listener.next()[0] == b"night"

        for bad in (b"banana", b'{"mode": 3}', b"", b"{"):
            publisher.publish(mode_topic, bad, qos=1)
        wait_for(lambda: _bad(client, mode_topic) == 4)
        assert _mode(client, headers)["mode"] == "night"
        history = client.get("/api/mode/history", headers=headers).json["changes"]
        assert [(c["mode"], c["source"], c["actor"]) for c in history] == [
            ("night", "mqtt", f"mqtt:{mode_topic}"), ("away", "mqtt", f"mqtt:{mode_topic}")]

        # A change from elsewhere (the API) is published too.
        assert client.put("/api/mode", json={"mode": "disarmed"},
                          headers=headers).status_code == 200
        assert listener.next()[0] == b"disarmed"
    finally:
        listener.close()
    after = scrape(client, **headers)
    assert value(after, "alerting_mqtt_messages_total", topic_kind="mode") - \
        value(before, "alerting_mqtt_messages_total", topic_kind="mode") == 6
    assert value(after, "alerting_mqtt_bad_payloads_total", topic_kind="mode") - \
        value(before, "alerting_mqtt_bad_payloads_total", topic_kind="mode") == 4

    # A new subscriber to the state topic gets the current mode at once (retained).
    late = StateListener(state_topic)
    try:
        assert late.next() == (b"disarmed", True)
    finally:
        late.close()
