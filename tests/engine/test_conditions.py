import time
from datetime import timedelta

import pytest

from alerting.engine.conditions import (
    _BUILDERS,
    _FIELDS,
    clause_holds,
    compile_condition,
    conditions_hold,
    event_field,
)
from alerting.engine.regex import RegexError, compile_regex, regex_problem
from alerting.engine.types import Condition
from alerting.engine.vocabulary import CONDITION_FIELDS, CONDITION_OPS
from tests.support.engine_factories import MONDAY_NOON, make_condition, make_event


def rich_event(**kw):
    defaults = dict(
        summary="Person walking up the Driveway",
        risk_level="high",
        risk_score=72,
        ended_at=MONDAY_NOON + timedelta(seconds=90),
        labels=["Night", "motion"],
        source="frigate",
        scene_index_id="scene-9",
        detections=[
            {"object_type": "person", "confidence": 0.8, "zone_ids": ["driveway"]},
            {"object_type": "Car", "confidence": None, "zone_ids": ["street", "driveway"]},
            {"object_type": "person", "confidence": 0.6, "zone_ids": []},
        ],
    )
    defaults.update(kw)
    return make_event(**defaults)


def test_every_field_and_operator_is_implemented():
    assert set(_FIELDS) == set(CONDITION_FIELDS)
    assert set(_BUILDERS) == set(CONDITION_OPS)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("summary", "Person walking up the Driveway"),
        ("risk_level", "high"),
        ("risk_score", 72),
        ("duration_seconds", 90.0),
        ("detection_count", 3),
        ("max_confidence", 0.8),
        ("labels", ("Night", "motion")),
        ("object_types", ("person", "Car")),
        ("zone_ids", ("driveway", "street")),
        ("camera_id", "cam-1"),
        ("source", "frigate"),
        ("scene_index_id", "scene-9"),
    ],
)
def test_event_field(name, expected):
    assert event_field(rich_event(), name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("summary", None),
        ("duration_seconds", None),
        ("max_confidence", None),
        ("detection_count", 0),
        ("object_types", ()),
        ("zone_ids", ()),
        ("labels", ()),
        ("risk_score", None),
        ("risk_level", None),
    ],
)
def test_event_field_when_missing(name, expected):
    assert event_field(make_event(detections=[], risk_score=None), name) == expected


def test_max_confidence_ignores_unknown_confidences():
    event = make_event(detections=[{"confidence": None}, {"confidence": 0.4}])
    assert event_field(event, "max_confidence") == 0.4
    assert event_field(make_event(detections=[{"confidence": None}]), "max_confidence") is None


@pytest.mark.parametrize(
    ("score", "level"), [(10, "low"), (45, "medium"), (70, "high"), (90, "critical")]
)
def test_risk_level_derived_from_score_when_absent(score, level):
    assert event_field(make_event(risk_score=score), "risk_level") == level


def test_unknown_field_raises():
    with pytest.raises(ValueError):
        event_field(make_event(), "colour")
    with pytest.raises(ValueError):
        clause_holds(make_condition("colour", "eq", "red"), make_event())


