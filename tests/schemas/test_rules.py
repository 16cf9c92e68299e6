import json
from datetime import UTC, datetime, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerting.engine.errors import ValidationError
from alerting.engine.types import Condition, Rule, Schedule, rule_from_record
from alerting.engine.vocabulary import (
    CHANNELS,
    CONDITION_FIELDS,
    CONDITION_OPS,
    DAYS,
    SEVERITIES,
)
from alerting.schemas.queries import parse_rule_query
from alerting.schemas.rules import (
    CONDITION_KEYS,
    RULE_FIELDS,
    SCHEDULE_KEYS,
    TARGET_KEYS,
    parse_rule,
    parse_rule_test,
)
from tests.support.factories import SPEC_RULE
from tests.support.fuzz import TEXT, examples, json_junk
from tests.support.fuzz import near as fuzz_near


def make(**fields):
    """A minimal valid create payload plus `fields`."""
    return {"name": "Night person", "severity": "high", **fields}


def errors_of(payload, *, partial=False):
    with pytest.raises(ValidationError) as exc:
        parse_rule(payload, partial=partial)
    return exc.value.fields


def test_rule_fields():
    assert len(RULE_FIELDS) == 38
    assert RULE_FIELDS[14:] == ("targets", "mute_timings", "modes", "kind",
                                "offline_after_seconds",  # our extensions after the spec's
                                "min_dwell_seconds", "dwell_zone_ids", "zone_sequence",
                                "sequence_within_seconds", "stationary_seconds", "identities",
                                "exclude_identities", "min_count", "group_by", "group_wait",
                                "group_interval", "repeat_interval", "group_max_alerts",
                                "priority", "sound", "templates", "escalate_after",
                                "escalation_targets", "escalate_min_severity")
    assert set(SPEC_RULE) == set(RULE_FIELDS) - set(RULE_FIELDS[14:])


def test_spec_example_accepted_as_written():
    rule = parse_rule(json.loads(json.dumps(SPEC_RULE)))
    assert list(rule) == list(RULE_FIELDS)
    expected = {**SPEC_RULE, "targets": None, "mute_timings": None, "modes": None,
                "kind": "detection", "offline_after_seconds": None,
                **dict.fromkeys(RULE_FIELDS[19:32]),  # no track criteria, no grouping
                "priority": "normal", "sound": "default", "templates": None,
                "escalate_after": None, "escalation_targets": None,
                "escalate_min_severity": None}
    expected["schedule"] = {**SPEC_RULE["schedule"], "timezone": None}
    assert rule == expected


def test_create_defaults():
    assert parse_rule({"name": "  Gate  ", "severity": "LOW"}) == {
        "name": "Gate",
        "description": None,
        "enabled": True,
        "severity": "low",
        "risk_threshold": None,
        "object_types": None,
        "camera_ids": None,
        "zone_ids": None,
        "min_confidence": None,
        "schedule": None,
        "conditions": None,
        "dedup_key_template": None,
        "cooldown_seconds": 300,
        "channels": [],
        "targets": None,
        "mute_timings": None,
        "modes": None,
        "kind": "detection",
        "offline_after_seconds": None,
        **dict.fromkeys(RULE_FIELDS[19:32]),
        "priority": "normal",
        "sound": "default",
        "templates": None,
        "escalate_after": None,
        "escalation_targets": None,
        "escalate_min_severity": None,
    }


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"zone_sequence": ["street"]}, "zone_sequence",
     "must list at least 2 zones, in the order they are entered"),
    ({"zone_sequence": ["street", " "]}, "zone_sequence.1", "must not be empty"),
    ({"min_dwell_seconds": 0}, "min_dwell_seconds", "must be an integer from 1 to 604800"),
    ({"min_count": "3"}, "min_count", "must be an integer from 1 to 1000"),
    ({"identities": "bob"}, "identities", "must be a list of strings or null"),
])
def test_track_criteria_refused_by_name(body, field, message):
    assert errors_of(make(**body))[field] == message


def test_a_zone_sequence_keeps_its_repeats():
    # In and out again: a car that pulled into the driveway from the street and left by it.
    # Dropping the second "street" made it "entered the driveway", silently.
    assert parse_rule(make(zone_sequence=["street", "driveway", "street"]))["zone_sequence"] \
        == ["street", "driveway", "street"]
    assert parse_rule(make(zone_sequence=["gate", "gate"]))["zone_sequence"] == ["gate", "gate"]


def test_track_criteria_stored():
    rule = parse_rule(make(min_dwell_seconds=30, dwell_zone_ids=["gate"],
                           zone_sequence=["street", "driveway"], sequence_within_seconds=20,
                           stationary_seconds=600, exclude_identities=["*"], min_count=3))
    assert [rule[k] for k in RULE_FIELDS[19:27]] == [30, ["gate"], ["street", "driveway"], 20,
                                                  600, None, ["*"], 3]


@pytest.mark.parametrize(("payload", "field"), [
    ({"group_by": ["camera_id", "nope"]}, "group_by.1"),
    ({"group_by": ["...", "camera_id"]}, "group_by"),
    ({"group_by": "camera_id"}, "group_by"),
    ({"group_wait": -1}, "group_wait"),
    ({"group_wait": "5s"}, "group_wait"),
    ({"group_interval": 0}, "group_interval"),
    ({"repeat_interval": -5}, "repeat_interval"),
    ({"group_max_alerts": 0}, "group_max_alerts"),
])
def test_grouping_fields_refused(payload, field):
    assert field in errors_of(make(**payload))


