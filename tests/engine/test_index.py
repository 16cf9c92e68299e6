from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.engine.index import RuleIndex, match_linear
from alerting.engine.rule_eval import match_event
from alerting.engine.types import Condition
from tests.support.engine_factories import make_detection, make_event, make_rule, make_schedule
from tests.support.fuzz import examples


def ids(rules):
    return [r.id for r in rules]


def test_candidates_come_from_the_camera_and_wildcard_buckets():
    index = RuleIndex(
        [
            make_rule(id="c", camera_ids=["cam-1"]),
            make_rule(id="a", camera_ids=["cam-2"]),
            make_rule(id="b"),
            make_rule(id="d", camera_ids=["cam-2", "cam-1"]),
        ]
    )
    assert ids(index.candidates(make_event(camera_id="cam-1"))) == ["b", "c", "d"]
    assert ids(index.candidates(make_event(camera_id="cam-2"))) == ["a", "b", "d"]
    assert ids(index.candidates(make_event(camera_id="cam-3"))) == ["b"]


def test_candidates_by_object_type_each_once():
    index = RuleIndex(
        [
            make_rule(id="person", object_types=["Person"]),
            make_rule(id="both", object_types=["person", "car"]),
            make_rule(id="car", object_types=["car"]),
            make_rule(id="any"),
            make_rule(id="zone-only", zone_ids=["driveway"]),
        ]
    )
    event = make_event(detections=[{"object_type": "car"}, {"object_type": "PERSON"}])
    assert ids(index.candidates(event)) == ["any", "both", "car", "person", "zone-only"]
    dog = make_event(detections=[{"object_type": "dog"}])
    assert ids(index.candidates(dog)) == ["any", "zone-only"]
    assert ids(index.candidates(make_event(detections=[]))) == ["any", "zone-only"]


def test_disabled_rules_are_not_indexed():
    index = RuleIndex([make_rule(id="on"), make_rule(id="off", enabled=False)])
    assert len(index) == 1
    assert "off" not in index
    assert ids(index.candidates(make_event())) == ["on"]


def test_add_remove_replace():
    index = RuleIndex()
    index.add(make_rule(id="r1", camera_ids=["cam-1"], object_types=["person"]))
    index.add(make_rule(id="r2"))
    assert len(index) == 2
    # Adding the same id again replaces it.
    index.add(make_rule(id="r1", camera_ids=["cam-2"]))
    assert len(index) == 2
    assert ids(index.candidates(make_event(camera_id="cam-1"))) == ["r2"]
    assert ids(index.candidates(make_event(camera_id="cam-2"))) == ["r1", "r2"]
    index.replace(make_rule(id="r1", enabled=False))
    assert "r1" not in index
    assert index.remove("r2")
    assert not index.remove("r2")
    assert len(index) == 0
    assert index._buckets == {}  # no empty buckets left behind


def test_match_all_returns_matching_verdicts_in_id_order():
    rules = [
        make_rule(id="z", object_types=["person"], dedup_key_template="{object_type}:{hour}"),
        make_rule(id="y", object_types=["car"]),
        make_rule(id="x", camera_ids=["cam-1"], risk_threshold=40),
        make_rule(id="w", camera_ids=["cam-1"], risk_threshold=90),
    ]
    verdicts = RuleIndex(rules).match_all(make_event())
    assert [v.rule_id for v in verdicts] == ["x", "z"]
    assert all(v.matches for v in verdicts)
    assert verdicts[1].dedup_key == "person:12"
    assert verdicts[0].matched_conditions == ["risk_threshold", "camera"]
    linear = match_linear(rules, make_event())
    assert sorted(v.rule_id for v in linear) == ["x", "z"]


def test_match_all_at_and_default_timezone():
    rule = make_rule(id="night", schedule=make_schedule(["mon"], "20:00", "23:00"))
    index = RuleIndex([rule])
    assert index.match_all(make_event()) == []
    assert index.match_all(make_event(), default_timezone="Asia/Tokyo")
    at = datetime(2025, 1, 6, 21, 0, tzinfo=UTC)
    assert [v.rule_id for v in index.match_all(make_event(), at=at)] == ["night"]