def test_unknown_operator_raises():
    with pytest.raises(ValueError):
        clause_holds(make_condition("summary", "like", "x"), make_event())


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        # text: case-insensitive
        ("summary", "eq", "person walking up the driveway", True),
        ("summary", "eq", "person", False),
        ("summary", "ne", "person", True),
        ("risk_level", "eq", "HIGH", True),
        ("risk_level", "ne", "High", False),
        ("summary", "contains", "DRIVEWAY", True),
        ("summary", "contains", "garage", False),
        ("summary", "contains", ["person", "driveway"], True),
        ("summary", "contains", ["person", "garage"], False),
        ("summary", "matches", r"^person\b", True),
        ("summary", "matches", r"walk(ing|ed)", True),
        ("summary", "matches", r"^driveway", False),
        ("risk_level", "in", ["High", "critical"], True),
        ("risk_level", "in", ["low"], False),
        ("risk_level", "not_in", ["low", "medium"], True),
        ("risk_level", "not_in", ["HIGH"], False),
        ("risk_level", "in", "high", True),  # a lone value is a one-item list
        ("summary", "gt", 3, False),  # ordering only on numbers
        # numbers: numeric
        ("risk_score", "eq", 72, True),
        ("risk_score", "eq", 72.0, True),
        ("risk_score", "eq", "72", True),
        ("risk_score", "ne", 71, True),
        ("risk_score", "gt", 71, True),
        ("risk_score", "gt", 72, False),
        ("risk_score", "gte", 72, True),
        ("risk_score", "lt", 72, False),
        ("risk_score", "lte", 72, True),
        ("risk_score", "gt", "not a number", False),
        ("risk_score", "eq", True, False),  # a boolean is not a number
        ("risk_score", "in", [70, 72], True),
        ("risk_score", "not_in", [70, 72], False),
        ("risk_score", "contains", 7, False),
        ("risk_score", "matches", "7", False),
        ("duration_seconds", "gte", 90, True),
        ("duration_seconds", "lt", 60, False),
        ("detection_count", "eq", 3, True),
        ("max_confidence", "gte", 0.8, True),
        ("max_confidence", "gt", 0.8, False),
        # lists: any element, case-insensitive
        ("labels", "contains", "night", True),
        ("labels", "contains", "day", False),
        ("labels", "contains", "nig", False),  # membership, not substring
        ("labels", "in", ["NIGHT", "audio"], True),
        ("labels", "in", ["audio"], False),
        ("labels", "not_in", ["audio"], True),
        ("labels", "not_in", ["motion"], False),
        ("labels", "matches", "^mot", True),
        ("labels", "matches", "^day", False),
        ("labels", "eq", "motion", True),
        ("labels", "eq", ["motion", "night"], True),  # same elements, any order
        ("labels", "eq", ["motion"], False),
        ("labels", "ne", ["motion"], True),
        ("labels", "gt", 1, False),
        ("object_types", "contains", "car", True),
        ("object_types", "in", ["dog", "CAR"], True),
        ("zone_ids", "contains", "street", True),
        ("zone_ids", "not_in", ["garage"], True),
        ("camera_id", "eq", "CAM-1", True),
        ("source", "in", ["frigate", "yolo"], True),
    ],
)
def test_operators(field, op, value, expected):
    assert clause_holds(make_condition(field, op, value), rich_event()) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "x", False),
        ("ne", "x", True),
        ("gt", 1, False),
        ("gte", 1, False),
        ("lt", 1, False),
        ("lte", 1, False),
        ("in", ["x"], False),
        ("not_in", ["x"], True),
        ("contains", "x", False),
        ("matches", ".*", False),
    ],
)
def test_missing_value_only_satisfies_negative_operators(op, value, expected):
    event = make_event(summary=None)
    assert clause_holds(make_condition("summary", op, value), event) is expected
    no_duration = make_event()
    assert clause_holds(make_condition("duration_seconds", op, value), no_duration) is expected


def test_bad_regex_never_matches():
    assert not clause_holds(make_condition("summary", "matches", "(unclosed"), rich_event())


def test_compiled_clause_is_cached_even_with_a_list_value():
    condition = Condition("labels", "in", ["night"])
    assert compile_condition(condition) is compile_condition(condition)
    assert clause_holds(condition, rich_event())


def test_conditions_hold_needs_every_clause():
    event = rich_event()
    yes = make_condition("risk_score", "gte", 50)
    no = make_condition("labels", "contains", "audio")
    assert conditions_hold([yes], event)
    assert not conditions_hold([yes, no], event)
    assert conditions_hold([], event)
    assert conditions_hold(None, event)


def test_catastrophic_pattern_runs_in_linear_time():
    # ^(a+)+$ backtracks exponentially in a backtracking engine: 28 characters took seconds.
    condition = make_condition("summary", "matches", "^(a+)+$")
    started = time.perf_counter()
    assert not clause_holds(condition, make_event(summary="a" * 9_999 + "!"))
    assert clause_holds(condition, make_event(summary="A" * 10_000))
    assert time.perf_counter() - started < 1.0


def test_matches_is_a_case_insensitive_search():
    event = rich_event()  # "Person walking up the Driveway"
    assert clause_holds(make_condition("summary", "matches", "DRIVEWAY$"), event)
    assert clause_holds(make_condition("summary", "matches", "walk"), event)  # anywhere
    assert not clause_holds(make_condition("summary", "matches", r"(p)\1"), event)


def test_regex_helper_explains_what_re2_refuses():
    assert regex_problem("walk(ing|ed)") is None
    assert "\\1" in regex_problem(r"(a)\1")
    assert regex_problem("(?=x)") is not None
    with pytest.raises(RegexError):
        compile_regex("(?<=x)y")