def test_grouping_fields_kept():
    rule = parse_rule(make(group_by=["Camera_ID", "zone_id", "camera_id"], group_wait=5,
                           group_interval=30, repeat_interval=0, group_max_alerts=3))
    assert (rule["group_by"], rule["group_wait"], rule["group_interval"],
            rule["repeat_interval"], rule["group_max_alerts"]) == (
        ["camera_id", "zone_id"], 5, 30, 0, 3)
    assert parse_rule(make(group_by=["..."]))["group_by"] == ["..."]


def test_defaults_are_fresh_lists():
    first = parse_rule(make())
    first["channels"].append("email")
    assert parse_rule(make())["channels"] == []


@pytest.mark.parametrize(
    "payload", [None, [], [{"name": "x"}], "rule", 3, 2.5, True, ""]
)
def test_body_must_be_object(payload):
    assert errors_of(payload) == {"body": "must be a JSON object"}
    assert errors_of(payload, partial=True) == {"body": "must be a JSON object"}


def test_required_fields():
    assert errors_of({}) == {"name": "is required", "severity": "is required"}


def test_unknown_fields():
    assert errors_of(make(colour="red", id="x")) == {
        "colour": "unknown field", "id": "unknown field",
    }


def test_all_errors_collected_at_once():
    fields = errors_of({
        "name": "",
        "severity": "urgent",
        "enabled": "true",
        "risk_threshold": 101,
        "schedule": {"start_time": "25:00", "days": ["funday"]},
        "conditions": [{"field": "colour", "op": "eq", "value": "red"}],
        "channels": ["email", "sms"],
    })
    assert set(fields) == {
        "name", "severity", "enabled", "risk_threshold", "schedule.start_time", "schedule.days.0",
        "conditions.0.field", "channels.1",
    }


GOOD = [
    ("name", "a", "a"),
    ("name", "  Front door  ", "Front door"),
    ("name", "x" * 255, "x" * 255),
    ("name", "Nuit 🌙 porte", "Nuit 🌙 porte"),
    ("description", None, None),
    ("description", "", None),
    ("description", "  watch the gate ", "watch the gate"),
    ("description", "d" * 2000, "d" * 2000),
    ("enabled", True, True),
    ("enabled", False, False),
    ("severity", "critical", "critical"),
    ("severity", "Medium", "medium"),
    ("severity", " LOW ", "low"),
    ("risk_threshold", None, None),
    ("risk_threshold", 0, 0),
    ("risk_threshold", 100, 100),
    ("risk_threshold", 75.0, 75),  # an integral float is an integer (JSON Schema's reading)
    ("min_confidence", None, None),
    ("min_confidence", 0, 0.0),
    ("min_confidence", 1, 1.0),
    ("min_confidence", 0.85, 0.85),
    ("object_types", None, None),
    ("object_types", [], None),
    ("object_types", ["person", " car ", "Person", "car"], ["person", "car"]),
    ("camera_ids", ["cam-1", "cam-1", " cam-2"], ["cam-1", "cam-2"]),
    ("camera_ids", ["Cam", "cam"], ["Cam", "cam"]),  # ids are case-sensitive
    ("camera_ids", ["c"] * 500, ["c"]),
    ("zone_ids", ["z" * 255], ["z" * 255]),
    ("zone_ids", [], None),
    ("channels", [], []),
    ("channels", ["push", "EMAIL", "email"], ["push", "email"]),
    ("cooldown_seconds", 0, 0),
    ("cooldown_seconds", 604800, 604800),
    ("cooldown_seconds", 60.0, 60),
    ("dedup_key_template", None, None),
    ("dedup_key_template", "", None),
    ("dedup_key_template", "{rule_id}:{camera_id}", "{rule_id}:{camera_id}"),
    (
        "dedup_key_template",
        "{camera_id}{rule_id}{object_type}{zone_id}{severity}{hour}{date}{weekday}",
        "{camera_id}{rule_id}{object_type}{zone_id}{severity}{hour}{date}{weekday}",
    ),
    ("dedup_key_template", "static-key", "static-key"),
    ("dedup_key_template", "{{literal}}-{camera_id}", "{{literal}}-{camera_id}"),
    ("schedule", None, None),
    (
        "schedule",
        {},
        {"days": list(DAYS), "start_time": "00:00", "end_time": "00:00", "timezone": None},
    ),
    (
        "schedule",
        {"days": ["SAT", "monday", "Sun", "mon"], "start_time": "9:05", "end_time": "23:59"},
        {"days": ["sun", "mon", "sat"], "start_time": "09:05", "end_time": "23:59",
         "timezone": None},
    ),
    (
        "schedule",
        {"days": None, "start_time": None, "end_time": "06:00", "timezone": "Europe/Paris"},
        {"days": list(DAYS), "start_time": "00:00", "end_time": "06:00",
         "timezone": "Europe/Paris"},
    ),
    (
        "schedule",
        {"timezone": "america/new_york"},
        {"days": list(DAYS), "start_time": "00:00", "end_time": "00:00",
         "timezone": "America/New_York"},
    ),
    ("schedule", {"timezone": "UTC"}, {"days": list(DAYS), "start_time": "00:00",
                                       "end_time": "00:00", "timezone": "UTC"}),
    ("schedule", {"timezone": "Etc/GMT+5"}, {"days": list(DAYS), "start_time": "00:00",
                                             "end_time": "00:00", "timezone": "Etc/GMT+5"}),
    ("conditions", None, None),
    ("conditions", [], None),
    ("targets", None, None),
    ("targets", {}, None),
    (
        "targets",
        {"email_recipients": ["a@example.com", " A@example.com", "ops+cam@mail.example.org"],
         "webhook_url": "https://hooks.example.com/alerts?x=1",
         "push_urls": ["ntfy://alerts", "tgram://bot/123", "ntfy://alerts"]},
        {"email_recipients": ["a@example.com", "ops+cam@mail.example.org"],
         "webhook_url": "https://hooks.example.com/alerts?x=1",
         "push_urls": ["ntfy://alerts", "tgram://bot/123"]},
    ),
    (
        "targets",
        {"webhook_url": "http://192.168.1.10:8080/hook", "email_recipients": []},
        {"email_recipients": None, "webhook_url": "http://192.168.1.10:8080/hook",
         "push_urls": None},
    ),
]


