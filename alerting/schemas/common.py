"""The base models, the shared field types and the translation of pydantic's errors.

Every request body and query string is a model built from the `Annotated` types here. Most are
validated by pydantic-core alone (strict, with `Field` constraints); each carries `Says`, the
API's messages for pydantic's error types ("must be an integer from 0 to 100"), so pydantic's
own wording never reaches a client. `validate` runs a model and raises ValidationError mapping
each bad field's dotted path (`schedule.start_time`, `conditions.2.value`) to its message.

A check pydantic cannot express runs in Python and raises `refuse(message, at=...)`: the error
is reported at the model's path plus `at` (a field judged from its neighbours).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from types import UnionType
from typing import Annotated, Any, ClassVar, TypeVar, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError, from_json, to_json
from pydantic_core import core_schema as cs

from ..engine.errors import ValidationError
from ..engine.timeparse import LATEST_EVENT_TIME, parse_datetime, parse_event_time

# The largest id a row can have: primary keys are INTEGER (32-bit on PostgreSQL). A larger id
# is refused (422) or not found (404), not an "integer out of range" 500 from the database.
MAX_DB_INT = 2**31 - 1
MAX_OFFSET = 2**63 - 1  # SQL OFFSET is a 64-bit integer
MAX_ID = 255  # a camera, zone or object-type id
MAX_ID_ITEMS = 500
MAX_KEY_IN_PATH = 100  # an overlong unknown key is cut short in the error's path
MAX_EMAIL = 254
MAX_URL = 2048

# JSON Schema patterns pydantic cannot derive: TEXT may be blank, NONBLANK needs a character
# that survives .strip().
TEXT_PATTERN = NO_NUL = r"^[^\x00]*$"
NONBLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
HHMM_PATTERN = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"
# An absolute http(s) URL with a host; no whitespace or control characters.
HTTP_URL_PATTERN = (r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?"
                    r"(:[0-9]{1,4})?(/[^\s\x00-\x1f\x7f]*)?$")
PUSH_URL_PATTERN = r"^[A-Za-z][A-Za-z0-9+.\-]*://[^\s\x00-\x1f\x7f]+$"
# The local part a dot-atom (RFC 5322: dots only between atoms; Python's email headers fail
# on the others), the domain a dotted host name. The OpenAPI pattern is this very one.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_RE = re.compile(_ATOM + r"(?:\." + _ATOM + r")*"
                       r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
# Epoch seconds that stay within datetime's years 1..9999.
EPOCH_MIN, EPOCH_MAX = -62135596800, 253402300799

# The messages for pydantic's error types where no field type says otherwise.
_MESSAGES = {
    "missing": "is required", "extra_forbidden": "unknown field",
    "model_type": "must be an object", "model_attributes_type": "must be an object",
    "dict_type": "must be an object", "list_type": "must be a list",
    "string_type": "must be a string", "int_type": "must be an integer",
    "bool_type": "must be true or false", "float_type": "must be a number",
}


@dataclass(frozen=True, eq=False)
class Says:
    """A field type's messages by pydantic error type (`default` for any other). `whole`: an
    error anywhere inside the value (an item of a list) is reported at the field itself."""

    messages: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None
    whole: bool = False


@dataclass(frozen=True, eq=False)
class Core:
    """A field validated by pydantic-core with `schema`, documented as `json`."""

    schema: Any
    json: dict[str, Any]

    def __get_pydantic_core_schema__(self, _source: Any, _handler: Any) -> Any:
        return self.schema

    def __get_pydantic_json_schema__(self, _schema: Any, _handler: Any) -> dict[str, Any]:
        return dict(self.json)


def refuse(message: str, *, at: str | None = None) -> PydanticCustomError:
    """An error to `raise` in a validator; `at` names a field under the validated value."""
    return PydanticCustomError("invalid", message, {"at": at} if at else None)


def check_at(check: Callable[[Any], Any], value: Any, at: str) -> Any:
    """check(value), its refusal reported at `at` (a field under the validated value)."""
    try:
        return check(value)
    except PydanticCustomError as exc:
        raise refuse(exc.message(), at=at) from None


def _says_of(annotation: Any, prefix: tuple[str, ...], found: dict[tuple[str, ...], Says]) -> None:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        _says_of(base, prefix, found)  # then the outer type's own messages, which win
        for says in (m for m in metadata if isinstance(m, Says)):
            old = found.get(prefix, says)
            found[prefix] = Says({**old.messages, **says.messages}, says.default or old.default,
                                 says.whole)
    elif origin in (Union, UnionType):
        for arg in get_args(annotation):
            _says_of(arg, prefix, found)
    elif origin is list:
        _says_of(get_args(annotation)[0], (*prefix, "*"), found)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        what = getattr(annotation, "WHAT", "an object")  # Body.WHAT: when not an object at all
        found.setdefault(prefix, Says({"model_type": f"must be {what}"}))
        hints = get_type_hints(annotation, include_extras=True)
        for name in annotation.model_fields:
            _says_of(hints[name], (*prefix, name), found)


@cache
def _says_table(model: type[BaseModel]) -> dict[tuple[str, ...], Says]:
    found: dict[tuple[str, ...], Says] = {}
    _says_of(model, (), found)
    return found


def _message(error: Any, says: Mapping[tuple[str, ...], Says]) -> tuple[int | None, str]:
    """(how much of the error's path to keep, or None for all, the message)."""
    if error["type"] == "invalid":  # a check's own message
        return None, error["msg"]
    pattern = tuple("*" if isinstance(part, int) else part for part in error["loc"])
    for end in range(len(pattern), -1, -1):
        rule = says.get(pattern[:end])
        if rule is not None and (end == len(pattern) or rule.whole):
            message = rule.messages.get(
                error["type"], rule.default if error["type"] != "missing" else None)
            if message is not None:
                return end, message
            break
    if error["type"] == "string_unicode":  # a key no text encoder takes
        return None, "keys must be valid Unicode text"
    return None, _MESSAGES.get(error["type"], error["msg"])


def translate(exc: pydantic.ValidationError, model: type[BaseModel] | None = None
              ) -> ValidationError:
    """The project's ValidationError for pydantic's: the first message for each path."""
    says = _says_table(model) if model is not None else {}
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        end, message = _message(error, says)
        parts = [str(part)[:MAX_KEY_IN_PATH] for part in error["loc"][:end]]
        if (error.get("ctx") or {}).get("at"):
            parts.append(error["ctx"]["at"])
        fields.setdefault(".".join(parts) or "body", message)
    return ValidationError(fields)


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: object, *, context: dict[str, Any] | None = None) -> M:
    """`data` (parsed JSON or query arguments) as `model`, or ValidationError naming each
    bad field by its dotted path."""
    try:
        return model.model_validate(data, context=context)
    except pydantic.ValidationError as exc:
        raise translate(exc, model) from None


