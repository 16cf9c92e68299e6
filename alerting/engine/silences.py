"""Silences and mute timings: is a match covered at a time, and by which one.

A silence is Alertmanager's: matchers over the facts of a match and a window of time. A mute
timing is a named weekly window (the rule schedule's window, engine/schedule.py, read in the
timing's timezone) with optional date ranges. Both are pure data here; the pipeline, the rule
test and the backtest ask the same questions with the same answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from .regex import compile_regex
from .schedule import compile_schedule, local_time, wall_position
from .types import Schedule, _as_time

# Fields a matcher may name, and its operators (Alertmanager's).
MATCHER_FIELDS = ("camera_id", "zone_id", "object_type", "rule_id", "severity", "identity",
                  "label")
MATCHER_OPS = ("=", "!=", "=~", "!~")
SILENCE_STATES = ("pending", "active", "expired")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One `field op value` clause; a silence covers a match when all of its clauses hold."""

    field: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class Facts:
    """What matchers see of one match: the event, the rule and the detection that matched.
    A missing value is the empty string (so `zone_id = ""` means "no zone")."""

    camera_id: str
    rule_id: str = ""
    severity: str = ""
    object_type: str = ""
    zone_id: str = ""
    identity: str = ""
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence: matchers and the window [starts_at, ends_at). Datetimes are aware."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class DateRange:
    """Local dates from `start` to `end`, both included."""

    start: date
    end: date


@dataclass(frozen=True, slots=True)
class MuteTiming:
    """A named recurring quiet time: any of its weekly `intervals` (each a Schedule without
    its own timezone), on the dates of `date_ranges` when there are any, in `timezone`."""

    name: str
    intervals: tuple[Schedule, ...]
    timezone: str | None = None
    date_ranges: tuple[DateRange, ...] = field(default_factory=tuple)


# --- matchers ----------------------------------------------------------------------------------

Test = Callable[[Facts], bool]


def _values(facts: Facts, name: str) -> tuple[str, ...]:
    if name == "label":
        return facts.labels or ("",)
    return (getattr(facts, name) or "",)


def anchored(pattern: str) -> str:
    """The pattern as Alertmanager reads it: it must match the whole value."""
    return f"^(?:{pattern})$"


def compile_matcher(matcher: Matcher) -> Test:
    """A test of one matcher. Comparisons ignore case (like the regexes of engine/regex.py,
    and object types everywhere); `label` holds when any label does (`!=`, `!~`: none does).
    Raises engine.regex.RegexError for a pattern RE2 refuses."""
    name, op = matcher.field, matcher.op
    if name not in MATCHER_FIELDS:
        raise ValueError(f"unknown matcher field: {name!r}")
    if op in ("=", "!="):
        wanted = matcher.value.casefold()

        def positive(facts: Facts) -> bool:
            return any(v.casefold() == wanted for v in _values(facts, name))
    elif op in ("=~", "!~"):
        search = compile_regex(anchored(matcher.value))

        def positive(facts: Facts) -> bool:
            return any(search(v) for v in _values(facts, name))
    else:
        raise ValueError(f"unknown matcher op: {op!r}")
    if op in ("=", "=~"):
        return positive
    return lambda facts: not positive(facts)


def matchers_cover(matchers: Iterable[Matcher], facts: Facts) -> bool:
    """Whether every matcher holds for the facts (no matchers: everything is covered)."""
    return all(compile_matcher(m)(facts) for m in matchers)


def silence_state(silence: Silence, now: datetime) -> str:
    """pending before it starts, active in its window, expired from its end on."""
    if now < silence.starts_at:
        return "pending"
    if now < silence.ends_at:
        return "active"
    return "expired"


# --- a set of silences, indexed ----------------------------------------------------------------


class _Compiled:
    __slots__ = ("silence", "starts_at", "ends_at", "tests")

    def __init__(self, silence: Silence) -> None:
        self.silence = silence
        self.starts_at = silence.starts_at
        self.ends_at = silence.ends_at
        self.tests = tuple(compile_matcher(m) for m in silence.matchers)


def _key_of(silence: Silence, name: str) -> str | None:
    for m in silence.matchers:
        if m.field == name and m.op == "=":
            return m.value.casefold()
    return None