@pytest.mark.parametrize(("field", "value", "stored"), GOOD)
def test_good_values(field, value, stored):
    assert parse_rule(make(**{field: value}))[field] == stored
    assert parse_rule({field: value}, partial=True) == {field: stored}


BAD = [
    ("name", None, "name"),
    ("name", "", "name"),
    ("name", "   ", "name"),
    ("name", "x" * 256, "name"),
    ("name", 5, "name"),
    ("name", ["a"], "name"),
    ("name", "a\x00b", "name"),
    ("name", "\ud800", "name"),
    ("description", 5, "description"),
    ("description", "d" * 2001, "description"),
    ("description", {"text": "x"}, "description"),
    ("enabled", None, "enabled"),
    ("enabled", 1, "enabled"),
    ("enabled", 0, "enabled"),
    ("enabled", "true", "enabled"),
    ("severity", None, "severity"),
    ("severity", "urgent", "severity"),
    ("severity", 1, "severity"),
    ("severity", ["high"], "severity"),
    ("risk_threshold", -1, "risk_threshold"),
    ("risk_threshold", 101, "risk_threshold"),
    ("risk_threshold", 75.5, "risk_threshold"),
    ("risk_threshold", True, "risk_threshold"),
    ("risk_threshold", "75", "risk_threshold"),
    ("risk_threshold", float("nan"), "risk_threshold"),
    ("risk_threshold", float("inf"), "risk_threshold"),
    ("risk_threshold", 10**30, "risk_threshold"),
    ("min_confidence", -0.01, "min_confidence"),
    ("min_confidence", 1.01, "min_confidence"),
    ("min_confidence", True, "min_confidence"),
    ("min_confidence", "0.5", "min_confidence"),
    ("min_confidence", float("nan"), "min_confidence"),
    ("min_confidence", 10**400, "min_confidence"),
    ("object_types", "person", "object_types"),
    ("object_types", {"person": True}, "object_types"),
    ("object_types", ["person", ""], "object_types.1"),
    ("object_types", ["person", "  "], "object_types.1"),
    ("object_types", [None], "object_types.0"),
    ("object_types", [1], "object_types.0"),
    ("object_types", [["person"]], "object_types.0"),
    ("camera_ids", ["ok", "c" * 256], "camera_ids.1"),
    ("camera_ids", ["c"] * 501, "camera_ids"),
    ("zone_ids", [{"id": "z"}], "zone_ids.0"),
    ("channels", None, "channels"),
    ("channels", "email", "channels"),
    ("channels", ["email", "sms"], "channels.1"),
    ("channels", [None], "channels.0"),
    ("cooldown_seconds", None, "cooldown_seconds"),
    ("cooldown_seconds", -1, "cooldown_seconds"),
    ("cooldown_seconds", 604801, "cooldown_seconds"),
    ("cooldown_seconds", 1.5, "cooldown_seconds"),
    ("cooldown_seconds", "300", "cooldown_seconds"),
    ("cooldown_seconds", False, "cooldown_seconds"),
    ("dedup_key_template", 5, "dedup_key_template"),
    ("dedup_key_template", "k" * 256, "dedup_key_template"),
    ("dedup_key_template", "{camera", "dedup_key_template"),
    ("dedup_key_template", "camera}", "dedup_key_template"),
    ("dedup_key_template", "{cam_id}", "dedup_key_template"),
    ("dedup_key_template", "{camera_id.__class__}", "dedup_key_template"),
    ("dedup_key_template", "{camera_id[0]}", "dedup_key_template"),
    ("dedup_key_template", "{0}", "dedup_key_template"),
    ("dedup_key_template", "{}", "dedup_key_template"),
    ("dedup_key_template", "{camera_id!r}", "dedup_key_template"),
    ("dedup_key_template", "{hour:>10}", "dedup_key_template"),
    ("dedup_key_template", "{hour:{camera_id}}", "dedup_key_template"),
    ("schedule", "nights", "schedule"),
    ("schedule", [], "schedule"),
    ("schedule", {"days": ["mon"], "hours": 3}, "schedule.hours"),
    ("schedule", {"days": []}, "schedule.days"),
    ("schedule", {"days": "mon"}, "schedule.days"),
    ("schedule", {"days": ["mon", "funday"]}, "schedule.days.1"),
    ("schedule", {"days": ["mo"]}, "schedule.days.0"),
    ("schedule", {"days": [1]}, "schedule.days.0"),
    ("schedule", {"start_time": "24:00"}, "schedule.start_time"),
    ("schedule", {"start_time": "12:60"}, "schedule.start_time"),
    ("schedule", {"start_time": "1200"}, "schedule.start_time"),
    ("schedule", {"start_time": "12:00:00"}, "schedule.start_time"),
    ("schedule", {"start_time": "١٢:٠٠"}, "schedule.start_time"),  # non-ASCII digits
    ("schedule", {"start_time": 1200}, "schedule.start_time"),
    ("schedule", {"end_time": "6pm"}, "schedule.end_time"),
    ("schedule", {"end_time": " 06:00"}, "schedule.end_time"),
    ("schedule", {"timezone": "Mars/Olympus_Mons"}, "schedule.timezone"),
    ("schedule", {"timezone": "../../etc/passwd"}, "schedule.timezone"),
    ("schedule", {"timezone": "/etc/localtime"}, "schedule.timezone"),
    ("schedule", {"timezone": "Europe/../Europe/Paris"}, "schedule.timezone"),
    ("schedule", {"timezone": "Europe\\Paris"}, "schedule.timezone"),
    ("schedule", {"timezone": "America"}, "schedule.timezone"),  # a directory, not a zone
    ("schedule", {"timezone": "Europe/Paris\x00"}, "schedule.timezone"),
    ("schedule", {"timezone": ""}, "schedule.timezone"),
    ("schedule", {"timezone": 1}, "schedule.timezone"),
    ("schedule", {"timezone": "A" * 500}, "schedule.timezone"),
    ("conditions", {"field": "summary", "op": "eq", "value": "x"}, "conditions"),
    ("conditions", "risk_score > 5", "conditions"),
    ("conditions", [None], "conditions.0"),
    ("conditions", [["summary", "eq", "x"]], "conditions.0"),
    ("targets", "ops@example.com", "targets"),
    ("targets", {"email": ["a@example.com"]}, "targets.email"),
    ("targets", {"email_recipients": "a@example.com"}, "targets.email_recipients"),
    ("targets", {"email_recipients": ["a@example.com", "nobody"]}, "targets.email_recipients.1"),
    ("targets", {"email_recipients": ["a@b.c\r\nBcc: x@y.z"]}, "targets.email_recipients.0"),
    ("targets", {"email_recipients": ["Ann <a@example.com>"]}, "targets.email_recipients.0"),
    ("targets", {"email_recipients": ["a@example.com,b@example.com"]},
     "targets.email_recipients.0"),
    ("targets", {"email_recipients": [f"u{i}@example.com" for i in range(51)]},
     "targets.email_recipients"),
    ("targets", {"webhook_url": "ftp://example.com/x"}, "targets.webhook_url"),
    ("targets", {"webhook_url": "example.com/hook"}, "targets.webhook_url"),
    ("targets", {"webhook_url": "http://"}, "targets.webhook_url"),
    ("targets", {"webhook_url": "http://[::1"}, "targets.webhook_url"),
    ("targets", {"webhook_url": "http://example.com:99999/"}, "targets.webhook_url"),
    ("targets", {"webhook_url": "https://example.com/a b"}, "targets.webhook_url"),
    ("targets", {"webhook_url": "https://example.com/" + "a" * 2048}, "targets.webhook_url"),
    ("targets", {"webhook_url": ["https://example.com"]}, "targets.webhook_url"),
    ("targets", {"push_urls": "ntfy://x"}, "targets.push_urls"),
    ("targets", {"push_urls": ["not a url"]}, "targets.push_urls.0"),
    ("targets", {"push_urls": ["://x"]}, "targets.push_urls.0"),
    ("targets", {"push_urls": [f"ntfy://t{i}" for i in range(21)]}, "targets.push_urls"),
]


