"""Arming modes: the mode at a time, from the history of changes and the weekly mode schedule.

Pure: the matcher, the rule tester, the schedule worker and a backtest all read the mode
through these functions, so "the mode at an event's time" means one thing everywhere.

The history is the ordered list of recorded changes; the mode at `t` is the one the last
change at or before `t` set (the default before any). A mode schedule is a list of weekly
windows ("night from 23:00 to 06:30" on some days) in one timezone. At a window's start the
mode becomes the window's mode; at its end it goes back to the mode the start replaced, but
only if it is still the window's mode (a person who changed the mode meanwhile keeps their
choice; a window that found its mode already current changes nothing at its end). A
window's boundaries are wall-clock times: a time the clock skips (spring forward) happens
when the clock jumps past it, a time it repeats (fall back) the first time. `start == end`
is the whole day, like rule schedules.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .schedule import day_index, zone
from .vocabulary import DAYS

DEFAULT_MODES = ("home", "away", "night", "vacation", "disarmed")
DEFAULT_MODE = "home"
# Who or what changed the mode: a page user, an API key, the schedule, an MQTT command.
SOURCES = ("user", "key", "schedule", "mqtt")
# Without history or a time the schedule was applied through, windows are read from this
# long before the time asked about: every window starts at least once a week.
LOOKBACK = timedelta(days=8)


@dataclass(frozen=True, slots=True)
class ModeChange:
    """One recorded change: at `at` (aware) the mode became `mode` (from `previous`)."""

    at: datetime
    mode: str
    previous: str | None = None
    source: str = "user"
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class ModeWindow:
    """A weekly window of the mode schedule, in wall-clock time of the schedule's timezone."""

    mode: str
    days: tuple[str, ...]
    start_time: time
    end_time: time


@dataclass(frozen=True, slots=True)
class ModeSchedule:
    """The weekly mode schedule: its windows and the timezone they are read in."""

    windows: tuple[ModeWindow, ...] = ()
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Boundary:
    """A window occurrence starting or ending at `at`; `began` is when that occurrence began."""

    at: datetime
    kind: str  # "start" or "end"
    window: int
    began: datetime


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    """Naive means UTC; aware ones compare by their instant whatever their zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def wall_instant(day: date, at: time, tz_name: str) -> datetime:
    """The UTC instant the wall clock of `tz_name` shows `day` `at`: the first one when the
    time repeats, the moment the clock jumps past it when the time is skipped."""
    tz = zone(tz_name)
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # Skipped: fold=1 reads the time with the offset after the jump, giving an instant
    # before it; the jump is the first second between the two whose wall clock is past it.
    low = int(naive.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    high = int(first.timestamp())
    if low > high:
        low, high = high, low
    while low < high:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            high = mid
        else:
            low = mid + 1
    return datetime.fromtimestamp(high, UTC)


def _occurrence(window: ModeWindow, days: set[int], day: date, tz_name: str
                ) -> tuple[datetime, datetime] | None:
    """(start, end) of the window's occurrence starting on local `day`, if it is one of its days."""
    if (day.weekday() + 1) % 7 not in days:
        return None
    if window.start_time == window.end_time:
        return (wall_instant(day, time(0), tz_name),
                wall_instant(day + timedelta(days=1), time(0), tz_name))
    end_day = day + timedelta(days=1) if window.start_time > window.end_time else day
    return (wall_instant(day, window.start_time, tz_name),
            wall_instant(end_day, window.end_time, tz_name))


def occurrences(schedule: ModeSchedule, after: datetime, until: datetime
                ) -> list[tuple[datetime, datetime, int]]:
    """(start, end, window index) of every window occurrence that overlaps [after, until],
    by start; a window's occurrences that touch or overlap are merged into one.

    A merged occurrence starts where its first day's does, however long before `after`
    that is (whole-day windows on consecutive days make one occurrence of several days):
    its start is the `began` its end reverts from, so it must not depend on where a run
    of the schedule worker began reading."""
    tz_name = schedule.timezone or "UTC"
    tz = zone(tz_name)
    earliest = _utc(after).astimezone(tz).date() - timedelta(days=2)
    last = _utc(until).astimezone(tz).date() + timedelta(days=1)
    found: list[tuple[datetime, datetime, int]] = []
    for index, window in enumerate(schedule.windows):
        days = {day_index(d) for d in window.days}
        day = earliest
        current = _occurrence(window, days, day, tz_name)
        # Back to the first day of the run of touching occurrences `earliest` is in; a run
        # of more than a week never ends (every day, the whole day), so its start is moot.
        for _ in range(8):
            if current is None:
                break
            before = _occurrence(window, days, day - timedelta(days=1), tz_name)
            if before is None or before[1] < current[0]:
                break
            day, current = day - timedelta(days=1), before
        spans: list[list[datetime]] = []
        while day <= last:
            if current is not None:
                start, end = current
                if spans and start <= spans[-1][1]:
                    spans[-1][1] = max(spans[-1][1], end)
                else:
                    spans.append([start, end])
            day += timedelta(days=1)
            current = _occurrence(window, days, day, tz_name) if day <= last else None
        found.extend((s, e, index) for s, e in spans if e >= after and s <= until)
    found.sort()
    return found


