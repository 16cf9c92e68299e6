"""Alert rules: the create and update bodies, their parts, and the rule test's body.

The JSON API, the rule pages and the VideoDB-compatible API all validate a rule through
RuleCreate / RuleUpdate (via `parse_rule`), so none of them can accept what another refuses.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ..engine.regex import regex_problem
from ..engine.vocabulary import (
    CHANNELS,
    CONDITION_FIELDS,
    CONDITION_OPS,
    DAY_NAMES,
    DAYS,
    DEDUP_VARIABLES,
    DEFAULT_COOLDOWN_SECONDS,
    PRIORITIES,
    SEVERITIES,
    SOUNDS,
)
from .common import (
    MAX_DB_INT,
    MAX_ID,
    MAX_ID_ITEMS,
    Body,
    Email,
    EventTime,
    Flag,
    Fraction,
    HttpUrl,
    PushUrl,
    TimeOfDay,
    Timezone,
    blank_is_none,
    check_at,
    checked,
    choice,
    id_list,
    integer,
    is_number,
    item_list,
    null_means,
    optional_text,
    parser,
    refuse,
    text,
    text_check,
    validate,
)
from .grouping import GroupBy, GroupInterval, GroupMaxAlerts, GroupWait, RepeatInterval
from .templates import Templates

MAX_NAME = 255
MAX_DESCRIPTION = 2000
MAX_COOLDOWN_SECONDS = 7 * 24 * 3600
# Rule kinds: "detection" rules match events; a "camera_offline" rule fires when a camera of
# its camera_ids (null: any) is silent for offline_after_seconds (services/cameras.py).
RULE_KINDS = ("detection", "camera_offline")
MIN_OFFLINE_AFTER_SECONDS = 10
MAX_OFFLINE_AFTER_SECONDS = 7 * 24 * 3600
MAX_DEDUP_TEMPLATE = 255
MAX_CONDITIONS = 50
MAX_CONDITION_TEXT = 500
MAX_CONDITION_ITEMS = 100
MAX_CONDITION_NUMBER = 10**15
MAX_EMAIL_RECIPIENTS = 50
MAX_PUSH_URLS = 20
MAX_TEST_EVENT_IDS = 1000
MAX_TRACK_SECONDS = 7 * 24 * 3600
MAX_MIN_COUNT = 1000


# --- field types -----------------------------------------------------------------------------


def _day(value: Any) -> str:
    if isinstance(value, str):
        day = value.strip().lower()
        if day in DAYS:
            return day
        if day in DAY_NAMES:
            return DAY_NAMES[day]
    raise refuse("must be a day of the week (sun..sat)")


MODE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
_MODE_RE = re.compile(MODE_NAME_PATTERN)
MAX_MODES = 20


def mode_name(value: Any) -> str:
    """An arming mode's name: 1 to 40 of a-z, 0-9, _ and -, starting with a letter or digit;
    any case in, lower case out. Whether the mode exists is the service's check."""
    if isinstance(value, str):
        name = value.strip().lower()
        if _MODE_RE.match(name):
            return name
    raise refuse("must be a mode name: 1 to 40 of a-z, 0-9, _ and -")


ModeName = Annotated[str, BeforeValidator(mode_name), WithJsonSchema(
    {"type": "string", "pattern": MODE_NAME_PATTERN, "description": "any case"})]
ModeNames = Annotated[
    item_list(ModeName, max_items=MAX_MODES, what="a list of mode names or null",
              unique=lambda x: x) | None,
    AfterValidator(lambda v: v or None)]
"""The arming modes a rule may fire in; null or an empty list: any mode."""

Day = checked(_day, {"type": "string", "enum": [*DAYS, *DAY_NAMES],
                     "description": "any case"})
Days = item_list(Day, max_items=7 * 4, what="a list of days")


def week_order(days: list[str] | None) -> list[str]:
    """Days in week order, each once; null means every day, none at all is refused."""
    if days is None:
        return list(DAYS)
    if not days:
        raise refuse("must list at least one day")
    return [day for day in DAYS if day in days]


