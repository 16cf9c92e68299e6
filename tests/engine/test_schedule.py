from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.engine.schedule import compile_schedule, day_index, in_schedule
from alerting.engine.vocabulary import DAYS
from tests.support.engine_factories import make_schedule
from tests.support.fuzz import examples


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# 2025-01-06 is a Monday; 2025-01-10 a Friday.
@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (utc(2025, 1, 6, 9, 0), True),  # start is inclusive
        (utc(2025, 1, 6, 16, 59, 59, 999999), True),
        (utc(2025, 1, 6, 17, 0), False),  # end is exclusive
        (utc(2025, 1, 6, 8, 59, 59), False),
        (utc(2025, 1, 7, 10, 0), False),  # Tuesday is not listed
    ],
)
def test_day_window(when, expected):
    assert in_schedule(make_schedule(["mon"], "09:00", "17:00"), when) is expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (utc(2025, 1, 10, 22, 0), True),  # Fri 22:00
        (utc(2025, 1, 10, 23, 30), True),
        (utc(2025, 1, 11, 3, 0), True),  # Sat 03:00 belongs to Friday's window
        (utc(2025, 1, 11, 5, 59), True),
        (utc(2025, 1, 11, 6, 0), False),
        (utc(2025, 1, 10, 3, 0), False),  # Fri 03:00 would be Thursday's night
        (utc(2025, 1, 10, 21, 59), False),
        (utc(2025, 1, 11, 22, 30), False),  # Saturday night is not listed
        (utc(2025, 1, 13, 3, 0), False),  # Mon 03:00
    ],
)
def test_overnight_window_belongs_to_start_day(when, expected):
    assert in_schedule(make_schedule(["fri"], "22:00", "06:00"), when) is expected


def test_saturday_overnight_wraps_into_sunday():
    schedule = make_schedule(["sat"], "22:00", "02:00")
    assert in_schedule(schedule, utc(2025, 1, 12, 1, 0))  # Sunday 01:00
    assert not in_schedule(schedule, utc(2025, 1, 12, 2, 0))
    assert not in_schedule(schedule, utc(2025, 1, 11, 1, 0))  # Saturday 01:00 is Friday's


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (utc(2025, 1, 6, 0, 0), True),
        (utc(2025, 1, 6, 23, 59, 59), True),
        (utc(2025, 1, 7, 0, 0), False),
        (utc(2025, 1, 5, 23, 59), False),
    ],
)
def test_equal_start_and_end_is_the_whole_day(when, expected):
    assert in_schedule(make_schedule(["mon"], "07:30", "07:30"), when) is expected


def test_schedule_timezone_is_used():
    schedule = make_schedule(["mon"], "09:00", "17:00", timezone="America/New_York")
    assert in_schedule(schedule, utc(2025, 1, 6, 14, 0))  # 09:00 EST
    assert not in_schedule(schedule, utc(2025, 1, 6, 13, 59))
    assert not in_schedule(schedule, utc(2025, 1, 6, 22, 0))  # 17:00 EST


def test_default_timezone_applies_when_the_schedule_has_none():
    schedule = make_schedule(["mon"], "09:00", "10:00")
    when = utc(2025, 1, 6, 8, 30)  # 09:30 in Paris
    assert not in_schedule(schedule, when)
    assert in_schedule(schedule, when, default_timezone="Europe/Paris")
    tokyo = make_schedule(["mon"], "09:00", "10:00", timezone="Asia/Tokyo")
    assert not in_schedule(tokyo, when, default_timezone="Europe/Paris")


def test_local_day_not_utc_day_decides():
    # Monday 23:30 in New York is Tuesday 04:30 UTC.
    schedule = make_schedule(["mon"], "23:00", "23:59", timezone="America/New_York")
    assert in_schedule(schedule, utc(2025, 1, 7, 4, 30))


@pytest.mark.parametrize("days", [["Monday"], ["MON"], ["monday"], [" mon "]])
def test_day_names_any_case_and_long(days):
    assert in_schedule(make_schedule(days, "09:00", "17:00"), utc(2025, 1, 6, 12, 0))


def test_unknown_day_raises():
    with pytest.raises(ValueError):
        day_index("someday")


def test_days_given_as_a_list_still_work():
    schedule = make_schedule(("mon",), "09:00", "17:00")
    unhashable = type(schedule)(["mon"], schedule.start_time, schedule.end_time)
    assert in_schedule(unhashable, utc(2025, 1, 6, 12, 0))