class Body(BaseModel):
    """A JSON object: unknown keys are refused (a typo is a 422, not a silently ignored field).

    `WHAT` completes "must be ..." when the value is not an object at all."""

    model_config = ConfigDict(extra="forbid", strict=True)
    WHAT: ClassVar[str] = "a JSON object"


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


def parser(model: type[BaseModel], **dump: Any) -> Callable[[object], dict[str, Any]]:
    """A function validating a body or query string as `model`, returning its plain dict."""
    return lambda data: validate(model, data).model_dump(**dump)


# --- checks, as plain functions (value -> normalised value, or raise refuse(...)) -----------


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
               what: str = "a string") -> Callable[[Any], str]:
    """A string check for validators that go on from the cleaned string. The length is
    checked before stripping, as the JSON Schema's maxLength says."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise refuse(f"must be {what}")
        result = value.strip() if strip else value
        if not result and not allow_empty:
            raise refuse("must not be empty")
        if len(value) > max_length:
            raise refuse(f"must be at most {max_length} characters")
        return storable(result)

    return check


def is_number(value: object) -> bool:
    """A finite int or float; bool is not a number here."""
    return type(value) is int or (type(value) is float and math.isfinite(value))


# --- field types validated by pydantic-core ---------------------------------------------------


def text_schema(max_length: int, *, blank: bool = True) -> dict[str, Any]:
    """The JSON Schema of a stored string: at most max_length, no NUL, non-blank unless
    `blank`."""
    return {"type": "string", "maxLength": max_length,
            "pattern": TEXT_PATTERN if blank else NONBLANK_PATTERN}


def _text(max_length: int, what: str, *, blank: bool) -> Any:
    # Two string steps: the length is checked before stripping, as maxLength says.
    steps = [cs.str_schema(strict=True, max_length=max_length),
             cs.str_schema(strip_whitespace=True, min_length=0 if blank else 1, pattern=NO_NUL)]
    return Annotated[str, Core(cs.chain_schema(steps), text_schema(max_length, blank=blank)),
                     Says({"string_type": f"must be {what}",
                           "string_too_short": "must not be empty",
                           "string_too_long": f"must be at most {max_length} characters",
                           "string_pattern_mismatch": "must not contain NUL characters",
                           "string_unicode": "must be valid Unicode text"})]


def text(max_length: int, what: str = "a string") -> Any:
    """A string of at most max_length characters, non-empty once stripped, storable."""
    return _text(max_length, what, blank=False)


def optional_text(max_length: int) -> Any:
    """Null or a string of at most max_length characters, stripped; blank is null."""
    return null_means(None, _text(max_length, "a string or null", blank=True) | None)


def integer_schema(low: int, high: int | None) -> dict[str, Any]:
    """The JSON Schema of an integer in low..high."""
    return {"type": "integer", "minimum": low} | ({} if high is None else {"maximum": high})


def integer(low: int, high: int | None = None) -> Any:
    """An integer in low..high (no upper bound when high is None); 75.0 counts (JSON
    Schema's reading), "75" and true do not."""
    return _whole(cs.float_schema(strict=True, allow_inf_nan=False), low, high)


def _whole(other: Any, low: int, high: int | None, message: str | None = None) -> Any:
    """An int, or what `other` accepts as one, in low..high."""
    either = cs.union_schema([cs.int_schema(strict=True), other], custom_error_type="int_type")
    bounded = cs.int_schema(strict=False, ge=low, le=high)
    return Annotated[int, Core(cs.chain_schema([either, bounded]), integer_schema(low, high)),
                     Says(default=message or (f"must be an integer from {low} to {high}"
                                              if high is not None
                                              else f"must be an integer of at least {low}"))]


def query_integer(low: int, high: int | None = None, *, message: str | None = None) -> Any:
    """An integer query argument: ASCII digits only (int() would also take "٥٠", "1_000" and
    "+5"); an int from a Python caller passes as it is. Bounds as `integer`."""
    return _whole(cs.str_schema(strict=True, strip_whitespace=True, pattern=r"^[0-9]{1,19}$"),
                  low, high, message)


def nullable(kind: Any) -> Any:
    """`kind` or null: None passes without running kind's checks."""
    return kind | None


Fraction = FastFraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False),
                                    Says(default="must be a number from 0 to 1")]