def _dedup_template(value: Any) -> str | None:
    value = text_check(MAX_DEDUP_TEMPLATE, strip=False, allow_empty=True,
                       what="a string or null")(value)
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:
        raise refuse("has unbalanced braces (write {{ or }} for a literal brace)") from None
    allowed = ", ".join("{" + name + "}" for name in DEDUP_VARIABLES)
    for _literal, field_name, format_spec, conversion in parts:
        if field_name is None:
            continue
        if field_name not in DEDUP_VARIABLES:
            shown = "{" + field_name[:40] + "}"
            raise refuse(f"unknown variable {shown}; use {allowed}")
        if conversion is not None or format_spec:
            raise refuse(f"{{{field_name}}} must not have a conversion or format spec")
    return value


_DEDUP_PATTERN = r"^([^{}\x00]|\{\{|\}\}|\{(" + "|".join(DEDUP_VARIABLES) + r")\})*$"
DedupTemplate = Annotated[str | None, BeforeValidator(blank_is_none(_dedup_template)),
                          WithJsonSchema({"anyOf": [{"type": "string", "pattern": _DEDUP_PATTERN,
                                                     "maxLength": MAX_DEDUP_TEMPLATE},
                                                    {"type": "null"}]})]
"""A dedup key template using only DEDUP_VARIABLES; blank means the default."""


# --- parts of a rule -------------------------------------------------------------------------


class Schedule(Body):
    """When a rule may fire: days of the week and a window in a timezone."""

    WHAT: ClassVar[str] = "an object or null"

    days: Days | None = Field(default_factory=lambda: list(DAYS))
    start_time: TimeOfDay | None = "00:00"
    end_time: TimeOfDay | None = "00:00"
    timezone: Timezone | None = None

    @field_validator("days", mode="after")
    @classmethod
    def _week_order(cls, days: list[str] | None) -> list[str]:
        return week_order(days)

    @field_validator("start_time", "end_time", mode="after")
    @classmethod
    def _midnight(cls, value: str | None) -> str:
        return value or "00:00"


_SCALAR_OPS = ("eq", "ne")
_ORDER_OPS = ("gt", "gte", "lt", "lte")
_SET_OPS = ("in", "not_in")
_NUMBER_MESSAGE = "must be a number from -1e15 to 1e15"


_clause_text = text_check(MAX_CONDITION_TEXT, strip=False, allow_empty=True)
_pattern_text = text_check(MAX_CONDITION_TEXT, strip=False,
                           what="a regular expression string")


def _condition_text(value: Any, at: str) -> str:
    return check_at(_clause_text, value, at)


def _condition_number(value: Any, at: str) -> int | float:
    if not is_number(value) or abs(value) > MAX_CONDITION_NUMBER:
        raise refuse(_NUMBER_MESSAGE, at=at)
    return value


def _regex(value: Any, at: str) -> str:
    pattern = check_at(_pattern_text, value, at)
    problem = regex_problem(pattern)  # compiled as the engine compiles it: RE2
    if problem is not None:
        raise refuse("must be a regular expression RE2 accepts (no backreferences or "
                     f"lookaround): {problem}", at=at)
    return pattern


class Condition(Body):
    """One clause `field op value` over an event field; the value must suit both."""

    WHAT: ClassVar[str] = "an object with field, op and value"

    field: choice(CONDITION_FIELDS, exact=True)
    op: choice(CONDITION_OPS, exact=True)
    value: Any

    @model_validator(mode="after")
    def _value_suits(self) -> Condition:
        kind = CONDITION_FIELDS[self.field]
        op, value = self.op, self.value
        element = _condition_number if kind == "number" else _condition_text
        if op in _SET_OPS:
            what = "a list of numbers" if kind == "number" else "a list of strings"
            if not isinstance(value, list | tuple):
                raise refuse(f"must be {what}", at="value")
            if len(value) > MAX_CONDITION_ITEMS:
                raise refuse(f"must have at most {MAX_CONDITION_ITEMS} items", at="value")
            if not value:
                raise refuse("must list at least one value", at="value")
            self.value = [element(item, f"value.{i}") for i, item in enumerate(value)]
        elif op in _ORDER_OPS:
            if kind != "number":
                raise refuse(f"{op} needs a number field", at="op")
            self.value = _condition_number(value, "value")
        elif op in _SCALAR_OPS:
            # On a list field: whether any element equals the string (the engine's reading).
            self.value = element(value, "value")
        elif kind == "number":  # contains and matches: text or list fields only
            raise refuse(f"{op} needs a text or list field", at="op")
        elif op == "matches":
            self.value = _regex(value, "value")
        else:
            self.value = _condition_text(value, "value")
        return self


