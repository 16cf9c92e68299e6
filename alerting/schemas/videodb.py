"""The VideoDB-compatible API's request bodies and query strings.

Errors come out as ValidationError like everywhere else; the app's handler answers them in
VideoDB's envelope `{"success": false, "message"}`. Keys the SDK may send that this server has
no use for (`ws_connection_id` on a stream or index, `sandbox_id`, ...) are accepted and
ignored, so SDK versions that add fields keep working.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, model_validator
from pydantic_core import core_schema as cs

from .common import (
    MAX_OFFSET,
    Body,
    Core,
    HttpUrl,
    JsonObject,
    Query,
    Says,
    blank_is_none,
    checked,
    choice,
    http_url,
    integer,
    item_list,
    none_is_empty,
    null_means,
    optional_text,
    parser,
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


OptionalFlag = Annotated[null_means(False, bool | None),
                         Says(default="must be true, false or null")]
"""true, false, or null (false)."""


class StreamCreate(_Body):
    """POST /rtstream: connect a stream (`url` and `name` required)."""

    collection_id: null_means(COLLECTION_ID, optional_text(MAX_ID)) = COLLECTION_ID
    url: text(MAX_URL, what="a stream URL")
    name: text(MAX_NAME)
    media_types: Annotated[none_is_empty(item_list(
        choice(MEDIA_TYPES), max_items=8, what="a list of media types", unique=True),
        ("video",)),
        AfterValidator(lambda v: v or _no_media_type())] = ["video"]  # noqa: RUF012
    sample_rate: integer(1, MAX_SAMPLE_RATE) | None = None
    store: OptionalFlag = False
    enable_transcript: OptionalFlag = False


def _no_media_type() -> list[str]:
    raise refuse("must list at least one media type")


class SceneIndexCreate(_Body):
    """POST /rtstream/{id}/index/scene: every field optional."""

    extraction_type: null_means(DEFAULT_EXTRACTION_TYPE,
                                optional_text(50)) = DEFAULT_EXTRACTION_TYPE
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
    callback_url: checked(lambda v: blank_is_none(http_url)(v) or "", {"anyOf": [
        HttpUrl.__metadata__[1].json_schema, {"type": "string", "pattern": r"^\s*$"},
        {"type": "null"}]}) = ""
    ws_connection_id: optional_text(MAX_ID) = None

    @model_validator(mode="after")
    def _somewhere_to_send(self) -> AlertCreate:
        if not self.callback_url and not self.ws_connection_id:
            raise refuse("is required unless ws_connection_id is given", at="callback_url")
        return self


class StartStop(_Body):
    """PATCH .../status of a stream or a scene index."""

    action: Annotated[choice(("start", "stop")), Says({"missing": 'must be "start" or "stop"'},
                                                      default='must be "start" or "stop"')]


class AlertStatus(_Body):
    """PATCH .../alert/{aid}/status: the SDK's {"action": "enable" | "disable"} or the API
    reference's {"status": "enabled" | "disabled"}."""

    action: choice(("enable", "disable"), what='must be "enable" or "disable"') | None = None
    status: choice(("enabled", "disabled"), what='must be "enabled" or "disabled"') | None = None

    @model_validator(mode="after")
    def _one_wish(self) -> AlertStatus:
        if self.action is None and self.status is None:
            raise refuse('is required: "enable" or "disable" '
                         '(or give status "enabled" or "disabled")', at="action")
        if None not in (self.action, self.status) and self.action + "d" != self.status:
            raise refuse("contradicts action", at="status")
        return self

    @property
    def enabled(self) -> bool:
        """What the request asks for: True means enabled."""
        return (self.action or self.status) in ("enable", "enabled")


# --- query strings ---------------------------------------------------------------------------

UnixSeconds = Annotated[float, Core(cs.chain_schema([
    cs.union_schema([cs.float_schema(strict=True), cs.str_schema(strict=True)],
                    custom_error_type="float_type"),
    cs.float_schema(strict=False, ge=0, lt=MAX_UNIX_SECONDS, allow_inf_nan=False)]),
    {"type": "number", "minimum": 0, "exclusiveMaximum": MAX_UNIX_SECONDS}),
    Says(default="must be a Unix timestamp in seconds")]
"""Seconds since 1970 (a fraction allowed), before year 10000."""


class StreamQuery(Query):
    """GET /rtstream: limit (1..1000, default 1000), offset, status, name (a part of the
    name, any case), ordering (created_at, name, either with a leading "-")."""

    limit: query_integer(1, MAX_PAGE_SIZE) = MAX_PAGE_SIZE
    offset: query_integer(0, MAX_OFFSET) = 0
    ordering: choice(STREAM_ORDERINGS, exact=True) = "-created_at"
    status: optional_text(20) = None
    name: optional_text(MAX_NAME) = None


class SceneQuery(Query):
    """GET /rtstream/{id}/index/scene/{iid}: page (from 1), page_size (1..1000, default
    100), start and end (Unix seconds, optional)."""

    page: query_integer(1, 10**9) = 1
    page_size: query_integer(1, MAX_PAGE_SIZE) = 100
    start: UnixSeconds | None = None
    end: UnixSeconds | None = None

    @model_validator(mode="after")
    def _in_order(self) -> SceneQuery:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise refuse("must not be before start", at="end")
        return self


parse_stream = parser(StreamCreate)
parse_scene_index = parser(SceneIndexCreate, by_alias=True)
parse_event = parser(EventCreate)
parse_alert = parser(AlertCreate)
parse_stream_query = parser(StreamQuery)
parse_scene_query = parser(SceneQuery)


def parse_start_stop(payload: object) -> str:
    """PATCH .../status of a stream or a scene index: "start" or "stop"."""
    return validate(StartStop, payload).action


def parse_alert_status(payload: object) -> bool:
    """PATCH .../alert/{aid}/status: True means enabled."""
    return validate(AlertStatus, payload).enabled
