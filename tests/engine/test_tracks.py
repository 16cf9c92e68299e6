"""Tracks and the track criteria, on a fake clock (plain numbers: seconds)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.engine.rule_eval import match_event
from alerting.engine.tracks import (
    Observation,
    Track,
    TrackContext,
    due_at,
    evaluate,
    find_sequence,
    holds,
    observe,
    stay_start,
    track_spec,
)
from tests.support.engine_factories import make_detection, make_event, make_rule
from tests.support.fuzz import examples

TIMEOUT = 60.0


def run(*steps, track_id="t1", camera="cam-1"):
    """A track from (at, zones[, fields]) steps."""
    track = None
    for step in steps:
        at, zones, *more = step
        obs = Observation(at=at, object_type="person", zones=tuple(zones), **(more[0] if more
                                                                             else {}))
        track = observe(track, obs, camera, track_id)
    return track


def ctx(track, at, *others):
    return TrackContext(at=at, timeout=TIMEOUT, tracks={track.track_id: track},
                        camera=(track, *others))


def check(rule, track, at, *others):
    return evaluate(track_spec(rule), track, ctx(track, at, *others))


def test_attributes_keep_each_name_with_its_best_score_late_messages_too():
    track = run((0, [], {"attributes": (("face", 0.6),)}),
                (5, [], {"attributes": (("face", 0.9), ("license_plate", None))}),
                (3, [], {"attributes": (("face", 0.95), ("license_plate", 0.7))}),  # late
                (9, [], {"attributes": (("face", 0.5),)}))
    assert track.attributes == {"face": 0.95, "license_plate": 0.7}
    assert Track.from_dict(track.to_dict()).attributes == track.attributes
    assert Track.from_dict({**track.to_dict(), "attributes": None}).attributes == {}


# --- dwell -----------------------------------------------------------------------------------

def test_dwell_exactly_at_the_threshold_holds_and_a_moment_before_does_not():
    rule = make_rule(zone_ids=["gate"], min_dwell_seconds=30)
    track = run((100.0, ["gate"]))
    assert check(rule, track, 129.999)["dwell"] == (
        False, "in `gate` for 30 s of the 30 s required")  # 29.999 rounds in the text only
    assert check(rule, track, 130.0)["dwell"][0] is True
    assert check(rule, track, 112.0)["dwell"] == (False, "in `gate` for 12 s of the 30 s required")
    assert due_at(track_spec(rule), track, TIMEOUT) == 130.0


def test_leaving_and_re_entering_restarts_the_dwell():
    rule = make_rule(zone_ids=["gate"], min_dwell_seconds=30)
    track = run((100.0, ["gate"]), (120.0, ["street"]), (125.0, ["gate"]))
    assert stay_start(track, frozenset({"gate"})) == 125.0
    assert check(rule, track, 150.0)["dwell"] == (False, "in `gate` for 25 s of the 30 s required")
    assert check(rule, track, 155.0)["dwell"][0] is True
    assert due_at(track_spec(rule), track, TIMEOUT) == 155.0


def test_each_stay_lasts_to_its_exit_or_while_the_track_is_open():
    track = run((100.0, ["gate"]), (120.0, ["street"]), (125.0, ["gate"]))
    again = track.visits[-1]
    assert [track.stay_seconds(v, 150.0, TIMEOUT) for v in track.visits] == [20.0, 5.0, 25.0]
    # Silent past the timeout: it left when last seen.
    assert track.stay_seconds(again, 500.0, TIMEOUT) == 0.0
    ended = run((100.0, ["gate"]), (130.0, ["gate"], {"end": True}))
    assert ended.stay_seconds(ended.visits[0], 500.0, TIMEOUT) == 30.0


def test_out_of_the_zone_now_is_no_dwell_and_no_due_time():
    rule = make_rule(zone_ids=["gate"], min_dwell_seconds=5)
    track = run((100.0, ["gate"]), (120.0, []))
    held, why = check(rule, track, 130.0)["dwell"]
    assert not held and why.startswith("not in `gate` now")
    assert due_at(track_spec(rule), track, TIMEOUT) is None


def test_moving_between_two_dwell_zones_is_one_stay():
    rule = make_rule(dwell_zone_ids=["porch", "steps"], min_dwell_seconds=30)
    track = run((100.0, ["porch"]), (110.0, ["porch", "steps"]), (115.0, ["steps"]))
    assert stay_start(track, frozenset({"porch", "steps"})) == 100.0
    assert check(rule, track, 130.0)["dwell"][0] is True


def test_dwell_without_zones_is_time_on_camera():
    rule = make_rule(min_dwell_seconds=10)
    track = run((100.0, []))
    assert check(rule, track, 110.0)["dwell"] == (True, "in view for 10 s of the 10 s required")


def test_a_silent_track_ends_when_last_seen_after_the_timeout():
    rule = make_rule(zone_ids=["gate"], min_dwell_seconds=30)
    track = run((100.0, ["gate"]), (110.0, ["gate"]))
    # Presumed there while open (last seen 110, open until 170) ...
    assert check(rule, track, 140.0)["dwell"][0] is True
    # ... but once the timeout passed, it left when last seen: 10 s.
    assert check(rule, track, 171.0)["dwell"] == (False, "in `gate` for 10 s of the 30 s required")
    assert due_at(track_spec(make_rule(zone_ids=["gate"], min_dwell_seconds=90)), track,
                  TIMEOUT) is None  # would come after the track ends


def test_a_track_its_source_ends_has_no_timeout_until_its_end():
    rule = make_rule(min_dwell_seconds=3600)
    track = run((0.0, ["porch"], {"explicit_end": True}))
    assert due_at(track_spec(rule), track, TIMEOUT) == 3600.0
    assert check(rule, track, 3600.0)["dwell"][0] is True
    ended = run((0.0, ["porch"], {"explicit_end": True}), (100.0, ["porch"], {"end": True}))
    assert check(rule, ended, 3600.0)["dwell"][0] is False
    assert due_at(track_spec(rule), ended, TIMEOUT) is None


# --- zone sequences --------------------------------------------------------------------------

def test_entering_is_street_then_driveway_and_leaving_is_the_wrong_direction():
    entering = make_rule(zone_sequence=["street", "driveway"])
    coming = run((0.0, ["street"]), (5.0, ["street", "driveway"]), (8.0, ["driveway"]))
    going = run((0.0, ["driveway"]), (5.0, ["street"]))
    assert check(entering, coming, 10.0)["zone_sequence"] == (True, "entered street then driveway")
    assert check(entering, going, 10.0)["zone_sequence"] == (
        False, "entered driveway then street: wrong direction")


def test_a_detour_between_the_zones_still_counts():
    rule = make_rule(zone_sequence=["street", "driveway"], sequence_within_seconds=20)
    track = run((0.0, ["street"]), (4.0, ["lawn"]), (9.0, ["driveway"]))
    assert check(rule, track, 10.0)["zone_sequence"][0] is True


def test_a_sequence_too_slow_fails_and_a_later_faster_one_holds():
    rule = make_rule(zone_sequence=["street", "driveway"], sequence_within_seconds=10)
    slow = run((0.0, ["street"]), (30.0, ["driveway"]))
    assert check(rule, slow, 31.0)["zone_sequence"] == (
        False, "entered street then driveway, but not within 10 s")
    again = run((0.0, ["street"]), (30.0, ["driveway"]), (40.0, ["street"]), (45.0, ["driveway"]))
    assert find_sequence(again.entries(), ("street", "driveway"), 10) == (40.0, 45.0)


def test_a_sequence_may_name_a_zone_twice_in_and_out_again():
    rule = make_rule(zone_sequence=["street", "driveway", "street"])
    went_in = run((0.0, ["street"]), (5.0, ["driveway"]))
    assert check(rule, went_in, 6.0)["zone_sequence"][0] is False
    came_out = run((0.0, ["street"]), (5.0, ["driveway"]), (30.0, ["street"]))
    assert check(rule, came_out, 31.0)["zone_sequence"] == (
        True, "entered street then driveway then street")


def test_a_sequence_never_started_says_what_was_entered():
    rule = make_rule(zone_sequence=["street", "driveway"])
    track = run((0.0, ["lawn"]))
    assert check(rule, track, 1.0)["zone_sequence"] == (
        False, "entered lawn; street then driveway required")


# --- stationary ------------------------------------------------------------------------------

def test_stationary_from_an_unmoving_bbox():
    rule = make_rule(stationary_seconds=60)
    box = {"bbox": (10.0, 10.0, 20.0, 20.0)}
    track = run((0.0, ["porch"], box), (30.0, ["porch"], {"bbox": (10.2, 10.1, 20.0, 20.0)}))
    assert track.stationary_since == 0.0
    assert check(rule, track, 59.0)["stationary"][0] is False
    assert due_at(track_spec(rule), track, 1000.0) == 60.0
    moved = observe(track, Observation(at=40.0, object_type="person", zones=("porch",),
                                       bbox=(30.0, 10.0, 20.0, 20.0)), "cam-1", "t1")
    assert moved.stationary_since == 40.0


def test_stationary_from_the_detectors_flag():
    rule = make_rule(stationary_seconds=10)
    track = run((0.0, [], {"stationary": False}), (5.0, [], {"stationary": True}))
    assert track.stationary_since == 5.0
    assert check(rule, track, 15.0) == {"stationary": (True, "stationary for 10 s of the 10 s "
                                                              "required")}
    track = run((0.0, [], {"stationary": True}), (5.0, [], {"stationary": False}))
    assert check(rule, track, 15.0)["stationary"] == (False, "moving (stationary for 10 s "
                                                             "required)")


# --- identity and count ----------------------------------------------------------------------

@pytest.mark.parametrize(("identity", "rule", "held"), [
    (None, {"exclude_identities": ["*"]}, True),
    ("Bob", {"exclude_identities": ["*"]}, False),
    ("Bob", {"exclude_identities": ["alice"]}, True),
    ("Alice", {"exclude_identities": ["alice"]}, False),
    ("Bob", {"identities": ["bob"]}, True),
    (None, {"identities": ["bob"]}, False),
    ("Eve", {"identities": ["*"]}, True),
    (None, {"identities": ["*"]}, False),
])
def test_identities(identity, rule, held):
    track = run((0.0, [], {"identity": identity, "identity_score": 0.9}))
    assert check(make_rule(**rule), track, 1.0)["identity"][0] is held


def test_the_best_scored_identity_stays():
    track = run((0.0, [], {"identity": "Bob", "identity_score": 0.9}),
                (1.0, [], {"identity": "Rob", "identity_score": 0.4}))
    assert (track.identity, track.identity_score) == ("Bob", 0.9)


def test_min_count_counts_open_tracks_of_the_types_in_the_zones():
    rule = make_rule(object_types=["person"], zone_ids=["yard"], min_count=3)
    a = run((0.0, ["yard"]), track_id="a")
    b = run((1.0, ["yard"]), track_id="b")
    c = run((2.0, ["street"]), track_id="c")
    d = run((3.0, ["yard"]), track_id="d")
    gone = run((0.0, ["yard"], {"end": True}), track_id="gone")
    assert check(rule, a, 5.0, b, c, gone)["min_count"] == (
        False, "2 present in `yard` of the 3 required")
    assert check(rule, a, 5.0, b, c, d)["min_count"][0] is True


def test_a_crowd_read_after_its_tracks_ended_counts_those_present_at_the_end():
    # Three people in one frame, their tracks ended by silence (ended when last seen): the
    # event page and the rule test read them later, and said "0 present" of the alert's crowd.
    rule = make_rule(object_types=["person"], zone_ids=["yard"], min_count=3)
    people = [replace(run((10.0, ["yard"]), track_id=t), ended_at=10.0) for t in "abc"]
    left = replace(run((0.0, ["yard"]), track_id="left"), ended_at=4.0)
    assert check(rule, people[0], 500.0, *people[1:], left)["min_count"] == (
        True, "3 present in `yard` of the 3 required")
    assert check(rule, people[0], 500.0, people[1], left)["min_count"][0] is False


# --- through match_event ---------------------------------------------------------------------

def _event(track, at):
    return make_event(detections=[{"object_type": "person", "zone_ids": ["gate"],
                                   "track_id": track.track_id}], tracks=ctx(track, at))


def test_match_event_explains_and_matches_on_the_track():
    rule = make_rule(zone_ids=["gate"], min_dwell_seconds=30)
    track = run((100.0, ["gate"]))
    for explain in (True, False):
        early = match_event(rule, _event(track, 112.0), explain=explain)
        assert not early.matches and early.failed_conditions == ["dwell"]
        assert early.explanations == {"dwell": "in `gate` for 12 s of the 30 s required"}
        late = match_event(rule, _event(track, 130.0), explain=explain)
        assert late.matches and late.matched_conditions == ["zone", "dwell"]


def test_an_event_without_a_track_fails_the_track_criteria():
    verdict = match_event(make_rule(min_dwell_seconds=1), make_event())
    assert not verdict.matches
    assert verdict.explanations == {"dwell": "no track for this event"}
    assert not holds(track_spec(make_rule(min_dwell_seconds=1)), None, None)


def test_a_track_not_judged_says_which_link_of_the_rule_no_detection_met():
    # A car's track is no person's: "no track for this event" said so under the car's track.
    car = [make_detection("car", 0.9, zone_ids=["street"], track_id="c1")]
    for rule, link in ((make_rule(object_types=["person"], min_dwell_seconds=30), "object type"),
                       (make_rule(zone_ids=["gate"], min_dwell_seconds=30), "zone"),
                       (make_rule(min_confidence=0.95, min_dwell_seconds=30),
                        "minimum confidence")):
        verdict = match_event(rule, make_event(detections=car))
        assert verdict.explanations == {
            "dwell": f"not judged: no detection meets the rule's {link}"}


def test_a_rule_without_track_criteria_has_no_spec():
    assert track_spec(make_rule(zone_ids=["gate"])) is None


# --- properties ------------------------------------------------------------------------------

ZONES = ["a", "b", "c"]
_obs = st.builds(
    lambda at, zones, end, bbox: (at, zones, end, bbox),
    st.floats(min_value=0, max_value=1000, allow_nan=False),
    st.lists(st.sampled_from(ZONES), max_size=3, unique=True),
    st.booleans(),
    st.one_of(st.none(), st.tuples(*[st.floats(0, 100)] * 4)),
)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(_obs, min_size=1, max_size=25),
       st.floats(min_value=0, max_value=2000, allow_nan=False))
def test_any_message_order_keeps_the_track_consistent(messages, at):
    track = None
    for when, zones, end, bbox in messages:
        track = observe(track, Observation(at=when, object_type="person", zones=tuple(zones),
                                           end=end and when > 500, bbox=bbox), "cam", "t")
    assert track is not None
    assert track.first_seen <= track.last_seen
    assert messages[0][0] <= track.last_seen <= max(m[0] for m in messages)
    for visit in track.visits:
        assert visit.exited is None or visit.entered <= visit.exited
        assert track.first_seen <= visit.entered <= track.last_seen
    # At most one open stay per zone.
    open_zones = track.current_zones()
    assert len(open_zones) == len(set(open_zones))
    # It survives its stored form.
    assert Track.from_dict(track.to_dict()) == track
    # The due time is exact: the criterion fails just before it and holds at it.
    rule = make_rule(zone_ids=["a"], min_dwell_seconds=30)
    spec = track_spec(rule)
    due = due_at(spec, track, TIMEOUT)
    if due is not None:
        context = TrackContext(at=due, timeout=TIMEOUT, tracks={"t": track})
        assert holds(spec, track, context)
        assert not holds(spec, track, replace(context, at=due - 0.001))


@settings(max_examples=examples(200), deadline=None)
@given(st.permutations(list(range(8))))
def test_late_messages_never_move_the_timeline_back(order):
    steps = [(float(i * 10), [ZONES[i % 3]]) for i in range(8)]
    track = None
    for i in order:
        at, zones = steps[i]
        before = track.last_seen if track is not None else None
        track = observe(track, Observation(at=at, object_type="person", zones=tuple(zones)),
                        "cam", "t")
        assert before is None or track.last_seen == max(before, at)


def test_an_http_object_seen_once_meets_a_dwell_shorter_than_the_track_timeout():
    # README "Tracks": the object is presumed where it was last seen until the timeout, and
    # that counts as dwell; a timeout of a few posting intervals keeps a passer-by out.
    rule = make_rule(zone_ids=["gate"], min_dwell_seconds=30)
    once = run((100.0, ["gate"]))
    assert due_at(track_spec(rule), once, 60.0) == 130.0
    assert due_at(track_spec(rule), once, 5.0) is None
    short = TrackContext(at=130.0, timeout=5.0, tracks={"t1": once}, camera=(once,))
    assert evaluate(track_spec(rule), once, short)["dwell"] == (
        False, "in `gate` for 0 s of the 30 s required")


def test_only_unknown_with_a_short_dwell_waits_for_a_face_named_after_the_first_frame():
    # README "Tracks": identity judged at the dwell's end, once the face had its frames.
    rule = make_rule(object_types=["person"], exclude_identities=["*"], min_dwell_seconds=3)
    first = run((0.0, []))
    assert not holds(track_spec(rule), first, ctx(first, 0.0))
    named = run((0.0, []), (1.0, [], {"identity": "bob", "identity_score": 0.9}))
    assert check(rule, named, 3.0)["identity"] == (False, "identity bob: excluded")
    assert holds(track_spec(rule), first, ctx(first, 3.0))
