"""A rule in plain words, and its dedup key for a sample event: what the rule form shows at
its top while the rule is typed ("High: a person on back-door in porch at night (22:00-06:00
Europe/London), at most once every 5 min per camera and object").

Both take the rule as the API's payload (services.rules' input), so a draft with mistakes is
still described: whatever is not understood is left out rather than refused (saving the rule
reports it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..engine.dedup import parse_template, time_variables
from ..engine.schedule import local_time
from ..engine.vocabulary import DAYS, DEFAULT_COOLDOWN_SECONDS, DEFAULT_DEDUP_TEMPLATE

# Dedup presets of the rule form: (value, label, template). "custom" types its own template.
DEDUP_PRESETS = (
    ("camera", "Per camera", DEFAULT_DEDUP_TEMPLATE),
    ("camera_object", "Per camera and object", "{rule_id}:{camera_id}:{object_type}"),
    ("zone", "Per zone", "{rule_id}:{camera_id}:{zone_id}"),
    ("custom", "Custom template", None),
)
PRESET_TEMPLATES = {value: template for value, _, template in DEDUP_PRESETS if template}

# What each dedup variable splits alerts by, in words.
_PER = {"camera_id": "camera", "object_type": "object", "zone_id": "zone",
        "severity": "severity", "hour": "hour", "date": "day", "weekday": "weekday"}
_DAY_WORDS = {"sun": "Sun", "mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu",
              "fri": "Fri", "sat": "Sat"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")

# The sample event the dedup preview is rendered for, where the rule names nothing better.
SAMPLE = {"camera_id": "front-door", "object_type": "person", "zone_id": "driveway"}


def dedup_preset(template: str | None) -> str:
    """The preset a stored template is (or "custom")."""
    template = template or DEFAULT_DEDUP_TEMPLATE
    for value, template_of in PRESET_TEMPLATES.items():
        if template_of == template:
            return value
    return "custom"


def duration(seconds: int | float) -> str:
    """Seconds as the largest whole unit: "30 s", "5 min", "2 h", "90 s"."""
    seconds = int(seconds)
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _either(values: Any, article: str = "") -> str:
    items = [str(v) for v in values or [] if str(v).strip()]
    if not items:
        return ""
    text = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    return f"{article}{text}"


def _days(days: Any) -> str:
    chosen = [d for d in DAYS if d in set(days or DAYS)]
    if len(chosen) == len(DAYS):
        return ""
    if chosen == list(WEEKDAYS):
        return " on weekdays"
    if chosen == ["sun", "sat"]:
        return " at weekends"
    return " on " + ", ".join(_DAY_WORDS[d] for d in chosen)


def _when(schedule: Mapping[str, Any] | None, default_timezone: str) -> str:
    if not schedule:
        return "at any time"
    start, end = schedule.get("start_time") or "", schedule.get("end_time") or ""
    zone = schedule.get("timezone") or default_timezone
    days = _days(schedule.get("days"))
    if not start or not end:
        return f"on a schedule with no {'start' if not start else 'end'} time yet"
    if start == end:
        return f"all day{days} ({zone})"
    if start > end:
        return f"at night{days} ({start}-{end} {zone})"
    return f"{days.strip() or 'every day'} from {start} to {end} ({zone})"


def per_words(template: str | None) -> str:
    """What a dedup template keeps apart, in words: "per camera and object"."""
    names = [name for name, _, _ in parse_template(template or DEFAULT_DEDUP_TEMPLATE)
             if name in _PER]
    if not names:
        return "for the whole rule"
    words = list(dict.fromkeys(_PER[name] for name in names))
    return "per " + (words[0] if len(words) == 1 else
                     ", ".join(words[:-1]) + " and " + words[-1])


def _how_often(payload: Mapping[str, Any]) -> str:
    cooldown = payload.get("cooldown_seconds", DEFAULT_COOLDOWN_SECONDS)
    if not isinstance(cooldown, int | float) or isinstance(cooldown, bool):
        return ""
    if cooldown <= 0:
        return "every time"
    return f"at most once every {duration(cooldown)} {per_words(payload.get('dedup_key_template'))}"


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def describe_rule(payload: Mapping[str, Any], default_timezone: str = "UTC") -> str:
    """The rule in one sentence."""
    severity = str(payload.get("severity") or "medium").capitalize()
    cameras = _either(payload.get("camera_ids"))
    if payload.get("kind") == "camera_offline":
        silent = _number(payload.get("offline_after_seconds")) or 300
        return (f"{severity}: when {cameras or 'any camera'} sends nothing for "
                f"{duration(silent)}, and again when it is back")
    what = _either(payload.get("object_types"), "a ") or "anything"
    confidence = _number(payload.get("min_confidence"))
    if confidence is not None:
        what += f" (at least {round(confidence * 100)}% sure)"
    parts = [f"{severity}: {what} on {cameras or 'any camera'}"]
    zones = _either(payload.get("zone_ids"))
    if zones:
        parts.append(f" in {zones}")
    risk = _number(payload.get("risk_threshold"))
    if risk is not None:
        parts.append(f" with a risk score of at least {risk:g}")
    conditions = payload.get("conditions") or []
    if conditions:
        holds = "s hold" if len(conditions) > 1 else " holds"
        parts.append(f" when {len(conditions)} condition{holds}")
    parts.append(" " + _when(payload.get("schedule"), default_timezone))
    modes = _either(payload.get("modes"))
    if modes:
        parts.append(f" in {modes} mode")
    often = _how_often(payload)
    if often:
        parts.append(f", {often}")
    channels = [c for c in payload.get("channels") or []]
    parts.append(f"; sent by {_either(channels).replace(' or ', ' and ')}" if channels
                 else "; shown in the browser only")
    if payload.get("enabled") is False:
        parts.append(" (disabled)")
    return "".join(parts)


def sample_dedup_key(payload: Mapping[str, Any], default_timezone: str = "UTC",
                     now: datetime | None = None, rule_id: str = "RULE") -> tuple[str, dict]:
    """The dedup key the rule would give a sample event (its first camera, object and zone,
    now), and that sample."""
    first = {name: (payload.get(plural) or [SAMPLE[name]])[0]
             for name, plural in (("camera_id", "camera_ids"), ("object_type", "object_types"),
                                  ("zone_id", "zone_ids"))}
    schedule = payload.get("schedule") or {}
    zone = schedule.get("timezone") or default_timezone
    try:
        local = local_time(now or datetime.now(UTC), zone)
    except (KeyError, ValueError):
        local = now or datetime.now(UTC)
    hour, date, weekday = time_variables(local)
    values = {**first, "object_type": str(first["object_type"]).casefold(), "rule_id": rule_id,
              "severity": payload.get("severity") or "medium", "hour": hour, "date": date,
              "weekday": weekday}
    key = "".join(literal if name is None else str(values.get(name, ""))
                  for name, literal, _ in parse_template(
                      payload.get("dedup_key_template") or DEFAULT_DEDUP_TEMPLATE))
    return key, first
