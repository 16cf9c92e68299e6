from datetime import UTC, datetime

import pytest

from alerting.engine.dedup import dedup_zone, parse_template, render_dedup_key
from tests.support.engine_factories import make_detection, make_event, make_rule, make_schedule

# Monday 2025-01-06 03:15 UTC: Sunday 22:15 in New York.
WHEN = datetime(2025, 1, 6, 3, 15, tzinfo=UTC)
PERSON = make_detection("Person", 0.9, zone_ids=["street", "driveway"])


def key(template, detection=PERSON, when=WHEN, default_timezone="UTC", **rule_kw):
    rule = make_rule(id="r1", severity="critical", dedup_key_template=template, **rule_kw)
    return render_dedup_key(rule, make_event(camera_id="cam-7"), detection, when, default_timezone)


def test_default_template():
    assert key(None) == "r1:cam-7"
    assert key("") == "r1:cam-7"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{camera_id}", "cam-7"),
        ("{rule_id}", "r1"),
        ("{severity}", "critical"),
        ("{object_type}", "person"),  # casefolded: types match case-insensitively
        ("{zone_id}", "street"),
        ("{hour}", "03"),
        ("{date}", "2025-01-06"),
        ("{weekday}", "mon"),
        ("{camera_id}:{object_type}:{hour}", "cam-7:person:03"),
        ("fixed", "fixed"),
        ("100%:{camera_id}", "100%:cam-7"),
        ("%s{camera_id}%%", "%scam-7%%"),
        ("{{literal}}:{rule_id}", "{literal}:r1"),
        ("{hour:>4}", "  03"),
    ],
)
def test_variables(template, expected):
    assert key(template) == expected


def test_time_variables_in_schedule_timezone():
    schedule = make_schedule(timezone="America/New_York")
    assert key("{weekday} {date} {hour}", schedule=schedule) == "sun 2025-01-05 22"


def test_time_variables_in_default_timezone_without_schedule_timezone():
    assert key("{hour}", default_timezone="Asia/Tokyo") == "12"
    assert key("{hour}", default_timezone="Asia/Tokyo", schedule=make_schedule()) == "12"


def test_hour_is_zero_padded_and_changes_the_key_each_hour():
    early = datetime(2025, 1, 6, 0, 59, tzinfo=UTC)
    late = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)
    assert key("{hour}", when=early) == "00"
    assert key("{hour}", when=late) == "01"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{camera_id.__class__}", "{camera_id.__class__}"),
        ("{rule_id[0]}", "{rule_id[0]}"),
        ("{0}", "{0}"),
        ("{}", "{}"),
        ("{nope}", "{nope}"),
        ("{rule_id!r}", "{rule_id!r}"),
        ("{hour:{camera_id}}", "{hour:{camera_id}}"),
        ("{camera_id", "{camera_id"),  # malformed: kept as text
    ],
)
def test_user_text_is_never_evaluated(template, expected):
    assert key(template) == expected


def test_object_type_and_zone_empty_without_detection():
    assert key("{object_type}|{zone_id}", detection=None) == "|"


@pytest.mark.parametrize(
    ("rule_zones", "detection_zones", "expected"),
    [
        (["driveway"], ["street", "driveway"], "driveway"),  # the zone the rule asked for
        (["porch"], ["street", "driveway"], "street"),
        (None, ["street", "driveway"], "street"),
        (["driveway"], [], ""),
    ],
)
def test_zone_id(rule_zones, detection_zones, expected):
    detection = make_detection(zone_ids=detection_zones)
    assert key("{zone_id}", detection=detection, zone_ids=rule_zones) == expected
    assert dedup_zone(rule_zones and tuple(rule_zones), detection) == expected


def test_parse_is_cached():
    assert parse_template("{rule_id}:{hour}") is parse_template("{rule_id}:{hour}")