@pytest.mark.parametrize(("field", "value", "path"), BAD)
def test_bad_values(field, value, path):
    assert set(errors_of(make(**{field: value}))) == {path}
    assert set(errors_of({field: value}, partial=True)) == {path}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{cam_id}", "unknown variable {cam_id}"),
        ("{camera", "unbalanced braces"),
        ("{hour!s}", "must not have a conversion or format spec"),
    ],
)
def test_dedup_template_messages(value, message):
    assert message in errors_of(make(dedup_key_template=value))["dedup_key_template"]


def test_messages_are_human():
    fields = errors_of(make(risk_threshold=200, min_confidence=2, name=""))
    assert fields == {
        "risk_threshold": "must be an integer from 0 to 100",
        "min_confidence": "must be a number from 0 to 1",
        "name": "must not be empty",
    }
    assert errors_of(make(schedule={"timezone": "Mars/Base"})) == {
        "schedule.timezone": "unknown timezone"
    }


# --- conditions ------------------------------------------------------------------------------

GOOD_CONDITIONS = [
    {"field": "summary", "op": "contains", "value": "ladder"},
    {"field": "summary", "op": "matches", "value": r"\b(ladder|crowbar)\b"},
    {"field": "summary", "op": "eq", "value": ""},
    {"field": "risk_level", "op": "in", "value": ["high", "critical"]},
    {"field": "risk_level", "op": "ne", "value": "low"},
    {"field": "risk_score", "op": "gte", "value": 70},
    {"field": "risk_score", "op": "eq", "value": 70},
    {"field": "risk_score", "op": "not_in", "value": [1, 2.5]},
    {"field": "duration_seconds", "op": "lt", "value": 12.5},
    {"field": "detection_count", "op": "gt", "value": 2},
    {"field": "max_confidence", "op": "lte", "value": 0.5},
    {"field": "labels", "op": "contains", "value": "night"},
    {"field": "labels", "op": "eq", "value": "night"},
    {"field": "labels", "op": "in", "value": ["night", "rain"]},
    {"field": "labels", "op": "matches", "value": "^ni"},
    {"field": "object_types", "op": "not_in", "value": ["cat"]},
    {"field": "zone_ids", "op": "contains", "value": "driveway"},
    {"field": "camera_id", "op": "eq", "value": "cam-1"},
    {"field": "source", "op": "matches", "value": "frigate|yolo"},
    {"field": "scene_index_id", "op": "ne", "value": "abc"},
]