def test_naive_datetime_is_taken_as_utc():
    schedule = make_schedule(["mon"], "09:00", "17:00", timezone="America/New_York")
    assert in_schedule(schedule, datetime(2025, 1, 6, 14, 0))


def test_unknown_timezone_raises():
    with pytest.raises(ZoneInfoNotFoundError):
        in_schedule(make_schedule(timezone="Mars/Olympus_Mons"), utc(2025, 1, 6))


def test_compiled_form_is_cached():
    schedule = make_schedule(["mon"], "09:00", "17:00")
    assert compile_schedule(schedule) is compile_schedule(schedule)


# DST: the window follows the wall clock. Each case: zone, window, the day, the UTC interval the
# window covers on that day.
DST_CASES = [
    # New York springs forward at 02:00 EST -> 03:00 EDT: 01:00-03:00 is one real hour.
    ("America/New_York", "01:00", "03:00", datetime(2024, 3, 10), (6, 0), (7, 0)),
    # London springs forward at 01:00 GMT -> 02:00 BST: 01:00-02:00 local never happens.
    ("Europe/London", "01:00", "03:00", datetime(2024, 3, 31), (1, 0), (2, 0)),
    # Falling back, 01:00-02:00 happens twice, and both count.
    ("Europe/London", "01:00", "02:00", datetime(2024, 10, 27), (0, 0), (2, 0)),
    ("America/New_York", "01:00", "02:00", datetime(2024, 11, 3), (5, 0), (7, 0)),
]


@pytest.mark.parametrize(("tz", "start", "end", "day", "lo", "hi"), DST_CASES)
@settings(max_examples=examples(60), deadline=None)
@given(minute=st.integers(min_value=-120, max_value=36 * 60))
def test_dst_day_window_follows_wall_clock(tz, start, end, day, lo, hi, minute):
    schedule = make_schedule([DAYS[(day.weekday() + 1) % 7]], start, end, timezone=tz)
    base = day.replace(tzinfo=UTC)
    when = base + timedelta(minutes=minute)
    inside = (
        base + timedelta(hours=lo[0], minutes=lo[1])
        <= when
        < base + timedelta(hours=hi[0], minutes=hi[1])
    )
    assert in_schedule(schedule, when) is inside


TIMEZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"]
WEEK = 7 * 1440


def reference(days, start, end, tz, when):
    """Minute-of-week model: each listed day contributes one interval, wrapping past Saturday."""
    local = when.astimezone(ZoneInfo(tz))
    now = ((local.weekday() + 1) % 7) * 1440 + local.hour * 60 + local.minute + local.second / 60
    s = start.hour * 60 + start.minute
    e = end.hour * 60 + end.minute
    length = 1440 if s == e else (e - s) % 1440
    for day in days:
        lo = DAYS.index(day) * 1440 + (0 if s == e else s)
        if (now - lo) % WEEK < length:
            return True
    return False


times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 59]))


@settings(max_examples=examples(300), deadline=None)
@given(
    days=st.sets(st.sampled_from(DAYS), min_size=1).map(sorted),
    start=times,
    end=times,
    tz=st.sampled_from(TIMEZONES),
    when=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
)
def test_matches_minute_of_week_model(days, start, end, tz, when):
    schedule = make_schedule(days, start, end, timezone=tz)
    assert in_schedule(schedule, when) is reference(days, start, end, tz, when)


@settings(max_examples=examples(150), deadline=None)
@given(
    hours=st.lists(st.integers(0, 23), min_size=2, max_size=2, unique=True),
    day=st.sampled_from(DAYS),
    hour=st.integers(0, 23),
)
def test_after_midnight_part_belongs_only_to_the_start_day(hours, day, hour):
    start_hour, end_hour = max(hours), min(hours)
    schedule = make_schedule([day], time(start_hour), time(end_hour))
    # 2025-01-05 is a Sunday: index i of DAYS is 2025-01-(5 + i).
    start_day = datetime(2025, 1, 5 + DAYS.index(day), tzinfo=UTC)
    same_day = start_day + timedelta(hours=hour)
    next_day = same_day + timedelta(days=1)
    day_after = same_day + timedelta(days=2)
    assert in_schedule(schedule, same_day) is (hour >= start_hour)
    assert in_schedule(schedule, next_day) is (hour < end_hour)
    assert not in_schedule(schedule, day_after)
