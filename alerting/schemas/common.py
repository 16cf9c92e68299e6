"""The base model, the shared field types and the translation of pydantic's errors.

Every request body and query string is a model built from the `Annotated` types here. Each
type checks its value in a `BeforeValidator` with the project's own message ("must be an
integer from 0 to 100"), so pydantic's generic messages never reach a client, and strictness
is the API's: no "5" for an int, no 1 for a bool, but 75.0 is the integer 75 (JSON Schema's
reading). `validate` runs a model and raises ValidationError mapping each bad field's dotted
path (`schedule.start_time`, `conditions.2.value`) to its message.

A validator that judges a field from its neighbours (a condition's value against its op)
raises `refuse(message, at="value")`: the error is reported at the model's path plus `at`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from ..engine.errors import ValidationError
from ..engine.timeparse import parse_datetime, parse_event_time

# The largest id a row can have: primary keys are INTEGER (32-bit on PostgreSQL). A larger id
# is refused (422) or not found (404), not an "integer out of range" 500 from the database.
MAX_DB_INT = 2**31 - 1
MAX_OFFSET = 2**63 - 1  # SQL OFFSET is a 64-bit integer
MAX_ID = 255  # a camera, zone or object-type id
MAX_ID_ITEMS = 500
MAX_KEY_IN_PATH = 100  # an overlong unknown key is cut short in the error's path

# JSON Schema patterns for the generated API document: what the checks below accept. TEXT may
# be blank; NONBLANK needs a character that survives .strip().
TEXT_PATTERN = r"^[^\x00]*$"
NONBLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
HHMM_PATTERN = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"
# An absolute http(s) URL with a host; no whitespace or control characters.
HTTP_URL_PATTERN = (r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?"
                    r"(:[0-9]{1,4})?(/[^\s\x00-\x1f\x7f]*)?$")
PUSH_URL_PATTERN = r"^[A-Za-z][A-Za-z0-9+.\-]*://[^\s\x00-\x1f\x7f]+$"
# Epoch seconds that stay within datetime's years 1..9999.
EPOCH_MIN, EPOCH_MAX = -62135596800, 253402300799

# Messages for pydantic's own error types (the field types below rarely let these through).
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown field",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
}


def refuse(message: str, *, at: str | None = None) -> PydanticCustomError:
    """An error to `raise` in a validator; `at` names a field under the validated value."""
    return PydanticCustomError("invalid", message, {"at": at} if at else None)


def check_at(check: Callable[[Any], Any], value: Any, at: str) -> Any:
    """check(value), its refusal reported at `at` (a field under the validated value)."""
    try:
        return check(value)
    except PydanticCustomError as exc:
        raise refuse(exc.message(), at=at) from None


def _path(error: Mapping[str, Any]) -> str:
    parts = [str(part)[:MAX_KEY_IN_PATH] for part in error["loc"]]
    at = (error.get("ctx") or {}).get("at")
    if at:
        parts.append(at)
    return ".".join(parts) or "body"


def translate(exc: pydantic.ValidationError) -> ValidationError:
    """The project's ValidationError for pydantic's: the first message for each path."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        message = error["msg"] if error["type"] == "invalid" else _MESSAGES.get(
            error["type"], error["msg"])
        fields.setdefault(_path(error), message)
    return ValidationError(fields)


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: object, *, context: dict[str, Any] | None = None) -> M:
    """`data` (parsed JSON or query arguments) as `model`, or ValidationError naming each
    bad field by its dotted path."""
    try:
        return model.model_validate(data, context=context)
    except pydantic.ValidationError as exc:
        raise translate(exc) from None


