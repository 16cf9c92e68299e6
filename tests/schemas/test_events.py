import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerting.engine.errors import ValidationError
from alerting.engine.event_record import event_from_record
from alerting.engine.types import Detection, Event
from alerting.schemas.events import (
    DETECTION_FIELDS,
    EVENT_FIELDS,
    parse_event,
    parse_event_batch,
)
from tests.support.fuzz import TEXT, examples, json_junk
from tests.support.fuzz import near as fuzz_near

NOW = datetime(2025, 12, 23, 10, 0, tzinfo=UTC)


def make(**fields):
    return {"camera_id": "cam-1", **fields}


def parse(payload):
    return parse_event(payload, now=NOW)


def errors_of(payload):
    with pytest.raises(ValidationError) as exc:
        parse(payload)
    return exc.value.fields


def test_minimal_event_defaults():
    assert parse({"camera_id": " cam-1 "}) == {
        "camera_id": "cam-1",
        "started_at": NOW,
        "ended_at": None,
        "risk_score": None,
        "risk_level": None,
        "summary": None,
        "labels": [],
        "detections": [],
        "source": None,
        "external_id": None,
        "scene_index_id": None,
        "attributes": None,
        "media": None,
    }


def test_full_event():
    event = parse({
        "camera_id": "driveway",
        "started_at": "2025-12-23T03:15:00Z",
        "ended_at": "2025-12-23T04:16:30+01:00",
        "risk_score": 85,
        "summary": "A person walks up the driveway carrying a ladder",
        "labels": ["night", " ladder ", "night"],
        "detections": [
            {"object_type": "person", "confidence": 0.93, "zone_ids": ["driveway", "driveway"],
             "bbox": [10, 20, 110.5, 220], "track_id": 17, "identity": " Bob ",
             "identity_score": 1},
            {"object_type": "car"},
        ],
        "source": "frigate",
        "external_id": "1703301300.123-abc",
        "scene_index_id": "idx-1",
        "attributes": {"frigate": {"sub_label": None, "score": 0.9, "tags": ["a", 1, True]}},
    })
    assert event["started_at"] == datetime(2025, 12, 23, 3, 15, tzinfo=UTC)
    assert event["ended_at"] == datetime(2025, 12, 23, 3, 16, 30, tzinfo=UTC)
    assert event["risk_level"] == "critical"  # derived from the score
    assert event["labels"] == ["night", "ladder"]
    assert event["detections"] == [
        {"object_type": "person", "confidence": 0.93, "zone_ids": ["driveway"],
         "bbox": [10.0, 20.0, 110.5, 220.0], "track_id": "17", "identity": "Bob",
         "identity_score": 1.0},
        {"object_type": "car", "confidence": None, "zone_ids": [], "bbox": None,
         "track_id": None, "identity": None, "identity_score": None},
    ]
    assert event["attributes"] == {"frigate": {"sub_label": None, "score": 0.9,
                                               "tags": ["a", 1, True]}}
    assert list(event) == list(EVENT_FIELDS)


