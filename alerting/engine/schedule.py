"""Weekly schedule windows, evaluated in the schedule's own timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from .types import Schedule
from .vocabulary import DAY_NAMES, DAYS

_DAY_INDEX = {name: i for i, name in enumerate(DAYS)}


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, cached; raises ZoneInfoNotFoundError when unknown."""
    return ZoneInfo(name)


def _micros(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def local_time(when: datetime, tz_name: str) -> datetime:
    """`when` as a wall-clock datetime in the named timezone; naive means UTC."""
    tzinfo = when.tzinfo
    if tzinfo is None:
        # astimezone() would read a naive datetime as the host's local time.
        when = when.replace(tzinfo=UTC)
        tzinfo = UTC
    if tzinfo is UTC and tz_name == "UTC":
        # Already the wall clock wanted; this is the common case and astimezone() is not free.
        return when
    return when.astimezone(zone(tz_name))


def local_position(when: datetime, tz_name: str) -> tuple[int, int]:
    """(day index with sun=0, microseconds since local midnight) of `when` in a timezone."""
    return wall_position(local_time(when, tz_name))


def wall_position(local: datetime) -> tuple[int, int]:
    """(day index with sun=0, microseconds since midnight) of a datetime's own wall clock."""
    # Wall-clock time, so a DST change moves the window with the clock, as a person expects.
    return (local.weekday() + 1) % 7, (
        (local.hour * 60 + local.minute) * 60 + local.second
    ) * 1_000_000 + local.microsecond


def day_index(day: str) -> int:
    """Index (sun=0) of a day name: `sun`..`sat` or `sunday`..`saturday`, any case."""
    key = day.strip().casefold()
    key = DAY_NAMES.get(key, key)
    try:
        return _DAY_INDEX[key]
    except KeyError:
        raise ValueError(f"unknown day: {day!r}") from None


@dataclass(frozen=True, slots=True)
class CompiledSchedule:
    """A schedule reduced to a day bitmask and microsecond bounds, for repeated checks."""

    day_mask: int
    start: int
    end: int
    timezone: str | None

    def contains(self, day: int, micros: int) -> bool:
        """Whether local (day, time of day) falls in the window."""
        start, end, mask = self.start, self.end, self.day_mask
        if start == end:
            return bool(mask >> day & 1)
        if start < end:
            return bool(mask >> day & 1) and start <= micros < end
        # Overnight: the part after midnight belongs to the day the window started.
        if micros >= start:
            return bool(mask >> day & 1)
        if micros < end:
            return bool(mask >> ((day - 1) % 7) & 1)
        return False


def _compile(schedule: Schedule) -> CompiledSchedule:
    mask = 0
    for day in schedule.days:
        mask |= 1 << day_index(day)
    return CompiledSchedule(
        mask, _micros(schedule.start_time), _micros(schedule.end_time), schedule.timezone or None
    )


_compile_cached = lru_cache(maxsize=4096)(_compile)


def compile_schedule(schedule: Schedule) -> CompiledSchedule:
    """The compiled form of a schedule, cached when the schedule is hashable."""
    try:
        return _compile_cached(schedule)
    except TypeError:
        # days given as a list: still correct, just not cached.
        return _compile(schedule)


def in_schedule(schedule: Schedule, when: datetime, default_timezone: str = "UTC") -> bool:
    """Whether `when` falls in the schedule, read in its timezone (else `default_timezone`)."""
    compiled = compile_schedule(schedule)
    day, micros = local_position(when, compiled.timezone or default_timezone)
    return compiled.contains(day, micros)