class Body(BaseModel):
    """A JSON object: unknown keys are refused (a typo is a 422, not a silently ignored field).

    `WHAT` completes "must be ..." when the value is not an object at all."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=False)
    WHAT: ClassVar[str] = "a JSON object"

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if isinstance(data, BaseModel):
            return data
        if not isinstance(data, Mapping):
            raise refuse(f"must be {cls.WHAT}")
        return data


class Query(Body):
    """Query-string arguments: unknown keys are ignored (browsers and proxies add their own),
    and a blank value means the argument is absent."""

    model_config = ConfigDict(extra="ignore", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {key: value for key, value in data.items()
                    if not (isinstance(value, str) and not value.strip())}
        return data


# --- checks, as plain functions (value -> normalised value, or raise refuse(...)) -----------

Check = Callable[[Any], Any]


def storable(value: str) -> str:
    """Text a database stores: PostgreSQL and UTF-8 encoders refuse NUL and lone surrogates."""
    if "\x00" in value:
        raise refuse("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise refuse("must be valid Unicode text") from None
    return value


def text_check(max_length: int, *, strip: bool = True, allow_empty: bool = False,
               what: str = "a string") -> Check:
    """The check behind `text`, for validators that go on from the cleaned string. The length
    is checked before stripping, as the JSON Schema's maxLength says."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise refuse(f"must be {what}")
        result = value.strip() if strip else value
        if not result and not allow_empty:
            raise refuse("must not be empty")
        if len(value) > max_length:  # before stripping, as the document's maxLength says
            raise refuse(f"must be at most {max_length} characters")
        return storable(result)

    return check


def as_int(value: object) -> int | None:
    """The integer `value` holds, or None. 75.0 counts (JSON Schema's reading); True does not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def is_number(value: object) -> bool:
    """A finite int or float; bool is not a number here."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _int_check(low: int, high: int | None) -> Check:
    message = (f"must be an integer of at least {low}" if high is None
               else f"must be an integer from {low} to {high}")

    def check(value: Any) -> int:
        number = as_int(value)
        if number is None or number < low or (high is not None and number > high):
            raise refuse(message)
        return number

    return check


def dedupe(items: Iterable[Any], key: Callable[[Any], Any] = lambda x: x) -> list[Any]:
    """items without repeats (by key), first occurrence kept, order kept."""
    seen = set()
    result = []
    for element in items:
        marker = key(element)
        if marker not in seen:
            seen.add(marker)
            result.append(element)
    return result


# --- field types ---------------------------------------------------------------------------


def text_schema(max_length: int, *, blank: bool = True) -> dict[str, Any]:
    """The JSON Schema of a stored string: at most max_length, no NUL, non-blank unless
    `blank`."""
    return {"type": "string", "maxLength": max_length,
            "pattern": TEXT_PATTERN if blank else NONBLANK_PATTERN}


def text(max_length: int, *, strip: bool = True, allow_empty: bool = False,
         what: str = "a string") -> Any:
    """A string of at most max_length characters that a database stores, stripped."""
    return Annotated[str, BeforeValidator(
        text_check(max_length, strip=strip, allow_empty=allow_empty, what=what)),
        WithJsonSchema(text_schema(max_length, blank=allow_empty))]


def optional_text(max_length: int) -> Any:
    """Null or a string; a blank string is stored as null."""
    check = text_check(max_length, strip=True, allow_empty=True, what="a string or null")
    return Annotated[Annotated[str, WithJsonSchema(text_schema(max_length))] | None,
                     BeforeValidator(lambda v: None if v is None else (check(v) or None))]


def integer_schema(low: int, high: int | None) -> dict[str, Any]:
    """The JSON Schema of an integer in low..high."""
    schema: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        schema["maximum"] = high
    return schema


def integer(low: int, high: int | None = None) -> Any:
    """An integer in low..high (no upper bound when high is None); 75.0 counts, "75" does not."""
    return Annotated[int, BeforeValidator(_int_check(low, high)),
                     WithJsonSchema(integer_schema(low, high))]


def nullable(kind: Any) -> Any:
    """`kind` or null: None passes without running kind's checks."""
    return kind | None


def _fraction(value: Any) -> float:
    if not is_number(value) or not 0 <= value <= 1:
        raise refuse("must be a number from 0 to 1")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise refuse("must be true or false")
    return value


Fraction = Annotated[float, BeforeValidator(_fraction),
                     WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1})]
"""A number from 0 to 1, as a float."""
Flag = Annotated[bool, BeforeValidator(_flag), WithJsonSchema({"type": "boolean"})]
"""true or false, nothing else (not 1, not "true")."""