@pytest.mark.parametrize(
    ("fields", "key", "expected"),
    [
        ({"started_at": 1766484000}, "started_at", NOW),
        ({"started_at": "2025-12-23T10:00:00"}, "started_at", NOW),
        ({"started_at": None}, "started_at", NOW),
        ({"ended_at": None}, "ended_at", None),
        ({"started_at": NOW.isoformat(), "ended_at": NOW.isoformat()}, "ended_at", NOW),
        ({"risk_score": 0}, "risk_level", "low"),
        ({"risk_score": 30}, "risk_level", "medium"),
        ({"risk_score": 60}, "risk_level", "high"),
        ({"risk_score": 100}, "risk_level", "critical"),
        ({"risk_score": 70.0}, "risk_score", 70),
        ({"risk_score": None}, "risk_level", None),
        ({"risk_score": 90, "risk_level": "Low"}, "risk_level", "low"),  # the detector decides
        ({"risk_score": 90, "risk_level": None}, "risk_level", "critical"),
        ({"risk_level": "HIGH"}, "risk_level", "high"),
        ({"summary": ""}, "summary", None),
        ({"summary": "s" * 10000}, "summary", "s" * 10000),
        ({"labels": None}, "labels", []),
        ({"labels": ["l"] * 100}, "labels", ["l"]),
        ({"detections": None}, "detections", []),
        ({"source": " yolo "}, "source", "yolo"),
        ({"external_id": "e" * 255}, "external_id", "e" * 255),
        ({"scene_index_id": None}, "scene_index_id", None),
        ({"attributes": {}}, "attributes", {}),
        ({"attributes": None}, "attributes", None),
        ({"camera_id": "c" * 255}, "camera_id", "c" * 255),
    ],
)
def test_good_values(fields, key, expected):
    assert parse(make(**fields))[key] == expected


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        ({"object_type": " Person "}, {"object_type": "Person"}),
        ({"object_type": "p", "confidence": 0}, {"confidence": 0.0}),
        ({"object_type": "p", "confidence": 1}, {"confidence": 1.0}),
        ({"object_type": "p", "confidence": None}, {"confidence": None}),
        ({"object_type": "p", "zone_ids": None}, {"zone_ids": []}),
        ({"object_type": "p", "zone_ids": [" a", "b", "a"]}, {"zone_ids": ["a", "b"]}),
        ({"object_type": "p", "bbox": [0, 0, 1, 1]}, {"bbox": [0.0, 0.0, 1.0, 1.0]}),
        ({"object_type": "p", "bbox": None}, {"bbox": None}),
        ({"object_type": "p", "track_id": "t-1"}, {"track_id": "t-1"}),
        ({"object_type": "p", "track_id": 0}, {"track_id": "0"}),
        ({"object_type": "p", "track_id": ""}, {"track_id": None}),
        ({"object_type": "o" * 100}, {"object_type": "o" * 100}),
    ],
)
def test_good_detections(detection, expected):
    parsed = parse(make(detections=[detection]))["detections"][0]
    assert set(parsed) == set(DETECTION_FIELDS)
    for key, value in expected.items():
        assert parsed[key] == value


BAD = [
    ({"camera_id": None}, "camera_id"),
    ({"camera_id": ""}, "camera_id"),
    ({"camera_id": "  "}, "camera_id"),
    ({"camera_id": 3}, "camera_id"),
    ({"camera_id": "c" * 256}, "camera_id"),
    ({"camera_id": "\n" + "c" * 255}, "camera_id"),  # the length counts before stripping
    ({"camera_id": "cam\x00"}, "camera_id"),
    ({"camera_id": "\udc80"}, "camera_id"),
    ({"started_at": "yesterday"}, "started_at"),
    ({"started_at": True}, "started_at"),
    ({"started_at": [2025, 12, 23]}, "started_at"),
    ({"ended_at": "nope"}, "ended_at"),
    ({"ended_at": float("nan")}, "ended_at"),
    ({"started_at": "2025-12-23T10:00:00Z", "ended_at": "2025-12-23T09:59:59Z"}, "ended_at"),
    ({"ended_at": "2025-12-23T09:00:00Z"}, "ended_at"),  # before the default started_at (now)
    ({"risk_score": -1}, "risk_score"),
    ({"risk_score": 101}, "risk_score"),
    ({"risk_score": 50.5}, "risk_score"),
    ({"risk_score": "50"}, "risk_score"),
    ({"risk_score": False}, "risk_score"),
    ({"risk_level": "extreme"}, "risk_level"),
    ({"risk_level": 3}, "risk_level"),
    ({"summary": 5}, "summary"),
    ({"summary": "s" * 10001}, "summary"),
    ({"summary": ["a"]}, "summary"),
    ({"labels": "night"}, "labels"),
    ({"labels": ["ok", ""]}, "labels.1"),
    ({"labels": ["ok", 5]}, "labels.1"),
    ({"labels": ["l" * 256]}, "labels.0"),
    ({"labels": [str(i) for i in range(101)]}, "labels"),
    ({"detections": {"object_type": "person"}}, "detections"),
    ({"detections": "person"}, "detections"),
    ({"detections": [{"object_type": "p"}] * 501}, "detections"),
    ({"detections": [None]}, "detections.0"),
    ({"detections": ["person"]}, "detections.0"),
    ({"source": "s" * 101}, "source"),
    ({"source": 1}, "source"),
    ({"external_id": "e" * 256}, "external_id"),
    ({"external_id": 12}, "external_id"),
    ({"scene_index_id": "s" * 256}, "scene_index_id"),
    ({"attributes": []}, "attributes"),
    ({"attributes": "x"}, "attributes"),
    ({"attributes": {"blob": "x" * 17000}}, "attributes"),
    ({"attributes": {"n": float("nan")}}, "attributes"),
    ({"attributes": {"n": [float("inf")]}}, "attributes"),
    ({"attributes": {"s": "a\x00"}}, "attributes"),
    ({"attributes": {"a\x00": 1}}, "attributes"),
    ({"attributes": {"s": ["\ud800"]}}, "attributes"),
    ({"attributes": {1: "int key"}}, "attributes"),
    ({"attributes": {"when": NOW}}, "attributes"),
    ({"id": 5}, "id"),
    ({"processed_at": None}, "processed_at"),
]


