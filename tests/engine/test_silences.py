from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.engine.regex import RegexError
from alerting.engine.silences import (
    DateRange,
    Facts,
    Matcher,
    MuteTiming,
    Silence,
    SilenceSet,
    compile_matcher,
    covering_mute_timing,
    covering_silence,
    mute_timing_covers,
    mute_timing_from_record,
    silence_from_record,
    silence_state,
)
from alerting.engine.types import Schedule
from tests.support.fuzz import examples

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FACTS = Facts(camera_id="driveway", rule_id="r1", severity="high", object_type="person",
              zone_id="porch", identity="", labels=("night", "motion"))


def holds(field, op, value, facts=FACTS):
    return compile_matcher(Matcher(field, op, value))(facts)


@pytest.mark.parametrize(("field", "op", "value", "expected"), [
    ("camera_id", "=", "driveway", True),
    ("camera_id", "=", "DriveWay", True),  # case-insensitive, like regexes
    ("camera_id", "=", "drive", False),
    ("camera_id", "!=", "driveway", False),
    ("camera_id", "!=", "garden", True),
    ("object_type", "=~", "person|car", True),
    ("object_type", "=~", "pers", False),  # anchored: the whole value must match
    ("object_type", "=~", "pers.*", True),
    ("object_type", "!~", "car|truck", True),
    ("zone_id", "=~", "p.*h", True),
    ("severity", "=", "high", True),
    ("rule_id", "=", "r2", False),
    ("identity", "=", "", True),  # missing is the empty string, as in Alertmanager
    ("identity", "=~", ".+", False),
    ("label", "=", "motion", True),  # any label
    ("label", "!=", "motion", False),  # no label may equal it
    ("label", "!=", "audio", True),
    ("label", "=~", "mot.*", True),
    ("label", "!~", "n.*", False),
])
def test_matchers(field, op, value, expected):
    assert holds(field, op, value) is expected


def test_regex_alternation_is_anchored_as_a_whole():
    # Alertmanager anchors ^(?:a|b)$, not ^a|b$: "xb" does not match "a|b".
    assert not holds("camera_id", "=~", "x|way", Facts(camera_id="driveway"))
    assert holds("camera_id", "=~", "x|driveway", Facts(camera_id="driveway"))


def test_no_labels_is_one_empty_label():
    assert holds("label", "=", "", Facts(camera_id="c"))
    assert holds("label", "!=", "night", Facts(camera_id="c"))


def test_bad_regex_and_unknown_names_refused():
    with pytest.raises(RegexError):
        compile_matcher(Matcher("camera_id", "=~", "(a"))
    with pytest.raises(ValueError):
        compile_matcher(Matcher("nope", "=", "x"))
    with pytest.raises(ValueError):
        compile_matcher(Matcher("camera_id", "==", "x"))


def silence(sid="s1", *matchers, start=T0, minutes=60):
    return Silence(sid, tuple(Matcher(*m) for m in matchers), start,
                   start + timedelta(minutes=minutes))


def test_state_from_time():
    s = silence("s", ("camera_id", "=", "x"))
    assert silence_state(s, T0 - timedelta(seconds=1)) == "pending"
    assert silence_state(s, T0) == "active"  # start inclusive
    assert silence_state(s, T0 + timedelta(minutes=60)) == "expired"  # end exclusive


def test_covering_at_the_event_time_and_which_one():
    a = silence("a", ("camera_id", "=", "driveway"), minutes=30)
    b = silence("b", ("object_type", "=~", "person|car"), minutes=90)
    c = silence("c", ("camera_id", "=", "garden"), minutes=600)
    assert covering_silence([a, b, c], FACTS, T0 + timedelta(minutes=10)).id == "b"  # ends last
    assert covering_silence([a, c], FACTS, T0 + timedelta(minutes=10)).id == "a"
    assert covering_silence([a, c], FACTS, T0 + timedelta(minutes=40)) is None
    assert covering_silence([a], FACTS, T0 - timedelta(minutes=1)) is None
    assert covering_silence([], FACTS, T0) is None


@given(cameras=st.lists(st.sampled_from(["a", "b", "c", "driveway"]), max_size=6),
       rules=st.lists(st.sampled_from(["r1", "r2"]), max_size=4),
       offset=st.integers(-30, 120))
@settings(max_examples=examples(100))
def test_index_answers_as_testing_every_silence(cameras, rules, offset):
    silences = [silence(f"c{i}", ("camera_id", "=", cam), minutes=10 * (i + 1))
                for i, cam in enumerate(cameras)]
    silences += [silence(f"r{i}", ("rule_id", "=", rule), ("severity", "!=", "low"),
                         minutes=7 * (i + 1)) for i, rule in enumerate(rules)]
    when = T0 + timedelta(minutes=offset)
    found = SilenceSet(silences).covering(FACTS, when)
    brute = [s for s in silences if s.starts_at <= when < s.ends_at
             and all(compile_matcher(m)(FACTS) for m in s.matchers)]
    assert (found is None) == (not brute)
    if brute:
        assert found.ends_at == max(s.ends_at for s in brute)


