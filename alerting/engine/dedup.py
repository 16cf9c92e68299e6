"""Dedup keys: a rule's template filled from the event, the detection and the time."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from string import Formatter

from .schedule import local_time
from .types import Detection, Event, Rule
from .vocabulary import DAYS, DEDUP_VARIABLES, DEFAULT_DEDUP_TEMPLATE

_KNOWN = frozenset(DEDUP_VARIABLES)
# Per-event variables by code; the time ones index time_variables().
_CODES = {"hour": 0, "date": 1, "weekday": 2, "camera_id": 3, "object_type": 4, "zone_id": 5}
_CAMERA, _OBJECT_TYPE, _ZONE = 3, 4, 5
_NO_TIME = ("", "", "")
_HOURS = tuple(f"{h:02d}" for h in range(24))

# (name, literal, spec): literal text when name is None, else a variable with its format spec.
_Piece = tuple[str | None, str, str]


@lru_cache(maxsize=1024)
def parse_template(template: str) -> tuple[_Piece, ...]:
    """(name, literal, spec) pieces of a template; unknown placeholders stay literal text."""
    try:
        parsed = list(Formatter().parse(template))
    except ValueError:
        # Malformed braces: templates are validated on save, so keep the text rather than fail.
        return ((None, template, ""),)
    pieces: list[_Piece] = []
    for literal, name, spec, conversion in parsed:
        if literal:
            pieces.append((None, literal, ""))
        if name is None:
            continue
        spec = spec or ""
        # Only known names are substituted, and a spec is applied with format() on a str, so no
        # attribute or index access ever runs on user-supplied text.
        if name in _KNOWN and not conversion and "{" not in spec:
            pieces.append((name, "", spec))
        else:
            raw = "{" + name + (f"!{conversion}" if conversion else "")
            pieces.append((None, raw + (f":{spec}" if spec else "") + "}", ""))
    return tuple(pieces)


def dedup_zone(rule_zones: tuple[str, ...] | frozenset[str] | None, det: Detection | None) -> str:
    """The detection's first zone that the rule lists, else its first zone, else ""."""
    if det is None or not det.zone_ids:
        return ""
    if rule_zones:
        for z in det.zone_ids:
            if z in rule_zones:
                return z
    return det.zone_ids[0]


class DedupTemplate:
    """A rule's dedup template compiled once: per-rule variables filled in, the rest as %s."""

    __slots__ = (
        "fmt", "variables", "constant", "zones", "timezone", "uses_time",
        "_pick", "_wants_type", "_wants_zone", "_has_spec", "_camera_only",
    )

    def __init__(self, rule: Rule) -> None:
        fixed = {"rule_id": rule.id, "severity": rule.severity}
        fmt: list[str] = []
        variables: list[tuple[int, str]] = []
        template = rule.dedup_key_template or DEFAULT_DEDUP_TEMPLATE
        for name, literal, spec in parse_template(template):
            if name in fixed:
                name, literal = None, _apply(fixed[name], spec)
            if name is None:
                fmt.append(literal.replace("%", "%%"))
            else:
                fmt.append("%s")
                variables.append((_CODES[name], spec))
        # %-formatting our own escaped string: fast, and never evaluates what the user wrote.
        self.fmt = "".join(fmt)
        self.variables = tuple(variables)
        self.constant = None if variables else self.fmt.replace("%%", "%")
        self.zones = frozenset(rule.zone_ids) if rule.zone_ids else None
        self.timezone = rule.schedule.timezone if rule.schedule is not None else None
        codes = [code for code, _ in variables]
        self.uses_time = any(code < _CAMERA for code in codes)
        # One C-level call picks every value out of the context tuple built in render().
        self._pick = itemgetter(*codes) if codes else None
        self._wants_type = _OBJECT_TYPE in codes
        self._wants_zone = _ZONE in codes
        self._has_spec = any(spec for _, spec in variables)
        # The default template, "{rule_id}:{camera_id}", and its like: one substitution.
        self._camera_only = variables == [(_CAMERA, "")]

    def render(
        self, event: Event, det: Detection | None, time_vars: tuple[str, str, str] | None
    ) -> str:
        """The key; `time_vars` is time_variables() in the template's timezone if it uses time."""
        if self.constant is not None:
            return self.constant
        if self._camera_only:
            return self.fmt % event.camera_id
        if time_vars is None:
            if self.uses_time:
                raise ValueError("a template with time variables needs time_vars")
            time_vars = _NO_TIME
        object_type = zone_id = ""
        if det is not None:
            if self._wants_type:
                # Types match case-insensitively, so "Person" and "person" share a key.
                object_type = det.object_type.casefold()
            if self._wants_zone:
                zone_id = dedup_zone(self.zones, det)
        context = time_vars + (event.camera_id, object_type, zone_id)
        if self._has_spec:
            values = tuple(_apply(context[code], spec) for code, spec in self.variables)
            return self.fmt % values
        return self.fmt % self._pick(context)  # type: ignore[misc]


def _apply(value: str, spec: str) -> str:
    if not spec:
        return value
    try:
        return format(value, spec)
    except ValueError:
        return value


def time_variables(local: datetime) -> tuple[str, str, str]:
    """(hour "00".."23", date "YYYY-MM-DD", weekday "sun".."sat") of a local datetime."""
    return _HOURS[local.hour], local.date().isoformat(), DAYS[(local.weekday() + 1) % 7]


def render_dedup_key(
    rule: Rule,
    event: Event,
    detection: Detection | None,
    when: datetime,
    default_timezone: str = "UTC",
) -> str:
    """The rule's dedup key for an event; time variables are read in the schedule's timezone."""
    template = DedupTemplate(rule)
    time_vars = None
    if template.uses_time:
        time_vars = time_variables(local_time(when, template.timezone or default_timezone))
    return template.render(event, detection, time_vars)