class Targets(Body):
    """Per-rule recipients, overriding the notification settings' defaults."""

    WHAT: ClassVar[str] = "an object or null"

    email_recipients: item_list(Email, max_items=MAX_EMAIL_RECIPIENTS, empty=None,
                                what="a list of email addresses or null", unique=str.lower) = None
    webhook_url: HttpUrl | None = None
    push_urls: item_list(PushUrl, max_items=MAX_PUSH_URLS, empty=None,
                         what="a list of notification URLs or null", unique=True) = None

    def stored(self) -> dict[str, Any] | None:
        """The stored form: every key present, or None when no recipient is given."""
        values = self.model_dump()
        return values if any(v is not None for v in values.values()) else None


Name = text(MAX_NAME)
Severity = choice(SEVERITIES)
Channel = choice(CHANNELS)
Channels = item_list(Channel, max_items=len(CHANNELS) * 4,
                     what="a list of channels (" + ", ".join(CHANNELS) + ")", unique=True)
Conditions = item_list(Condition, max_items=MAX_CONDITIONS, empty=None,  # none: no clause
                       what="a list of {field, op, value} objects or null")
MUTE_TIMING_NAME = r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$"


def _name(value: Any) -> str:
    value = text_check(100)(value)
    if not re.fullmatch(MUTE_TIMING_NAME, value):
        raise refuse("must be letters, digits, spaces, _ . - (at most 100, starting with a "
                     "letter or digit)")
    return value


MuteTimingName = Annotated[str, BeforeValidator(_name),
                           WithJsonSchema({"type": "string", "pattern": MUTE_TIMING_NAME})]


MuteTimingNames = item_list(MuteTimingName, max_items=50,
                            what="a list of mute timing names or null", unique=lambda x: x)


# --- rules -----------------------------------------------------------------------------------

MAX_ESCALATE_AFTER_SECONDS = 7 * 24 * 3600