@pytest.mark.parametrize("clause", GOOD_CONDITIONS, ids=lambda c: f"{c['field']}-{c['op']}")
def test_good_conditions(clause):
    assert parse_rule(make(conditions=[clause]))["conditions"] == [clause]


def test_condition_key_order_and_many():
    clause = {"value": 3, "op": "gt", "field": "detection_count"}
    stored = parse_rule(make(conditions=[clause] * 50))["conditions"]
    assert stored == [{"field": "detection_count", "op": "gt", "value": 3}] * 50
    assert list(stored[0]) == ["field", "op", "value"]
    assert errors_of(make(conditions=[clause] * 51)) == {
        "conditions": "must have at most 50 items"
    }


BAD_CONDITIONS = [
    ({"field": "colour", "op": "eq", "value": "red"}, {"conditions.0.field"}),
    ({"field": "summary", "op": "like", "value": "x"}, {"conditions.0.op"}),
    ({"field": 5, "op": None, "value": "x"}, {"conditions.0.field", "conditions.0.op"}),
    ({"field": "summary", "op": "eq"}, {"conditions.0.value"}),
    ({"op": "eq", "value": "x"}, {"conditions.0.field"}),
    ({}, {"conditions.0.field", "conditions.0.op", "conditions.0.value"}),
    ({"field": "summary", "op": "eq", "value": "x", "negate": True}, {"conditions.0.negate"}),
    ({"field": "summary", "op": "gt", "value": 3}, {"conditions.0.op"}),
    ({"field": "labels", "op": "lte", "value": 3}, {"conditions.0.op"}),
    ({"field": "risk_score", "op": "gt", "value": "70"}, {"conditions.0.value"}),
    ({"field": "risk_score", "op": "gt", "value": True}, {"conditions.0.value"}),
    ({"field": "risk_score", "op": "gt", "value": None}, {"conditions.0.value"}),
    ({"field": "risk_score", "op": "gt", "value": float("nan")}, {"conditions.0.value"}),
    ({"field": "risk_score", "op": "gt", "value": 10**16}, {"conditions.0.value"}),
    ({"field": "risk_score", "op": "eq", "value": "high"}, {"conditions.0.value"}),
    ({"field": "risk_score", "op": "contains", "value": "7"}, {"conditions.0.op"}),
    ({"field": "risk_score", "op": "matches", "value": "7"}, {"conditions.0.op"}),
    ({"field": "risk_score", "op": "in", "value": [1, "2"]}, {"conditions.0.value.1"}),
    ({"field": "risk_score", "op": "in", "value": 5}, {"conditions.0.value"}),
    ({"field": "risk_level", "op": "in", "value": []}, {"conditions.0.value"}),
    ({"field": "risk_level", "op": "in", "value": "high"}, {"conditions.0.value"}),
    ({"field": "risk_level", "op": "in", "value": ["high", ["x"]]}, {"conditions.0.value.1"}),
    ({"field": "labels", "op": "not_in", "value": list(range(101))}, {"conditions.0.value"}),
    ({"field": "summary", "op": "eq", "value": 5}, {"conditions.0.value"}),
    ({"field": "summary", "op": "eq", "value": None}, {"conditions.0.value"}),
    ({"field": "summary", "op": "eq", "value": ["a"]}, {"conditions.0.value"}),
    ({"field": "summary", "op": "contains", "value": 5}, {"conditions.0.value"}),
    ({"field": "summary", "op": "contains", "value": "x" * 501}, {"conditions.0.value"}),
    ({"field": "summary", "op": "matches", "value": "(unclosed"}, {"conditions.0.value"}),
    ({"field": "summary", "op": "matches", "value": "a{2,1}"}, {"conditions.0.value"}),
    ({"field": "summary", "op": "matches", "value": r"(a)\1"}, {"conditions.0.value"}),
    ({"field": "summary", "op": "matches", "value": "(?=a)b"}, {"conditions.0.value"}),
    ({"field": "summary", "op": "matches", "value": "(?<!a)b"}, {"conditions.0.value"}),
    ({"field": "summary", "op": "matches", "value": "[a--b]"}, {"conditions.0.value"}),
    ({"field": "summary", "op": "matches", "value": ""}, {"conditions.0.value"}),
    ({"field": "summary", "op": "matches", "value": "a" * 501}, {"conditions.0.value"}),
    ({"field": "summary", "op": "matches", "value": 5}, {"conditions.0.value"}),
    ({"field": "labels", "op": "eq", "value": ["night"]}, {"conditions.0.value"}),
]


@pytest.mark.parametrize(("clause", "paths"), BAD_CONDITIONS)
def test_bad_conditions(clause, paths):
    ok = {"field": "summary", "op": "contains", "value": "x"}
    assert set(errors_of(make(conditions=[clause]))) == paths
    shifted = {p.replace("conditions.0", "conditions.1") for p in paths}
    assert set(errors_of({"conditions": [ok, clause]}, partial=True)) == shifted


def test_refused_regex_refused_every_time():
    # Compiled patterns are cached; a refusal must not become a cache hit on the next attempt.
    for _ in range(3):
        assert set(errors_of(make(conditions=[
            {"field": "summary", "op": "matches", "value": r"x(y)\1"},
        ]))) == {"conditions.0.value"}


# --- partial updates -------------------------------------------------------------------------


def test_partial_returns_only_present_fields():
    assert parse_rule({}, partial=True) == {}
    assert parse_rule({"enabled": False}, partial=True) == {"enabled": False}
    assert parse_rule({"severity": "HIGH", "zone_ids": None}, partial=True) == {
        "severity": "high", "zone_ids": None,
    }


