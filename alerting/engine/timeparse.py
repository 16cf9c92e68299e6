"""Datetimes in and out of the API: ISO 8601 or epoch seconds in, UTC "...Z" strings out."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from .errors import ValidationError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ISO_LENGTH = 64
_MESSAGE = "must be an ISO 8601 datetime or epoch seconds"


def parse_datetime(value: object, field: str) -> datetime:
    """An aware UTC datetime from an ISO 8601 string (naive means UTC) or epoch seconds.

    Raises ValidationError({field: ...}) for anything else, including bools and NaN.
    """
    try:
        if isinstance(value, str):
            text = value.strip()
            if not text or len(text) > _MAX_ISO_LENGTH:
                raise ValueError(text)
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ValueError(value)
            return _EPOCH + timedelta(seconds=value)
    except (ValueError, OverflowError):
        # OverflowError: epoch seconds or an offset that leaves datetime's year 1..9999.
        raise ValidationError({field: _MESSAGE}) from None
    raise ValidationError({field: _MESSAGE})


# Event times outside this range are refused: a detector's clock gone wrong, not footage.
# (Near datetime's limits, timezone conversion and cooldown windows would overflow and stall
# the matcher on every batch.)
EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_EVENT_TIME = datetime(2200, 1, 1, tzinfo=UTC)


def parse_event_time(value: object, field: str) -> datetime:
    """parse_datetime, for the time of an event (or a rule test): 1970 up to 2200. A negative
    epoch is refused before parsing: one a hair below 0 would round to 1970-01-01 itself."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        raise ValidationError({field: "must be between 1970-01-01 and 2200-01-01"})
    parsed = parse_datetime(value, field)
    if not EARLIEST_EVENT_TIME <= parsed < LATEST_EVENT_TIME:
        raise ValidationError({field: "must be between 1970-01-01 and 2200-01-01"})
    return parsed


def ensure_utc(dt: datetime) -> datetime:
    """The same instant as an aware UTC datetime; a naive datetime is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def isoformat_z(dt: datetime) -> str:
    """ "2025-12-23T10:00:00Z": UTC, second precision, ".ffffff" only when microseconds != 0."""
    return ensure_utc(dt).replace(tzinfo=None).isoformat() + "Z"
