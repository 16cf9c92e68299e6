from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.engine.errors import ValidationError
from alerting.engine.timeparse import ensure_utc, isoformat_z, parse_datetime, parse_event_time
from tests.support.fuzz import examples

TEN = datetime(2025, 12, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-12-23T10:00:00Z", TEN),
        ("2025-12-23T10:00:00+00:00", TEN),
        ("2025-12-23T11:30:00+01:30", TEN),
        ("2025-12-23T05:00:00-05:00", TEN),
        ("2025-12-23T10:00:00", TEN),  # naive means UTC
        ("2025-12-23 10:00", TEN),
        ("  2025-12-23T10:00:00Z ", TEN),
        ("2025-12-23T10:00:00.250Z", TEN.replace(microsecond=250_000)),
        ("2025-12-23", TEN.replace(hour=0)),
        (1766484000, TEN),
        (1766484000.5, TEN.replace(microsecond=500_000)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_datetime_accepts(value, expected):
    parsed = parse_datetime(value, "started_at")
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        None, True, False, "", "   ", "yesterday", "2025-13-01T00:00:00Z", "2025-12-23T24:00:00Z",
        "2025-12-23T10:00:00+25:00", "x" * 100, float("nan"), float("inf"), float("-inf"),
        10**20, -(10**20), 1e300, [], {}, ["2025-12-23T10:00:00Z"], {"at": 0},
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:00:00-05:00",  # after year 9999 in UTC
    ],
)
def test_parse_datetime_refuses(value):
    with pytest.raises(ValidationError) as exc:
        parse_datetime(value, "test_time")
    assert exc.value.fields == {"test_time": "must be an ISO 8601 datetime or epoch seconds"}


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (TEN, "2025-12-23T10:00:00Z"),
        (TEN.replace(microsecond=120), "2025-12-23T10:00:00.000120Z"),
        (TEN.astimezone(timezone(timedelta(hours=5, minutes=30))), "2025-12-23T10:00:00Z"),
        (datetime(2025, 12, 23, 10, 0), "2025-12-23T10:00:00Z"),  # naive taken as UTC
    ],
)
def test_isoformat_z(dt, expected):
    assert isoformat_z(dt) == expected


def test_ensure_utc():
    assert ensure_utc(datetime(2025, 1, 1)) == datetime(2025, 1, 1, tzinfo=UTC)
    plus_two = datetime(2025, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert ensure_utc(plus_two).tzinfo is UTC
    assert ensure_utc(plus_two) == datetime(2025, 1, 1, tzinfo=UTC)


@settings(max_examples=examples(200), database=None, deadline=None)
@given(st.datetimes(timezones=st.just(UTC)))
def test_round_trip(dt):
    assert parse_datetime(isoformat_z(dt), "t") == dt


@settings(max_examples=examples(300), database=None, deadline=None)
@given(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(),
        st.from_regex(r"\A[0-9T:+\-.Z ]{0,30}\Z"), st.lists(st.integers(), max_size=3),
    )
)
def test_fuzz_only_validation_error(value):
    try:
        result = parse_datetime(value, "t")
    except ValidationError as exc:
        assert set(exc.fields) == {"t"}
    else:
        assert result.tzinfo is UTC


@pytest.mark.parametrize("value", [-9.421208805527786e-237, -0.4, -1, -1e9])
def test_an_event_time_before_1970_is_refused_however_close(value):
    # A hair below 0 rounds to 1970-01-01 itself; the documented minimum is 0 (schemathesis).
    with pytest.raises(ValidationError) as caught:
        parse_event_time(value, "test_time")
    assert caught.value.fields == {"test_time": "must be between 1970-01-01 and 2200-01-01"}
    assert parse_event_time(0, "test_time") == datetime(1970, 1, 1, tzinfo=UTC)