class RuleUpdate(Body):
    """PUT /api/alerts/rules/{id}: every field optional; only the fields sent change
    (`model_dump(exclude_unset=True)`). Null clears a nullable field and is refused for the
    others (name, severity, enabled, cooldown_seconds, channels)."""

    name: Name = None
    description: optional_text(MAX_DESCRIPTION) = None
    enabled: Flag = None
    severity: Severity = None
    risk_threshold: integer(0, 100) | None = None
    object_types: id_list(casefold=True) = None
    camera_ids: id_list() = None
    zone_ids: id_list() = None
    min_confidence: Fraction | None = None
    schedule: Schedule | None = None
    conditions: Conditions | None = None
    dedup_key_template: DedupTemplate = None
    cooldown_seconds: integer(0, MAX_COOLDOWN_SECONDS) = None
    channels: Channels = None
    targets: Targets | None = None
    mute_timings: MuteTimingNames | None = None  # names; services/rules checks they exist
    modes: ModeNames = None
    kind: choice(RULE_KINDS) = None
    offline_after_seconds: integer(MIN_OFFLINE_AFTER_SECONDS, MAX_OFFLINE_AFTER_SECONDS) | \
        None = None
    # Track criteria (engine/tracks.py, README "Tracks"): each optional, null is off.
    min_dwell_seconds: integer(1, MAX_TRACK_SECONDS) | None = None
    dwell_zone_ids: id_list() = None  # null: the rule's zone_ids, or anywhere on camera
    # In order, repeats kept: ["street", "driveway", "street"] is in and out again.
    zone_sequence: item_list(text(MAX_ID, "a non-empty string"), max_items=MAX_ID_ITEMS,
                             what="a list of strings or null", empty=None) = None
    sequence_within_seconds: integer(1, MAX_TRACK_SECONDS) | None = None
    stationary_seconds: integer(1, MAX_TRACK_SECONDS) | None = None
    identities: id_list() = None  # ["*"]: any known identity
    exclude_identities: id_list() = None  # ["*"]: only unknown ones
    min_count: integer(1, MAX_MIN_COUNT) | None = None

    @field_validator("zone_sequence", mode="after")
    @classmethod
    def _two_zones(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(value) < 2:
            raise refuse("must list at least 2 zones, in the order they are entered")
        return value
    # Grouping (schemas/grouping.py): null takes the site-wide default.
    group_by: GroupBy | None = None
    group_wait: GroupWait | None = None
    group_interval: GroupInterval | None = None
    repeat_interval: RepeatInterval | None = None
    group_max_alerts: GroupMaxAlerts | None = None
    priority: choice(PRIORITIES) = None  # push priority, mapped per service
    sound: choice(SOUNDS) = None  # what the live page plays for its alerts
    templates: Templates | None = None
    # Escalation (engine/escalation.py): unacknowledged after this many seconds, the alert
    # goes to escalation_targets too; only from escalate_min_severity up, when set.
    escalate_after: integer(1, MAX_ESCALATE_AFTER_SECONDS) | None = None
    escalation_targets: Targets | None = None
    escalate_min_severity: Severity | None = None

    @field_validator("mute_timings", mode="after")
    @classmethod
    def _no_name_is_null(cls, value: list[str] | None) -> list[str] | None:
        return value or None

    def values(self) -> dict[str, Any]:
        """The fields sent, in RULE_FIELDS order, in their stored form."""
        return {key: _stored(getattr(self, key)) for key in RULE_FIELDS
                if key in self.model_fields_set}


class RuleCreate(RuleUpdate):
    """POST /api/alerts/rules: name and severity required, the rest defaulted."""

    name: Name
    severity: Severity
    enabled: Flag = True
    cooldown_seconds: integer(0, MAX_COOLDOWN_SECONDS) = DEFAULT_COOLDOWN_SECONDS
    channels: Channels = Field(default_factory=list)
    kind: choice(RULE_KINDS) = "detection"
    priority: choice(PRIORITIES) = "normal"
    sound: choice(SOUNDS) = "default"

    def values(self) -> dict[str, Any]:
        """Every writable field, in RULE_FIELDS order, in its stored form."""
        return {key: _stored(getattr(self, key)) for key in RULE_FIELDS}


# The spec's 14 writable fields, then our extensions: `targets` (per-rule recipients),
# `mute_timings` (names of mute timings), `modes` (arming modes), `kind` and
# `offline_after_seconds` (camera health rules), then the track criteria, the grouping fields,
# `priority`, `sound` and `templates` (notifications: notify/templates.py), then
# `escalate_after`, `escalation_targets` and `escalate_min_severity` (escalation).
RULE_FIELDS = tuple(RuleUpdate.model_fields)
SCHEDULE_KEYS = tuple(Schedule.model_fields)
CONDITION_KEYS = tuple(Condition.model_fields)
TARGET_KEYS = tuple(Targets.model_fields)


def _stored(value: Any) -> Any:
    if isinstance(value, Targets | Templates):
        return value.stored()
    if isinstance(value, Body):
        return value.model_dump()
    if isinstance(value, list):
        return [_stored(item) for item in value]
    return value


def parse_rule(payload: object, *, partial: bool = False) -> dict[str, Any]:
    """A rule's writable fields, validated and normalised, as the columns store them.

    Create (partial=False): every field of RULE_FIELDS, defaults filled in. Update
    (partial=True): only the fields present. ValidationError names every bad field.
    """
    return validate(RuleUpdate if partial else RuleCreate, payload).values()


# --- the rule test ---------------------------------------------------------------------------


class RuleTestRequest(Body):
    """POST /api/alerts/rules/{id}/test: which events, at what time, how many (all optional).

    An empty event_ids list or a null means the same as leaving the field out: the latest
    events, each at its own time."""

    event_ids: item_list(integer(1, MAX_DB_INT), max_items=MAX_TEST_EVENT_IDS, empty=None,
                         what="a list of event ids or null", unique=True) = None
    test_time: EventTime | None = None
    limit: null_means(50, integer(1, 1000) | None) = 50


def parse_rule_test(payload: object) -> dict[str, Any]:
    """The rule test's options (event_ids, test_time, limit); no body (None) means defaults."""
    return parser(RuleTestRequest)({} if payload is None else payload)
