"""The VideoDB-compatible API's request bodies and query strings.

Errors come out as ValidationError like everywhere else; the app's handler answers them in
VideoDB's envelope `{"success": false, "message"}`. Keys the SDK may send that this server has
no use for (`ws_connection_id` on a stream or index, `sandbox_id`, ...) are accepted and
ignored, so SDK versions that add fields keep working.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from ._fields import JsonObject, blank_is_none
from .common import (
    MAX_OFFSET,
    Body,
    HttpUrl,
    Query,
    choice,
    http_url,
    integer,
    item_list,
    nullable,
    optional_text,
    query_integer,
    refuse,
    text,
    validate,
)

COLLECTION_ID = "default"
MEDIA_TYPES = ("video", "audio")
STREAM_ORDERINGS = ("created_at", "-created_at", "name", "-name")
DEFAULT_EXTRACTION_TYPE = "time"

MAX_ID = 64
MAX_NAME = 255
MAX_URL = 2048
MAX_PROMPT = 10_000
MAX_EVENT_PROMPT = 2000  # it becomes the rule's description
MAX_LABEL = 255  # an event label is at most this long (schemas/events)
MAX_CONFIG_BYTES = 16 * 1024
MAX_SAMPLE_RATE = 10_000
MAX_PAGE_SIZE = 1000
MAX_UNIX_SECONDS = 253402300800  # the start of year 10000


class _Body(Body):
    """A VideoDB body: keys this server does not use are ignored, not refused."""

    model_config = ConfigDict(extra="ignore")


def _optional_bool(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    raise refuse("must be true, false or null")


OptionalFlag = Annotated[bool, BeforeValidator(_optional_bool),
                         WithJsonSchema({"type": ["boolean", "null"]})]
"""true, false, or null (false)."""


class StreamCreate(_Body):
    """POST /rtstream: connect a stream (`url` and `name` required)."""

    collection_id: Annotated[optional_text(MAX_ID), AfterValidator(
        lambda v: v or COLLECTION_ID)] = COLLECTION_ID
    url: text(MAX_URL, what="a stream URL")
    name: text(MAX_NAME)
    media_types: Annotated[
        item_list(choice(MEDIA_TYPES), max_items=8, what="a list of media types",
                  unique=lambda x: x),
        BeforeValidator(lambda v: ["video"] if v is None else v),
        AfterValidator(lambda v: v or _no_media_type()),
        Field(json_schema_extra=lambda schema: schema.update(type=["array", "null"])),
    ] = ["video"]  # noqa: RUF012 - pydantic copies defaults
    sample_rate: nullable(integer(1, MAX_SAMPLE_RATE)) = None
    store: OptionalFlag = False
    enable_transcript: OptionalFlag = False


def _no_media_type() -> list[str]:
    raise refuse("must list at least one media type")


class SceneIndexCreate(_Body):
    """POST /rtstream/{id}/index/scene: every field optional."""

    extraction_type: Annotated[optional_text(50), AfterValidator(
        lambda v: v or DEFAULT_EXTRACTION_TYPE)] = DEFAULT_EXTRACTION_TYPE
    extraction_config: JsonObject(MAX_CONFIG_BYTES) = None
    prompt: optional_text(MAX_PROMPT) = None
    model_name: optional_text(MAX_NAME) = None
    # "model_config" is a reserved name on a pydantic model: the field has it as its alias.
    model_config_: JsonObject(MAX_CONFIG_BYTES) = Field(None, alias="model_config")
    name: optional_text(MAX_NAME) = None


class EventCreate(_Body):
    """POST /rtstream/event: a detection definition (`event_prompt` and `label` required)."""

    event_prompt: text(MAX_EVENT_PROMPT)
    label: text(MAX_LABEL)


class AlertCreate(_Body):
    """POST /rtstream/{id}/index/{iid}/alert: `event_id`, and a callback URL or a WebSocket
    connection id (or both). An empty `callback_url` means none."""

    event_id: text(MAX_ID)
    callback_url: Annotated[str, BeforeValidator(lambda v: blank_is_none(http_url)(v) or ""),
                            WithJsonSchema({"anyOf": [HttpUrl.__metadata__[1].json_schema,
                                                      {"type": "string", "maxLength": 0},
                                                      {"type": "null"}]})] = ""
    ws_connection_id: optional_text(MAX_ID) = None

    @model_validator(mode="after")
    def _somewhere_to_send(self) -> AlertCreate:
        if not self.callback_url and not self.ws_connection_id:
            raise refuse("is required unless ws_connection_id is given", at="callback_url")
        return self


def _start_stop(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in ("start", "stop"):
        return value.strip().lower()
    raise refuse('must be "start" or "stop"')


class StartStop(_Body):
    """PATCH .../status of a stream or a scene index."""

    action: Annotated[Literal["start", "stop"], BeforeValidator(_start_stop)]

    @model_validator(mode="before")
    @classmethod
    def _action_required(cls, data: Any) -> Any:
        if isinstance(data, dict) and "action" not in data:
            raise refuse('must be "start" or "stop"', at="action")
        return data


def _word(choices: dict[str, bool]) -> Any:
    message = "must be " + " or ".join(f'"{c}"' for c in choices)

    def check(value: Any) -> bool:
        word = value.strip().lower() if isinstance(value, str) else None
        if word not in choices:
            raise refuse(message)
        return choices[word]

    return Annotated[bool | None, BeforeValidator(check),
                     WithJsonSchema({"type": "string", "enum": list(choices)})]


class AlertStatus(_Body):
    """PATCH .../alert/{aid}/status: the SDK's {"action": "enable" | "disable"} or the API
    reference's {"status": "enabled" | "disabled"}."""

    action: _word({"enable": True, "disable": False}) = None
    status: _word({"enabled": True, "disabled": False}) = None

    @model_validator(mode="after")
    def _one_wish(self) -> AlertStatus:
        if self.action is None and self.status is None:
            raise refuse('is required: "enable" or "disable" '
                         '(or give status "enabled" or "disabled")', at="action")
        if None not in (self.action, self.status) and self.action != self.status:
            raise refuse("contradicts action", at="status")
        return self

    @property
    def enabled(self) -> bool:
        """What the request asks for: True means enabled."""
        return self.action if self.action is not None else bool(self.status)