"""A number from 0 to 1 (not a bool, not NaN), as a float."""
Flag = Annotated[bool, Says(default="must be true or false")]
"""true or false, nothing else (not 1, not "true")."""
QueryFlag = Annotated[bool, Core(cs.chain_schema([cs.union_schema(
    [cs.bool_schema(strict=True), cs.str_schema(strict=True, strip_whitespace=True,
                                                pattern="(?i)^(true|false|1|0)$")],
    custom_error_type="bool_type"), cs.bool_schema(strict=False)]), {"type": "boolean"}),
    Says(default="must be true or false")]
"""true/false/1/0 (any case) from a query string; a bool from Python passes."""


def choice(options: Any, *, what: str | None = None, exact: bool = False) -> Any:
    """One of `options`, surrounding space ignored, any case unless `exact`; returned
    lower-case."""
    options = list(options)
    word = cs.str_schema(strict=True, strip_whitespace=True, to_lower=not exact)
    return Annotated[str, Core(cs.chain_schema([word, cs.literal_schema(options)]),
                               {"type": "string", "enum": options}),
                     Says(default=what or "must be one of " + ", ".join(options))]


def nullable_choice(options: tuple[str, ...]) -> Any:
    """Null or one of `options`, any case and surrounding space; returned lower-case."""
    return Annotated[choice(options) | None,
                     Says(default="must be one of " + ", ".join(options) + " or null")]