def boundaries(schedule: ModeSchedule, after: datetime, until: datetime) -> list[Boundary]:
    """Window starts and ends in (after, until], in time order; at one instant, ends first."""
    after, until = _utc(after), _utc(until)
    out = []
    for start, end, index in occurrences(schedule, after, until):
        if after < start <= until:
            out.append(Boundary(start, "start", index, start))
        if after < end <= until:
            out.append(Boundary(end, "end", index, start))
    out.sort(key=lambda b: (b.at, b.kind != "end", b.window))
    return out


class ModeTimeline:
    """The changes in time order (ties keep their order), answering the mode at a time."""

    __slots__ = ("_ats", "_changes", "default")

    def __init__(self, changes: Iterable[ModeChange] = (), default: str = DEFAULT_MODE) -> None:
        self.default = default
        self._ats: list[datetime] = []
        self._changes: list[ModeChange] = []
        for change in changes:
            self.add(change)

    def add(self, change: ModeChange) -> None:
        """Insert a change after every change at or before its time."""
        at = _aware(change.at)
        position = bisect_right(self._ats, at)
        self._ats.insert(position, at)
        self._changes.insert(position, change)

    @property
    def changes(self) -> list[ModeChange]:
        return list(self._changes)

    def last_before(self, when: datetime, *, inclusive: bool = True) -> ModeChange | None:
        """The last change at (or, not inclusive, strictly before) `when`."""
        when = _aware(when)
        position = (bisect_right if inclusive else bisect_left)(self._ats, when)
        return self._changes[position - 1] if position else None

    def changes_at(self, when: datetime) -> list[ModeChange]:
        """The changes at exactly `when`, in order."""
        when = _aware(when)
        return self._changes[bisect_left(self._ats, when):bisect_right(self._ats, when)]

    def mode_at(self, when: datetime) -> str:
        """The mode current at `when`: the last change at or before it, else the default."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        position = bisect_right(self._ats, when)
        return self._changes[position - 1].mode if position else self.default


def scheduled_changes(history: Sequence[ModeChange] | ModeTimeline, schedule: ModeSchedule,
                      after: datetime, until: datetime, default: str = DEFAULT_MODE
                      ) -> list[ModeChange]:
    """The changes the schedule makes in (after, until], each at its scheduled time, given
    the recorded history (a change it makes counts for the boundaries after it)."""
    timeline = history if isinstance(history, ModeTimeline) else ModeTimeline(history, default)
    timeline = ModeTimeline(timeline.changes, timeline.default)  # a copy to add to
    made: list[ModeChange] = []
    for boundary in boundaries(schedule, after, until):
        window = schedule.windows[boundary.window]
        current = timeline.mode_at(boundary.at)
        if boundary.kind == "start":
            target = window.mode
        else:
            if current != window.mode:
                continue  # changed during the window: the person's choice stays
            target = _before_window(timeline, boundary.began, window.mode)
        if target == current:
            continue
        change = ModeChange(boundary.at, target, current, "schedule",
                            f"schedule window {boundary.window + 1}")
        timeline.add(change)
        made.append(change)
    return made


def _before_window(timeline: ModeTimeline, began: datetime, mode: str) -> str:
    """The mode the window's start replaced: the `previous` of the schedule's change to
    `mode` at `began`; without one (it was already current then) the mode at `began`."""
    for change in reversed(timeline.changes_at(began)):
        if change.source == "schedule" and change.mode == mode:
            return change.previous or timeline.default
    return timeline.mode_at(began)


def mode_at(when: datetime, history: Sequence[ModeChange] | ModeTimeline,
            schedule: ModeSchedule | None = None, *, applied_through: datetime | None = None,
            default: str = DEFAULT_MODE) -> str:
    """The mode at `when`: the recorded history, plus the schedule's changes after
    `applied_through` (the time the schedule worker recorded them up to; when not given, the
    last change at or before `when`, or LOOKBACK before it)."""
    timeline = history if isinstance(history, ModeTimeline) else ModeTimeline(history, default)
    when = _utc(when)
    if schedule is None or not schedule.windows:
        return timeline.mode_at(when)
    if applied_through is None:
        last = timeline.last_before(when)
        applied_through = _utc(last.at) if last is not None else when - LOOKBACK
    if when <= applied_through:
        return timeline.mode_at(when)
    extra = scheduled_changes(timeline, schedule, applied_through, when, timeline.default)
    if not extra:
        return timeline.mode_at(when)
    return ModeTimeline([*timeline.changes, *extra], timeline.default).mode_at(when)


def schedule_from_record(record: dict | None) -> ModeSchedule:
    """The engine's ModeSchedule from its stored form ({"timezone", "windows": [...]})."""
    if not record:
        return ModeSchedule()
    return ModeSchedule(
        windows=tuple(
            ModeWindow(mode=w["mode"], days=tuple(w.get("days") or DAYS),
                       start_time=time.fromisoformat(w["start_time"]),
                       end_time=time.fromisoformat(w["end_time"]))
            for w in record.get("windows") or ()),
        timezone=record.get("timezone") or "UTC",
    )