@pytest.mark.parametrize(
    "field",
    ["description", "risk_threshold", "object_types", "camera_ids", "zone_ids",
     "min_confidence", "schedule", "conditions", "dedup_key_template", "targets"],
)
def test_partial_null_clears_nullable_fields(field):
    assert parse_rule({field: None}, partial=True) == {field: None}


@pytest.mark.parametrize("field", ["name", "severity", "enabled", "cooldown_seconds", "channels"])
def test_null_refused_for_non_nullable_fields(field):
    assert set(errors_of({field: None}, partial=True)) == {field}
    assert set(errors_of(make(**{field: None}))) == {field}


def test_partial_still_refuses_unknown_and_bad():
    assert errors_of({"id": 3, "enabled": "no"}, partial=True) == {
        "id": "unknown field", "enabled": "must be true or false",
    }


def test_partial_output_in_field_order():
    update = parse_rule({"channels": ["push"], "name": "n", "enabled": True}, partial=True)
    assert list(update) == ["name", "enabled", "channels"]


# --- rule_from_record ------------------------------------------------------------------------


def test_rule_from_record_spec_example():
    record = {**parse_rule(SPEC_RULE), "id": "550e8400-e29b-41d4-a716-446655440000"}
    rule = rule_from_record(record)
    assert rule == Rule(
        id="550e8400-e29b-41d4-a716-446655440000",
        name="Critical Person Detection",
        severity="critical",
        enabled=True,
        risk_threshold=85,
        object_types=("person",),
        camera_ids=("camera-1", "camera-2"),
        zone_ids=None,
        min_confidence=0.9,
        schedule=Schedule(days=DAYS, start_time=time(0, 0), end_time=time(6, 0)),
        conditions=None,
        dedup_key_template="{camera_id}:{object_type}:{hour}",
        cooldown_seconds=600,
        channels=("email", "webhook"),
    )


def test_rule_from_record_conditions_and_defaults():
    record = {
        **parse_rule(make(
            conditions=[
                {"field": "risk_level", "op": "in", "value": ["high", "critical"]},
                {"field": "summary", "op": "contains", "value": "door"},
            ],
            schedule={"days": ["fri"], "start_time": "22:30", "timezone": "Europe/Paris"},
        )),
        "id": 7,
        "created_at": "ignored",
    }
    rule = rule_from_record(record)
    assert rule.id == "7"
    assert rule.conditions == (
        Condition("risk_level", "in", ("high", "critical")),
        Condition("summary", "contains", "door"),
    )
    assert rule.schedule == Schedule(("fri",), time(22, 30), time(0, 0), "Europe/Paris")
    assert rule.cooldown_seconds == 300
    assert rule.channels == ()
    hash(rule)  # frozen all the way down


def test_rule_from_minimal_record():
    rule = rule_from_record({"id": "r", "name": "n", "severity": "low"})
    assert rule == Rule(id="r", name="n", severity="low")


# --- list query, pagination, rule test -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, {"enabled": None, "severity": None, "q": None, "limit": 50, "offset": 0}),
        ({"enabled": "true"}, {"enabled": True}),
        ({"enabled": "FALSE"}, {"enabled": False}),
        ({"enabled": "1"}, {"enabled": True}),
        ({"enabled": "0"}, {"enabled": False}),
        ({"enabled": ""}, {"enabled": None}),
        ({"severity": "High"}, {"severity": "high"}),
        ({"severity": ""}, {"severity": None}),
        ({"limit": "1", "offset": "20"}, {"limit": 1, "offset": 20}),
        ({"limit": "1000"}, {"limit": 1000}),
        ({"limit": " 7 "}, {"limit": 7}),
        ({"limit": ""}, {"limit": 50}),
        ({"q": "  front door "}, {"q": "front door"}),
        ({"q": ""}, {"q": None}),
        ({"_": "1700000000", "utm_source": "x", "page": "abc"}, {}),  # unknown keys ignored
    ],
)
def test_parse_rule_query(args, expected):
    result = parse_rule_query(args)
    assert set(result) == {"enabled", "severity", "q", "limit", "offset"}
    for key, value in expected.items():
        assert result[key] == value


@pytest.mark.parametrize(
    ("args", "paths"),
    [
        ({"enabled": "yes"}, {"enabled"}),
        ({"enabled": "2"}, {"enabled"}),
        ({"severity": "urgent"}, {"severity"}),
        ({"limit": "0"}, {"limit"}),
        ({"limit": "1001"}, {"limit"}),
        ({"limit": "-1"}, {"limit"}),
        ({"limit": "+5"}, {"limit"}),
        ({"limit": "1_0"}, {"limit"}),
        ({"limit": "٥٠"}, {"limit"}),
        ({"limit": "5.0"}, {"limit"}),
        ({"limit": "9" * 40}, {"limit"}),
        ({"offset": "-1"}, {"offset"}),
        ({"offset": "x"}, {"offset"}),
        ({"q": "q" * 256}, {"q"}),
        ({"q": "a\x00"}, {"q"}),
        ({"enabled": "maybe", "severity": "x", "limit": "x", "offset": "x"},
         {"enabled", "severity", "limit", "offset"}),
    ],
)
def test_parse_rule_query_refuses(args, paths):
    with pytest.raises(ValidationError) as exc:
        parse_rule_query(args)
    assert set(exc.value.fields) == paths


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (None, {"event_ids": None, "test_time": None, "limit": 50}),
        ({}, {"event_ids": None, "test_time": None, "limit": 50}),
        (
            {"event_ids": [1, 2, 3], "test_time": "2025-12-23T03:00:00Z", "limit": 50},
            {"event_ids": [1, 2, 3], "test_time": datetime(2025, 12, 23, 3, tzinfo=UTC),
             "limit": 50},
        ),
        ({"event_ids": [3, 1, 3]}, {"event_ids": [3, 1]}),
        ({"event_ids": []}, {"event_ids": None}),
        ({"event_ids": None, "test_time": None, "limit": None},
         {"event_ids": None, "test_time": None, "limit": 50}),
        ({"test_time": 1766458800}, {"test_time": datetime(2025, 12, 23, 3, tzinfo=UTC)}),
        ({"limit": 1000}, {"limit": 1000}),
        ({"event_ids": [2.0]}, {"event_ids": [2]}),
    ],
)
def test_parse_rule_test(payload, expected):
    result = parse_rule_test(payload)
    assert set(result) == {"event_ids", "test_time", "limit"}
    for key, value in expected.items():
        assert result[key] == value


