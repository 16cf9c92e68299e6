"""Does a rule match an event, and which of its criteria held or failed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .conditions import Predicate, compile_condition, event_field
from .dedup import DedupTemplate, local_time, time_variables
from .schedule import CompiledSchedule, compile_schedule, wall_position
from .types import Detection, Event, Rule


@dataclass(slots=True)
class Verdict:
    """The outcome of one rule against one event.

    `detection` (the one that satisfied object type, zone and confidence together) and
    `dedup_key` are set only when the rule matches.
    """

    rule_id: str
    matches: bool
    matched_conditions: list[str]
    failed_conditions: list[str]
    dedup_key: str | None = None
    detection: Detection | None = None


class CompiledRule:
    """A rule's filters prepared once: casefolded type set, camera and zone sets, schedule."""

    __slots__ = (
        "rule", "id", "risk", "types", "cameras", "zones", "min_conf",
        "schedule", "conditions", "needs_detection", "criteria", "dedup",
    )

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.id = rule.id
        self.risk = rule.risk_threshold
        # Empty lists mean "any", exactly like None.
        self.types = (
            frozenset(t.casefold() for t in rule.object_types) if rule.object_types else None
        )
        self.cameras = frozenset(rule.camera_ids) if rule.camera_ids else None
        self.zones = frozenset(rule.zone_ids) if rule.zone_ids else None
        self.min_conf = rule.min_confidence
        self.schedule: CompiledSchedule | None = (
            compile_schedule(rule.schedule) if rule.schedule is not None else None
        )
        self.conditions: tuple[Predicate, ...] | None = (
            tuple(compile_condition(c) for c in rule.conditions) if rule.conditions else None
        )
        self.needs_detection = (
            self.types is not None or self.zones is not None or self.min_conf is not None
        )
        criteria = []
        if self.risk is not None:
            criteria.append("risk_threshold")
        if self.types is not None:
            criteria.append("object_type")
        if self.cameras is not None:
            criteria.append("camera")
        if self.zones is not None:
            criteria.append("zone")
        if self.min_conf is not None:
            criteria.append("min_confidence")
        if self.schedule is not None:
            criteria.append("schedule")
        if self.conditions is not None:
            criteria.append("conditions")
        # Same order as MATCH_CONDITIONS.
        self.criteria = tuple(criteria)
        self.dedup = DedupTemplate(rule)

    def dedup_key(self, view: EventView, det: Detection | None, default_timezone: str) -> str:
        """The dedup key for a matching event and detection."""
        template = self.dedup
        if template.constant is not None:
            return template.constant
        time_vars = None
        if template.uses_time:
            tz_name = template.timezone or default_timezone
            time_vars = view.time_vars_cache.get(tz_name) or view.time_vars(tz_name)
        return template.render(view.event, det, time_vars)


# Keyed by identity: a Rule may hold unhashable condition values, and hashing a whole rule per
# event would cost more than the match. The entry keeps the Rule alive so its id is not reused.
_compiled: dict[int, tuple[Rule, CompiledRule]] = {}
_CACHE_LIMIT = 50_000


def compile_rule(rule: Rule) -> CompiledRule:
    """The compiled form of a rule, cached per Rule object."""
    entry = _compiled.get(id(rule))
    if entry is not None and entry[0] is rule:
        return entry[1]
    compiled = CompiledRule(rule)
    if len(_compiled) >= _CACHE_LIMIT:
        _compiled.clear()
    _compiled[id(rule)] = (rule, compiled)
    return compiled


# (casefolded type, confidence, zone ids, detection)
_Det = tuple[str, float | None, tuple[str, ...], Detection]


class EventView:
    """An event prepared once for matching against many rules."""

    __slots__ = (
        "event", "when", "dets", "types", "positions", "time_vars_cache", "_local", "_fields",
    )

    def __init__(self, event: Event, when: datetime | None = None) -> None:
        self.event = event
        self.when = when if when is not None else event.started_at
        self.dets: list[_Det] = [
            (d.object_type.casefold(), d.confidence, d.zone_ids, d) for d in event.detections
        ]
        self.types = {d[0] for d in self.dets}
        # Filled by local() and time_vars(); read directly on the hot path to skip a call.
        self.positions: dict[str, tuple[int, int]] = {}
        self._local: dict[str, datetime] | None = None
        self.time_vars_cache: dict[str, tuple[str, str, str]] = {}
        self._fields: dict[str, Any] | None = None

    def local_time(self, tz_name: str) -> datetime:
        """The schedule time as a wall-clock datetime in a timezone, computed once per zone."""
        cache = self._local
        if cache is None:
            cache = self._local = {}
        local = cache.get(tz_name)
        if local is None:
            local = cache[tz_name] = local_time(self.when, tz_name)
        return local

    def local(self, tz_name: str) -> tuple[int, int]:
        """(day sun=0, microseconds since midnight) of the schedule time in a timezone."""
        pos = self.positions.get(tz_name)
        if pos is None:
            pos = self.positions[tz_name] = wall_position(self.local_time(tz_name))
        return pos

    def time_vars(self, tz_name: str) -> tuple[str, str, str]:
        """Dedup time variables (hour, date, weekday) in a timezone, computed once per zone."""
        found = self.time_vars_cache.get(tz_name)
        if found is None:
            found = self.time_vars_cache[tz_name] = time_variables(self.local_time(tz_name))
        return found

    def field(self, name: str) -> Any:
        """A condition field's value, computed once per event."""
        cache = self._fields
        if cache is None:
            cache = self._fields = {}
        if name in cache:
            return cache[name]
        value = cache[name] = event_field(self.event, name)
        return value


