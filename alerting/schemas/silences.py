"""Silences and mute timings: request bodies, the listing query, and their responses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from ..engine.errors import ValidationError
from ..engine.silences import MATCHER_FIELDS, MATCHER_OPS, SILENCE_STATES
from ..engine.vocabulary import DAYS
from .common import (
    Body,
    DateTime,
    Flag,
    Query,
    TimeOfDay,
    Timezone,
    choice,
    integer,
    item_list,
    query_integer,
    refuse,
    text_check,
    validate,
)
from .responses import Out, listing_model
from .rules import Days, MuteTimingName, _regex

MAX_MATCHERS = 20
MAX_MATCHER_VALUE = 500
MAX_COMMENT = 2000
MAX_DURATION_SECONDS = 366 * 24 * 3600
MAX_INTERVALS = 20
MAX_DATE_RANGES = 50
_value_text = text_check(MAX_MATCHER_VALUE, strip=False, allow_empty=True)


class MatcherBody(Body):
    """`field op value`: `=` / `!=` compare (any case), `=~` / `!~` match a whole value with
    an RE2 regular expression, as Alertmanager anchors it."""

    WHAT: ClassVar[str] = "an object with field, op and value"

    field: choice(MATCHER_FIELDS, exact=True)
    op: choice(MATCHER_OPS, exact=True)
    value: Annotated[str, WithJsonSchema({"type": "string", "maxLength": MAX_MATCHER_VALUE})]

    @model_validator(mode="after")
    def _value_suits(self) -> MatcherBody:
        if self.op in ("=~", "!~"):
            self.value = _regex(self.value, "value")
        return self

    @field_validator("value", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return _value_text(value)


Matchers = item_list(MatcherBody, max_items=MAX_MATCHERS, what="a list of {field, op, value}")
Comment = Annotated[str, BeforeValidator(text_check(MAX_COMMENT, allow_empty=True)),
                    WithJsonSchema({"type": "string", "maxLength": MAX_COMMENT})]
Duration = integer(60, MAX_DURATION_SECONDS)


class SilenceUpdate(Body):
    """PUT /api/silences/{id}: only the fields sent change. `duration` (seconds) sets
    `ends_at` from the start."""

    matchers: Matchers = None
    starts_at: DateTime = None
    ends_at: DateTime = None
    duration: Duration = None
    comment: Comment = None
    confirm_all: Flag = False

    @model_validator(mode="after")
    def _one_end(self) -> SilenceUpdate:
        if self.ends_at is not None and self.duration is not None:
            raise refuse("give ends_at or duration, not both", at="duration")
        return self


class SilenceCreate(SilenceUpdate):
    """POST /api/silences: matchers, an end (`ends_at` or `duration`), a comment; the start
    defaults to now. No matchers silences everything: refused unless `confirm_all` is true."""

    matchers: Matchers = Field(default_factory=list)
    comment: Comment = ""


class SilenceExtend(Body):
    """POST /api/silences/{id}/extend: a new `ends_at`, or `duration` seconds more."""

    ends_at: DateTime = None
    duration: Duration = None

    @model_validator(mode="after")
    def _one_end(self) -> SilenceExtend:
        if (self.ends_at is None) == (self.duration is None):
            raise refuse("give ends_at or duration", at="duration")
        return self


class SilenceRecreate(Body):
    """POST /api/silences/{id}/recreate: a new silence like an expired one, from now, for
    `duration` seconds (default: as long as the old one lasted)."""

    duration: Duration = None
    comment: Comment = None


class SilencePreview(SilenceCreate):
    """POST /api/silences/preview: a draft silence. With `starts_at` (in the past) the alerts
    within its own window (to `ends_at`, `duration` or now); else of the last `hours`
    (default 24)."""

    hours: integer(1, 24 * 31) = 24


def _state(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in SILENCE_STATES:
        return value.strip().lower()
    raise refuse("must be one of " + ", ".join(SILENCE_STATES))


class SilenceQuery(Query):
    """GET /api/silences: `state` (pending, active, expired), limit, offset."""

    state: Annotated[str, BeforeValidator(_state),
                     WithJsonSchema({"type": "string", "enum": list(SILENCE_STATES)})] | None = None
    limit: query_integer(1, 1000) = 100
    offset: query_integer(0, 10**9) = 0


def parse_silence(payload: object, *, partial: bool = False) -> dict[str, Any]:
    """The fields sent (update) or every field (create), validated."""
    model = validate(SilenceUpdate if partial else SilenceCreate, payload)
    values = model.model_dump(exclude_unset=partial)
    if "matchers" in values and values["matchers"] is None:
        raise _field_error("matchers", "must be a list of {field, op, value}")
    return values


def parse_silence_query(args: Any) -> dict[str, Any]:
    return validate(SilenceQuery, args).model_dump()


def _field_error(at: str, message: str) -> ValidationError:
    return ValidationError({at: message})


# --- mute timings ------------------------------------------------------------------------------


class Interval(Body):
    """A weekly window: days, start (inclusive) and end (exclusive); start > end runs past
    midnight, start == end is the whole day (a rule schedule's window)."""

    WHAT: ClassVar[str] = "an object with days, start_time and end_time"

    days: Days = Field(default_factory=lambda: list(DAYS))
    start_time: TimeOfDay = "00:00"
    end_time: TimeOfDay = "00:00"

    @field_validator("days", mode="after")
    @classmethod
    def _week_order(cls, days: list[str]) -> list[str]:
        if not days:
            raise refuse("must list at least one day")
        return [day for day in DAYS if day in days]


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise refuse("must be a date YYYY-MM-DD")


Date = Annotated[date, BeforeValidator(_date), WithJsonSchema({"type": "string",
                                                               "format": "date"})]


class DateRangeBody(Body):
    """Local dates from `start` to `end`, both included."""

    WHAT: ClassVar[str] = "an object with start and end dates"

    start: Date
    end: Date

    @model_validator(mode="after")
    def _ordered(self) -> DateRangeBody:
        if self.end < self.start:
            raise refuse("must not be before start", at="end")
        return self


class MuteTimingUpdate(Body):
    """PUT /api/mute-timings/{name}: only the fields sent change (the name stays)."""

    intervals: item_list(Interval, max_items=MAX_INTERVALS, min_items=1,
                         what="a list of {days, start_time, end_time}") = None
    timezone: Timezone | None = None
    date_ranges: item_list(DateRangeBody, max_items=MAX_DATE_RANGES,
                           what="a list of {start, end} or null") | None = None


class MuteTimingCreate(MuteTimingUpdate):
    """POST /api/mute-timings: a name, its weekly intervals, a timezone (null: the app's),
    optional date ranges (only those dates)."""

    name: MuteTimingName
    intervals: item_list(Interval, max_items=MAX_INTERVALS, min_items=1,
                         what="a list of {days, start_time, end_time}")


def parse_mute_timing(payload: object, *, partial: bool = False) -> dict[str, Any]:
    """The stored form: intervals as dicts, dates as ISO strings."""
    model = validate(MuteTimingUpdate if partial else MuteTimingCreate, payload)
    values = model.model_dump(mode="json")
    if partial:  # only the fields given change, each whole (an interval's defaults filled in)
        values = {name: values[name] for name in model.model_fields_set}
    if "intervals" in values and values["intervals"] is None:
        raise _field_error("intervals", "must list at least one value")
    if values.get("date_ranges") == []:
        values["date_ranges"] = None
    return values


# --- responses ---------------------------------------------------------------------------------


class Matcher(Out):
    field: Literal[MATCHER_FIELDS]  # type: ignore[valid-type]
    op: Literal[MATCHER_OPS]  # type: ignore[valid-type]
    value: str


class Silence(Out):
    id: str = Field(json_schema_extra={"format": "uuid"})
    matchers: list[Matcher]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    state: Literal[SILENCE_STATES]  # type: ignore[valid-type]


SilenceList = listing_model("SilenceList", "silences", Silence)


class IntervalOut(Out):
    days: list[Literal[DAYS]]  # type: ignore[valid-type]
    start_time: str
    end_time: str


class DateRangeOut(Out):
    start: date
    end: date


class MuteTiming(Out):
    name: str
    intervals: list[IntervalOut]
    timezone: str | None
    date_ranges: list[DateRangeOut] | None
    rules: list[str] = Field(description="ids of the rules naming it")
    channels: list[str] = Field(description="channels naming it in the notification settings")
    created_at: datetime
    updated_at: datetime


class MuteTimingList(Out):
    mute_timings: list[MuteTiming]
    count: int


class PreviewAlert(Out):
    id: int
    rule_id: str | None
    rule_name: str
    camera_id: str
    object_type: str | None
    zone_id: str | None
    severity: str
    status: str
    event_time: datetime


class SilencePreviewResult(Out):
    alerts: list[PreviewAlert]
    count: int
    since: datetime
    until: datetime
