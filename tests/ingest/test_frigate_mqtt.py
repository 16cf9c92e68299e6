"""Frigate over the machine's real Mosquitto (a unique topic prefix per test): a tracked
object's lifecycle, revisions that fire a rule once and on time, cooldowns across objects,
review items, generic JSON topics, and hostile payloads counted and skipped."""

from __future__ import annotations

import time

import pytest

from alerting import workers
from tests.support.app import make_app
from tests.support.factories import create_rule, listed
from tests.support.mqtt import (
    lifecycle,
    object_update_message,
    review_message,
    run_subscriber,
    settle,
    tracked,
    unique_prefix,
)
from tests.support.server import wait_for


@pytest.fixture
def topics():
    return unique_prefix("detectors")


@pytest.fixture
def app(mqtt_app, topics):
    return mqtt_app(MQTT_TOPICS=[f"{topics}/#"])




def _event(client, headers, external_id):
    found = [e for e in listed(client, headers, "events") if e["external_id"] == external_id]
    return found[0] if found else None


def _processed(client, headers, external_id, revision):
    event = _event(client, headers, external_id)
    return event if event and event["revision"] >= revision and event["processed_at"] else None


def _health(client):
    return client.get("/api/health").json


def test_lifecycle_fires_on_the_zone_entry_and_only_once(app, headers, prefix, publisher):
    client = app.test_client()
    porch = create_rule(client, headers, name="porch", camera_ids=["front"],
                        zone_ids=["porch"], cooldown_seconds=300)
    known = create_rule(client, headers, name="Bob", camera_ids=["front"],
                        conditions=[{"field": "identity", "op": "eq", "value": "bob"}])
    run_subscriber(app)
    start = time.time() - 30
    new, enters, face, end = lifecycle("1765000000.1-abc123", "front", start)

    publisher.publish(f"{prefix}/events", new)
    event = wait_for(lambda: _processed(client, headers, "1765000000.1-abc123", 0))
    assert event["source"] == f"frigate:{prefix}" and event["camera_id"] == "front"
    assert event["detections"][0]["zone_ids"] == [] and listed(client, headers) == []

    publisher.publish(f"{prefix}/events", enters)
    wait_for(lambda: _processed(client, headers, "1765000000.1-abc123", 1))
    [alert] = listed(client, headers)  # on the zone entry, not at the end
    assert alert["rule_id"] == porch["id"] and alert["zone_id"] == "porch"

    publisher.publish(f"{prefix}/events", face)
    event = wait_for(lambda: _processed(client, headers, "1765000000.1-abc123", 2))
    assert event["attributes"]["identity"] == {"name": "Bob", "score": 0.93}
    assert (event["detections"][0]["identity"], event["detections"][0]["identity_score"]) == (
        "Bob", 0.93)
    assert sorted(a["rule_id"] for a in listed(client, headers)) == sorted(
        [porch["id"], known["id"]])

    publisher.publish(f"{prefix}/events", end)
    event = wait_for(lambda: _processed(client, headers, "1765000000.1-abc123", 3))
    assert event["ended_at"] is not None and event["detections"][0]["confidence"] == 0.91
    assert event["attributes"]["frigate"]["entered_zones"] == ["porch"]
    assert len(listed(client, headers, "events")) == 1  # one event per tracked object
    assert len(listed(client, headers)) == 2  # each rule once
    assert _health(client)["mqtt"]["messages"] == 4


def test_cooldown_and_dedup_across_objects(app, headers, prefix, publisher):
    """Two people entering the porch within the rule's cooldown: one alert (dedup key per
    camera); each object's later updates fire nothing more."""
    client = app.test_client()
    create_rule(client, headers, camera_ids=["front"], zone_ids=["porch"], cooldown_seconds=600)
    run_subscriber(app)
    start = time.time() - 60
    for number, offset in ((1, 0), (2, 20)):
        for message in lifecycle(f"obj-{number}", "front", start + offset):
            publisher.publish(f"{prefix}/events", message)
    wait_for(lambda: all((e := _processed(client, headers, f"obj-{n}", 0)) and e["ended_at"]
                         for n in (1, 2)))
    [alert] = listed(client, headers)
    assert _event(client, headers, "obj-1")["id"] == alert["event_id"]


