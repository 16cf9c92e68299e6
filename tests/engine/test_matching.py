from datetime import UTC, datetime

import pytest

from alerting.engine.rule_eval import compile_rule, match_event
from alerting.engine.types import Condition
from alerting.engine.vocabulary import MATCH_CONDITIONS
from tests.support.engine_factories import MONDAY_NOON, make_detection, make_event, make_rule


def both(rule, event, **kw):
    """Explained and hot-path verdicts, which must agree on the outcome."""
    explained = match_event(rule, event, **kw)
    fast = match_event(rule, event, explain=False, **kw)
    assert fast.matches is explained.matches
    assert fast.dedup_key == explained.dedup_key
    assert fast.detection == explained.detection
    if not explained.matches:
        assert fast.failed_conditions[0] in explained.failed_conditions
    return explained


def test_rule_without_criteria_matches_everything():
    verdict = both(make_rule(), make_event(detections=[]))
    assert verdict.matches
    assert verdict.matched_conditions == []
    assert verdict.failed_conditions == []
    assert verdict.detection is None
    assert verdict.dedup_key == "rule-1:cam-1"


# One criterion at a time: rule kwargs, event kwargs, does it hold.
SINGLE = [
    ("risk_threshold", {"risk_threshold": 50}, {"risk_score": 50}, True),
    ("risk_threshold", {"risk_threshold": 50}, {"risk_score": 49}, False),
    ("risk_threshold", {"risk_threshold": 0}, {"risk_score": None}, False),
    ("object_type", {"object_types": ["person"]}, {}, True),
    ("object_type", {"object_types": ["PERSON"]}, {}, True),
    ("object_type", {"object_types": ["car", "dog"]}, {}, False),
    ("object_type", {"object_types": ["person"]}, {"detections": []}, False),
    ("camera", {"camera_ids": ["cam-1", "cam-2"]}, {}, True),
    ("camera", {"camera_ids": ["cam-2"]}, {}, False),
    ("camera", {"camera_ids": ["CAM-1"]}, {}, False),  # ids are exact
    ("zone", {"zone_ids": ["driveway"]}, {"detections": [{"zone_ids": ["driveway"]}]}, True),
    ("zone", {"zone_ids": ["driveway"]}, {"detections": [{"zone_ids": ["yard"]}]}, False),
    ("zone", {"zone_ids": ["driveway"]}, {"detections": [{"zone_ids": []}]}, False),
    ("min_confidence", {"min_confidence": 0.9}, {"detections": [{"confidence": 0.9}]}, True),
    ("min_confidence", {"min_confidence": 0.9}, {"detections": [{"confidence": 0.89}]}, False),
    ("min_confidence", {"min_confidence": 0.1}, {"detections": [{"confidence": None}]}, False),
    ("schedule", {"schedule": {"days": ["mon"], "start": "09:00", "end": "17:00"}}, {}, True),
    ("schedule", {"schedule": {"days": ["tue"]}}, {}, False),
    ("conditions", {"conditions": [("summary", "contains", "door")]}, {"summary": "Door"}, True),
    ("conditions", {"conditions": [("summary", "contains", "door")]}, {"summary": None}, False),
]


@pytest.mark.parametrize(("name", "rule_kw", "event_kw", "holds"), SINGLE)
def test_single_criterion(name, rule_kw, event_kw, holds):
    verdict = both(make_rule(**rule_kw), make_event(**event_kw))
    assert verdict.matches is holds
    assert verdict.matched_conditions == ([name] if holds else [])
    assert verdict.failed_conditions == ([] if holds else [name])
    assert (verdict.dedup_key is not None) is holds


@pytest.mark.parametrize(
    "empty", [{"object_types": []}, {"camera_ids": []}, {"zone_ids": []}, {"conditions": []}]
)
def test_empty_lists_mean_any(empty):
    verdict = both(make_rule(**empty), make_event())
    assert verdict.matches
    assert verdict.matched_conditions == []


ALL = dict(
    risk_threshold=60,
    object_types=["person"],
    camera_ids=["cam-1"],
    zone_ids=["driveway"],
    min_confidence=0.8,
    schedule={"days": ["mon"], "start": "09:00", "end": "17:00"},
    modes=["away", "night"],
    conditions=[("labels", "contains", "night")],
)


def test_all_criteria_together_reported_in_order():
    event = make_event(
        risk_score=80,
        labels=["night"],
        detections=[{"object_type": "person", "confidence": 0.85, "zone_ids": ["driveway"]}],
    )
    verdict = both(make_rule(**ALL), event, mode="away")
    assert verdict.matches
    # The track criteria (tests/engine/test_tracks.py) follow the event criteria.
    assert verdict.matched_conditions == list(MATCH_CONDITIONS[:MATCH_CONDITIONS.index("dwell")])


