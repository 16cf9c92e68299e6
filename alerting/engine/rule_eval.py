"""Does a rule match an event, and which of its criteria held or failed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .conditions import Predicate, compile_condition, event_field
from .dedup import DedupTemplate, time_variables
from .schedule import CompiledSchedule, compile_schedule, local_time, wall_position
from .tracks import TrackSpec, evaluate, track_spec
from .types import Detection, Event, Rule


@dataclass(slots=True)
class Verdict:
    """The outcome of one rule against one event.

    `detection` (the one that satisfied object type, zone and confidence together) and
    `dedup_key` are set only when the rule matches. `explanations`: a sentence per track
    criterion ("in `gate` for 12 s of the 30 s required"), when the rule has any.
    """

    rule_id: str
    matches: bool
    matched_conditions: list[str]
    failed_conditions: list[str]
    dedup_key: str | None = None
    detection: Detection | None = None
    explanations: dict[str, str] | None = None


class CompiledRule:
    """A rule's filters prepared once: casefolded type set, camera and zone sets, schedule."""

    __slots__ = (
        "rule", "id", "risk", "types", "cameras", "zones", "min_conf",
        "schedule", "conditions", "needs_detection", "criteria", "dedup",
        "risk_floor", "conf_floor", "single_type", "other_types", "modes", "track",
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
        self.modes = frozenset(rule.modes) if rule.modes else None
        self.track: TrackSpec | None = track_spec(rule)
        self.needs_detection = (
            self.types is not None or self.zones is not None or self.min_conf is not None
        )
        # The hot path compares without None checks: a missing score or confidence fails any
        # threshold, and a missing threshold passes anything. Ints stay ints: int < float
        # costs a double dispatch on every candidate.
        self.risk_floor = _NO_RISK_FLOOR if self.risk is None else self.risk
        self.conf_floor = _NO_FLOOR if self.min_conf is None else self.min_conf
        # A one-type rule looks only at the detections of that type (EventView.by_type);
        # other_types is the set still to test per detection when there are several.
        self.single_type = next(iter(self.types)) if self.types and len(self.types) == 1 else None
        self.other_types = self.types if self.single_type is None else None
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
        if self.modes is not None:
            criteria.append("mode")
        if self.conditions is not None:
            criteria.append("conditions")
        if self.track is not None:
            criteria.extend(self.track.criteria)
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
            time_vars = view.dedup_time(template.timezone or default_timezone)
        return template.render(view.event, det, time_vars)


_NO_FLOOR = float("-inf")
_NO_SCORE = -(1 << 62)
_NO_RISK_FLOOR = -(1 << 63)


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


# (casefolded type, confidence or -inf, zone ids, detection)
_Det = tuple[str, float, tuple[str, ...], Detection]
# (day index sun=0, microseconds since local midnight, local datetime)
Clock = tuple[int, int, datetime]


class EventView:
    """An event prepared once for matching against many rules."""

    __slots__ = ("event", "when", "mode", "dets", "by_type", "types", "clocks", "time_vars",
                 "_fields")

    def __init__(self, event: Event, when: datetime | None = None,
                 mode: str | None = None) -> None:
        self.event = event
        self.when = when if when is not None else event.started_at
        # The arming mode at `when` (engine/modes.py); None: unknown, rules' modes not checked.
        self.mode = mode
        dets: list[_Det] = []
        by_type: dict[str, list[_Det]] = {}
        for d in event.detections:
            conf = d.confidence
            det = (d.object_type.casefold(), _NO_FLOOR if conf is None else conf, d.zone_ids, d)
            dets.append(det)
            found = by_type.get(det[0])
            if found is None:
                by_type[det[0]] = [det]
            else:
                found.append(det)
        self.dets = dets
        self.by_type = by_type
        self.types = frozenset(by_type)
        # Filled by clock() and dedup_time(); read directly on the hot path to skip a call.
        self.clocks: dict[str, Clock] = {}
        self.time_vars: dict[str, tuple[str, str, str]] = {}
        self._fields: dict[str, Any] | None = None

    def clock(self, tz_name: str) -> Clock:
        """The schedule time read in a timezone, computed once per zone."""
        found = self.clocks.get(tz_name)
        if found is None:
            local = local_time(self.when, tz_name)
            day, micros = wall_position(local)
            found = self.clocks[tz_name] = (day, micros, local)
        return found

    def dedup_time(self, tz_name: str) -> tuple[str, str, str]:
        """The dedup time variables (hour, date, weekday) in a timezone, computed once per zone."""
        found = self.time_vars.get(tz_name)
        if found is None:
            found = self.time_vars[tz_name] = time_variables(self.clock(tz_name)[2])
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
_TRACK = "track"


def _chain(c: CompiledRule, dets: list[_Det]) -> list[_Det]:
    """The detections that pass the rule's object type, zone and confidence together."""
    return [d for d in dets
            if (c.types is None or d[0] in c.types)
            and (c.zones is None or not c.zones.isdisjoint(d[2]))
            and d[1] >= c.conf_floor]


def _track_verdicts(c: CompiledRule, view: EventView
                    ) -> list[tuple[Detection, dict[str, tuple[bool, str]]]]:
    """Per detection that passes the chain: its track's criteria (held, why)."""
    ctx = view.event.tracks
    spec = c.track
    assert spec is not None
    out = []
    for d in _chain(c, view.dets):
        det = d[3]
        track = None if ctx is None or det.track_id is None else ctx.tracks.get(det.track_id)
        out.append((det, evaluate(spec, track, ctx)))
    return out


def _track_match(c: CompiledRule, view: EventView
                 ) -> tuple[Detection, dict[str, tuple[bool, str]]] | None:
    """The first detection whose track meets every track criterion, with the account."""
    for det, account in _track_verdicts(c, view):
        if all(held for held, _why in account.values()):
            return det, account
    return None


def scan(
    candidates: Iterable[CompiledRule],
    view: EventView,
    default_timezone: str,
    misses: list[str] | None = None,
    check_camera: bool = True,
) -> list[Verdict]:
    """Verdicts of the candidates that match, in order; each rule stops at its first failure.

    The hot path: one loop, event attributes read once, no call unless a rule needs one. A
    candidate repeated back to back is checked once. With `misses`, each failure's criterion
    name is appended ("detection" when the object_type / zone / min_confidence chain failed;
    `chain_failure` says which link). `check_camera=False`: candidates were picked by camera.
    """
    event = view.event
    camera = event.camera_id
    score = _NO_SCORE if event.risk_score is None else event.risk_score
    dets = view.dets
    by_type = view.by_type
    first = dets[0][3] if dets else None
    clocks = view.clocks
    dedup_times = view.time_vars
    out: list[Verdict] = []
    prev = None
    for c in candidates:
        if c is prev:
            continue
        prev = c
        if check_camera and c.cameras is not None and camera not in c.cameras:
            if misses is not None:
                misses.append("camera")
            continue
        if score < c.risk_floor:
            if misses is not None:
                misses.append("risk_threshold")
            continue
        det = first
        found_track = None
        if c.needs_detection:
            zones, conf_floor, types = c.zones, c.conf_floor, c.other_types
            pool = dets if c.single_type is None else by_type.get(c.single_type, ())
            for t, conf, det_zones, found in pool:
                if types is not None and t not in types:
                    continue
                if zones is not None and zones.isdisjoint(det_zones):
                    continue
                if conf < conf_floor:
                    continue
                det = found
                break
            else:
                if misses is not None:
                    misses.append(_CHAIN)
                continue
        schedule = c.schedule
        if schedule is not None:
            tz_name = schedule.timezone or default_timezone
            clock = clocks.get(tz_name) or view.clock(tz_name)
            if not schedule.contains(clock[0], clock[1]):
                if misses is not None:
                    misses.append("schedule")
                continue
        if c.modes is not None and view.mode is not None and view.mode not in c.modes:
            if misses is not None:
                misses.append("mode")
            continue
        if c.conditions is not None:
            get = view.field
            holds = True
            for predicate in c.conditions:
                if not predicate(get):
                    holds = False
                    break
            if not holds:
                if misses is not None:
                    misses.append("conditions")
                continue
        if c.track is not None:
            found_track = _track_match(c, view)
            if found_track is None:
                if misses is not None:
                    misses.append(_TRACK)
                continue
            det = found_track[0]
        # c.dedup_key(), inlined: it runs for every match.
        template = c.dedup
        key = template.constant
        if key is None:
            time_vars = None
            if template.uses_time:
                tz_name = template.timezone or default_timezone
                time_vars = dedup_times.get(tz_name) or view.dedup_time(tz_name)
            key = template.render(event, det, time_vars)
        out.append(Verdict(c.id, True, list(c.criteria), [], key, det,
                           None if found_track is None else
                           {name: why for name, (_ok, why) in found_track[1].items()}))
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


_LINKS = {"object_type": "object type", "zone": "zone", "min_confidence": "minimum confidence"}


def _unjudged(c: CompiledRule, dets: list[_Det]) -> dict[str, tuple[bool, str]]:
    """The track criteria when no detection passes the rule's chain: no track is judged, and
    the reason is the chain's, not "no track" (the event's tracks may be of other objects)."""
    if not dets:
        return evaluate(c.track, None, None)  # type: ignore[arg-type]
    why = f"not judged: no detection meets the rule's {_LINKS[chain_failure(c, dets)]}"
    return {name: (False, why) for name in c.track.criteria}  # type: ignore[union-attr]


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
        passed = [d for d in passed if d[1] >= m]
        held["min_confidence"] = bool(passed)
    if c.schedule is not None:
        clock = view.clock(c.schedule.timezone or default_timezone)
        held["schedule"] = c.schedule.contains(clock[0], clock[1])
    if c.modes is not None:
        held["mode"] = view.mode is None or view.mode in c.modes
    if c.conditions is not None:
        get = view.field
        held["conditions"] = all(p(get) for p in c.conditions)
    det = passed[0][3] if passed else None
    explanations = None
    if c.track is not None:
        # The track that meets them all, else the first one's account.
        accounts = _track_verdicts(c, view)
        chosen = _track_match(c, view) or (accounts[0] if accounts else None)
        account = chosen[1] if chosen else _unjudged(c, view.dets)
        if chosen is not None:
            det = chosen[0]
        for name, (ok, _why) in account.items():
            held[name] = ok
        explanations = {name: why for name, (_ok, why) in account.items()}
    matched = [name for name in c.criteria if held[name]]
    failed = [name for name in c.criteria if not held[name]]
    if failed:
        return Verdict(c.id, False, matched, failed, explanations=explanations)
    return Verdict(c.id, True, matched, failed, c.dedup_key(view, det, default_timezone), det,
                   explanations)


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
    if misses[0] == _TRACK:
        return _explain(c, view, default_timezone)
    failed = chain_failure(c, view.dets) if misses[0] == _CHAIN else misses[0]
    return Verdict(c.id, False, [], [failed])


def match_event(
    rule: Rule,
    event: Event,
    *,
    at: datetime | None = None,
    default_timezone: str = "UTC",
    explain: bool = True,
    mode: str | None = None,
) -> Verdict:
    """Match one rule against one event; `at` overrides the time the schedule reads, `mode`
    is the arming mode at that time (None: the rule's modes are not checked).

    `enabled` is not checked here, so a disabled rule can still be tested.
    """
    return verdict_for(compile_rule(rule), EventView(event, at, mode), default_timezone, explain)