def test_false_positives_are_not_events(app, headers, prefix, publisher):
    client = app.test_client()
    run_subscriber(app)
    ghost = tracked("ghost-1", "front", time.time(), false_positive=True)
    publisher.publish(f"{prefix}/events", {"type": "update", "before": ghost, "after": ghost})
    publisher.publish(f"{prefix}/events", lifecycle("real-1", "front", time.time())[0])
    wait_for(lambda: _event(client, headers, "real-1"))
    assert [e["external_id"] for e in listed(client, headers, "events")] == ["real-1"]
    assert _health(client)["mqtt"]["bad_payloads_total"] == 0


@pytest.mark.parametrize("payload", [
    b"\xff\xfe not utf-8 \xc3\x28",
    b"{not json",
    b"[1, 2, 3]",
    b'{"type": "exploded", "before": {}, "after": {}}',
    b'{"type": "new", "after": "a string"}',
    b'{"type": "new", "after": {"id": 17, "camera": ["x"], "label": null}}',
    b'{"type": "update", "after": {"id": "x", "camera": "front", "label": "person", '
    b'"start_time": "yesterday", "top_score": "high", "entered_zones": 5, "box": [1, "a"]}}',
    b"[" * 100_000,
    b'{"type": "new", "after": {"id": "big", "pad": "' + b"x" * 1_048_576 + b'"}}',
], ids=["invalid-utf8", "not-json", "not-an-object", "unknown-type", "after-not-object",
        "wrong-types", "bad-field-types", "deep-nesting", "one-megabyte"])
def test_malformed_and_hostile_payloads_are_counted_and_skipped(app, headers, prefix,
                                                                  publisher, payload):
    client = app.test_client()
    run_subscriber(app)
    publisher.publish(f"{prefix}/events", payload)
    publisher.publish(f"{prefix}/events", lifecycle("after-junk", "front", time.time())[0])
    wait_for(lambda: _event(client, headers, "after-junk"))  # the worker goes on
    health = _health(client)
    if payload.startswith(b'{"type": "update"'):
        # Wrong types in optional fields are left out, not a reason to lose the object.
        assert _event(client, headers, "x")["started_at"] is not None
        assert health["mqtt"]["bad_payloads_total"] == 0
    else:
        assert health["mqtt"]["bad_payloads"] == {f"{prefix}/events": 1}
        assert [e["external_id"] for e in listed(client, headers, "events")] == ["after-junk"]
    assert health["workers"]["mqtt"]["state"] == "running"


def test_review_items_are_kept_and_conditions_can_use_them(app, headers, prefix, publisher):
    client = app.test_client()
    severe = create_rule(client, headers, name="alert review", camera_ids=["front"],
                         conditions=[{"field": "review_severity", "op": "eq",
                                      "value": "alert"}])
    threat = create_rule(client, headers, name="threat", camera_ids=["front"],
                         conditions=[{"field": "genai_threat_level", "op": "gte", "value": 2}])
    run_subscriber(app)
    start = time.time() - 10
    publisher.publish(f"{prefix}/events", lifecycle("r-obj", "front", start)[0])
    wait_for(lambda: _processed(client, headers, "r-obj", 0))
    assert listed(client, headers) == []

    publisher.publish(f"{prefix}/reviews", review_message("new", "rev-1", "front", start,
                                                          ["r-obj"], severity="alert"))
    wait_for(lambda: _processed(client, headers, "r-obj", 1))
    assert [a["rule_id"] for a in listed(client, headers)] == [severe["id"]]

    metadata = {"title": "Person at the door", "shortSummary": "A person rings the bell.",
                "scene": "porch", "observations": ["person"], "confidence": 0.8,
                "potential_threat_level": 2, "other_concerns": [], "time": "evening"}
    publisher.publish(f"{prefix}/reviews", review_message("genai", "rev-1", "front", start,
                                                          ["r-obj"], metadata=metadata))
    event = wait_for(lambda: _processed(client, headers, "r-obj", 2))
    assert event["review"] == {"id": "rev-1", "severity": "alert",
                               "title": "Person at the door",
                               "summary": "A person rings the bell.", "threat_level": 2}
    assert sorted(a["rule_id"] for a in listed(client, headers)) == sorted(
        [severe["id"], threat["id"]])
    # An update of the object keeps the review it is in.
    publisher.publish(f"{prefix}/events", lifecycle("r-obj", "front", start)[1])
    event = wait_for(lambda: _processed(client, headers, "r-obj", 3))
    assert event["review"]["severity"] == "alert"


