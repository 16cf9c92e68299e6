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
from operator import attrgetter
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


@dataclass(slots=True)
class Facts:
    """What matchers see of one match: the event, the rule and the detection that matched.
    A missing value is the empty string (so `zone_id = ""` means "no zone"). Not frozen: one
    is made for every match while silences exist, and a frozen dataclass is slower to make."""

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


def anchored(pattern: str) -> str:
    """The pattern as Alertmanager reads it: it must match the whole value."""
    return f"^(?:{pattern})$"


MEMO_LIMIT = 4096  # distinct values remembered per matcher


def compile_matcher(matcher: Matcher) -> Test:
    """A test of one matcher. Comparisons ignore case (like the regexes of engine/regex.py,
    and object types everywhere); `label` holds when any label does (`!=`, `!~`: none does).
    Raises engine.regex.RegexError for a pattern RE2 refuses.

    The answer for each value is remembered (camera ids, object types and zones repeat), so
    a matcher costs a dictionary lookup after the first time it sees a value."""
    name, op = matcher.field, matcher.op
    if name not in MATCHER_FIELDS:
        raise ValueError(f"unknown matcher field: {name!r}")
    if op in ("=", "!="):
        wanted = matcher.value.casefold()

        def one(value: str) -> bool:
            return value.casefold() == wanted
    elif op in ("=~", "!~"):
        one = compile_regex(anchored(matcher.value))
    else:
        raise ValueError(f"unknown matcher op: {op!r}")
    negate = op in ("!=", "!~")
    memo: dict[str, bool] = {}

    def holds(value: str) -> bool:
        found = memo.get(value)
        if found is None:
            found = one(value) is not negate
            if len(memo) < MEMO_LIMIT:
                memo[value] = found
        return found

    if name == "label":
        if negate:  # no label may match: every label passes the negated test
            return lambda facts: all(holds(v) for v in facts.labels or ("",))
        return lambda facts: any(holds(v) for v in facts.labels or ("",))
    get = attrgetter(name)
    return lambda facts: holds(get(facts) or "")


def facts_of_match(event: Any, rule_id: str, severity: str, detection: Any,
                   zone: str | None) -> Facts:
    """The facts of a match: the event (an engine Event), the rule's id and severity, the
    detection that matched (or None) and the zone the alert names (engine.dedup.dedup_zone).
    The matcher and the backtest both ask silences with these."""
    return Facts(camera_id=event.camera_id, rule_id=rule_id, severity=severity,
                 object_type=detection.object_type if detection else "",
                 zone_id=zone or "", identity=getattr(event, "identity", None) or "",
                 labels=event.labels)


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

    def __init__(self, silence: Silence, tests: tuple[Test, ...]) -> None:
        self.silence = silence
        self.starts_at = silence.starts_at
        self.ends_at = silence.ends_at
        self.tests = tests


def _key_of(silence: Silence, name: str) -> Matcher | None:
    for m in silence.matchers:
        if m.field == name and m.op == "=":
            return m
    return None


class SilenceSet:
    """Silences compiled once and indexed by their `camera_id =` or `rule_id =` matcher, so
    a match is tested only against the silences that could cover it: many silences on other
    cameras cost a dictionary lookup, not a test each. The indexed matcher is not tested
    again, and identical matchers of different silences share one test, run once a match."""

    __slots__ = ("_by_camera", "_by_rule", "_others", "size")

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        self._by_camera: dict[str, list[_Compiled]] = {}
        self._by_rule: dict[str, list[_Compiled]] = {}
        self._others: list[_Compiled] = []
        self.size = 0
        shared: dict[Matcher, Test] = {}
        for silence in silences:
            self.size += 1
            key = _key_of(silence, "camera_id") or _key_of(silence, "rule_id")
            tests = tuple(shared.get(m) or shared.setdefault(m, compile_matcher(m))
                          for m in silence.matchers if m is not key)
            compiled = _Compiled(silence, tests)
            if key is None:
                self._others.append(compiled)
            else:
                index = self._by_camera if key.field == "camera_id" else self._by_rule
                index.setdefault(key.value.casefold(), []).append(compiled)
        # Ending last first: the first silence of a group that covers a match is its best.
        for group in (*self._by_camera.values(), *self._by_rule.values(), self._others):
            group.sort(key=lambda c: c.ends_at, reverse=True)

    def __len__(self) -> int:
        return self.size

    def covering(self, facts: Facts, when: datetime) -> Silence | None:
        """The silence that covers the match at `when` (the one ending last when several
        do), or None."""
        if not self.size:
            return None
        best: _Compiled | None = None
        results: dict[Test, bool] = {}
        for group in (self._by_camera.get(facts.camera_id.casefold()),
                      self._by_rule.get(facts.rule_id.casefold()), self._others):
            if not group:
                continue
            for c in group:
                if best is not None and c.ends_at <= best.ends_at:
                    break  # the rest of the group ends earlier still
                if not c.starts_at <= when < c.ends_at:
                    continue
                for test in c.tests:
                    held = results.get(test)
                    if held is None:
                        held = results[test] = test(facts)
                    if not held:
                        break
                else:
                    best = c
                    break
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
