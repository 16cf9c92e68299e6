import pytest

from alerting.engine.errors import ValidationError
from alerting.schemas import videodb as schema


def errors_of(parse, payload):
    with pytest.raises(ValidationError) as exc:
        parse(payload)
    return exc.value.fields


def test_stream_defaults_and_ignored_keys():
    assert schema.parse_stream({"url": " rtsp://cam/1 ", "name": "Porch",
                                "ws_connection_id": "ws-1", "sandbox_id": None}) == {
        "collection_id": "default", "url": "rtsp://cam/1", "name": "Porch",
        "media_types": ["video"], "sample_rate": None, "store": False,
        "enable_transcript": False}
    assert schema.parse_stream({"url": "u", "name": "n", "media_types": ["Audio", "audio"],
                                "store": None, "sample_rate": 30.0})["media_types"] == ["audio"]


@pytest.mark.parametrize(
    ("parse", "payload", "fields"),
    [
        (schema.parse_stream, {}, {"url": "is required", "name": "is required"}),
        (schema.parse_stream, {"url": "u", "name": "n", "media_types": []},
         {"media_types": "must list at least one media type"}),
        (schema.parse_stream, {"url": "u", "name": "n", "media_types": ["image"]},
         {"media_types.0": "must be one of video, audio"}),
        (schema.parse_stream, {"url": "u", "name": "n", "store": "yes"},
         {"store": "must be true, false or null"}),
        (schema.parse_scene_index, {"model_config": [1]},
         {"model_config": "must be an object or null"}),
        (schema.parse_scene_index, {"extraction_config": {"x": "y" * 17000}},
         {"extraction_config": "must be at most 16 KB as JSON"}),
        (schema.parse_event, {"event_prompt": "", "label": 3},
         {"event_prompt": "must not be empty", "label": "must be a string"}),
        (schema.parse_alert, {"event_id": "e"},
         {"callback_url": "is required unless ws_connection_id is given"}),
        (schema.parse_alert, {"event_id": "e", "callback_url": "file:///etc/passwd"},
         {"callback_url": "must be an http or https URL"}),
        (schema.parse_start_stop, {}, {"action": 'must be "start" or "stop"'}),
        (schema.parse_alert_status, {"action": "enable", "status": "disabled"},
         {"status": "contradicts action"}),
        (schema.parse_alert_status, {},
         {"action": 'is required: "enable" or "disable" '
                    '(or give status "enabled" or "disabled")'}),
    ],
)
def test_bad_bodies(parse, payload, fields):
    assert errors_of(parse, payload) == fields


def test_scene_index_keeps_model_config():
    values = schema.parse_scene_index({"model_config": {"temperature": 0}, "prompt": " p "})
    assert values["model_config"] == {"temperature": 0} and values["prompt"] == "p"
    assert values["extraction_type"] == "time"


def test_status_words():
    assert schema.parse_start_stop({"action": " STOP "}) == "stop"
    assert schema.parse_alert_status({"action": "disable"}) is False
    assert schema.parse_alert_status({"status": "enabled", "action": "enable"}) is True


def test_queries():
    assert schema.parse_stream_query({"limit": " 10 ", "ordering": " name ", "name": ""}) == {
        "limit": 10, "offset": 0, "ordering": "name", "status": None, "name": None}
    assert schema.parse_scene_query({"start": "1.5"}) == {
        "page": 1, "page_size": 100, "start": 1.5, "end": None}
    assert errors_of(schema.parse_stream_query, {"limit": "1e3", "ordering": "id"}) == {
        "limit": "must be an integer from 1 to 1000",
        "ordering": "must be one of created_at, -created_at, name, -name"}
    assert errors_of(schema.parse_scene_query, {"start": "5", "end": "4"}) == {
        "end": "must not be before start"}
    assert errors_of(schema.parse_scene_query, {"end": "inf"}) == {
        "end": "must be a Unix timestamp in seconds"}


def test_documented_schemas_state_the_limits():
    stream = schema.StreamCreate.model_json_schema()
    assert stream["required"] == ["url", "name"]
    assert stream["properties"]["url"]["maxLength"] == schema.MAX_URL
    status = schema.AlertStatus.model_json_schema()["properties"]
    assert status["action"]["anyOf"] == [{"type": "string", "enum": ["enable", "disable"]},
                                         {"type": "null"}]  # null: give status instead
    assert schema.SceneIndexCreate.model_json_schema()["properties"]["model_config"]["type"] == [
        "object", "null"]