def test_records_round_trip():
    s = silence_from_record({"id": "x", "matchers": [{"field": "camera_id", "op": "=",
                                                      "value": "driveway"}],
                             "starts_at": T0.replace(tzinfo=None), "ends_at": T0 + timedelta(1)})
    assert s.starts_at.tzinfo is UTC and s.matchers[0].value == "driveway"
    t = mute_timing_from_record({"name": "mornings", "timezone": "Europe/Berlin",
                                 "intervals": [{"days": ["mon"], "start_time": "07:00",
                                                "end_time": "09:00"}],
                                 "date_ranges": [{"start": "2026-12-24", "end": "2026-12-31"}]})
    assert t.intervals[0].start_time == time(7) and t.date_ranges[0].end == date(2026, 12, 31)


# --- mute timings ------------------------------------------------------------------------------

BERLIN = "Europe/Berlin"


def timing(days=("mon", "tue", "wed", "thu", "fri"), start=time(7), end=time(9), tz=BERLIN,
           ranges=()):
    return MuteTiming("t", (Schedule(tuple(days), start, end),), tz, tuple(ranges))


def local(*args, tz=BERLIN):
    return datetime(*args, tzinfo=ZoneInfo(tz))


def test_weekday_mornings_in_the_timings_zone():
    t = timing()
    assert mute_timing_covers(t, local(2026, 3, 2, 7, 0))  # Monday 07:00 Berlin
    assert not mute_timing_covers(t, local(2026, 3, 2, 9, 0))
    assert not mute_timing_covers(t, local(2026, 3, 1, 8, 0))  # Sunday
    # 06:30 UTC is 07:30 in Berlin in winter.
    assert mute_timing_covers(t, datetime(2026, 3, 2, 6, 30, tzinfo=UTC))


def test_overnight_and_date_ranges():
    nights = timing(days=("fri",), start=time(22), end=time(6))
    assert mute_timing_covers(nights, local(2026, 3, 7, 3, 0))  # Saturday 03:00 is Friday's
    assert not mute_timing_covers(nights, local(2026, 3, 6, 3, 0))
    christmas = timing(days=("sun", "mon", "tue", "wed", "thu", "fri", "sat"), start=time(0),
                       end=time(0), ranges=(DateRange(date(2026, 12, 24), date(2026, 12, 31)),))
    assert mute_timing_covers(christmas, local(2026, 12, 24, 0, 0))
    assert mute_timing_covers(christmas, local(2026, 12, 31, 23, 59))
    assert not mute_timing_covers(christmas, local(2027, 1, 1, 0, 0))
    assert covering_mute_timing({"x": christmas}, ["unknown", "x"],
                                local(2026, 12, 25, 12)) == "x"
    assert covering_mute_timing({"x": christmas}, ["x"], local(2026, 11, 25, 12)) is None


def test_default_timezone_when_the_timing_has_none():
    t = timing(tz=None)
    when = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
    assert not mute_timing_covers(t, when)  # 06:30 UTC
    assert mute_timing_covers(t, when, "Europe/Berlin")


@given(day=st.integers(0, 400), minute=st.integers(0, 24 * 60 - 1),
       start=st.integers(0, 23), length=st.integers(1, 23))
@settings(max_examples=examples(300))
def test_windows_follow_the_wall_clock_across_dst(day, minute, start, length):
    """Whatever the instant, across Berlin's DST changes (2026-03-29, 2026-10-25), the timing
    covers it exactly when the Berlin wall clock reads a time in the window."""
    instant = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day, minutes=minute)
    end = (start + length) % 24
    t = timing(days=("sun", "mon", "tue", "wed", "thu", "fri", "sat"), start=time(start),
               end=time(end))
    wall = instant.astimezone(ZoneInfo(BERLIN))
    hour = wall.hour
    expected = (start <= hour < end) if start < end else (hour >= start or hour < end)
    assert mute_timing_covers(t, instant) is expected


def test_spring_forward_and_fall_back():
    t = timing(days=("sun",), start=time(2), end=time(3))
    # 2026-03-29 02:00-03:00 does not exist in Berlin: no instant is covered that Sunday.
    spring = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # 01:00 CET
    assert not any(mute_timing_covers(t, spring + timedelta(minutes=m)) for m in range(0, 180))
    # 2026-10-25 02:00-03:00 happens twice: both hours are covered.
    fall = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST
    covered = [m for m in range(0, 180) if mute_timing_covers(t, fall + timedelta(minutes=m))]
    assert len(covered) == 120
