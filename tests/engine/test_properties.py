"""Properties of the whole engine over random rules and events (hypothesis):
matching never raises, a verdict is the conjunction of its clauses' verdicts, and the hot
path (explain=False) and the explaining path agree."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.engine.rule_eval import match_event
from alerting.engine.types import rule_from_record
from alerting.engine.vocabulary import CONDITION_FIELDS, DAYS, SEVERITIES
from alerting.schemas.rules import parse_rule
from tests.support.fuzz import examples

CAMERAS = ["front", "back", "garage"]
TYPES = ["person", "car", "Cat", "dog"]
ZONES = ["porch", "drive", "yard"]
WORDS = ["ladder", "postman", "night", "van"]
TIMEZONES = [None, "UTC", "Europe/London", "America/New_York", "Asia/Kolkata"]

def some(items):
    return st.none() | st.lists(st.sampled_from(items), min_size=1, max_size=3, unique=True)


def hhmm():
    return st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 30]))


schedules = st.none() | st.fixed_dictionaries({
    "days": st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True),
    "start_time": hhmm(), "end_time": hhmm(), "timezone": st.sampled_from(TIMEZONES),
})


def condition():
    text = st.fixed_dictionaries({
        "field": st.sampled_from(["summary", "risk_level", "camera_id", "source"]),
        "op": st.sampled_from(["eq", "ne", "contains", "matches"]),
        "value": st.sampled_from(WORDS + ["high", "front"])})
    number = st.fixed_dictionaries({
        "field": st.sampled_from([f for f, k in CONDITION_FIELDS.items() if k == "number"]),
        "op": st.sampled_from(["gt", "gte", "lt", "lte", "eq", "ne"]),
        "value": st.integers(0, 100) | st.floats(0, 1)})
    listing = st.fixed_dictionaries({
        "field": st.sampled_from(["labels", "object_types", "zone_ids"]),
        "op": st.sampled_from(["contains", "in", "not_in"]),
        "value": st.sampled_from(WORDS + TYPES + ZONES)})
    listing = listing.map(lambda c: c if c["op"] == "contains" else {**c, "value": [c["value"]]})
    return text | number | listing


rule_payloads = st.fixed_dictionaries({
    "name": st.just("random rule"),
    "severity": st.sampled_from(SEVERITIES),
    "risk_threshold": st.none() | st.integers(0, 100),
    "object_types": some(TYPES),
    "camera_ids": some(CAMERAS),
    "zone_ids": some(ZONES),
    "min_confidence": st.none() | st.floats(0, 1),
    "schedule": schedules,
    "conditions": st.none() | st.lists(condition(), min_size=1, max_size=3),
    "dedup_key_template": st.sampled_from([None, "{camera_id}:{object_type}:{hour}",
                                           "{zone_id}{date}{weekday}{severity}"]),
})

detections = st.lists(st.builds(
    dict, object_type=st.sampled_from(TYPES + ["bird"]),
    confidence=st.none() | st.floats(0, 1),
    zone_ids=st.lists(st.sampled_from(ZONES), max_size=2, unique=True)), max_size=4)

events = st.builds(
    lambda camera, minutes, score, dets, labels, summary, duration: {
        "camera_id": camera,
        "started_at": (datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat(),
        "ended_at": None if duration is None else
        (datetime(2026, 3, 1, tzinfo=UTC)
         + timedelta(minutes=minutes, seconds=duration)).isoformat(),
        "risk_score": score, "detections": dets, "labels": labels, "summary": summary},
    st.sampled_from(CAMERAS), st.integers(0, 60 * 24 * 60),  # spans the March DST changes
    st.none() | st.integers(0, 100), detections,
    st.lists(st.sampled_from(WORDS + TYPES), max_size=3, unique=True),
    st.none() | st.sampled_from(WORDS), st.none() | st.integers(0, 600))


def engine_rule(payload):
    return rule_from_record({"id": "r-1", **parse_rule(payload)})


def engine_event(raw):
    from alerting.engine.event_record import event_from_record
    from alerting.schemas.events import parse_event

    return event_from_record({"id": 1, **parse_event(raw, now=datetime.now(UTC))})


def clauses(rule):
    """The rule split into its independent clauses. Object type, zone and confidence are one
    clause: a single detection must satisfy them together."""
    empty = replace(rule, risk_threshold=None, object_types=None, camera_ids=None,
                    zone_ids=None, min_confidence=None, schedule=None, conditions=None)
    parts = []
    if rule.risk_threshold is not None:
        parts.append(replace(empty, risk_threshold=rule.risk_threshold))
    if rule.camera_ids:
        parts.append(replace(empty, camera_ids=rule.camera_ids))
    if rule.object_types or rule.zone_ids or rule.min_confidence is not None:
        parts.append(replace(empty, object_types=rule.object_types, zone_ids=rule.zone_ids,
                             min_confidence=rule.min_confidence))
    if rule.schedule is not None:
        parts.append(replace(empty, schedule=rule.schedule))
    for clause in rule.conditions or ():
        parts.append(replace(empty, conditions=(clause,)))
    return parts


@settings(max_examples=examples(400), deadline=None)
@given(rule_payloads, events)
def test_verdict_is_the_conjunction_of_its_clauses(payload, raw_event):
    rule, event = engine_rule(payload), engine_event(raw_event)
    verdict = match_event(rule, event)
    parts = [match_event(part, event).matches for part in clauses(rule)]
    assert verdict.matches == all(parts)


@settings(max_examples=examples(400), deadline=None)
@given(rule_payloads, events)
def test_explain_and_hot_path_agree(payload, raw_event):
    rule, event = engine_rule(payload), engine_event(raw_event)
    explained = match_event(rule, event, explain=True)
    fast = match_event(rule, event, explain=False)
    assert explained.matches == fast.matches
    assert explained.matches == (not explained.failed_conditions)
    assert not set(explained.matched_conditions) & set(explained.failed_conditions)
    if explained.matches:
        assert explained.dedup_key == fast.dedup_key and explained.dedup_key is not None
        assert fast.failed_conditions == []
    else:
        assert fast.failed_conditions[0] in explained.failed_conditions