def dedupe(value: list[Any], key: Callable[[Any], Any] | bool | None) -> list[Any]:
    """`value` without repeats (the first kept): equal ones if key is True, equal keys if a
    function, none dropped if key is None."""
    if key is None or key is False:
        return value
    if key is True:
        return list(dict.fromkeys(value))
    firsts: dict[Any, Any] = {}
    for element in value:
        firsts.setdefault(key(element), element)
    return list(firsts.values())


def item_list(item: Any, *, max_items: int, what: str, min_items: int = 0,
              unique: Callable[[Any], Any] | bool | None = None, empty: Any = ...) -> Any:
    """A list of `item`s (errors at `path.i`), at most max_items, repeats dropped by `unique`
    (see dedupe), then at least min_items. With `empty` given, null is allowed and null or []
    means `empty`."""
    kind = Annotated[list[item], Field(max_length=max_items),
                     Says({"list_type": f"must be {what}",
                           "too_long": f"must have at most {max_items} items"})]
    if empty is ...:
        if min_items:
            return Annotated[kind, AfterValidator(lambda v: _at_least(min_items, dedupe(v, unique)
                                                                      if unique else v))]
        return Annotated[kind, AfterValidator(lambda v: dedupe(v, unique))] if unique else kind
    if unique is True and empty == []:  # the lists of an event: the fast path
        return Annotated[kind | None, AfterValidator(lambda v: list(dict.fromkeys(v)) if v else [])]
    return Annotated[kind | None, AfterValidator(
        lambda v: dedupe(v, unique) if v else ([] if empty == [] else empty))]


def _at_least(count: int, items: list[Any]) -> list[Any]:
    if len(items) < count:
        raise refuse("must list at least one value" if count == 1
                     else f"must list at least {count} values")
    return items


def null_means(default: Any, kind: Any) -> Any:
    """`kind`, with null (or an empty list or string) meaning `default`."""
    return Annotated[kind, AfterValidator(lambda v: default if v in (None, [], "") else v)]


def TextList(max_items: int, max_length: int, *, empty: Any = (),  # noqa: N802 - a type
             casefold: bool = False) -> Any:
    """Null or a list of at most max_items non-empty strings, stripped, repeats (any case if
    casefold) dropped; null or [] is `empty` (a new [] by default)."""
    return item_list(text(max_length, "a non-empty string"), max_items=max_items,
                     what="a list of strings or null", unique=str.casefold if casefold else True,
                     empty=[] if empty == () else empty)


def id_list(*, casefold: bool = False) -> Any:
    """Null or a list of ids (cameras, zones, object types); an empty list means "any", null."""
    return TextList(MAX_ID_ITEMS, MAX_ID, empty=None, casefold=casefold)


def ModelList(model: type[BaseModel], max_items: int, what: str) -> Any:  # noqa: N802
    """Null (none) or a list of at most max_items `model`s."""
    return item_list(model, max_items=max_items, what=what, empty=[])


def none_is_empty(kind: Any, default: tuple[Any, ...] = ()) -> Any:
    """`kind` (a list type), null taken as `default` (empty), and so documented."""
    return Annotated[kind, BeforeValidator(lambda v: list(default) if v is None else v),
                     Field(json_schema_extra=lambda s: s.update(type=["array", "null"]))]


# --- field types checked in Python ------------------------------------------------------------


def checked(check: Callable[[Any], Any], json: dict[str, Any], kind: Any = str) -> Any:
    """A `kind` value checked (and normalised) by `check`, documented as `json`."""
    return Annotated[kind, BeforeValidator(check), WithJsonSchema(json)]