@pytest.mark.parametrize(("fields", "path"), BAD)
def test_bad_values(fields, path):
    assert set(errors_of(make(**fields))) == {path}


BAD_DETECTIONS = [
    ({}, "detections.1.object_type"),
    ({"object_type": None}, "detections.1.object_type"),
    ({"object_type": ""}, "detections.1.object_type"),
    ({"object_type": "o" * 101}, "detections.1.object_type"),
    ({"object_type": 1}, "detections.1.object_type"),
    ({"object_type": "p", "confidence": 1.2}, "detections.1.confidence"),
    ({"object_type": "p", "confidence": -0.1}, "detections.1.confidence"),
    ({"object_type": "p", "confidence": "0.9"}, "detections.1.confidence"),
    ({"object_type": "p", "confidence": True}, "detections.1.confidence"),
    ({"object_type": "p", "confidence": float("nan")}, "detections.1.confidence"),
    ({"object_type": "p", "zone_ids": "porch"}, "detections.1.zone_ids"),
    ({"object_type": "p", "zone_ids": ["porch", 3]}, "detections.1.zone_ids.1"),
    ({"object_type": "p", "zone_ids": [""]}, "detections.1.zone_ids.0"),
    ({"object_type": "p", "bbox": [1, 2, 3]}, "detections.1.bbox"),
    ({"object_type": "p", "bbox": [1, 2, 3, 4, 5]}, "detections.1.bbox"),
    ({"object_type": "p", "bbox": [1, 2, 3, "4"]}, "detections.1.bbox"),
    ({"object_type": "p", "bbox": [1, 2, 3, True]}, "detections.1.bbox"),
    ({"object_type": "p", "bbox": [1, 2, 3, float("inf")]}, "detections.1.bbox"),
    ({"object_type": "p", "bbox": [1, 2, 3, 10**400]}, "detections.1.bbox"),
    ({"object_type": "p", "bbox": {"x": 1}}, "detections.1.bbox"),
    ({"object_type": "p", "track_id": 1.5}, "detections.1.track_id"),
    ({"object_type": "p", "track_id": True}, "detections.1.track_id"),
    ({"object_type": "p", "track_id": ["t"]}, "detections.1.track_id"),
    ({"object_type": "p", "track_id": "t" * 256}, "detections.1.track_id"),
    ({"object_type": "p", "track_id": 10**300}, "detections.1.track_id"),
    ({"object_type": "p", "label": "person"}, "detections.1.label"),
]


@pytest.mark.parametrize(("detection", "path"), BAD_DETECTIONS)
def test_bad_detections(detection, path):
    assert set(errors_of(make(detections=[{"object_type": "ok"}, detection]))) == {path}


