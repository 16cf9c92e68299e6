"""The arming mode at a time: from the history of changes and the weekly mode schedule."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alerting.engine.modes import (
    ModeChange,
    ModeSchedule,
    ModeTimeline,
    ModeWindow,
    boundaries,
    mode_at,
    scheduled_changes,
    wall_instant,
)
from alerting.engine.schedule import in_schedule
from alerting.engine.types import Schedule
from alerting.engine.vocabulary import DAYS
from tests.support.fuzz import examples


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def night(tz: str = "Europe/Berlin", days=DAYS, start="23:00", end="06:30") -> ModeSchedule:
    return ModeSchedule((ModeWindow("night", tuple(days), time.fromisoformat(start),
                                    time.fromisoformat(end)),), tz)


def test_default_before_any_change_then_the_last_change_at_or_before():
    history = [ModeChange(utc(2026, 1, 5, 8), "away"), ModeChange(utc(2026, 1, 5, 18), "home")]
    assert mode_at(utc(2026, 1, 5, 7), history) == "home"  # the default
    assert mode_at(utc(2026, 1, 5, 8), history) == "away"  # at its time, inclusive
    assert mode_at(utc(2026, 1, 5, 17, 59), history) == "away"
    assert mode_at(utc(2026, 1, 6), history) == "home"
    assert mode_at(utc(2026, 1, 5, 7), history, default="disarmed") == "disarmed"


def test_changes_at_one_instant_keep_their_order():
    at = utc(2026, 1, 5, 8)
    timeline = ModeTimeline([ModeChange(at, "away"), ModeChange(at, "night")])
    assert timeline.mode_at(at) == "night"


def test_night_window_switches_at_its_start_and_back_at_its_end():
    # 2026-01-05 is a Monday; Berlin is UTC+1 in January.
    made = scheduled_changes([], night(), utc(2026, 1, 5, 12), utc(2026, 1, 6, 12))
    assert [(c.at, c.previous, c.mode, c.source) for c in made] == [
        (utc(2026, 1, 5, 22), "home", "night", "schedule"),
        (utc(2026, 1, 6, 5, 30), "night", "home", "schedule"),
    ]


def test_the_end_goes_back_to_the_mode_before_the_window():
    history = [ModeChange(utc(2026, 1, 5, 9), "away")]
    made = scheduled_changes(history, night(), utc(2026, 1, 5, 12), utc(2026, 1, 6, 12))
    assert [(c.previous, c.mode) for c in made] == [("away", "night"), ("night", "away")]


def test_a_change_during_the_window_is_kept_at_its_end():
    history = [ModeChange(utc(2026, 1, 6, 2), "vacation")]  # during the night window
    made = scheduled_changes(history, night(), utc(2026, 1, 5, 12), utc(2026, 1, 6, 12))
    assert [(c.at, c.mode) for c in made] == [(utc(2026, 1, 5, 22), "night")]
    assert mode_at(utc(2026, 1, 6, 11), history, night(),
                   applied_through=utc(2026, 1, 5, 12)) == "vacation"


def test_already_in_the_mode_at_the_start_records_nothing():
    history = [ModeChange(utc(2026, 1, 5, 21), "night")]
    made = scheduled_changes(history, night(), utc(2026, 1, 5, 21, 30), utc(2026, 1, 6, 12))
    assert made == []  # and the end goes back to the mode before the window: night


def test_only_the_listed_days_and_an_all_day_window_runs_through():
    weekdays = night(days=("mon",))
    made = scheduled_changes([], weekdays, utc(2026, 1, 4), utc(2026, 1, 11))
    assert [c.at for c in made] == [utc(2026, 1, 5, 22), utc(2026, 1, 6, 5, 30)]
    away = ModeSchedule((ModeWindow("away", ("sat", "sun"), time(0), time(0)),), "UTC")
    made = scheduled_changes([], away, utc(2026, 1, 5), utc(2026, 1, 13))
    # Saturday and Sunday merge into one window: no change at Sunday's midnight.
    assert [(c.at, c.mode) for c in made] == [(utc(2026, 1, 10), "away"),
                                              (utc(2026, 1, 12), "home")]


def test_mode_at_reads_the_schedule_after_the_time_it_was_applied_through():
    recorded = [ModeChange(utc(2026, 1, 5, 9), "away")]
    # Recorded through 20:00: the window at 22:00 is not in the history yet.
    assert mode_at(utc(2026, 1, 5, 23), recorded, night(),
                   applied_through=utc(2026, 1, 5, 20)) == "night"
    # Through 23:30 with nothing recorded at 22:00 (the schedule was not there then): away.
    assert mode_at(utc(2026, 1, 5, 23), recorded, night(),
                   applied_through=utc(2026, 1, 5, 23, 30)) == "away"
    assert mode_at(utc(2026, 1, 5, 23), recorded) == "away"  # no schedule


# --- daylight saving time (Europe/Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00)


def test_a_skipped_time_happens_when_the_clock_jumps_past_it():
    assert wall_instant(date(2026, 3, 29), time(2, 30), "Europe/Berlin") == utc(2026, 3, 29, 1)
    assert wall_instant(date(2026, 3, 28), time(2, 30), "Europe/Berlin") == utc(2026, 3, 28, 1, 30)
    assert wall_instant(date(2026, 3, 8), time(2, 30), "America/New_York") == utc(2026, 3, 8, 7)


def test_a_repeated_time_happens_the_first_time():
    berlin = wall_instant(date(2026, 10, 25), time(2, 30), "Europe/Berlin")
    assert berlin == utc(2026, 10, 25, 0, 30)
    new_york = wall_instant(date(2026, 11, 1), time(1, 30), "America/New_York")
    assert new_york == utc(2026, 11, 1, 5, 30)


def test_the_night_window_follows_the_wall_clock_across_both_changes():
    spring = scheduled_changes([], night(), utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert [c.at for c in spring] == [utc(2026, 3, 28, 22), utc(2026, 3, 29, 4, 30)]
    autumn = scheduled_changes([], night(), utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    assert [c.at for c in autumn] == [utc(2026, 10, 24, 21), utc(2026, 10, 25, 5, 30)]


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]
# Hours 1 and 2 hold the repeated hour of these zones' autumn change, where a weekly
# window's wall-clock test (in_schedule) itself reads the same hour twice.
SAFE_TIMES = st.builds(time, st.sampled_from([0, *range(3, 24)]),
                       st.sampled_from([0, 15, 30, 45]))
DAY_SETS = st.sets(st.sampled_from(DAYS), min_size=1).map(
    lambda s: tuple(d for d in DAYS if d in s))
# Around the 2026 changes of the zones above.
STARTS = st.sampled_from([utc(2026, 3, 5), utc(2026, 3, 25), utc(2026, 4, 1), utc(2026, 9, 30),
                          utc(2026, 10, 22), utc(2026, 10, 29), utc(2026, 6, 1)])


@settings(max_examples=examples(150), deadline=None)
@given(zone=st.sampled_from(ZONES), days=DAY_SETS, start=SAFE_TIMES, end=SAFE_TIMES,
       origin=STARTS, offset=st.integers(0, 7 * 24 * 4), samples=st.randoms(use_true_random=False))
def test_with_no_one_changing_it_the_mode_is_the_window_mode_inside_the_window(
        zone, days, start, end, origin, offset, samples):
    """The mode schedule agrees with the rules' weekly schedule (engine/schedule.py) on what
    is inside a window, DST included."""
    after = origin + timedelta(minutes=15 * offset)
    window = Schedule(days, start, end, zone)
    assume(not in_schedule(window, after))  # an occurrence begun before `after` is not known
    schedule = ModeSchedule((ModeWindow("night", days, start, end),), zone)
    until = after + timedelta(days=15)
    timeline = ModeTimeline(scheduled_changes([], schedule, after, until))
    for _ in range(40):
        when = after + timedelta(seconds=samples.randint(1, int((until - after).total_seconds())))
        expected = "night" if in_schedule(window, when) else "home"
        assert timeline.mode_at(when) == expected, when


CHANGE = st.tuples(st.integers(0, 14 * 24 * 60), st.sampled_from(["home", "away", "vacation"]))


@settings(max_examples=examples(100), deadline=None)
@given(changes=st.lists(CHANGE, max_size=12, unique_by=lambda c: c[0]),
       cuts=st.lists(st.integers(1, 14 * 24 * 60 - 1), max_size=6, unique=True),
       order=st.randoms(use_true_random=False), zone=st.sampled_from(ZONES),
       start=SAFE_TIMES, end=SAFE_TIMES, days=DAY_SETS)
def test_catching_up_in_pieces_records_what_one_catch_up_would(changes, cuts, order, zone,
                                                               start, end, days):
    """However the worker's runs split the time, and in whatever order the history's
    changes are given, the schedule records the same changes and the mode at every time is
    the same."""
    origin = utc(2026, 3, 23)
    history = [ModeChange(origin + timedelta(minutes=m), mode, source="user")
               for m, mode in changes]
    shuffled = list(history)
    order.shuffle(shuffled)
    schedule = ModeSchedule((ModeWindow("night", days, start, end),), zone)
    until = origin + timedelta(days=14)
    once = scheduled_changes(shuffled, schedule, origin, until)

    recorded = list(shuffled)
    pieces: list[ModeChange] = []
    points = [origin, *sorted(origin + timedelta(minutes=c) for c in cuts), until]
    for a, b in zip(points, points[1:], strict=False):
        made = scheduled_changes(recorded, schedule, a, b)
        recorded += made
        pieces += made
    assert [(c.at, c.mode, c.previous) for c in pieces] == \
        [(c.at, c.mode, c.previous) for c in once]

    everything = ModeTimeline(sorted([*history, *once], key=lambda c: c.at))
    for minute in range(0, 14 * 24 * 60, 97):
        when = origin + timedelta(minutes=minute)
        assert mode_at(when, recorded) == everything.mode_at(when)
    for minute in range(0, 14 * 24 * 60, 1447):
        when = origin + timedelta(minutes=minute)
        # Reading the schedule on the fly from the user changes alone gives the same.
        assert mode_at(when, shuffled, schedule, applied_through=origin) == everything.mode_at(when)


def test_a_run_begun_inside_a_window_of_several_days_still_ends_it():
    """Hypothesis's example: a whole-day window on Sunday to Wednesday is one occurrence of
    four days; a run of the worker from Wednesday (past the two days it reads back) must
    still see it began on Sunday, where the schedule's change it reverts is recorded."""
    schedule = ModeSchedule((ModeWindow("night", ("sun", "mon", "tue", "wed"), time(0),
                                        time(0)),), "Europe/Berlin")
    origin, cut, until = utc(2026, 3, 23), utc(2026, 3, 31, 22), utc(2026, 4, 6)
    once = [(utc(2026, 3, 28, 23), "night", "home"),  # Sunday 00:00 CET
            (utc(2026, 4, 1, 22), "home", "night"),  # Thursday 00:00 CEST
            (utc(2026, 4, 4, 22), "night", "home")]
    assert [(c.at, c.mode, c.previous) for c in scheduled_changes([], schedule, origin, until)] \
        == once
    first = scheduled_changes([], schedule, origin, cut)  # to Wednesday 00:00 CEST
    second = scheduled_changes(first, schedule, cut, until)
    assert [(c.at, c.mode, c.previous) for c in [*first, *second]] == once
    # The occurrence's start does not depend on where the reading starts.
    assert [b.began for b in boundaries(schedule, cut, until) if b.kind == "end"] == \
        [utc(2026, 3, 28, 23)]
    utc_schedule = ModeSchedule((ModeWindow("night", ("sun", "mon", "tue", "wed"), time(0),
                                            time(0)),), "UTC")
    for after in (utc(2026, 3, 29, 12), utc(2026, 3, 31), utc(2026, 4, 1, 23)):
        found = boundaries(utc_schedule, after, utc(2026, 4, 3))
        assert [(b.at, b.kind, b.began) for b in found] == [
            (utc(2026, 4, 2), "end", utc(2026, 3, 29))]


