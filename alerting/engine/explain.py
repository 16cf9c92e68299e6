"""What a rule requires against what an event had, criterion by criterion: the words beside
a verdict's matched and failed conditions ("object type: person required, car seen")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .conditions import clause_holds, event_field
from .rule_eval import Verdict
from .schedule import local_time
from .tracks import ANY_IDENTITY
from .types import Event, Rule

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order


@dataclass(frozen=True, slots=True)
class Criterion:
    """One criterion of a rule: whether it held for the event, what it asks, what was seen."""

    name: str
    held: bool
    required: str
    actual: str


def _listed(values) -> str:
    return ", ".join(str(v) for v in values) if values else "none"


def _percent(value: float | None) -> str:
    return "none" if value is None else f"{round(value * 100)}%"


def _identities(names, every: str, prefix: str) -> str:
    return every if ANY_IDENTITY in names else f"{prefix} {_listed(names)}"


def _track_required(rule: Rule) -> dict[str, str]:
    """What each track criterion of the rule asks, in words; the actual is the verdict's
    explanation of it (engine/tracks.py)."""
    out: dict[str, str] = {}
    if rule.min_dwell_seconds is not None:
        zones = rule.dwell_zone_ids or rule.zone_ids
        out["dwell"] = f"{rule.min_dwell_seconds} s in {_listed(zones) if zones else 'view'}"
    if rule.zone_sequence:
        within = rule.sequence_within_seconds
        out["zone_sequence"] = " then ".join(rule.zone_sequence) + (
            f" within {within} s" if within is not None else "")
    if rule.stationary_seconds is not None:
        out["stationary"] = f"still for {rule.stationary_seconds} s"
    if rule.identities or rule.exclude_identities:
        wanted = [_identities(rule.identities, "any known", "one of")] \
            if rule.identities else []
        if rule.exclude_identities:
            wanted.append(_identities(rule.exclude_identities, "unknown", "none of"))
        out["identity"] = "; ".join(wanted)
    if rule.min_count is not None:
        out["min_count"] = f"{rule.min_count} at once" + (
            f" in {_listed(rule.zone_ids)}" if rule.zone_ids else "")
    return out


def explain(rule: Rule, event: Event, verdict: Verdict, *, default_timezone: str,
            at: datetime | None = None, mode: str | None = None) -> list[Criterion]:
    """Each criterion the rule sets, in the verdict's order, with required and actual values.
    `at` is the time the rule was judged at (the rule test's test_time), else the event's."""
    held = set(verdict.matched_conditions)
    types = {t.casefold() for t in rule.object_types or ()}
    seen = [d for d in event.detections if not types or d.object_type.casefold() in types]
    found: dict[str, tuple[str, str]] = {}
    if rule.risk_threshold is not None:
        found["risk_threshold"] = (f"risk ≥ {rule.risk_threshold}",
                                   f"risk {event.risk_score}" if event.risk_score is not None
                                   else "no risk score")
    if rule.object_types:
        found["object_type"] = (_listed(rule.object_types),
                                _listed(sorted({d.object_type for d in event.detections})))
    if rule.camera_ids:
        found["camera"] = (_listed(rule.camera_ids), event.camera_id)
    if rule.zone_ids:
        found["zone"] = (_listed(rule.zone_ids),
                         _listed(sorted({z for d in seen for z in d.zone_ids})))
    if rule.min_confidence is not None:
        best = max((d.confidence for d in seen if d.confidence is not None), default=None)
        found["min_confidence"] = (f"≥ {_percent(rule.min_confidence)}", _percent(best))
    if rule.schedule is not None:
        schedule = rule.schedule
        zone = schedule.timezone or default_timezone
        local = local_time(at or event.started_at, zone)
        days = "every day" if len(set(schedule.days)) == 7 else _listed(schedule.days)
        hours = "all day" if schedule.start_time == schedule.end_time else \
            f"{schedule.start_time:%H:%M}-{schedule.end_time:%H:%M}"
        found["schedule"] = (f"{days} {hours} {zone}",
                             f"{_DAYS[local.weekday()]} {local:%H:%M} {zone}")
    if rule.modes:
        found["mode"] = (_listed(rule.modes), mode or "unknown")
    if rule.conditions:
        failing = [c for c in rule.conditions if not clause_holds(c, event)]
        shown = failing or list(rule.conditions)
        found["conditions"] = (
            "; ".join(f"{c.field} {c.op} {c.value!r}" for c in rule.conditions),
            "; ".join(f"{c.field} = {event_field(event, c.field)!r}" for c in shown))
    track = _track_required(rule)
    for name, required in track.items():
        found[name] = (required, (verdict.explanations or {}).get(name, "no track for this event"))
    order = [*verdict.matched_conditions, *verdict.failed_conditions]
    order += [name for name in found if name not in order]
    return [Criterion(name, name in held, *found[name]) for name in order if name in found]