def test_all_errors_collected():
    assert set(errors_of({
        "camera_id": "",
        "risk_score": 500,
        "labels": [""],
        "detections": [{"object_type": "", "confidence": 2}],
        "colour": "red",
    })) == {
        "camera_id", "risk_score", "labels.0", "detections.0.object_type",
        "detections.0.confidence", "colour",
    }


def test_camera_id_required():
    assert errors_of({}) == {"camera_id": "is required"}


@pytest.mark.parametrize("payload", [None, [], "event", 1, [{"camera_id": "c"}]])
def test_body_must_be_object(payload):
    assert errors_of(payload) == {"body": "must be a JSON object"}


def test_ended_before_started_message():
    fields = errors_of(make(started_at=1000, ended_at=999))
    assert fields == {"ended_at": "must not be before started_at"}


def test_naive_now_taken_as_utc():
    event = parse_event(make(), now=datetime(2025, 12, 23, 10, 0))
    assert event["started_at"] == NOW
    plus_one = NOW.astimezone(timezone(timedelta(hours=1)))
    assert parse_event(make(), now=plus_one)["started_at"].tzinfo is UTC


def test_attributes_are_copied():
    attributes = {"nested": {"list": [1, 2]}}
    parsed = parse(make(attributes=attributes))["attributes"]
    attributes["nested"]["list"].append(3)
    assert parsed == {"nested": {"list": [1, 2]}}


def test_attributes_depth_limited():
    deep: dict = {}
    node = deep
    for _ in range(40):
        node["d"] = {}
        node = node["d"]
    assert set(errors_of(make(attributes=deep))) == {"attributes"}
    very_deep: list = []
    for _ in range(100_000):  # deeper than the recursion limit
        very_deep = [very_deep]
    assert set(errors_of(make(attributes={"x": very_deep}))) == {"attributes"}


# --- batches ---------------------------------------------------------------------------------


def test_batch_single_event():
    [(index, event)] = parse_event_batch({"camera_id": "c"}, now=NOW)
    assert index == 0 and event["camera_id"] == "c"


def test_batch_single_invalid_event():
    [(index, error)] = parse_event_batch({"camera_id": ""}, now=NOW)
    assert index == 0
    assert isinstance(error, ValidationError) and set(error.fields) == {"camera_id"}


def test_batch_of_events_with_relative_error_paths():
    results = parse_event_batch(
        {"events": [
            {"camera_id": "a"},
            {"camera_id": "b", "detections": [{"object_type": "p", "confidence": 5}]},
            "not an event",
            {"camera_id": "d", "risk_score": 10},
        ]},
        now=NOW,
    )
    assert [index for index, _ in results] == [0, 1, 2, 3]
    assert results[0][1]["camera_id"] == "a"
    assert results[1][1].fields == {"detections.0.confidence": "must be a number from 0 to 1"}
    assert results[2][1].fields == {"body": "must be a JSON object"}
    assert results[3][1]["risk_level"] == "low"


def test_batch_of_1000():
    results = parse_event_batch({"events": [{"camera_id": "c"}] * 1000}, now=NOW)
    assert len(results) == 1000


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"events": [{"camera_id": "c"}] * 1001}, {"events": "at most 1000 events per request"}),
        ({"events": []}, {"events": "must have at least one event"}),
        ({"events": None}, {"events": "must be a list of events"}),
        ({"events": {"camera_id": "c"}}, {"events": "must be a list of events"}),
        ({"events": [{"camera_id": "c"}], "camera_id": "c"}, {"camera_id": "unknown field"}),
        (None, {"body": 'must be an event object or {"events": [...]}'}),
        ([{"camera_id": "c"}], {"body": 'must be an event object or {"events": [...]}'}),
        ("events", {"body": 'must be an event object or {"events": [...]}'}),
    ],
)
def test_batch_refused(payload, fields):
    with pytest.raises(ValidationError) as exc:
        parse_event_batch(payload, now=NOW)
    assert exc.value.fields == fields