def test_a_genai_description_becomes_the_summary_rules_read(app, headers, prefix, publisher):
    """Frigate sends an object's GenAI description (or audio transcription) after its end, on
    `tracked_object_update`: a rule on the summary fires then; the object's own updates,
    which carry no description, keep it."""
    client = app.test_client()
    tool = create_rule(client, headers, name="carrying a tool", camera_ids=["front"],
                       conditions=[{"field": "summary", "op": "contains", "value": "crowbar"}])
    run_subscriber(app)
    new, _porch, _face, end = lifecycle("d-obj", "front", time.time() - 20)
    publisher.publish(f"{prefix}/events", new)
    publisher.publish(f"{prefix}/events", end)
    wait_for(lambda: _processed(client, headers, "d-obj", 1))
    assert listed(client, headers) == []

    # Known types that the object's own updates already carry are skipped, not counted bad.
    for kind, fields in (("face", {"name": "Bob", "score": 0.9}),
                         ("lpr", {"name": None, "plate": "AB12CDE", "score": 0.8}),
                         ("classification", {"model": "dogs", "sub_label": "rex"})):
        publisher.publish(f"{prefix}/tracked_object_update",
                          object_update_message(kind, "d-obj", "front", **fields))
    described = "A person in a dark hoodie carrying a crowbar walks to the back door."
    publisher.publish(f"{prefix}/tracked_object_update", object_update_message(
        "description", "d-obj", "front", description=described))
    event = wait_for(lambda: _processed(client, headers, "d-obj", 2))
    assert event["summary"] == described
    [alert] = listed(client, headers)
    assert alert["rule_id"] == tool["id"]

    publisher.publish(f"{prefix}/events", {**end, "after": {**end["after"], "top_score": 0.97}})
    event = wait_for(lambda: _processed(client, headers, "d-obj", 3))
    assert event["summary"] == described and event["detections"][0]["confidence"] == 0.97
    # The same description again changes nothing; an unknown type or no id is a bad payload.
    publisher.publish(f"{prefix}/tracked_object_update", object_update_message(
        "description", "d-obj", "front", description=described))
    publisher.publish(f"{prefix}/tracked_object_update", {"type": "mood", "id": "d-obj"})
    publisher.publish(f"{prefix}/tracked_object_update", {"type": "description", "id": 5})
    wait_for(lambda: _health(client)["mqtt"]["bad_payloads"] == {
        f"{prefix}/tracked_object_update": 2})
    assert _event(client, headers, "d-obj")["revision"] == 3
    assert len(listed(client, headers)) == 1


def test_generic_topics_take_our_event_json(app, headers, topics, publisher):
    client = app.test_client()
    run_subscriber(app)
    publisher.publish(f"{topics}/yolo", {"camera_id": "gate", "source": "yolo",
                                         "external_id": "y-1",
                                         "detections": [{"object_type": "car"}]}, qos=1)
    publisher.publish(f"{topics}/yolo", {"events": [
        {"camera_id": "gate", "source": "yolo", "external_id": "y-2"},
        {"camera_id": "gate", "source": "yolo", "external_id": "y-3"}]}, qos=1)
    publisher.publish(f"{topics}/other", {"camera_id": 5}, qos=1)
    publisher.publish(f"{topics}/other", b"\x00\x01", qos=1)
    wait_for(lambda: len(listed(client, headers, "events")) == 3)
    wait_for(lambda: _health(client)["mqtt"]["bad_payloads"] == {f"{topics}/other": 2})
    assert _health(client)["mqtt"]["connected"] is True


def test_health_says_when_the_broker_is_unreachable(tmp_path):
    from tests.support.server import free_port

    app = make_app(tmp_path, MQTT_URL=f"mqtt://127.0.0.1:{free_port()}",
                   FRIGATE_PREFIXES=[unique_prefix()])
    from alerting.workers.mqtt_loop import Subscriber

    subscriber = Subscriber(app, backoff_max=0.2)
    app.extensions["alerting.mqtt"] = subscriber
    workers.register(app, subscriber)
    subscriber.start()
    try:
        client = app.test_client()
        health = wait_for(lambda: (h := _health(client))["workers"]["mqtt"]["state"] == "failing"
                          and h)
        assert health["status"] == "degraded" and health["mqtt"]["connected"] is False
    finally:
        workers.stop(app)


def test_a_bad_broker_url_stops_start_up(tmp_path):
    with pytest.raises(ValueError, match="ALERTING_MQTT_URL"):
        make_app(tmp_path, MQTT_URL="http://broker:1883")


def test_settle_gives_nothing_when_nothing_is_published(app, headers, prefix):
    client = app.test_client()
    run_subscriber(app)
    settle()
    assert listed(client, headers, "events") == [] and _health(client)["mqtt"]["messages"] == 0
