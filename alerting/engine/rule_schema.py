"""The hand-written check toolkit, kept only for the schemas not yet on pydantic.

Rules, rule tests and list queries are validated by the models in alerting/schemas; what is
left here is what event_schema, settings_schema, videodb/schema and the API document still
import. Each `check_*` takes a value and its path and returns the normalised value or raises
ValidationError for that path (or paths under it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from .errors import ValidationError

REQUIRED_RULE_FIELDS = ("name", "severity")

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

_TZ_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
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


# --- shared by the other schemas -------------------------------------------------------------


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