# --- event_from_record -----------------------------------------------------------------------


def test_event_from_record():
    record = {
        **parse(make(
            started_at="2025-12-23T03:15:00Z",
            ended_at="2025-12-23T03:16:00Z",
            risk_score=85,
            labels=["night"],
            detections=[{"object_type": "person", "confidence": 0.9, "zone_ids": ["drive"],
                         "bbox": [1, 2, 3, 4], "track_id": 9}],
            source="frigate",
            attributes={"x": 1},
        )),
        "id": 42,
    }
    event = event_from_record(record)
    assert event == Event(
        camera_id="cam-1",
        started_at=datetime(2025, 12, 23, 3, 15, tzinfo=UTC),
        id=42,
        ended_at=datetime(2025, 12, 23, 3, 16, tzinfo=UTC),
        risk_score=85,
        risk_level="critical",
        labels=("night",),
        detections=(Detection("person", 0.9, ("drive",), (1.0, 2.0, 3.0, 4.0), "9"),),
        source="frigate",
    )
    hash(event)


def test_event_from_database_record():
    # SQLite returns naive datetimes (stored as UTC); JSON columns may come back as strings.
    event = event_from_record({
        "id": "7", "camera_id": "c", "started_at": datetime(2025, 12, 23, 10, 0),
        "ended_at": "2025-12-23T10:01:00Z", "detections": None, "labels": None,
    })
    assert event.id == 7
    assert event.started_at == NOW
    assert event.ended_at == NOW + timedelta(minutes=1)
    assert event.detections == () and event.labels == ()


# --- fuzz ------------------------------------------------------------------------------------

INTERESTING = [
    "", " ", "cam-1", "person", "HIGH", "low", "2025-12-23T10:00:00Z", "2025-12-23T09:00:00Z",
    "\x00", "\udc80", "x" * 300, "events",
]
KEY_NAMES = EVENT_FIELDS + DETECTION_FIELDS + ("events",)
KEYS = st.one_of(TEXT, st.sampled_from(KEY_NAMES))
SCALARS, JSON = json_junk(INTERESTING, KEY_NAMES)


def near(values, junk=JSON):
    return fuzz_near(values, junk)


