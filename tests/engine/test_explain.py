"""engine.explain: each criterion's required and actual values beside the verdict."""

from alerting.engine.explain import explain
from alerting.engine.rule_eval import match_event
from tests.support.engine_factories import (
    MONDAY_NOON,
    make_detection,
    make_event,
    make_rule,
    make_schedule,
)


def _explained(rule, event, **kw):
    verdict = match_event(rule, event, default_timezone="UTC", **kw)
    return {c.name: c for c in explain(rule, event, verdict, default_timezone="UTC",
                                       mode=kw.get("mode"))}


def test_required_against_actual_for_each_criterion():
    rule = make_rule(risk_threshold=50, object_types=["person"], camera_ids=["porch"],
                     zone_ids=["steps"], min_confidence=0.8, modes=["away"],
                     schedule=make_schedule(days=["mon"], start="22:00", end="06:00"))
    event = make_event(camera_id="porch", risk_score=40, started_at=MONDAY_NOON,
                       detections=[make_detection("person", 0.65, zone_ids=["steps"]),
                                   make_detection("cat", 0.99, zone_ids=["lawn"])])
    found = _explained(rule, event, mode="home")
    assert (found["risk_threshold"].required, found["risk_threshold"].actual,
            found["risk_threshold"].held) == ("risk ≥ 50", "risk 40", False)
    assert (found["object_type"].actual, found["object_type"].held) == ("cat, person", True)
    assert found["camera"].held and found["camera"].actual == "porch"
    # Zones and confidence of the rule's object types only: the cat's lawn and 99% are not.
    assert found["zone"].actual == "steps"
    assert (found["min_confidence"].required, found["min_confidence"].actual) == ("≥ 80%", "65%")
    assert not found["min_confidence"].held
    assert found["schedule"].required == "mon 22:00-06:00 UTC"
    assert (found["schedule"].actual, found["schedule"].held) == ("mon 12:00 UTC", False)
    assert (found["mode"].required, found["mode"].actual, found["mode"].held) == \
        ("away", "home", False)


def test_a_rule_with_no_criteria_explains_nothing():
    assert _explained(make_rule(), make_event()) == {}


def test_conditions_show_the_failing_clause_values():
    rule = make_rule(conditions=[("summary", "contains", "door")])
    found = _explained(rule, make_event(summary="a cat on the lawn"))
    assert found["conditions"].required == "summary contains 'door'"
    assert found["conditions"].actual == "summary = 'a cat on the lawn'"
    assert not found["conditions"].held


def test_a_schedule_starting_where_it_ends_is_all_day_as_the_rule_summary_says():
    rule = make_rule(schedule=make_schedule(days=["mon", "tue"], start="07:30", end="07:30"))
    found = _explained(rule, make_event(started_at=MONDAY_NOON))
    assert found["schedule"].required == "mon, tue all day UTC"
    everyday = make_rule(schedule=make_schedule(start="00:00", end="00:00"))
    assert _explained(everyday, make_event(started_at=MONDAY_NOON))["schedule"].required == \
        "every day all day UTC"


def test_track_criteria_say_what_they_ask_and_the_tracks_account():
    rule = make_rule(object_types=["person"], zone_ids=["yard"], min_dwell_seconds=30,
                     zone_sequence=["street", "yard"], sequence_within_seconds=20,
                     stationary_seconds=600, identities=["*"], exclude_identities=["bob"],
                     min_count=3)
    event = make_event(detections=[make_detection("person", 0.9, zone_ids=["yard"])])
    found = _explained(rule, event)
    assert {name: c.required for name, c in found.items() if name not in (
        "object_type", "zone")} == {
        "dwell": "30 s in yard", "zone_sequence": "street then yard within 20 s",
        "stationary": "still for 600 s", "identity": "any known; none of bob",
        "min_count": "3 at once in yard"}
    # No track id on the detection: each says so and none held.
    assert {(c.actual, c.held) for name, c in found.items() if name not in (
        "object_type", "zone")} == {("no track for this event", False)}
    unknown = _explained(make_rule(exclude_identities=["*"], min_dwell_seconds=5), event)
    assert (unknown["identity"].required, unknown["dwell"].required) == ("unknown", "5 s in view")