@pytest.mark.parametrize(
    ("payload", "paths"),
    [
        ([], {"body"}),
        ("x", {"body"}),
        ({"event_ids": "1,2"}, {"event_ids"}),
        ({"event_ids": [1, 0]}, {"event_ids.1"}),
        ({"event_ids": [-1]}, {"event_ids.0"}),
        ({"event_ids": ["1"]}, {"event_ids.0"}),
        ({"event_ids": [True]}, {"event_ids.0"}),
        ({"event_ids": [1.5]}, {"event_ids.0"}),
        ({"event_ids": [2**63]}, {"event_ids.0"}),
        ({"event_ids": list(range(1, 1002))}, {"event_ids"}),
        ({"test_time": "tomorrow"}, {"test_time"}),
        ({"test_time": True}, {"test_time"}),
        ({"limit": 0}, {"limit"}),
        ({"limit": 1001}, {"limit"}),
        ({"limit": "50"}, {"limit"}),
        ({"rule_id": "x"}, {"rule_id"}),
        ({"event_ids": [0], "limit": 0, "extra": 1}, {"event_ids.0", "limit", "extra"}),
    ],
)
def test_parse_rule_test_refuses(payload, paths):
    with pytest.raises(ValidationError) as exc:
        parse_rule_test(payload)
    assert set(exc.value.fields) == paths


# --- fuzz: whatever JSON comes in, only ValidationError comes out ----------------------------

INTERESTING = [
    "", " ", "person", "critical", "HIGH", "email", "push", "Mon", "sunday", "22:00", "9:05",
    "24:00", "Europe/Paris", "europe/paris", "../../etc/passwd", "/etc/passwd", "America",
    "{camera_id}", "{camera_id.__class__}", "{0}", "{}", "{", "}", "{hour!r}", "{hour:{date}}",
    "(a", "a.*", "[[x]", "https://example.com/h", "http://[::1", "http://x:99999", "a@b.co",
    "ntfy://topic", "summary", "risk_score", "labels", "eq", "gt", "in", "matches", "contains",
    "2025-12-23T10:00:00Z", "true", "0", "1", "\x00", "\ud800", "x" * 300,
]
SCALARS, JSON = json_junk(INTERESTING, RULE_FIELDS + SCHEDULE_KEYS + CONDITION_KEYS
                         + TARGET_KEYS + ("event_ids", "test_time"))


def near(values, junk=JSON):
    """Mostly plausible values, sometimes anything at all."""
    return fuzz_near(values, junk)


def near_list(values, max_size=4):
    return st.one_of(st.lists(near(values, SCALARS), max_size=max_size), JSON)


DAY_WORDS = [*DAYS, "Monday", "SUNDAY", "funday", "mo", ""]
TIMES = st.one_of(
    st.from_regex(r"\A[0-9]{1,3}:[0-9]{1,3}\Z"), near(["00:00", "23:59", "9:05", "24:00"])
)
ZONES = ["Europe/Paris", "europe/paris", "UTC", "Etc/GMT+5", "Mars/Base", "America", "..",
         "../etc/passwd", "/etc/localtime", "Europe/Paris/", "posixrules", "Factory", None]