# Random rules and events over a small vocabulary, so that matches are frequent.
CAMERAS = ["cam-1", "cam-2", "cam-3"]
TYPES = ["person", "Person", "car", "dog"]
ZONES = ["driveway", "yard", "street"]


def maybe_list(values):
    return st.one_of(st.none(), st.lists(st.sampled_from(values), max_size=3).map(tuple))


schedules = st.one_of(
    st.none(),
    st.builds(
        make_schedule,
        days=st.lists(st.sampled_from(["sun", "mon", "tue"]), min_size=1, max_size=3),
        start=st.sampled_from(["00:00", "06:00", "22:00"]),
        end=st.sampled_from(["00:00", "06:00", "12:00"]),
        timezone=st.sampled_from([None, "America/New_York", "Europe/London"]),
    ),
)
conditions = st.one_of(
    st.none(),
    st.lists(
        st.sampled_from(
            [
                Condition("detection_count", "gte", 2),
                Condition("labels", "contains", "night"),
                Condition("summary", "matches", "door"),
                Condition("risk_level", "in", ["high", "critical"]),
            ]
        ),
        max_size=2,
    ).map(tuple),
)
rules_strategy = st.lists(
    st.builds(
        make_rule,
        id=st.uuids().map(str),
        enabled=st.booleans(),
        risk_threshold=st.one_of(st.none(), st.sampled_from([0, 30, 60, 90])),
        object_types=maybe_list(TYPES),
        camera_ids=maybe_list(CAMERAS),
        zone_ids=maybe_list(ZONES),
        min_confidence=st.one_of(st.none(), st.sampled_from([0.3, 0.6, 0.9])),
        schedule=schedules,
        conditions=conditions,
        dedup_key_template=st.sampled_from([None, "{object_type}:{zone_id}:{hour}"]),
    ),
    max_size=25,
    unique_by=lambda r: r.id,
)
detections = st.builds(
    make_detection,
    object_type=st.sampled_from(TYPES + ["cat"]),
    confidence=st.one_of(st.none(), st.sampled_from([0.2, 0.6, 0.95])),
    zone_ids=st.lists(st.sampled_from(ZONES), max_size=2, unique=True),
)
events_strategy = st.builds(
    make_event,
    camera_id=st.sampled_from(CAMERAS + ["cam-4"]),
    started_at=st.integers(0, 14 * 24 * 60).map(
        lambda m: datetime(2025, 3, 3, tzinfo=UTC) + timedelta(minutes=m)
    ),
    risk_score=st.one_of(st.none(), st.integers(0, 100)),
    summary=st.sampled_from([None, "Front door opened", "Nothing"]),
    labels=st.lists(st.sampled_from(["night", "motion"]), max_size=2),
    detections=st.lists(detections, max_size=4),
)


@settings(max_examples=examples(200), deadline=None)
@given(rules=rules_strategy, event=events_strategy)
def test_index_matches_exactly_what_linear_matches(rules, event):
    index = RuleIndex(rules)
    indexed = index.match_all(event)
    linear = match_linear(rules, event)
    assert [v.rule_id for v in indexed] == sorted(v.rule_id for v in linear)
    by_id = {v.rule_id: v for v in linear}
    for v in indexed:
        assert (v.dedup_key, v.detection) == (
            by_id[v.rule_id].dedup_key,
            by_id[v.rule_id].detection,
        )
    # And both agree with the explained single-rule matcher.
    explained = sorted(r.id for r in rules if r.enabled and match_event(r, event).matches)
    assert [v.rule_id for v in indexed] == explained
    # Candidates are unique, sorted, and a superset of the matches.
    candidate_ids = ids(index.candidates(event))
    assert candidate_ids == sorted(set(candidate_ids))
    assert set(explained) <= set(candidate_ids)


@settings(max_examples=examples(50), deadline=None)
@given(rules=rules_strategy, removed=st.data(), event=events_strategy)
def test_index_after_removals_matches_linear(rules, removed, event):
    index = RuleIndex(rules)
    gone = removed.draw(st.sets(st.sampled_from([r.id for r in rules]))) if rules else set()
    for rule_id in gone:
        index.remove(rule_id)
    kept = [r for r in rules if r.id not in gone]
    assert [v.rule_id for v in index.match_all(event)] == sorted(
        v.rule_id for v in match_linear(kept, event)
    )
