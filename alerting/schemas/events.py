"""Detection events sent by detectors (POST /api/events): one event, or a batch of them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar

import pydantic
from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from ..engine.errors import ValidationError
from ..engine.timeparse import ensure_utc
from ..engine.vocabulary import RISK_LEVELS, risk_level_for
from ._fields import (
    FastFraction,
    JsonObject,
    ModelList,
    OptionalText,
    Says,
    Text,
    TextList,
    blank_is_none,
    nullable_choice,
)
from .common import (
    HTTP_URL_PATTERN,
    MAX_URL,
    Body,
    EventTime,
    http_url,
    integer,
    item_list,
    nullable,
    refuse,
    storable,
    text_schema,
    translate,
)

MAX_CAMERA_ID = 255
MAX_SUMMARY = 10_000
MAX_LABELS = 100
MAX_LABEL = 255
MAX_DETECTIONS = 500
MAX_OBJECT_TYPE = 100
MAX_ZONE_IDS = 100
MAX_ZONE_ID = 255
MAX_TRACK_ID = 255
MAX_IDENTITY = 100
MAX_SOURCE = 100
MAX_EXTERNAL_ID = 255
MAX_SCENE_INDEX_ID = 255
MAX_ATTRIBUTES_BYTES = 16 * 1024
MAX_ATTRIBUTES_DEPTH = 32
MAX_BATCH = 1000


def _track_id(value: Any) -> str | None:
    if type(value) is int:
        if abs(value) >= 10**MAX_TRACK_ID:
            raise refuse(f"must be at most {MAX_TRACK_ID} characters")
        return str(value)
    if not isinstance(value, str):
        raise refuse("must be a string, an integer or null")
    value = value.strip()
    if len(value) > MAX_TRACK_ID:
        raise refuse(f"must be at most {MAX_TRACK_ID} characters")
    return storable(value) or None


Bbox = Annotated[list[Annotated[float, Field(allow_inf_nan=False)]],
                 Field(min_length=4, max_length=4),
                 Says(default="must be a list of 4 numbers or null", whole=True)]
"""x, y, width and height: 4 finite numbers."""


class Detection(Body):
    """One object a detector saw: a type, how sure it is, where, its track, and who or what
    it is when the detector recognised it (`identity`, a face's or a plate's name, with how
    sure: `identity_score`, only with an identity)."""

    WHAT: ClassVar[str] = "an object"

    object_type: Text(MAX_OBJECT_TYPE, "a non-empty string")
    confidence: FastFraction | None = None
    zone_ids: TextList(MAX_ZONE_IDS, MAX_ZONE_ID) = Field(default_factory=list)
    bbox: Bbox | None = Field(None, description=(
        "[x, y, width, height]: the top left corner and the size, in pixels or fractions of "
        "the frame; not [x1, y1, x2, y2]. A track's stillness is read from it (a move under "
        "5% of the size is none)."))
    track_id: Annotated[str | None, BeforeValidator(
        lambda v: None if v is None else _track_id(v)), WithJsonSchema({"anyOf": [
            text_schema(MAX_TRACK_ID), {"type": "integer"}, {"type": "null"}]})] = None
    identity: OptionalText(MAX_IDENTITY) = None
    identity_score: FastFraction | None = None

    @model_validator(mode="after")
    def _score_needs_identity(self) -> Detection:
        if self.identity_score is not None and self.identity is None:
            raise refuse("only with an identity", at="identity_score")
        return self


MediaUrl = Annotated[str | None, BeforeValidator(blank_is_none(http_url)), WithJsonSchema(
    {"anyOf": [{"type": "string", "maxLength": MAX_URL, "pattern": HTTP_URL_PATTERN},
               {"type": "null"}]})]
"""Null, blank (null) or an absolute http(s) URL."""


class Media(Body):
    """Where the detector keeps the event's pictures and clip: absolute http(s) URLs, each
    optional (blank is null). The app fetches them for its users (services/media.py),
    under the outgoing policy; browsers never reach the detector."""

    WHAT: ClassVar[str] = "an object with snapshot_url, thumbnail_url and clip_url, or null"

    snapshot_url: MediaUrl = None
    thumbnail_url: MediaUrl = None
    clip_url: MediaUrl = None


def _media_or_none(media: dict[str, Any] | None) -> dict[str, Any] | None:
    # No URL at all is no media: stored and answered as null.
    return media if media and any(media.values()) else None


class Event(Body):
    """A detection event. `started_at` defaults to the time it is received; `risk_level`,
    when missing or null, is derived from `risk_score`."""

    camera_id: Text(MAX_CAMERA_ID, "a non-empty string")
    started_at: nullable(EventTime) = None
    ended_at: nullable(EventTime) = None
    risk_score: nullable(integer(0, 100)) = None
    risk_level: nullable_choice(RISK_LEVELS) = None
    summary: OptionalText(MAX_SUMMARY) = None
    labels: TextList(MAX_LABELS, MAX_LABEL) = Field(default_factory=list)
    detections: ModelList(Detection, MAX_DETECTIONS, "a list of detections") = Field(
        default_factory=list)
    source: OptionalText(MAX_SOURCE) = None
    external_id: OptionalText(MAX_EXTERNAL_ID) = None
    scene_index_id: OptionalText(MAX_SCENE_INDEX_ID) = None
    attributes: JsonObject(MAX_ATTRIBUTES_BYTES, max_depth=MAX_ATTRIBUTES_DEPTH) = None
    media: Media | None = None


def _batch(item: Any) -> Any:
    return Annotated[item_list(item, max_items=MAX_BATCH, what="a list of events"),
                     Field(min_length=1), Says({
                         "too_short": "must have at least one event",
                         "too_long": f"at most {MAX_BATCH} events per request",
                         "list_type": "must be a list of events"})]


class EventBatch(Body):
    """{"events": [...]}: 1 to 1,000 events, each stored or refused on its own."""

    WHAT: ClassVar[str] = 'an event object or {"events": [...]}'

    events: _batch(Event)


class _BatchItems(EventBatch):
    # EventBatch's checks on the list itself; the items are validated one by one.
    events: _batch(Any)  # type: ignore[valid-type]


EVENT_FIELDS = tuple(Event.model_fields)
DETECTION_FIELDS = tuple(Detection.model_fields)

_validate_event = Event.__pydantic_validator__.validate_python


def parse_event(payload: object, *, now: datetime) -> dict[str, Any]:
    """A detector's event, validated and normalised; every key of EVENT_FIELDS is returned.

    started_at defaults to `now`; risk_level, when missing or null, is derived from risk_score.
    Datetimes come back as aware UTC.
    """
    try:
        event = _validate_event(payload).model_dump()
    except pydantic.ValidationError as exc:
        raise translate(exc, Event) from None
    if event["started_at"] is None:
        event["started_at"] = ensure_utc(now)
    ended_at = event["ended_at"]
    if ended_at is not None and ended_at < event["started_at"]:
        raise ValidationError({"ended_at": "must not be before started_at"})
    if event["risk_level"] is None:
        event["risk_level"] = risk_level_for(event["risk_score"])
    event["media"] = _media_or_none(event["media"])
    return event


def parse_event_batch(
    payload: object, *, now: datetime
) -> list[tuple[int, dict[str, Any] | ValidationError]]:
    """One event object, or {"events": [...]} with 1..1000 of them, each parsed on its own.

    Returns (index, parsed event or its ValidationError) per item, error paths relative to the
    item, so one bad event does not sink the others. A body that is neither shape, or a bad
    `events` list, raises ValidationError.
    """
    if isinstance(payload, Mapping) and "events" in payload:
        try:
            items = _BatchItems.model_validate(payload).events
        except pydantic.ValidationError as exc:
            raise translate(exc, _BatchItems) from None
    elif isinstance(payload, Mapping):
        items = [payload]
    else:
        raise ValidationError({"body": f"must be {EventBatch.WHAT}"})
    results: list[tuple[int, dict[str, Any] | ValidationError]] = []
    for index, item in enumerate(items):
        try:
            results.append((index, parse_event(item, now=now)))
        except ValidationError as exc:
            results.append((index, exc))
    return results