_CHAIN = "detection"


def scan(
    candidates: Iterable[CompiledRule],
    view: EventView,
    default_timezone: str,
    misses: list[str] | None = None,
    check_camera: bool = True,
) -> list[Verdict]:
    """Verdicts of the candidates that match, in order; each rule stops at its first failure.

    The hot path: one loop, event attributes read once. A candidate repeated back to back is
    checked once. With `misses`, each failure's criterion name is appended ("detection" when
    the object_type/zone/min_confidence chain failed; `chain_failure` says which link).
    `check_camera=False` is for candidates already picked by camera.
    """
    event = view.event
    camera = event.camera_id
    score = event.risk_score
    dets = view.dets
    first = dets[0][3] if dets else None
    positions = view.positions
    time_vars = view.time_vars_cache
    out: list[Verdict] = []
    prev = None
    for c in candidates:
        if c is prev:
            continue
        prev = c
        failed = None
        det = first
        if check_camera and c.cameras is not None and camera not in c.cameras:
            failed = "camera"
        elif c.risk is not None and (score is None or score < c.risk):
            failed = "risk_threshold"
        elif c.needs_detection:
            types, zones, min_conf = c.types, c.zones, c.min_conf
            for t, conf, det_zones, found in dets:
                if types is not None and t not in types:
                    continue
                if zones is not None and zones.isdisjoint(det_zones):
                    continue
                if min_conf is not None and (conf is None or conf < min_conf):
                    continue
                det = found
                break
            else:
                failed = _CHAIN
        if failed is None and c.schedule is not None:
            schedule = c.schedule
            tz_name = schedule.timezone or default_timezone
            pos = positions.get(tz_name)
            if pos is None:
                pos = view.local(tz_name)
            if not schedule.contains(pos[0], pos[1]):
                failed = "schedule"
        if failed is None and c.conditions is not None:
            get = view.field
            for predicate in c.conditions:
                if not predicate(get):
                    failed = "conditions"
                    break
        if failed is None:
            # c.dedup_key(), inlined: it runs for every match.
            template = c.dedup
            key = template.constant
            if key is None:
                tv = None
                if template.uses_time:
                    tz_name = template.timezone or default_timezone
                    tv = time_vars.get(tz_name) or view.time_vars(tz_name)
                key = template.render(event, det, tv)
            out.append(Verdict(c.id, True, list(c.criteria), [], key, det))
        elif misses is not None:
            misses.append(failed)
    return out


def chain_failure(c: CompiledRule, dets: list[_Det]) -> str:
    """The first link of object_type -> zone -> min_confidence that no detection gets past."""
    passed = dets
    if c.types is not None:
        passed = [d for d in passed if d[0] in c.types]
        if not passed:
            return "object_type"
    if c.zones is not None:
        zones = c.zones
        passed = [d for d in passed if not zones.isdisjoint(d[2])]
        if not passed:
            return "zone"
    return "min_confidence"


def _explain(c: CompiledRule, view: EventView, default_timezone: str) -> Verdict:
    event = view.event
    held: dict[str, bool] = {}
    if c.risk is not None:
        held["risk_threshold"] = event.risk_score is not None and event.risk_score >= c.risk
    # The detection criteria form a chain, so that each reports on the detections that passed
    # the ones before it: "a person in the driveway at 0.8", not three unrelated facts.
    passed = view.dets
    if c.types is not None:
        passed = [d for d in passed if d[0] in c.types]
        held["object_type"] = bool(passed)
    if c.cameras is not None:
        held["camera"] = event.camera_id in c.cameras
    if c.zones is not None:
        zones = c.zones
        passed = [d for d in passed if not zones.isdisjoint(d[2])]
        held["zone"] = bool(passed)
    if c.min_conf is not None:
        m = c.min_conf
        passed = [d for d in passed if d[1] is not None and d[1] >= m]
        held["min_confidence"] = bool(passed)
    if c.schedule is not None:
        day, micros = view.local(c.schedule.timezone or default_timezone)
        held["schedule"] = c.schedule.contains(day, micros)
    if c.conditions is not None:
        get = view.field
        held["conditions"] = all(p(get) for p in c.conditions)
    matched = [name for name in c.criteria if held[name]]
    failed = [name for name in c.criteria if not held[name]]
    if failed:
        return Verdict(c.id, False, matched, failed)
    det = passed[0][3] if passed else None
    return Verdict(c.id, True, matched, failed, c.dedup_key(view, det, default_timezone), det)


def verdict_for(
    c: CompiledRule, view: EventView, default_timezone: str = "UTC", explain: bool = True
) -> Verdict:
    """match_event for an already compiled rule and prepared event."""
    if explain:
        return _explain(c, view, default_timezone)
    misses: list[str] = []
    found = scan((c,), view, default_timezone, misses)
    if found:
        return found[0]
    # The hot path names only the first failure it met; explain=True gives the full account.
    failed = chain_failure(c, view.dets) if misses[0] == _CHAIN else misses[0]
    return Verdict(c.id, False, [], [failed])


def match_event(
    rule: Rule,
    event: Event,
    *,
    at: datetime | None = None,
    default_timezone: str = "UTC",
    explain: bool = True,
) -> Verdict:
    """Match one rule against one event; `at` overrides the time the schedule reads.

    `enabled` is not checked here, so a disabled rule can still be tested.
    """
    return verdict_for(compile_rule(rule), EventView(event, at), default_timezone, explain)
