"""Validation of alert rules: the one place the JSON API and the WTForms pages both call.

Every parser takes whatever `json` produced and either returns clean, normalised values or
raises ValidationError with every bad field (dotted path -> short message) at once. Nothing
else escapes, whatever the input.

The `check_*` helpers are shared with event_schema. Each takes a value and its path and returns
the normalised value or raises ValidationError for that path (or paths under it).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Mapping
from datetime import time
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from .errors import ValidationError
from .regex import regex_problem
from .timeparse import parse_event_time
from .types import Condition, Rule, Schedule
from .vocabulary import (
    CHANNELS,
    CONDITION_FIELDS,
    CONDITION_OPS,
    DAY_NAMES,
    DAYS,
    DEDUP_VARIABLES,
    DEFAULT_COOLDOWN_SECONDS,
    SEVERITIES,
)

# The spec's 14 writable fields, then `targets` (per-rule recipients; not in the spec).
RULE_FIELDS = (
    "name", "description", "enabled", "severity", "risk_threshold", "object_types",
    "camera_ids", "zone_ids", "min_confidence", "schedule", "conditions",
    "dedup_key_template", "cooldown_seconds", "channels", "targets",
)
# What a created rule gets for each field it leaves out (name and severity are required).
RULE_DEFAULTS: dict[str, Any] = {
    "description": None, "enabled": True, "risk_threshold": None, "object_types": None,
    "camera_ids": None, "zone_ids": None, "min_confidence": None, "schedule": None,
    "conditions": None, "dedup_key_template": None,
    "cooldown_seconds": DEFAULT_COOLDOWN_SECONDS, "channels": [], "targets": None,
}
REQUIRED_RULE_FIELDS = ("name", "severity")
NOT_NULLABLE_RULE_FIELDS = ("name", "severity", "enabled", "cooldown_seconds", "channels")

MAX_NAME = 255
MAX_DESCRIPTION = 2000
MAX_ID = 255
MAX_ID_ITEMS = 500
MAX_COOLDOWN_SECONDS = 7 * 24 * 3600
MAX_DEDUP_TEMPLATE = 255
MAX_CONDITIONS = 50
MAX_CONDITION_TEXT = 500
MAX_CONDITION_ITEMS = 100
MAX_CONDITION_NUMBER = 10**15
MAX_EMAIL_RECIPIENTS = 50
MAX_PUSH_URLS = 20
MAX_URL = 2048
MAX_QUERY_TEXT = 255
MAX_TEST_EVENT_IDS = 1000
# The largest id a row can have: primary keys are INTEGER (32-bit on PostgreSQL). A larger id
# is refused (422) or not found (404) here, not an "integer out of range" 500 from the database.
MAX_DB_INT = 2**31 - 1
MAX_OFFSET = 2**63 - 1  # SQL OFFSET is a 64-bit integer

SCHEDULE_KEYS = ("days", "start_time", "end_time", "timezone")
CONDITION_KEYS = ("field", "op", "value")
TARGET_KEYS = ("email_recipients", "webhook_url", "push_urls")
RULE_TEST_KEYS = ("event_ids", "test_time", "limit")

_TIME_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_TZ_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_DIGITS_RE = re.compile(r"[0-9]{1,19}")
_TRUE = ("true", "1")
_FALSE = ("false", "0")
_MAX_KEY_IN_PATH = 100


# --- shared field checkers -------------------------------------------------------------------


def fail(path: str, message: str) -> ValidationError:
    """A ValidationError for one field, to `raise`."""
    return ValidationError({path: message})


def join(path: str, key: object) -> str:
    """`path.key`, or just `key` at the top level; overlong keys are cut short."""
    key = str(key)[:_MAX_KEY_IN_PATH]
    return f"{path}.{key}" if path else key


def is_list(value: object) -> bool:
    """JSON arrays (and tuples from Python callers), never strings."""
    return isinstance(value, list | tuple)


def is_number(value: object) -> bool:
    """A finite int or float; bool is not a number here."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def as_int(value: object) -> int | None:
    """The integer `value` holds, or None. 75.0 counts (JSON Schema's reading); True does not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def check_int(value: object, path: str, low: int, high: int | None = None) -> int:
    """An integer in low..high (no upper bound when high is None)."""
    number = as_int(value)
    if number is None or number < low or (high is not None and number > high):
        if high is None:
            raise fail(path, f"must be an integer of at least {low}")
        raise fail(path, f"must be an integer from {low} to {high}")
    return number


def check_fraction(value: object, path: str) -> float:
    """A number from 0 to 1, as a float."""
    if not is_number(value) or not 0 <= value <= 1:  # type: ignore[operator]
        raise fail(path, "must be a number from 0 to 1")
    return float(value)  # type: ignore[arg-type]


def check_text(
    value: object,
    path: str,
    max_length: int,
    *,
    strip: bool = True,
    allow_empty: bool = False,
    what: str = "a string",
) -> str:
    """A string of at most max_length characters that a database will store, stripped. The
    length is checked before stripping, as the OpenAPI document's maxLength says.

    NUL and lone surrogates are refused: PostgreSQL and UTF-8 encoders reject them later.
    """
    if not isinstance(value, str):
        raise fail(path, f"must be {what}")
    text = value.strip() if strip else value
    if not text and not allow_empty:
        raise fail(path, "must not be empty")
    if len(value) > max_length:
        raise fail(path, f"must be at most {max_length} characters")
    check_storable(text, path)
    return text


def check_storable(text: str, path: str) -> None:
    """Text a database will store: PostgreSQL and UTF-8 encoders refuse NUL and lone
    surrogates."""
    if "\x00" in text:
        raise fail(path, "must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise fail(path, "must be valid Unicode text") from None


def check_optional_text(value: object, path: str, max_length: int) -> str | None:
    """Null or a string; a blank string is stored as null."""
    if value is None:
        return None
    text = check_text(value, path, max_length, allow_empty=True, what="a string or null")
    return text or None


def check_list(
    value: object,
    path: str,
    item: Callable[[object, str], Any],
    *,
    max_items: int,
    what: str,
) -> list[Any]:
    """A list whose every item passes `item(value, "path.i")`; all item errors are collected."""
    if not is_list(value):
        raise fail(path, f"must be {what}")
    if len(value) > max_items:  # type: ignore[arg-type]
        raise fail(path, f"must have at most {max_items} items")
    errors: dict[str, str] = {}
    result = []
    for index, element in enumerate(value):  # type: ignore[arg-type]
        try:
            result.append(item(element, join(path, index)))
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return result


def dedupe(items: list[Any], key: Callable[[Any], Any] = lambda x: x) -> list[Any]:
    """items without repeats (by key), first occurrence kept, order kept."""
    seen = set()
    result = []
    for element in items:
        marker = key(element)
        if marker not in seen:
            seen.add(marker)
            result.append(element)
    return result


def check_string_list(
    value: object,
    path: str,
    *,
    max_items: int,
    max_length: int,
    nullable: bool,
    casefold: bool = False,
) -> list[str]:
    """A list of non-empty strings, stripped and de-duplicated (case-insensitively if casefold)."""
    what = "a list of strings or null" if nullable else "a list of strings"
    items = check_list(
        value,
        path,
        lambda v, p: check_text(v, p, max_length, what="a non-empty string"),
        max_items=max_items,
        what=what,
    )
    return dedupe(items, str.casefold if casefold else lambda x: x)


def check_object(
    value: object, path: str, allowed: tuple[str, ...], what: str = "an object"
) -> tuple[Mapping[str, Any], dict[str, str]]:
    """A JSON object, plus an "unknown field" error for each key not in `allowed`."""
    if not isinstance(value, Mapping):
        raise fail(path, f"must be {what}")
    unknown = {join(path, key): "unknown field" for key in value if key not in allowed}
    return value, unknown


def run_checks(
    payload: Mapping[str, Any],
    checkers: Mapping[str, Callable[[object, str], Any]],
    prefix: str,
    errors: dict[str, str],
) -> dict[str, Any]:
    """Run the checker of each known key present in payload, collecting errors into `errors`."""
    result: dict[str, Any] = {}
    for key, checker in checkers.items():
        if key not in payload:
            continue
        try:
            result[key] = checker(payload[key], join(prefix, key))
        except ValidationError as exc:
            errors.update(exc.fields)
    return result


# --- rule fields -----------------------------------------------------------------------------


def _nullable(checker: Callable[[object, str], Any]) -> Callable[[object, str], Any]:
    def check(value: object, path: str) -> Any:
        return None if value is None else checker(value, path)

    return check


def _check_name(value: object, path: str) -> str:
    return check_text(value, path, MAX_NAME)


def _check_enabled(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise fail(path, "must be true or false")
    return value


def _check_severity(value: object, path: str) -> str:
    if isinstance(value, str) and value.strip().lower() in SEVERITIES:
        return value.strip().lower()
    raise fail(path, "must be one of " + ", ".join(SEVERITIES))


def _check_id_list(*, casefold: bool = False) -> Callable[[object, str], list[str] | None]:
    def check(value: object, path: str) -> list[str] | None:
        if value is None:
            return None
        items = check_string_list(
            value, path, max_items=MAX_ID_ITEMS, max_length=MAX_ID, nullable=True,
            casefold=casefold,
        )
        return items or None  # an empty list means "any", like null

    return check


def _check_channel(value: object, path: str) -> str:
    if isinstance(value, str) and value.strip().lower() in CHANNELS:
        return value.strip().lower()
    raise fail(path, "must be one of " + ", ".join(CHANNELS))


def _check_channels(value: object, path: str) -> list[str]:
    what = "a list of channels (" + ", ".join(CHANNELS) + ")"
    return dedupe(check_list(value, path, _check_channel, max_items=len(CHANNELS) * 4, what=what))


def _check_cooldown(value: object, path: str) -> int:
    return check_int(value, path, 0, MAX_COOLDOWN_SECONDS)


def _check_day(value: object, path: str) -> str:
    if isinstance(value, str):
        day = value.strip().lower()
        if day in DAYS:
            return day
        if day in DAY_NAMES:
            return DAY_NAMES[day]
    raise fail(path, "must be a day of the week (sun..sat)")


def _check_days(value: object, path: str) -> list[str]:
    if value is None:
        return list(DAYS)
    days = check_list(value, path, _check_day, max_items=7 * 4, what="a list of days")
    if not days:
        raise fail(path, "must list at least one day")
    return [day for day in DAYS if day in days]  # week order, each once


def _check_hhmm(value: object, path: str) -> str:
    if value is None:
        return "00:00"
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise fail(path, "must be a time HH:MM from 00:00 to 23:59")
    return f"{int(match[1]):02d}:{match[2]}"


@lru_cache(maxsize=1)
def _timezone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def check_timezone(value: object, path: str) -> str | None:
    """Null or an IANA timezone name zoneinfo can load, returned in its canonical spelling."""
    if value is None:
        return None
    message = "must be an IANA timezone name such as Europe/Paris"
    if not isinstance(value, str):
        raise fail(path, message)
    name = value.strip()
    # Only name-shaped strings reach zoneinfo: no "..", no leading "/", no backslashes.
    if len(name) > 64 or not _TZ_RE.fullmatch(name):
        raise fail(path, message)
    name = _timezone_names().get(name.lower(), name)
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError, OSError (a directory), ...
        raise fail(path, "unknown timezone") from None
    return name


_SCHEDULE_CHECKERS: dict[str, Callable[[object, str], Any]] = {
    "days": _check_days,
    "start_time": _check_hhmm,
    "end_time": _check_hhmm,
    "timezone": check_timezone,
}


def _check_schedule(value: object, path: str) -> dict[str, Any] | None:
    if value is None:
        return None
    schedule, errors = check_object(value, path, SCHEDULE_KEYS, "an object or null")
    result = run_checks(schedule, _SCHEDULE_CHECKERS, path, errors)
    if errors:
        raise ValidationError(errors)
    return {
        "days": result.get("days", list(DAYS)),
        "start_time": result.get("start_time", "00:00"),
        "end_time": result.get("end_time", "00:00"),
        "timezone": result.get("timezone"),
    }


def _check_dedup_template(value: object, path: str) -> str | None:
    if value is None:
        return None
    template = check_text(
        value, path, MAX_DEDUP_TEMPLATE, strip=False, allow_empty=True, what="a string or null"
    )
    if not template.strip():
        return None
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        raise fail(path, "has unbalanced braces (write {{ or }} for a literal brace)") from None
    allowed = ", ".join("{" + name + "}" for name in DEDUP_VARIABLES)
    for _literal, field_name, format_spec, conversion in parts:
        if field_name is None:
            continue
        if field_name not in DEDUP_VARIABLES:
            shown = "{" + field_name[:40] + "}"
            raise fail(path, f"unknown variable {shown}; use {allowed}")
        if conversion is not None or format_spec:
            raise fail(path, f"{{{field_name}}} must not have a conversion or format spec")
    return template


# --- conditions ------------------------------------------------------------------------------

_SCALAR_OPS = ("eq", "ne")
_ORDER_OPS = ("gt", "gte", "lt", "lte")
_SET_OPS = ("in", "not_in")


def _condition_text(value: object, path: str) -> str:
    return check_text(value, path, MAX_CONDITION_TEXT, strip=False, allow_empty=True)


def _condition_number(value: object, path: str) -> int | float:
    if not is_number(value) or abs(value) > MAX_CONDITION_NUMBER:  # type: ignore[arg-type]
        raise fail(path, "must be a number from -1e15 to 1e15")
    return value  # type: ignore[return-value]


def _check_regex(value: object, path: str) -> str:
    pattern = check_text(
        value, path, MAX_CONDITION_TEXT, strip=False, what="a regular expression string"
    )
    problem = regex_problem(pattern)  # compiled as the engine compiles it: RE2
    if problem is not None:
        raise fail(path, f"must be a regular expression RE2 accepts (no backreferences or "
                         f"lookaround): {problem}")
    return pattern


def _check_condition_value(field: str, op: str, value: object, path: str) -> Any:
    """The value of clause `path` for `field op value`, checked against the op and field kind."""
    kind = CONDITION_FIELDS[field]
    value_path, op_path = join(path, "value"), join(path, "op")
    element = _condition_number if kind == "number" else _condition_text
    if op in _SET_OPS:
        what = "a list of numbers" if kind == "number" else "a list of strings"
        items = check_list(value, value_path, element, max_items=MAX_CONDITION_ITEMS, what=what)
        if not items:
            raise fail(value_path, "must list at least one value")
        return items
    if op in _ORDER_OPS:
        if kind != "number":
            raise fail(op_path, f"{op} needs a number field")
        return _condition_number(value, value_path)
    if op in _SCALAR_OPS:
        # On a list field: whether any element equals the string (the engine's reading).
        return element(value, value_path)
    # contains and matches: a substring / pattern of a text field, or an element of a list
    if kind == "number":
        raise fail(op_path, f"{op} needs a text or list field")
    if op == "matches":
        return _check_regex(value, value_path)
    return _condition_text(value, value_path)


def _check_condition(value: object, path: str) -> dict[str, Any]:
    clause, errors = check_object(
        value, path, CONDITION_KEYS, "an object with field, op and value"
    )
    for key in CONDITION_KEYS:
        if key not in clause:
            errors[join(path, key)] = "is required"
    field = clause.get("field")
    op = clause.get("op")
    field_ok = isinstance(field, str) and field in CONDITION_FIELDS
    op_ok = isinstance(op, str) and op in CONDITION_OPS
    if "field" in clause and not field_ok:
        errors[join(path, "field")] = "must be one of " + ", ".join(CONDITION_FIELDS)
    if "op" in clause and not op_ok:
        errors[join(path, "op")] = "must be one of " + ", ".join(CONDITION_OPS)
    checked: Any = None
    if field_ok and op_ok and "value" in clause:
        try:
            checked = _check_condition_value(field, op, clause["value"], path)  # type: ignore[arg-type]
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return {"field": field, "op": op, "value": checked}


def _check_conditions(value: object, path: str) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    clauses = check_list(
        value,
        path,
        _check_condition,
        max_items=MAX_CONDITIONS,
        what="a list of {field, op, value} objects or null",
    )
    return clauses or None


# --- targets ---------------------------------------------------------------------------------


def check_email(value: object, path: str) -> str:
    """An address that looks like local@domain.tld (ASCII, no display name, no separators)."""
    address = check_text(value, path, 254, what="an email address")
    if not _EMAIL_RE.fullmatch(address):
        raise fail(path, "must be an email address")
    return address


def check_http_url(value: object, path: str) -> str:
    """An absolute http(s) URL with a host. Where it points is the notifier's SSRF guard's job."""
    url = check_text(value, path, MAX_URL, what="an http or https URL")
    message = "must be an http or https URL"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise fail(path, message)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise fail(path, message) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise fail(path, message)
    return url


def _check_push_url(value: object, path: str) -> str:
    url = check_text(value, path, MAX_URL, what="a notification URL such as ntfy://topic")
    scheme, sep, rest = url.partition("://")
    if (
        not sep
        or not rest
        or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme)
        or any(ch.isspace() or ord(ch) < 32 for ch in url)
    ):
        raise fail(path, "must be a notification URL such as ntfy://topic")
    return url


def _check_recipients(value: object, path: str) -> list[str] | None:
    if value is None:
        return None
    what = "a list of email addresses or null"
    items = check_list(value, path, check_email, max_items=MAX_EMAIL_RECIPIENTS, what=what)
    return dedupe(items, str.lower) or None


def _check_push_urls(value: object, path: str) -> list[str] | None:
    if value is None:
        return None
    what = "a list of notification URLs or null"
    urls = check_list(value, path, _check_push_url, max_items=MAX_PUSH_URLS, what=what)
    return dedupe(urls) or None


_TARGET_CHECKERS: dict[str, Callable[[object, str], Any]] = {
    "email_recipients": _check_recipients,
    "webhook_url": lambda v, p: None if v is None else check_http_url(v, p),
    "push_urls": _check_push_urls,
}


def _check_targets(value: object, path: str) -> dict[str, Any] | None:
    if value is None:
        return None
    targets, errors = check_object(value, path, TARGET_KEYS, "an object or null")
    result = run_checks(targets, _TARGET_CHECKERS, path, errors)
    if errors:
        raise ValidationError(errors)
    normalised = {key: result.get(key) for key in TARGET_KEYS}
    return normalised if any(v is not None for v in normalised.values()) else None


_RULE_CHECKERS: dict[str, Callable[[object, str], Any]] = {
    "name": _check_name,
    "description": lambda v, p: check_optional_text(v, p, MAX_DESCRIPTION),
    "enabled": _check_enabled,
    "severity": _check_severity,
    "risk_threshold": _nullable(lambda v, p: check_int(v, p, 0, 100)),
    "object_types": _check_id_list(casefold=True),
    "camera_ids": _check_id_list(),
    "zone_ids": _check_id_list(),
    "min_confidence": _nullable(check_fraction),
    "schedule": _check_schedule,
    "conditions": _check_conditions,
    "dedup_key_template": _check_dedup_template,
    "cooldown_seconds": _check_cooldown,
    "channels": _check_channels,
    "targets": _check_targets,
}


# --- public parsers --------------------------------------------------------------------------


def parse_rule(payload: object, *, partial: bool = False) -> dict[str, Any]:
    """A rule's writable fields, validated and normalised.

    Create (partial=False): name and severity required; every field of RULE_FIELDS is returned,
    defaults filled in. Update (partial=True): only the fields present are returned.
    """
    if not isinstance(payload, Mapping):
        raise fail("body", "must be a JSON object")
    errors = {join("", key): "unknown field" for key in payload if key not in _RULE_CHECKERS}
    if not partial:
        for key in REQUIRED_RULE_FIELDS:
            if key not in payload:
                errors[key] = "is required"
    result = run_checks(payload, _RULE_CHECKERS, "", errors)
    if errors:
        raise ValidationError(errors)
    if partial:
        return {key: result[key] for key in RULE_FIELDS if key in result}
    return {key: result[key] if key in result else _default(key) for key in RULE_FIELDS}


def _default(key: str) -> Any:
    value = RULE_DEFAULTS[key]
    return list(value) if isinstance(value, list) else value


def _as_time(value: object) -> time:
    if isinstance(value, time):
        return value
    hours, minutes = str(value).split(":")[:2]
    return time(int(hours), int(minutes))


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def rule_from_record(record: Mapping[str, Any]) -> Rule:
    """The engine's Rule from a stored record (parse_rule's output plus "id").

    Assumes the record was validated when it was saved; `targets` has no place in Rule.
    """
    schedule = record.get("schedule")
    conditions = record.get("conditions")
    cooldown = record.get("cooldown_seconds")
    return Rule(
        id=str(record["id"]),
        name=record["name"],
        severity=record["severity"],
        enabled=bool(record.get("enabled", True)),
        risk_threshold=record.get("risk_threshold"),
        object_types=_freeze(record.get("object_types") or None),
        camera_ids=_freeze(record.get("camera_ids") or None),
        zone_ids=_freeze(record.get("zone_ids") or None),
        min_confidence=record.get("min_confidence"),
        schedule=None if not schedule else Schedule(
            days=tuple(schedule.get("days") or DAYS),
            start_time=_as_time(schedule.get("start_time") or "00:00"),
            end_time=_as_time(schedule.get("end_time") or "00:00"),
            timezone=schedule.get("timezone"),
        ),
        conditions=None if not conditions else tuple(
            Condition(field=c["field"], op=c["op"], value=_freeze(c["value"]))
            for c in conditions
        ),
        dedup_key_template=record.get("dedup_key_template"),
        cooldown_seconds=DEFAULT_COOLDOWN_SECONDS if cooldown is None else int(cooldown),
        channels=tuple(record.get("channels") or ()),
    )


def _query_int(args: Mapping[str, Any], key: str, default: int, low: int, high: int | None) -> int:
    raw = args.get(key)
    if raw is None:
        return default
    if isinstance(raw, str):
        text = raw.strip()
        if text == "":
            return default
        # ASCII digits only: int() would also take "٥٠", "1_000" and "+5".
        value: object = int(text) if _DIGITS_RE.fullmatch(text) else None
    else:
        value = raw
    return check_int(value, key, low, high)


def parse_pagination(
    args: Mapping[str, Any], *, default_limit: int = 50, max_limit: int = 1000
) -> tuple[int, int]:
    """(limit, offset) from query arguments: limit 1..max_limit, offset >= 0."""
    errors: dict[str, str] = {}
    limit = offset = 0
    try:
        limit = _query_int(args, "limit", default_limit, 1, max_limit)
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        offset = _query_int(args, "offset", 0, 0, MAX_OFFSET)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return limit, offset


def parse_rule_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """Filters for GET /api/alerts/rules: enabled, severity, q, limit, offset.

    Unknown keys are ignored (browsers and proxies add their own). Blank values mean absent.
    """
    errors: dict[str, str] = {}
    result: dict[str, Any] = {"enabled": None, "severity": None, "q": None}
    enabled = args.get("enabled")
    if isinstance(enabled, bool):
        result["enabled"] = enabled
    elif enabled is not None and not (isinstance(enabled, str) and not enabled.strip()):
        flag = enabled.strip().lower() if isinstance(enabled, str) else None
        if flag in _TRUE:
            result["enabled"] = True
        elif flag in _FALSE:
            result["enabled"] = False
        else:
            errors["enabled"] = "must be true or false"
    severity = args.get("severity")
    if severity is not None and not (isinstance(severity, str) and not severity.strip()):
        try:
            result["severity"] = _check_severity(severity, "severity")
        except ValidationError as exc:
            errors.update(exc.fields)
    q = args.get("q")
    if q is not None:
        try:
            result["q"] = check_optional_text(q, "q", MAX_QUERY_TEXT)
        except ValidationError as exc:
            errors.update(exc.fields)
    try:
        result["limit"], result["offset"] = parse_pagination(args)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return result


def _check_event_id(value: object, path: str) -> int:
    return check_int(value, path, 1, MAX_DB_INT)


def _check_event_ids(value: object, path: str) -> list[int] | None:
    if value is None:
        return None
    what = "a list of event ids or null"
    ids = check_list(value, path, _check_event_id, max_items=MAX_TEST_EVENT_IDS, what=what)
    return dedupe(ids) or None


_RULE_TEST_CHECKERS: dict[str, Callable[[object, str], Any]] = {
    "event_ids": _check_event_ids,
    "test_time": _nullable(parse_event_time),
    "limit": lambda v, p: 50 if v is None else check_int(v, p, 1, 1000),
}


def parse_rule_test(payload: object) -> dict[str, Any]:
    """The body of POST /api/alerts/rules/{id}/test: event_ids, test_time, limit (all optional).

    No body (None) or {} tests the latest events at their own times; an empty event_ids list
    or a null means the same as leaving the field out.
    """
    if payload is None:
        payload = {}
    if not isinstance(payload, Mapping):
        raise fail("body", "must be a JSON object")
    body, errors = check_object(payload, "", RULE_TEST_KEYS)
    result = run_checks(body, _RULE_TEST_CHECKERS, "", errors)
    if errors:
        raise ValidationError(errors)
    return {
        "event_ids": result.get("event_ids"),
        "test_time": result.get("test_time"),
        "limit": result.get("limit", 50),
    }
