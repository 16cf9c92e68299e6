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


def ensure_utc(dt: datetime) -> datetime:
    """The same instant as an aware UTC datetime; a naive datetime is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def isoformat_z(dt: datetime) -> str:
    """ "2025-12-23T10:00:00Z": UTC, second precision, ".ffffff" only when microseconds != 0."""
    return ensure_utc(dt).replace(tzinfo=None).isoformat() + "Z"