# --- query strings ---------------------------------------------------------------------------


def _unix_seconds(value: Any) -> float:
    """Seconds since 1970 (a fraction allowed), before year 10000."""
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not 0 <= number < MAX_UNIX_SECONDS:
        raise refuse("must be a Unix timestamp in seconds")
    return number


def _ordering(value: Any) -> str:
    value = value.strip() if isinstance(value, str) else value
    if value not in STREAM_ORDERINGS:
        raise refuse("must be one of " + ", ".join(STREAM_ORDERINGS))
    return value


UnixSeconds = Annotated[float | None, BeforeValidator(_unix_seconds), WithJsonSchema(
    {"type": "number", "minimum": 0, "exclusiveMaximum": MAX_UNIX_SECONDS})]


class StreamQuery(Query):
    """GET /rtstream: limit (1..1000, default 1000), offset, status, name (a part of the
    name, any case), ordering (created_at, name, either with a leading "-")."""

    limit: query_integer(1, MAX_PAGE_SIZE) = MAX_PAGE_SIZE
    offset: query_integer(0, MAX_OFFSET) = 0
    ordering: Annotated[str, BeforeValidator(_ordering),
                        WithJsonSchema({"enum": list(STREAM_ORDERINGS)})] = "-created_at"
    status: optional_text(20) = None
    name: optional_text(MAX_NAME) = None


class SceneQuery(Query):
    """GET /rtstream/{id}/index/scene/{iid}: page (from 1), page_size (1..1000, default
    100), start and end (Unix seconds, optional)."""

    page: query_integer(1, 10**9) = 1
    page_size: query_integer(1, MAX_PAGE_SIZE) = 100
    start: UnixSeconds = None
    end: UnixSeconds = None

    @model_validator(mode="after")
    def _in_order(self) -> SceneQuery:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise refuse("must not be before start", at="end")
        return self


def parse_stream(payload: object) -> dict[str, Any]:
    """POST /rtstream."""
    return validate(StreamCreate, payload).model_dump()


def parse_scene_index(payload: object) -> dict[str, Any]:
    """POST /rtstream/{id}/index/scene."""
    return validate(SceneIndexCreate, payload).model_dump(by_alias=True)


def parse_event(payload: object) -> dict[str, Any]:
    """POST /rtstream/event."""
    return validate(EventCreate, payload).model_dump()


def parse_alert(payload: object) -> dict[str, Any]:
    """POST /rtstream/{id}/index/{iid}/alert."""
    return validate(AlertCreate, payload).model_dump()


def parse_start_stop(payload: object) -> str:
    """PATCH .../status of a stream or a scene index: "start" or "stop"."""
    return validate(StartStop, payload).action


def parse_alert_status(payload: object) -> bool:
    """PATCH .../alert/{aid}/status: True means enabled."""
    return validate(AlertStatus, payload).enabled


def parse_stream_query(args: object) -> dict[str, Any]:
    """GET /rtstream."""
    return validate(StreamQuery, args).model_dump()


def parse_scene_query(args: object) -> dict[str, Any]:
    """GET /rtstream/{id}/index/scene/{iid}."""
    return validate(SceneQuery, args).model_dump()
