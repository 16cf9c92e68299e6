"""Nothing is lost while the subscriber or the broker is away: after each (re)connect the
Frigate adapter asks Frigate's HTTP API (a local server playing it) for what it missed."""

from __future__ import annotations

import time

import pytest

from alerting import workers
from tests.support.app import make_app, make_key
from tests.support.factories import create_rule, listed
from tests.support.mqtt import (
    FakeFrigate,
    Mosquitto,
    Publisher,
    lifecycle,
    run_subscriber,
    unique_prefix,
)
from tests.support.server import wait_for


@pytest.fixture
def frigate():
    fake = FakeFrigate()
    yield fake
    fake.close()


def _by_external_id(client, headers):
    return {e["external_id"]: e for e in listed(client, headers, "events")}


def _all_processed(client, headers, wanted):
    events = _by_external_id(client, headers)
    return all(name in events and events[name]["processed_at"] and check(events[name])
               for name, check in wanted.items()) and events


def _ended(event):
    return event["ended_at"] is not None


def _open(event):
    return event["ended_at"] is None


def _publish(port, prefix, frigate, messages):
    """Publish as Frigate does, keeping its API's view of each object up to date."""
    publisher = Publisher(port)
    try:
        for message in messages:
            frigate.objects[message["after"]["id"]] = message["after"]
            publisher.publish(f"{prefix}/events", message)
    finally:
        publisher.close()


def _away(frigate, messages):
    """What Frigate published while nobody listened: only its API still knows it."""
    for message in messages:
        frigate.objects[message["after"]["id"]] = message["after"]


def test_a_reconnect_backfills_what_was_missed(tmp_path, frigate):
    prefix = unique_prefix()
    app = make_app(tmp_path, MQTT_URL="mqtt://127.0.0.1:1883",
                   FRIGATE_PREFIXES=[f"{prefix}={frigate.url}"], MQTT_CLIENT_ID=f"t-{prefix}")
    headers = {"x-access-token": make_key(app, "admin")}
    client = app.test_client()
    try:
        rule = create_rule(client, headers, camera_ids=["front"], zone_ids=["porch"])
        start = time.time() - 200
        a, b, c = (lifecycle(f"{name}-1", "front", start + offset)
                   for name, offset in (("a", 0), ("b", 90), ("c", 120)))
        run_subscriber(app)
        _publish(1883, prefix, frigate, a[:1] + b[:1])
        wait_for(lambda: _all_processed(client, headers, {"a-1": _open, "b-1": _open}))
        workers.stop(app)

        # Away: a enters the porch and ends (it started over a minute before b, the last
        # one seen: only asking for it by id finds it), b ends, c comes and goes.
        _away(frigate, a[1:] + b[1:] + c)
        run_subscriber(app)
        events = wait_for(lambda: _all_processed(
            client, headers, {"a-1": _ended, "b-1": _ended, "c-1": _ended}))
        assert events["a-1"]["detections"][0]["zone_ids"] == ["porch"]
        assert "/api/events/a-1" in frigate.requests
        assert events["a-1"]["media"] == {
            "snapshot_url": f"{frigate.url}/api/events/a-1/snapshot.jpg",
            "thumbnail_url": f"{frigate.url}/api/events/a-1/thumbnail.jpg",
            "clip_url": f"{frigate.url}/api/events/a-1/clip.mp4"}
        # The porch rule (no cooldown) fired once for each object.
        alerts = listed(client, headers)
        assert sorted((x["rule_id"], x["event_id"]) for x in alerts) == sorted(
            (rule["id"], e["id"]) for e in events.values())
        assert client.get("/api/health").json["mqtt"]["backfilled"] >= 2
    finally:
        workers.stop(app)


@pytest.mark.skipif(not Mosquitto.available(), reason="needs /usr/sbin/mosquitto")
def test_a_broker_restart_mid_stream_loses_nothing(tmp_path, frigate):
    broker = Mosquitto(tmp_path).start()
    prefix = unique_prefix()
    app = make_app(tmp_path, MQTT_URL=f"mqtt://127.0.0.1:{broker.port}",
                   FRIGATE_PREFIXES=[f"{prefix}={frigate.url}"])
    headers = {"x-access-token": make_key(app, "admin")}
    client = app.test_client()
    try:
        create_rule(client, headers, camera_ids=["front"], zone_ids=["porch"],
                    cooldown_seconds=0)
        start = time.time() - 100
        a, b, c = (lifecycle(f"{name}-1", "front", start + offset)
                   for name, offset in (("a", 0), ("b", 30), ("c", 60)))
        subscriber = run_subscriber(app, backoff_max=0.3)
        _publish(broker.port, prefix, frigate, a[:2] + b[:1])
        wait_for(lambda: _all_processed(client, headers, {"a-1": _open, "b-1": _open}))

        broker.stop()  # mid-stream: a ends, b enters the porch and ends, while it is down
        _away(frigate, a[2:] + b[1:])
        wait_for(lambda: not subscriber.subscribed.is_set())
        broker.start()
        wait_for(subscriber.subscribed.is_set, timeout=20)
        _publish(broker.port, prefix, frigate, c)

        events = wait_for(lambda: _all_processed(
            client, headers, {"a-1": _ended, "b-1": _ended, "c-1": _ended}), timeout=30)
        assert {e["detections"][0]["zone_ids"][0] for e in events.values()} == {"porch"}
        alerts = listed(client, headers)
        assert sorted(x["event_id"] for x in alerts) == sorted(e["id"] for e in events.values())
        assert client.get("/api/health").json["mqtt"]["connects"] == 2
    finally:
        workers.stop(app)
        broker.stop()


@pytest.mark.skipif(not Mosquitto.available(), reason="needs /usr/sbin/mosquitto")
def test_qos1_messages_sent_while_the_subscriber_is_away_arrive_when_it_is_back(tmp_path):
    """The session is persistent: the broker keeps QoS 1 messages for the subscriber."""
    broker = Mosquitto(tmp_path).start()
    topics = unique_prefix("detectors")
    app = make_app(tmp_path, MQTT_URL=f"mqtt://127.0.0.1:{broker.port}",
                   FRIGATE_PREFIXES=[], MQTT_TOPICS=[f"{topics}/#"])
    headers = {"x-access-token": make_key(app, "admin")}
    client = app.test_client()
    try:
        run_subscriber(app)
        workers.stop(app)
        publisher = Publisher(broker.port)
        try:
            publisher.publish(f"{topics}/yolo", {"camera_id": "gate", "source": "yolo",
                                                 "external_id": "while-away"}, qos=1)
        finally:
            publisher.close()
        assert listed(client, headers, "events") == []
        run_subscriber(app)
        wait_for(lambda: [e["external_id"] for e in listed(client, headers, "events")]
                 == ["while-away"])
    finally:
        workers.stop(app)
        broker.stop()