class SilenceSet:
    """Silences compiled once and indexed by their `camera_id =` or `rule_id =` matcher, so
    a match is tested only against the silences that could cover it: many silences on other
    cameras cost a dictionary lookup, not a test each."""

    __slots__ = ("_by_camera", "_by_rule", "_others", "size")

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        self._by_camera: dict[str, list[_Compiled]] = {}
        self._by_rule: dict[str, list[_Compiled]] = {}
        self._others: list[_Compiled] = []
        self.size = 0
        for silence in silences:
            compiled = _Compiled(silence)
            self.size += 1
            camera = _key_of(silence, "camera_id")
            if camera is not None:
                self._by_camera.setdefault(camera, []).append(compiled)
                continue
            rule = _key_of(silence, "rule_id")
            if rule is not None:
                self._by_rule.setdefault(rule, []).append(compiled)
            else:
                self._others.append(compiled)

    def __len__(self) -> int:
        return self.size

    def covering(self, facts: Facts, when: datetime) -> Silence | None:
        """The silence that covers the match at `when` (the one ending last when several
        do), or None."""
        if not self.size:
            return None
        best: _Compiled | None = None
        for group in (self._by_camera.get(facts.camera_id.casefold()),
                      self._by_rule.get(facts.rule_id.casefold()), self._others):
            if not group:
                continue
            for c in group:
                if c.starts_at <= when < c.ends_at and (best is None or c.ends_at > best.ends_at) \
                        and all(test(facts) for test in c.tests):
                    best = c
        return best.silence if best is not None else None


def covering_silence(silences: Iterable[Silence], facts: Facts,
                     when: datetime) -> Silence | None:
    """The silence among `silences` that covers the match at `when`, or None."""
    return SilenceSet(silences).covering(facts, when)


# --- mute timings ------------------------------------------------------------------------------


def mute_timing_covers(timing: MuteTiming, when: datetime,
                       default_timezone: str = "UTC") -> bool:
    """Whether `when` falls in the mute timing, on the wall clock of its timezone (so a window
    follows the clock across DST changes, like a rule's schedule)."""
    local = local_time(when if when.tzinfo else when.replace(tzinfo=UTC),
                       timing.timezone or default_timezone)
    if timing.date_ranges:
        today = local.date()
        if not any(r.start <= today <= r.end for r in timing.date_ranges):
            return False
    day, micros = wall_position(local)
    return any(compile_schedule(_untimed(s)).contains(day, micros) for s in timing.intervals)


def _untimed(schedule: Schedule) -> Schedule:
    # The timing's timezone decides; an interval's own is ignored (compiled cache key).
    return schedule if schedule.timezone is None else Schedule(
        schedule.days, schedule.start_time, schedule.end_time)


def covering_mute_timing(timings: dict[str, MuteTiming], names: Iterable[str], when: datetime,
                         default_timezone: str = "UTC") -> str | None:
    """The first of `names` whose mute timing covers `when`, or None (an unknown name covers
    nothing)."""
    for name in names:
        timing = timings.get(name)
        if timing is not None and mute_timing_covers(timing, when, default_timezone):
            return name
    return None


# --- from stored records -----------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def silence_from_record(record: dict[str, Any]) -> Silence:
    """The engine's Silence from a stored one (id, matchers, starts_at, ends_at)."""
    return Silence(
        id=str(record["id"]),
        matchers=tuple(Matcher(m["field"], m["op"], str(m["value"]))
                       for m in record.get("matchers") or ()),
        starts_at=_aware(record["starts_at"]), ends_at=_aware(record["ends_at"]))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def mute_timing_from_record(record: dict[str, Any]) -> MuteTiming:
    """The engine's MuteTiming from a stored one (name, intervals, timezone, date_ranges)."""
    return MuteTiming(
        name=record["name"],
        intervals=tuple(Schedule(days=tuple(i["days"]), start_time=_as_time(i["start_time"]),
                                 end_time=_as_time(i["end_time"]))
                        for i in record.get("intervals") or ()),
        timezone=record.get("timezone") or None,
        date_ranges=tuple(DateRange(_as_date(r["start"]), _as_date(r["end"]))
                          for r in record.get("date_ranges") or ()))