def _time_of_day(value: Any) -> str:
    match = re.fullmatch(HHMM_PATTERN, value) if isinstance(value, str) else None
    if match is None:
        raise refuse("must be a time HH:MM from 00:00 to 23:59")
    return f"{int(value.split(':')[0]):02d}:{value.split(':')[1]}"


TimeOfDay = checked(_time_of_day, {"type": "string", "pattern": HHMM_PATTERN})
"""A time "H:MM" or "HH:MM", returned as "HH:MM"."""


@lru_cache(maxsize=1)
def _timezone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def timezone_name(value: Any) -> str:
    """An IANA timezone name zoneinfo can load, in its canonical spelling."""
    name = value.strip() if isinstance(value, str) else ""
    # Only name-shaped strings reach zoneinfo: no "..", no leading "/", no backslashes.
    if len(name) > 64 or not re.fullmatch(r"[A-Za-z][\w+\-]*(?:/[\w+\-]+)*", name, re.ASCII):
        raise refuse("must be an IANA timezone name such as Europe/Paris")
    name = _timezone_names().get(name.lower(), name)
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError, OSError (a directory), ...
        raise refuse("unknown timezone") from None
    return name


@cache
def timezone_names() -> tuple[str, ...]:
    """Every timezone name this system can load, in canonical spelling (the document's enum).
    Found once a process: loading every zone took most of the document's making."""
    names = []
    for name in sorted(_timezone_names().values()):
        try:
            names += [name] if timezone_name(name) == name else []
        except PydanticCustomError:  # a zone this system lists but cannot load
            continue
    return tuple(names)


class _TimezoneSchema:
    """Listed only when a document is generated (loading every zone costs time)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, _core_schema: Any, _handler: Any) -> dict[str, Any]:
        return {"type": "string", "enum": list(timezone_names()),
                "description": "An IANA timezone name, any case"}


Timezone = Annotated[str, BeforeValidator(timezone_name), _TimezoneSchema]
"""An IANA timezone name (any case), returned in its canonical spelling."""


def email_address(value: Any) -> str:
    """An address that looks like local@domain.tld (ASCII, no display name, no separators)."""
    address = text_check(MAX_EMAIL, what="an email address")(value)
    if not _EMAIL_RE.fullmatch(address):
        raise refuse("must be an email address")
    return address


def http_url(value: Any) -> str:
    """An absolute http(s) URL with a host. Where it may point is the outgoing policy's
    business (services), not the schema's."""
    url = text_check(MAX_URL, what="an http or https URL")(value)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url)):
        raise refuse("must be an http or https URL")
    return url


def push_url(value: Any) -> str:
    """An Apprise notification URL: scheme://something, no spaces or control characters."""
    message = "must be a notification URL such as ntfy://topic"
    url = text_check(MAX_URL, what=message.removeprefix("must be "))(value)
    if not re.fullmatch(PUSH_URL_PATTERN, url):
        raise refuse(message)
    return url


Email = checked(email_address, {"type": "string", "maxLength": MAX_EMAIL,
                                "pattern": "^" + _EMAIL_RE.pattern + "$"})
"""An email address (local@domain.tld)."""
HttpUrl = checked(http_url, {"type": "string", "maxLength": MAX_URL, "pattern": HTTP_URL_PATTERN})
"""An absolute http or https URL, kept as written (stripped)."""
PushUrl = checked(push_url, {"type": "string", "maxLength": MAX_URL, "pattern": PUSH_URL_PATTERN})
"""An Apprise notification URL (ntfy://topic, tgram://bot/chat, ...)."""