def choice(options: Iterable[str]) -> Any:
    """One of `options`, any case and surrounding space; returned lower-case."""
    allowed = tuple(options)
    message = "must be one of " + ", ".join(allowed)

    def check(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in allowed:
            return value.strip().lower()
        raise refuse(message)

    return Annotated[str, BeforeValidator(check),
                     WithJsonSchema({"type": "string", "enum": list(allowed)})]


def item_list(item: Any, *, max_items: int, what: str, min_items: int = 0,
              unique: Callable[[Any], Any] | None = None) -> Any:
    """A list of `item`s (each checked by pydantic, errors at `path.i`), at most max_items,
    repeats dropped by `unique` when given. A tuple from a Python caller counts as a list."""

    def before(value: Any) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise refuse(f"must be {what}")
        if len(value) > max_items:
            raise refuse(f"must have at most {max_items} items")
        return list(value)

    def after(value: list[Any]) -> list[Any]:
        if unique is not None:
            value = dedupe(value, unique)
        if len(value) < min_items:
            raise refuse("must list at least one value" if min_items == 1
                         else f"must list at least {min_items} values")
        return value

    return Annotated[list[item], BeforeValidator(before), pydantic.AfterValidator(after),
                     Field(max_length=max_items)]


def string_list(*, max_items: int, max_length: int, nullable: bool,
                casefold: bool = False) -> Any:
    """A list of non-empty strings, stripped and de-duplicated (case-insensitively if casefold)."""
    what = "a list of strings or null" if nullable else "a list of strings"
    return item_list(text(max_length, what="a non-empty string"), max_items=max_items,
                     what=what, unique=str.casefold if casefold else (lambda x: x))


def id_list(*, casefold: bool = False) -> Any:
    """Null or a list of ids (cameras, zones, object types); an empty list means "any", null."""
    inner = string_list(max_items=MAX_ID_ITEMS, max_length=MAX_ID, nullable=True,
                        casefold=casefold)
    return Annotated[inner | None, pydantic.AfterValidator(lambda v: v or None)]


_TIME_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_TZ_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")


def _time_of_day(value: Any) -> str:
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise refuse("must be a time HH:MM from 00:00 to 23:59")
    return f"{int(match[1]):02d}:{match[2]}"


TimeOfDay = Annotated[str, BeforeValidator(_time_of_day),
                      WithJsonSchema({"type": "string", "pattern": HHMM_PATTERN})]
"""A time "H:MM" or "HH:MM", returned as "HH:MM"."""


@lru_cache(maxsize=1)
def _timezone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def timezone_name(value: Any) -> str:
    """An IANA timezone name zoneinfo can load, in its canonical spelling."""
    message = "must be an IANA timezone name such as Europe/Paris"
    if not isinstance(value, str):
        raise refuse(message)
    name = value.strip()
    # Only name-shaped strings reach zoneinfo: no "..", no leading "/", no backslashes.
    if len(name) > 64 or not _TZ_RE.fullmatch(name):
        raise refuse(message)
    name = _timezone_names().get(name.lower(), name)
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError, OSError (a directory), ...
        raise refuse("unknown timezone") from None
    return name


def timezone_names() -> list[str]:
    """Every timezone name this system can load, in canonical spelling (the document's enum)."""
    names = []
    for name in sorted(_timezone_names().values()):
        try:
            if timezone_name(name) == name:
                names.append(name)
        except PydanticCustomError:  # a zone this system lists but cannot load
            continue
    return names


class _TimezoneSchema:
    """The JSON Schema of a timezone: an enum of the loadable names, listed only when a
    document is generated (loading every zone costs time an import should not pay)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, _core_schema: Any, _handler: Any) -> dict[str, Any]:
        return {"type": "string", "enum": timezone_names(),
                "description": "An IANA timezone name, any case"}


Timezone = Annotated[str, BeforeValidator(timezone_name), _TimezoneSchema]
"""An IANA timezone name (any case), returned in its canonical spelling."""


_EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
MAX_EMAIL = 254
MAX_URL = 2048


def email_address(value: Any) -> str:
    """An address that looks like local@domain.tld (ASCII, no display name, no separators)."""
    address = text_check(MAX_EMAIL, strip=True, allow_empty=False,
                          what="an email address")(value)
    if not _EMAIL_RE.fullmatch(address):
        raise refuse("must be an email address")
    return address


def http_url(value: Any) -> str:
    """An absolute http(s) URL with a host. Where it may point is the outgoing policy's
    business (services), not the schema's."""
    url = text_check(MAX_URL, strip=True, allow_empty=False, what="an http or https URL")(value)
    message = "must be an http or https URL"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise refuse(message)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise refuse(message) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise refuse(message)
    return url


_PUSH_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_push_text = text_check(MAX_URL, what="a notification URL such as ntfy://topic")


def push_url(value: Any) -> str:
    """An Apprise notification URL: scheme://something, no spaces or control characters."""
    url = _push_text(value)
    scheme, sep, rest = url.partition("://")
    if (not sep or not rest or not _PUSH_SCHEME.fullmatch(scheme)
            or any(ch.isspace() or ord(ch) < 32 for ch in url)):
        raise refuse("must be a notification URL such as ntfy://topic")
    return url


Email = Annotated[str, BeforeValidator(email_address), WithJsonSchema(
    {"type": "string", "maxLength": MAX_EMAIL, "pattern": "^" + _EMAIL_RE.pattern + "$"})]
"""An email address (local@domain.tld)."""
HttpUrl = Annotated[str, BeforeValidator(http_url), WithJsonSchema(
    {"type": "string", "maxLength": MAX_URL, "pattern": HTTP_URL_PATTERN})]
"""An absolute http or https URL, kept as written (stripped)."""
PushUrl = Annotated[str, BeforeValidator(push_url), WithJsonSchema(
    {"type": "string", "maxLength": MAX_URL, "pattern": PUSH_URL_PATTERN})]
"""An Apprise notification URL (ntfy://topic, tgram://bot/chat, ...)."""


def _from_engine(parse: Callable[[Any, str], Any]) -> Check:
    """A check from a parser that raises the engine's ValidationError({field: message})."""

    def check(value: Any) -> Any:
        try:
            return parse(value, "value")
        except ValidationError as exc:
            raise refuse(next(iter(exc.fields.values()))) from None

    return check


_DATETIME_SCHEMA = WithJsonSchema({"anyOf": [
    {"type": "string", "format": "date-time", "maxLength": 64},
    {"type": "number", "minimum": EPOCH_MIN, "maximum": EPOCH_MAX}]})
DateTime = Annotated[datetime, BeforeValidator(_from_engine(parse_datetime)), _DATETIME_SCHEMA]
"""An ISO 8601 datetime (naive means UTC) or epoch seconds, as an aware UTC datetime."""
EventTime = Annotated[datetime, BeforeValidator(_from_engine(parse_event_time)),
                      _DATETIME_SCHEMA]
"""DateTime, for the time of an event or a rule test: 1970 up to 2200."""

_DIGITS_RE = re.compile(r"[0-9]{1,19}")


def query_integer(low: int, high: int | None = None) -> Any:
    """An integer query argument: ASCII digits only (int() would also take "٥٠", "1_000" and
    "+5"); an int from a Python caller passes as it is. Bounds as `integer`."""
    bounded = _int_check(low, high)

    def check(value: Any) -> int:
        if isinstance(value, str):
            text = value.strip()
            value = int(text) if _DIGITS_RE.fullmatch(text) else None
        return bounded(value)

    return Annotated[int, BeforeValidator(check), WithJsonSchema(integer_schema(low, high))]


def query_flag(value: Any) -> bool:
    """A boolean query argument: true/false/1/0 in any case; a bool from Python passes."""
    if isinstance(value, bool):
        return value
    flag = value.strip().lower() if isinstance(value, str) else None
    if flag in ("true", "1"):
        return True
    if flag in ("false", "0"):
        return False
    raise refuse("must be true or false")


QueryFlag = Annotated[bool, BeforeValidator(query_flag)]
"""true/false/1/0 from a query string."""