@settings(max_examples=examples(100), deadline=None)
@given(changes=st.lists(CHANGE, max_size=20), order=st.randoms(use_true_random=False))
def test_the_timeline_answers_like_a_scan_whatever_order_changes_arrive_in(changes, order):
    origin = utc(2026, 1, 1)
    history = [ModeChange(origin + timedelta(minutes=m), mode) for m, mode in changes]
    # A change's place among those at the same time is its place in the history.
    arrival = list(enumerate(history))
    order.shuffle(arrival)
    timeline = ModeTimeline()
    for _, change in sorted(arrival, key=lambda pair: pair[0]):
        timeline.add(change)
    unordered = ModeTimeline(c for _, c in sorted(arrival, key=lambda p: (p[1].at, p[0])))
    for minute in range(-1, 14 * 24 * 60 + 2, 61):
        when = origin + timedelta(minutes=minute)
        due = [c for c in history if c.at <= when]
        expected = max(due, key=lambda c: c.at).mode if due else "home"
        if due:  # the last one given at the latest time
            latest = max(c.at for c in due)
            expected = [c for c in due if c.at == latest][-1].mode
        assert timeline.mode_at(when) == expected
        assert unordered.mode_at(when) == expected


def test_boundaries_put_an_end_before_a_start_at_the_same_instant():
    schedule = ModeSchedule((ModeWindow("away", ("mon",), time(8), time(12)),
                             ModeWindow("night", ("mon",), time(12), time(13))), "UTC")
    found = boundaries(schedule, utc(2026, 1, 5), utc(2026, 1, 6))
    assert [(b.at.hour, b.kind, b.window) for b in found] == [
        (8, "start", 0), (12, "end", 0), (12, "start", 1), (13, "end", 1)]
    made = scheduled_changes([], schedule, utc(2026, 1, 5), utc(2026, 1, 6))
    assert [(c.at.hour, c.mode) for c in made] == [(8, "away"), (12, "home"), (12, "night"),
                                                     (13, "home")]


@pytest.mark.parametrize("seed", range(3))
def test_mode_at_without_applied_through_reads_the_schedule_from_the_last_change(seed):
    rng = random.Random(seed)
    last = utc(2026, 1, 5, rng.randint(12, 20))
    history = [ModeChange(last, "away")]
    assert mode_at(utc(2026, 1, 5, 23), history, night()) == "night"
    assert mode_at(utc(2026, 1, 6, 7), history, night()) == "away"