def blank_is_none(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Null or a blank string is null; anything else goes through `check`."""
    return lambda v: None if v is None or (isinstance(v, str) and not v.strip()) else check(v)


OptionalHttpUrl = Annotated[str | None, BeforeValidator(blank_is_none(http_url))]
"""Null, blank (null) or an http(s) URL."""
OptionalEmail = Annotated[str | None, BeforeValidator(blank_is_none(email_address))]
"""Null, blank (null) or an email address."""


def _from_engine(parse: Callable[[Any, str], Any]) -> Callable[[Any], Any]:
    """A check from a parser that raises the engine's ValidationError({field: message})."""

    def check(value: Any) -> Any:
        try:
            return parse(value, "value")
        except ValidationError as exc:
            raise refuse(next(iter(exc.fields.values()))) from None

    return check


def _datetime_schema(low: float, high: float, year: str = "") -> dict[str, Any]:
    return {"anyOf": [{"type": "string", "format": "date-time", "maxLength": 64,
                       **({"pattern": year} if year else {})},
                      {"type": "number", "minimum": low, "exclusiveMaximum": high}]}


DateTime = checked(_from_engine(parse_datetime), _datetime_schema(EPOCH_MIN, EPOCH_MAX + 1),
                   datetime)
"""An ISO 8601 datetime (naive means UTC) or epoch seconds, as an aware UTC datetime."""
EventTime = checked(_from_engine(parse_event_time), _datetime_schema(
    0, LATEST_EVENT_TIME.timestamp(), r"^\s*(19[7-9][0-9]|2[01][0-9][0-9])-"), datetime)
"""DateTime, for the time of an event or a rule test: 1970 up to 2200."""


def _scalar(value: Any) -> None:
    if type(value) is str:
        storable(value)
    elif not (value is None or type(value) is bool or is_number(value)):
        raise refuse("must hold only JSON values (no NaN or Infinity)")


def _check_tree(value: Mapping[Any, Any], max_depth: int) -> None:
    """Only JSON values, string keys, storable text, at most max_depth levels. Without
    recursion: a deeply nested document must not raise RecursionError."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise refuse(f"must not nest deeper than {max_depth} levels")
        if isinstance(node, Mapping):
            for key in node:
                if type(key) is not str:
                    raise refuse("must have string keys")
                storable(key)
        for child in node.values() if isinstance(node, Mapping) else node:  # type: ignore[attr-defined]
            if isinstance(child, Mapping | list | tuple):
                stack.append((child, depth + 1))
            else:
                _scalar(child)


def JsonObject(max_bytes: int, *, max_depth: int = 64) -> Any:  # noqa: N802 - a type
    """Null or a JSON object of at most max_bytes as JSON (UTF-8) and max_depth levels,
    storable; an independent copy is kept."""

    def check(value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise refuse("must be an object or null")
        _check_tree(value, max_depth)
        dumped = to_json(value)
        if len(dumped) > max_bytes:
            raise refuse(f"must be at most {max_bytes // 1024} KB as JSON")
        return from_json(dumped)

    return checked(check, {"type": ["object", "null"]}, dict[str, Any] | None)


EmailList = none_is_empty(item_list(Email, max_items=50, what="a list of email addresses",
                                    unique=str.lower))
"""Null (none) or up to 50 email addresses, repeats (any case) dropped."""
PushUrlList = none_is_empty(item_list(PushUrl, max_items=20, what="a list of notification URLs",
                                      unique=True))
"""Null (none) or up to 20 notification URLs, repeats dropped."""


def cidr(value: Any) -> str:
    """An IPv4 or IPv6 network (a bare address is its /32 or /128), normalised: host bits
    cleared, "192.168.1.7/24" is "192.168.1.0/24"."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise refuse("must be a network in CIDR form, such as 192.168.1.0/24")
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise refuse(f"{value.strip()!r} is not a network in CIDR form, such as "
                     "192.168.1.0/24") from None
    if network.prefixlen == 0:
        raise refuse("must not be every address (/0): list the networks you mean")
    return str(network)


Cidr = checked(cidr, {"type": "string", "maxLength": 64, "examples": ["192.168.1.0/24"]})
"""A network in CIDR form (schemas/common.py's cidr)."""
CidrList = none_is_empty(item_list(Cidr, max_items=50, what="a list of networks in CIDR form",
                                   unique=True))
"""Null (none) or up to 50 CIDRs, repeats dropped."""
