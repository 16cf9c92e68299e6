"""The subscriber's topic table, the Frigate instances it is built from, and the broker URL."""

import pytest

from alerting.config import Settings
from alerting.ingest import BadPayload, decode_json, frigate
from alerting.ingest.modes import mode_name, state_topic
from alerting.ingest.mqtt import broker, frigate_instances, handler_for, routes, topic_kind


def test_the_default_prefix_takes_the_frigate_url_and_others_their_own():
    config = {"FRIGATE_PREFIXES": ["frigate", "garage=http://10.0.0.9:5000/"],
              "FRIGATE_URL": "http://frigate.lan:5000", "MQTT_TOPICS": ["detectors/+/events"]}
    assert frigate_instances(config) == {"frigate": "http://frigate.lan:5000",
                                         "garage": "http://10.0.0.9:5000/"}
    table = routes({**config, "MQTT_MODE_TOPIC": "home/alarm/mode/set"})
    assert [r.pattern for r in table] == [
        "frigate/events", "frigate/reviews", "frigate/tracked_object_update",
        "frigate/available", "frigate/+/status/+",
        "garage/events", "garage/reviews", "garage/tracked_object_update", "garage/available",
        "garage/+/status/+", "home/alarm/mode/set", "detectors/+/events"]
    assert handler_for(table, "detectors/yolo/events") is table[11].handler
    assert handler_for(table, "garage/events").args == ("garage", "http://10.0.0.9:5000")
    assert handler_for(table, "frigate/front/status/detect").args == ("frigate",)
    assert handler_for(table, "frigate/front/motion") is None
    assert [topic_kind(table, t) for t in ("garage/events", "garage/reviews", "frigate/available",
                                           "frigate/front/status/audio", "home/alarm/mode/set",
                                           "detectors/x/events", "elsewhere",
                                           "garage/tracked_object_update")] == [
        "events", "reviews", "available", "camera_status", "mode", "generic", "unrouted",
        "tracked_object_update"]
    assert "home/alarm/mode/set" not in [r.pattern for r in routes(config)]


@pytest.mark.parametrize(("payload", "name"), [
    (b"away", "away"), (b" night\n", "night"), (b'{"mode": "vacation"}', "vacation"),
    (b'"home"', "home")])
def test_a_mode_command_names_a_mode(payload, name):
    assert mode_name(payload) == name


@pytest.mark.parametrize("payload", [b"", b"  ", b"{", b'{"mode": 3}', b'{"other": "away"}',
                                     b"\xff", b"a" * 2000, b"[1]"])
def test_a_mode_command_that_names_none_is_bad(payload):
    with pytest.raises(BadPayload):
        mode_name(payload)


def test_the_mode_state_topic_and_the_setting():
    assert state_topic("alerting/mode/set") == "alerting/mode/state"
    assert state_topic("house/arming") == "house/arming/state"
    assert Settings().MQTT_MODE_TOPIC == "alerting/mode/set"
    assert Settings(MQTT_MODE_TOPIC="").MQTT_MODE_TOPIC == ""
    with pytest.raises(ValueError, match="without wildcards"):
        Settings(MQTT_MODE_TOPIC="alerting/+/set")


def test_a_backfilled_object_brings_its_description_as_the_summary():
    """GET /api/events keeps the GenAI description in `data.description`; an MQTT `after`
    has none, and then the event leaves its summary out (the stored one stands)."""
    from alerting.schemas.events import MAX_SUMMARY
    from tests.support.mqtt import api_event, tracked

    state = tracked("b-1", "front", 1765000000.0)
    described = api_event(state)
    described["data"]["description"] = "  A courier leaves a parcel.  "
    assert frigate.event_of("frigate", frigate._from_api(described))["summary"] == \
        "A courier leaves a parcel."
    assert "summary" not in frigate.event_of("frigate", frigate._from_api(api_event(state)))
    assert "summary" not in frigate.event_of("frigate", state)
    described["data"]["description"] = "word " * MAX_SUMMARY
    summary = frigate.event_of("frigate", frigate._from_api(described))["summary"]
    assert len(summary) == MAX_SUMMARY and summary.endswith("\u2026")


def test_media_links_are_built_from_the_instance_base_url():
    after = {"id": "1718.5-ab/c", "camera": "front", "label": "person", "has_snapshot": True,
             "has_clip": False}
    event = frigate.event_of("frigate", after, "http://frigate.lan:5000/")
    assert event["media"] == {
        "snapshot_url": "http://frigate.lan:5000/api/events/1718.5-ab%2Fc/snapshot.jpg",
        "thumbnail_url": "http://frigate.lan:5000/api/events/1718.5-ab%2Fc/thumbnail.jpg",
        "clip_url": None}
    assert frigate.event_of("frigate", after)["media"] is None


def test_broker_urls():
    b = broker("mqtts://user%40home:p%3Ass@broker.lan")
    assert (b.host, b.port, b.tls, b.username, b.password) == (
        "broker.lan", 8883, True, "user@home", "p:ss")
    assert broker("mqtt://127.0.0.1").port == 1883


@pytest.mark.parametrize("payload", [b"\xc3\x28", b"x" * 600_000, b"{", b"[" * 50_000])
def test_payloads_that_are_not_json_documents(payload):
    with pytest.raises(BadPayload):
        decode_json(payload)
