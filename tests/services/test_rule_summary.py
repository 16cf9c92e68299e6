"""The rule form's plain-language summary and dedup key preview (services.rule_summary)."""

from datetime import UTC, datetime

import pytest

from alerting.services.rule_summary import (
    dedup_preset,
    describe_rule,
    duration,
    per_words,
    sample_dedup_key,
)

NIGHT = {"days": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"], "start_time": "22:00",
         "end_time": "06:00", "timezone": "Europe/London"}


def test_the_issue_example_reads_as_written():
    payload = {"severity": "high", "object_types": ["person"], "camera_ids": ["back-door"],
               "zone_ids": ["porch"], "schedule": NIGHT, "cooldown_seconds": 300,
               "dedup_key_template": "{rule_id}:{camera_id}:{object_type}"}
    assert describe_rule(payload) == (
        "High: a person on back-door in porch at night (22:00-06:00 Europe/London), "
        "at most once every 5 min per camera and object; shown in the browser only")


def test_an_empty_draft_is_still_a_sentence():
    assert describe_rule({}) == ("Medium: anything on any camera at any time, at most once "
                                 "every 5 min per camera; shown in the browser only")


@pytest.mark.parametrize(("schedule", "words"), [
    ({**NIGHT, "start_time": "08:00", "end_time": "08:00"}, "all day (Europe/London)"),
    ({**NIGHT, "timezone": None, "start_time": "08:00", "end_time": "18:00",
      "days": ["mon", "tue", "wed", "thu", "fri"]}, "weekdays from 08:00 to 18:00 (Asia/Tokyo)"),
    ({**NIGHT, "days": ["sat", "sun"]}, "at night at weekends (22:00-06:00 Europe/London)"),
    ({**NIGHT, "days": ["mon"], "start_time": "01:00"}, "on Mon from 01:00 to 06:00"),
    ({**NIGHT, "end_time": ""}, "on a schedule with no end time yet"),
])
def test_schedules_in_words_with_the_default_timezone(schedule, words):
    assert words in describe_rule({"schedule": schedule}, default_timezone="Asia/Tokyo")


def test_details_that_narrow_the_rule_are_named():
    text = describe_rule({"severity": "critical", "object_types": ["car", "truck", "bus"],
                          "camera_ids": ["gate", "drive"], "min_confidence": 0.8,
                          "risk_threshold": 70, "conditions": [{}, {}], "modes": ["away"],
                          "cooldown_seconds": 0, "channels": ["email", "webhook"],
                          "enabled": False})
    assert text == ("Critical: a car, truck or bus (at least 80% sure) on gate or drive with a "
                    "risk score of at least 70 when 2 conditions hold at any time in away mode, "
                    "every time; sent by email and webhook (disabled)")


def test_a_camera_offline_rule():
    assert describe_rule({"kind": "camera_offline", "severity": "low", "camera_ids": ["gate"],
                          "offline_after_seconds": 600}) == (
        "Low: when gate sends nothing for 10 min, and again when it is back")


@pytest.mark.parametrize(("seconds", "text"), [(30, "30 s"), (90, "90 s"), (300, "5 min"),
                                                (7200, "2 h"), (0, "0 s")])
def test_durations_in_the_largest_whole_unit(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize(("template", "words", "preset"), [
    (None, "per camera", "camera"),
    ("{rule_id}:{camera_id}", "per camera", "camera"),
    ("{rule_id}:{camera_id}:{object_type}", "per camera and object", "camera_object"),
    ("{rule_id}:{camera_id}:{zone_id}", "per camera and zone", "zone"),
    ("{rule_id}", "for the whole rule", "custom"),
    ("{camera_id}-{date}-{hour}", "per camera, day and hour", "custom"),
])
def test_dedup_templates_in_words_and_as_presets(template, words, preset):
    assert per_words(template) == words and dedup_preset(template) == preset


def test_sample_key_uses_the_rules_first_values_and_its_timezone():
    payload = {"camera_ids": ["back-door"], "object_types": ["Person"],
               "dedup_key_template": "{camera_id}:{object_type}:{zone_id}:{date}T{hour}",
               "schedule": NIGHT}
    key, sample = sample_dedup_key(payload, now=datetime(2026, 7, 1, 23, 30, tzinfo=UTC))
    assert key == "back-door:person:driveway:2026-07-02T00"  # London is UTC+1 in July
    assert sample == {"camera_id": "back-door", "object_type": "Person", "zone_id": "driveway"}
    assert sample_dedup_key({}, rule_id="r1")[0] == "r1:front-door"