SCHEDULES = st.one_of(
    st.fixed_dictionaries({}, optional={
        "days": near_list(DAY_WORDS, 9), "start_time": TIMES, "end_time": TIMES,
        "timezone": near(ZONES), "x": JSON,
    }),
    st.dictionaries(st.sampled_from(SCHEDULE_KEYS + ("x",)), JSON, max_size=5),
)
CONDITION_VALUES = [
    0, 1, 70, 2.5, -1, 10**16, True, None, "", "high", "night", "(a", "^ni", "[[x]", "a{2,1}",
    [], ["high", "low"], [1, 2], [1, "2"], [None], [["x"]],
]
CONDITIONS = st.lists(
    st.one_of(
        st.fixed_dictionaries({
            "field": st.sampled_from((*CONDITION_FIELDS, "colour")),
            "op": st.sampled_from((*CONDITION_OPS, "like")),
            "value": near(CONDITION_VALUES),
        }),
        st.dictionaries(st.sampled_from(CONDITION_KEYS + ("x",)), JSON, max_size=4),
        JSON,
    ),
    max_size=3,
)
TARGETS = st.one_of(
    st.fixed_dictionaries({}, optional={
        "email_recipients": near_list(["a@example.com", "A@EXAMPLE.COM", "nobody", "a@b"]),
        "webhook_url": near(["https://h.example/x", "http://[::1", "ftp://x", "http://", None]),
        "push_urls": near_list(["ntfy://t", "://x", "tgram://b/c", "no scheme"]),
        "x": JSON,
    }),
    st.dictionaries(st.sampled_from(TARGET_KEYS + ("x",)), JSON, max_size=4),
)
FIELD_VALUES = {
    "name": near(["n", " Front ", "", "x" * 256]),
    "description": near([None, "", "text", "d" * 2001]),
    "enabled": near([True, False, 0, "true"]),
    "severity": near([*SEVERITIES, "High", "urgent"]),
    "risk_threshold": near([None, 0, 100, 75.0, 75.5, 101, -1, True]),
    "object_types": near_list(["person", "Person", "car", " ", ""]),
    "camera_ids": near_list(["cam-1", "cam-1", " cam-2", "c" * 256]),
    "zone_ids": near_list(["driveway", "", "porch"]),
    "min_confidence": near([None, 0, 1, 0.5, 1.5, -0.1, True]),
    "schedule": st.one_of(st.none(), SCHEDULES),
    "conditions": st.one_of(st.none(), CONDITIONS),
    "dedup_key_template": near([None, "", "{rule_id}:{camera_id}", "{hour}-{date}", "{x}",
                                "{camera_id!r}", "{{", "}}", "{camera_id:>3}", "{0}"]),
    "cooldown_seconds": near([0, 300, 604800, 604801, -1, 1.5, None]),
    "channels": near_list([*CHANNELS, "EMAIL", "sms"]),
    "targets": st.one_of(st.none(), TARGETS),
}
RULES = st.fixed_dictionaries(
    {}, optional={**FIELD_VALUES, "x": JSON}
)
PAYLOADS = st.one_of(
    JSON,
    RULES,
    st.builds(
        lambda extra, severity: {"name": "n", "severity": severity, **extra},
        st.fixed_dictionaries({}, optional={k: v for k, v in FIELD_VALUES.items()
                                            if k not in ("name", "severity")}),
        st.sampled_from(SEVERITIES),
    ),
)
FUZZ = settings(
    max_examples=examples(300), database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SMALL_FUZZ = settings(FUZZ, max_examples=examples(200))


@FUZZ
@given(PAYLOADS, st.booleans())
def test_fuzz_parse_rule(payload, partial):
    try:
        result = parse_rule(payload, partial=partial)
    except ValidationError as exc:
        assert exc.fields
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in exc.fields.items())
        return
    json.dumps(result, allow_nan=False).encode("utf-8")  # storable as JSON
    if not partial:
        assert list(result) == list(RULE_FIELDS)
        rule_from_record({**result, "id": "r1"})
    assert parse_rule(json.loads(json.dumps(result)), partial=True) == result  # idempotent


@FUZZ
@given(st.sampled_from(RULE_FIELDS), JSON)
def test_fuzz_any_json_in_any_field(field, value):
    try:
        parse_rule({field: value}, partial=True)
    except ValidationError as exc:
        assert all(k == field or k.startswith(field + ".") for k in exc.fields)


QUERY_KEYS = st.one_of(TEXT, st.sampled_from(["enabled", "severity", "limit", "offset", "q"]))
QUERY_VALUES = st.one_of(TEXT, st.sampled_from([*INTERESTING, "50", "-1", "1001", "TRUE", "Low"]))


@SMALL_FUZZ
@given(st.dictionaries(QUERY_KEYS, QUERY_VALUES, max_size=6))
def test_fuzz_parse_rule_query(args):
    try:
        result = parse_rule_query(args)
    except ValidationError as exc:
        assert exc.fields
    else:
        assert 1 <= result["limit"] <= 1000 and result["offset"] >= 0


RULE_TESTS = st.fixed_dictionaries({}, optional={
    "event_ids": near_list([1, 2, 0, -1, 2**63, 3.0, "1"]),
    "test_time": near(["2025-12-23T03:00:00Z", 1766458800, "soon", None]),
    "limit": near([1, 50, 1000, 0, 1001, None]),
    "x": JSON,
})


@SMALL_FUZZ
@given(st.one_of(JSON, RULE_TESTS))
def test_fuzz_parse_rule_test(payload):
    try:
        result = parse_rule_test(payload)
    except ValidationError as exc:
        assert exc.fields
    else:
        assert 1 <= result["limit"] <= 1000


# --- the models' JSON Schema (the API document is generated from it) -------------------------

SCHEMA_CASES = [
    (make(), True),
    (SPEC_RULE, True),
    (make(name="a\x00"), False),
    (make(name="   "), False),
    (make(severity="urgent"), False),
    (make(risk_threshold=101), False),
    (make(min_confidence=1.5), False),
    (make(enabled=1), False),
    (make(schedule={"start_time": "24:00"}), False),
    (make(schedule={"days": ["funday"]}), False),
    (make(dedup_key_template="{cam_id}"), False),
    (make(targets={"webhook_url": "ftp://x"}), False),
    (make(targets={"email_recipients": ["nobody"]}), False),
    (make(targets={"push_urls": ["no scheme"]}), False),
    (make(conditions=[{"field": "colour", "op": "eq", "value": 1}]), False),
    (make(colour="red"), False),
    ({"severity": "low"}, False),
]


@pytest.mark.parametrize(("body", "valid"), SCHEMA_CASES)
def test_json_schema_refuses_what_the_model_refuses(body, valid):
    jsonschema = pytest.importorskip("jsonschema")
    from alerting.schemas.rules import RuleCreate

    schema_ok = jsonschema.Draft202012Validator(RuleCreate.model_json_schema()).is_valid(body)
    try:
        parse_rule(body)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert (schema_ok, model_ok) == (valid, valid)