DETECTIONS = st.fixed_dictionaries(
    {"object_type": near(["person", " car ", "", None])},
    optional={
        "confidence": near([None, 0, 0.5, 1, 1.5, True]),
        "zone_ids": near([None, [], ["a", "a"], ["", 1], "a"]),
        "bbox": near([None, [1, 2, 3, 4], [1, 2, 3], [1, 2, 3, 10**400], [1, 2, 3, "4"]]),
        "track_id": near([None, 1, "t", 1.5, True, 10**300]),
        "x": JSON,
    },
)
EVENTS = st.fixed_dictionaries(
    {"camera_id": near(["cam-1", " c ", "", None])},
    optional={
        "started_at": near([None, 0, 1766484000, "2025-12-23T10:00:00Z", "bad", 1e300]),
        "ended_at": near([None, 0, 1766484001, "2025-12-23T11:00:00+01:00", "bad"]),
        "risk_score": near([None, 0, 100, 101, 50.0, 50.5, True]),
        "risk_level": near([None, "low", "Critical", "extreme"]),
        "summary": near([None, "", "text", "s" * 10001]),
        "labels": st.one_of(st.lists(near(["night", "", 3], SCALARS), max_size=4), JSON),
        "detections": st.one_of(st.lists(DETECTIONS, max_size=3), JSON),
        "source": near([None, "frigate", "s" * 101]),
        "external_id": TEXT,
        "scene_index_id": TEXT,
        "attributes": st.one_of(st.dictionaries(KEYS, JSON, max_size=4), JSON),
        "x": JSON,
    },
)
# Valid values only, so the success path (and event_from_record) is fuzzed too.
NO_NUL = st.characters(exclude_characters="\x00")
VALID_EVENTS = st.fixed_dictionaries(
    {"camera_id": st.text(NO_NUL, min_size=1, max_size=20).filter(str.strip)},
    optional={
        "started_at": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
        "risk_score": st.one_of(st.none(), st.integers(0, 100)),
        "risk_level": st.sampled_from([None, "low", "MEDIUM", "High", "critical"]),
        "summary": st.one_of(st.none(), st.text(NO_NUL, max_size=50)),
        "labels": st.lists(st.text(NO_NUL, min_size=1, max_size=10).filter(str.strip), max_size=4),
        "detections": st.lists(st.fixed_dictionaries(
            {"object_type": st.sampled_from(["person", "car", " Dog "])},
            optional={
                "confidence": st.one_of(st.none(), st.floats(0, 1)),
                "zone_ids": st.lists(st.sampled_from(["a", "b", " c"]), max_size=3),
                "bbox": st.one_of(st.none(), st.lists(st.floats(-1e6, 1e6), min_size=4,
                                                      max_size=4)),
                "track_id": st.one_of(st.none(), st.integers(), st.text(NO_NUL, max_size=5)),
            },
        ), max_size=3),
        "source": st.one_of(st.none(), st.text(NO_NUL, max_size=10)),
        "attributes": st.one_of(st.none(), st.dictionaries(st.text(NO_NUL, max_size=5), st.one_of(
            st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False,
                                                               allow_infinity=False),
            st.text(NO_NUL, max_size=5),
        ), max_size=3)),
    },
)
FUZZ = settings(
    max_examples=examples(300), database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(st.one_of(JSON, EVENTS, VALID_EVENTS, st.builds(
    lambda events: {"events": events},
    st.one_of(st.lists(st.one_of(EVENTS, VALID_EVENTS), max_size=3), JSON),
)))
def test_fuzz_only_validation_error(payload):
    try:
        results = parse_event_batch(payload, now=NOW)
    except ValidationError as exc:
        assert exc.fields
        return
    for _, result in results:
        if isinstance(result, ValidationError):
            assert result.fields
            continue
        assert list(result) == list(EVENT_FIELDS)
        json.dumps({**result, "started_at": None, "ended_at": None}, allow_nan=False).encode()
        event = event_from_record({**result, "id": 1})
        assert event.started_at.tzinfo is UTC


# --- the model behind the parser ---------------------------------------------------------------


def test_json_schema_states_the_limits():
    from alerting.schemas.events import Event as EventModel

    schema = EventModel.model_json_schema()
    camera_id = schema["properties"]["camera_id"]
    assert camera_id["maxLength"] == 255
    assert schema["required"] == ["camera_id"]
    assert schema["additionalProperties"] is False
    detection = schema["$defs"]["Detection"]["properties"]
    assert detection["confidence"]["anyOf"][0] == {"maximum": 1, "minimum": 0, "type": "number"}


def test_key_that_is_not_text_is_named():
    # Python callers (MQTT adapters, the simulator) do not pass through the JSON body check.
    assert errors_of(make(detections=[{"object_type": "p", "\udc80": 1}])) == {
        "detections.0": "keys must be valid Unicode text"}


def test_batch_schema_states_its_size():
    from alerting.schemas.events import EventBatch

    events = EventBatch.model_json_schema()["properties"]["events"]
    assert (events["minItems"], events["maxItems"]) == (1, 1000)


def test_the_bbox_says_its_order_in_the_api_document_and_the_readme_example():
    # A YOLO pipeline's boxes come as xyxy as often as xywh; read as a size, a far corner
    # makes the 5% stillness tolerance huge, and a walking person looks still.
    from pathlib import Path

    from alerting.schemas.events import Detection

    described = Detection.model_json_schema()["properties"]["bbox"]["description"]
    assert "[x, y, width, height]" in described and "not [x1, y1, x2, y2]" in described
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("A detector posting an event:")[1].split("-d '", 1)[1].split("'", 1)[0]
    [detection] = parse(json.loads(example))["detections"]
    assert detection["bbox"] == [412, 230, 64, 180] and detection["track_id"] == "t-1842"
