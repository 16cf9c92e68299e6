"""Backtest: replay past events through one rule, as the matcher would have, and count.

The replay takes events in the order the matcher took them (by id) and judges each with the
same code: `scan` for the match, then the rule's cooldown per dedup key in a fresh
in-memory history. What the engine cannot know (the arming mode at a time, a silence or mute
timing covering a match) comes through optional hooks; without them, nothing is muted.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .rule_eval import EventView, Verdict, compile_rule, scan
from .schedule import local_time
from .types import Event, Rule
from .vocabulary import DAYS

ModeAt = Callable[[datetime], str | None]
"""The arming mode in force at a time (None: no mode set)."""
RuleModes = Callable[[Rule], Collection[str] | None]
"""The modes a rule is armed in (None or empty: all)."""
SilencedBy = Callable[[Rule, Event, Verdict, datetime], str | None]
"""The reason a match at a time is silenced or muted, or None."""


def _rule_modes(rule: Rule) -> Collection[str] | None:
    return getattr(rule, "modes", None)


class CooldownHistory:
    """Every alert time per dedup key, so a key's cooldown is judged against its nearest
    alert either side: what the matcher's ledger plus its alerts table answer, events
    arriving out of time order included."""

    __slots__ = ("_times",)

    def __init__(self) -> None:
        self._times: dict[str, list[datetime]] = {}

    def suppresses(self, key: str, when: datetime, window: timedelta) -> bool:
        """Whether an alert for `key` lies within `window` of `when` (either side)."""
        times = self._times.get(key)
        if not times:
            return False
        at = bisect_left(times, when)
        if at < len(times) and times[at] - when < window:
            return True
        return at > 0 and when - times[at - 1] < window

    def record(self, key: str, when: datetime) -> None:
        times = self._times.get(key)
        if times is None:
            self._times[key] = [when]
        elif when >= times[-1]:
            times.append(when)
        else:
            insort(times, when)


@dataclass
class BacktestResult:
    """What a rule would have done over the replayed events."""

    events_replayed: int = 0
    matches: int = 0
    alerts: int = 0
    suppressed_by_cooldown: int = 0
    silenced: int = 0
    disarmed: int = 0
    per_day: Counter[str] = field(default_factory=Counter)
    # [day sun=0..sat=6][hour 0..23]
    per_hour_of_week: list[list[int]] = field(
        default_factory=lambda: [[0] * 24 for _ in DAYS])
    dedup_keys: Counter[str] = field(default_factory=Counter)
    # (event, dedup key) of the first `sample_limit` alerts
    sample: list[tuple[Event, str]] = field(default_factory=list)

    def busiest_keys(self, count: int = 10) -> list[tuple[str, int]]:
        """The dedup keys with the most alerts, most first (ties by key)."""
        return sorted(self.dedup_keys.items(), key=lambda kv: (-kv[1], kv[0]))[:count]

    def as_dict(self, keys: int = 10) -> dict[str, Any]:
        return {
            "events_replayed": self.events_replayed, "matches": self.matches,
            "alerts": self.alerts, "suppressed_by_cooldown": self.suppressed_by_cooldown,
            "silenced": self.silenced, "disarmed": self.disarmed,
            "per_day": dict(sorted(self.per_day.items())),
            "per_hour_of_week": {day: list(self.per_hour_of_week[i])
                                 for i, day in enumerate(DAYS)},
            "busiest_dedup_keys": [{"dedup_key": k, "alerts": n}
                                   for k, n in self.busiest_keys(keys)],
        }


def cannot_match(rule: Rule) -> Callable[[int | None, Sequence[str]], bool]:
    """A test on an event's risk score and its detections' object types alone, true when
    scan() would reject the event for `rule` (its risk threshold; a detection it needs, of
    one of its types). Cheap enough to run before an event is built: most events fail it."""
    compiled = compile_rule(rule)
    has_risk, floor = compiled.risk is not None, compiled.risk_floor
    needs_detection, types = compiled.needs_detection, compiled.types

    def reject(score: int | None, object_types: Sequence[str]) -> bool:
        if score is None:
            if has_risk:
                return True
        elif score < floor:
            return True
        if needs_detection:
            if not object_types:
                return True
            if types is not None:
                for t in object_types:
                    if t.casefold() in types:
                        return False
                return True
        return False

    return reject


def backtest(
    rule: Rule,
    events: Iterable[Event | None],
    *,
    default_timezone: str = "UTC",
    report_timezone: str | None = None,
    mode_at: ModeAt | None = None,
    rule_modes: RuleModes = _rule_modes,
    silenced_by: SilencedBy | None = None,
    sample_limit: int = 100,
    prechecked: bool = False,
) -> BacktestResult:
    """Replay `events` (in the order given: the matcher's, by id) through `rule`. An item
    None is an event the caller already found cannot_match() (read, counted, not built);
    `prechecked`: the caller asked cannot_match() of every event it passes.

    Days and hours of the week are counted in `report_timezone` (default: the
    default_timezone). A match in a mode the rule is not armed in is `disarmed`; one the
    silence hook names is `silenced` and, as in the matcher, starts no cooldown.
    """
    compiled = compile_rule(rule)
    candidates = (compiled,)
    window = timedelta(seconds=rule.cooldown_seconds)
    cooling = rule.cooldown_seconds > 0
    history = CooldownHistory()
    result = BacktestResult()
    report_tz = report_timezone or default_timezone
    armed_in = rule_modes(rule) if mode_at is not None else None
    per_day, per_hour, keys = result.per_day, result.per_hour_of_week, result.dedup_keys
    sample = result.sample
    replayed = 0
    reject = None if prechecked else cannot_match(rule)
    for event in events:
        replayed += 1
        if event is None or (reject is not None and reject(
                event.risk_score, [d.object_type for d in event.detections])):
            continue
        view = EventView(event)
        found = scan(candidates, view, default_timezone)
        if not found:
            continue
        verdict = found[0]
        result.matches += 1
        when = event.started_at
        if armed_in and mode_at(when) not in armed_in:  # type: ignore[misc]
            result.disarmed += 1
            continue
        key = verdict.dedup_key or ""
        if cooling and history.suppresses(key, when, window):
            result.suppressed_by_cooldown += 1
            continue
        if silenced_by is not None and silenced_by(rule, event, verdict, when):
            result.silenced += 1
            continue
        if cooling:
            history.record(key, when)
        result.alerts += 1
        local = view.clocks.get(report_tz)
        local_dt = local[2] if local is not None else local_time(when, report_tz)
        per_day[local_dt.date().isoformat()] += 1
        per_hour[(local_dt.weekday() + 1) % 7][local_dt.hour] += 1
        keys[key] += 1
        if len(sample) < sample_limit:
            sample.append((event, key))
    result.events_replayed = replayed
    return result