def test_non_matching_event_lists_what_held_and_what_failed():
    event = make_event(
        risk_score=30,
        camera_id="cam-9",
        labels=["night"],
        detections=[{"object_type": "person", "confidence": 0.85, "zone_ids": ["driveway"]}],
    )
    verdict = both(make_rule(**ALL), event, mode="home")
    assert not verdict.matches
    assert verdict.matched_conditions == [
        "object_type",
        "zone",
        "min_confidence",
        "schedule",
        "conditions",
    ]
    assert verdict.failed_conditions == ["risk_threshold", "camera", "mode"]
    assert verdict.dedup_key is None
    assert verdict.detection is None


DRIVEWAY_PERSON_RULE = dict(object_types=["person"], zone_ids=["driveway"], min_confidence=0.8)


def test_person_at_point_eight_in_the_driveway_matches():
    person = make_detection("person", 0.8, zone_ids=["driveway"])
    verdict = both(make_rule(**DRIVEWAY_PERSON_RULE), make_event(detections=[person]))
    assert verdict.matches
    assert verdict.detection == person


def test_weak_person_in_driveway_and_sure_cat_elsewhere_does_not():
    event = make_event(
        detections=[
            make_detection("person", 0.4, zone_ids=["driveway"]),
            make_detection("cat", 0.8, zone_ids=["yard"]),
        ]
    )
    verdict = both(make_rule(**DRIVEWAY_PERSON_RULE), event)
    assert not verdict.matches
    assert verdict.matched_conditions == ["object_type", "zone"]
    assert verdict.failed_conditions == ["min_confidence"]


def test_sure_person_elsewhere_and_cat_in_driveway_does_not():
    event = make_event(
        detections=[
            make_detection("person", 0.9, zone_ids=["yard"]),
            make_detection("cat", 0.9, zone_ids=["driveway"]),
        ]
    )
    verdict = both(make_rule(**DRIVEWAY_PERSON_RULE), event)
    assert not verdict.matches
    assert verdict.matched_conditions == ["object_type"]
    # The chain: no person is in the driveway, so none can pass the confidence link either.
    assert verdict.failed_conditions == ["zone", "min_confidence"]


def test_the_detection_that_satisfies_everything_is_returned():
    wanted = make_detection("Person", 0.95, zone_ids=["street", "driveway"])
    event = make_event(
        detections=[
            make_detection("person", 0.5, zone_ids=["driveway"]),
            make_detection("dog", 0.99, zone_ids=["driveway"]),
            wanted,
        ]
    )
    rule = make_rule(dedup_key_template="{object_type}@{zone_id}", **DRIVEWAY_PERSON_RULE)
    verdict = both(rule, event)
    assert verdict.detection is wanted
    assert verdict.dedup_key == "person@driveway"


def test_rule_without_detection_criteria_reports_first_detection():
    event = make_event(detections=[{"object_type": "car"}, {"object_type": "dog"}])
    verdict = both(make_rule(dedup_key_template="{object_type}"), event)
    assert verdict.detection == event.detections[0]
    assert verdict.dedup_key == "car"


def test_at_overrides_the_schedule_time():
    rule = make_rule(schedule={"days": ["mon"], "start": "00:00", "end": "06:00"})
    event = make_event()  # Monday noon
    assert not both(rule, event).matches
    assert both(rule, event, at=datetime(2025, 1, 6, 3, 0, tzinfo=UTC)).matches


def test_schedule_uses_default_timezone():
    rule = make_rule(schedule={"days": ["mon"], "start": "20:00", "end": "23:00"})
    event = make_event()  # 12:00 UTC is 21:00 in Tokyo
    assert not both(rule, event).matches
    assert both(rule, event, default_timezone="Asia/Tokyo").matches


def test_dedup_hour_follows_at_and_schedule_timezone():
    rule = make_rule(
        dedup_key_template="{camera_id}:{hour}",
        schedule={"timezone": "America/New_York"},
    )
    assert both(rule, make_event()).dedup_key == "cam-1:07"
    at = datetime(2025, 1, 6, 20, 0, tzinfo=UTC)
    assert both(rule, make_event(), at=at).dedup_key == "cam-1:15"


def test_disabled_rule_is_still_evaluated():
    assert both(make_rule(enabled=False), make_event()).matches


def test_hot_path_names_the_failing_link_of_the_chain():
    event = make_event(detections=[make_detection("person", 0.9, zone_ids=["yard"])])
    verdict = match_event(make_rule(**DRIVEWAY_PERSON_RULE), event, explain=False)
    assert verdict.failed_conditions == ["zone"]
    assert verdict.matched_conditions == []


def test_rule_with_unhashable_condition_value_is_compiled_once():
    rule = make_rule(conditions=(Condition("labels", "in", ["night"]),))
    assert compile_rule(rule) is compile_rule(rule)
    assert both(rule, make_event(labels=["Night"])).matches


def test_equal_but_distinct_rules_each_compile():
    first = make_rule(risk_threshold=10)
    second = make_rule(risk_threshold=10)
    assert compile_rule(first) is not compile_rule(second)
    assert compile_rule(first).rule is first


def test_event_started_at_is_the_default_schedule_time():
    rule = make_rule(schedule={"days": ["mon"], "start": "11:00", "end": "13:00"})
    assert both(rule, make_event(started_at=MONDAY_NOON)).matches
