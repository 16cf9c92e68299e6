"""The subscriber's topic table, the Frigate instances it is built from, and the broker URL."""

import pytest

from alerting.ingest import BadPayload, decode_json, frigate
from alerting.ingest.mqtt import broker, frigate_instances, handler_for, routes


def test_the_default_prefix_takes_the_frigate_url_and_others_their_own():
    config = {"FRIGATE_PREFIXES": ["frigate", "garage=http://10.0.0.9:5000/"],
              "FRIGATE_URL": "http://frigate.lan:5000", "MQTT_TOPICS": ["detectors/+/events"]}
    assert frigate_instances(config) == {"frigate": "http://frigate.lan:5000",
                                         "garage": "http://10.0.0.9:5000/"}
    table = routes(config)
    assert [r.pattern for r in table] == ["frigate/events", "frigate/reviews", "garage/events",
                                          "garage/reviews", "detectors/+/events"]
    assert handler_for(table, "detectors/yolo/events") is table[4].handler
    assert handler_for(table, "garage/events").args == ("garage", "http://10.0.0.9:5000/")
    assert handler_for(table, "frigate/front/status/detect") is None


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
