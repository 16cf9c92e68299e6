"""The request schemas of the OpenAPI document that are not pydantic models yet: what the
validators in engine/ (event_schema, settings_schema) and videodb/schema take, spelled as
JSON Schema. Each goes when the request model
of its resource lands in schemas/ (the document then takes the model's own JSON schema).
"""

from __future__ import annotations

import copy
from typing import Any

from ..engine import event_schema as ev
from ..engine import rule_schema as rs
from ..engine.vocabulary import CHANNELS, RISK_LEVELS
from ..videodb import schema as vs

Schema = dict[str, Any]

# --- schema helpers --------------------------------------------------------------------------

# Strings the validators store: no NUL anywhere. TEXT may be blank; NONBLANK needs a
# character that survives .strip().
TEXT_PATTERN = r"^[^\x00]*$"
NONBLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
EMAIL_PATTERN = "^" + rs._EMAIL_RE.pattern + "$"
# An absolute http(s) URL with a host; no whitespace or control characters.
HTTP_URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,4})?(/[^\s\x00-\x1f\x7f]*)?$"  # noqa: E501
PUSH_URL_PATTERN = r"^[A-Za-z][A-Za-z0-9+.\-]*://[^\s\x00-\x1f\x7f]+$"
# Epoch seconds that stay within datetime's years 1..9999.
EPOCH_MIN, EPOCH_MAX = -62135596800, 253402300799


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`schema` or null (OpenAPI 3.1: a type list, or anyOf for a $ref)."""
    schema = copy.deepcopy(schema)
    kind = schema.get("type")
    if isinstance(kind, str) and "enum" not in schema and "const" not in schema:
        schema["type"] = [kind, "null"]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def text(max_length: int, *, blank: bool = True) -> Schema:
    """A string the validators take: at most max_length, no NUL; non-blank unless `blank`."""
    return {"type": "string", "maxLength": max_length,
            "pattern": TEXT_PATTERN if blank else NONBLANK_PATTERN}


def obj(properties: dict[str, Schema], required: tuple[str, ...] | list[str] = (), *,
        closed: bool = True, description: str | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def array(items: Schema, *, max_items: int | None = None, min_items: int = 0) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    if max_items is not None:
        schema["maxItems"] = max_items
    if min_items:
        schema["minItems"] = min_items
    return schema


def integer(low: int | None = None, high: int | None = None) -> Schema:
    schema: Schema = {"type": "integer"}
    if low is not None:
        schema["minimum"] = low
    if high is not None:
        schema["maximum"] = high
    return schema


def datetime_in() -> Schema:
    """What timeparse.parse_datetime takes: ISO 8601 or epoch seconds."""
    return {"anyOf": [{"type": "string", "format": "date-time", "maxLength": 64},
                      {"type": "number", "minimum": EPOCH_MIN, "maximum": EPOCH_MAX}]}


BOOL: Schema = {"type": "boolean"}
INT: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}




def _json_value(depth: int) -> Schema:
    """Any JSON value whose strings and keys hold no NUL (`depth` levels spelled out, any
    value below)."""
    scalars: list[Schema] = [{"type": "null"}, BOOL, NUMBER, text(10_000)]
    if depth <= 1:
        return {"anyOf": scalars}
    inner = _json_value(depth - 1)
    return {"anyOf": [*scalars, {"type": "array", "items": inner},
                      {"type": "object", "propertyNames": {"pattern": TEXT_PATTERN},
                       "additionalProperties": inner}]}


def json_object(description: str, *, nul: bool = False) -> Schema:
    """A free-form JSON object of at most 16 KB as JSON; the event validator also refuses
    NUL in its strings and keys (`nul=False`)."""
    if nul:
        return {"type": "object", "description": description}
    return {"type": "object", "propertyNames": {"pattern": TEXT_PATTERN},
            "additionalProperties": _json_value(3), "description": description}


# --- component schemas -----------------------------------------------------------------------








def _email() -> Schema:
    return {"type": "string", "maxLength": 254, "pattern": EMAIL_PATTERN}


def _http_url() -> Schema:
    return {"type": "string", "maxLength": rs.MAX_URL, "pattern": HTTP_URL_PATTERN}


def _push_url() -> Schema:
    return {"type": "string", "maxLength": rs.MAX_URL, "pattern": PUSH_URL_PATTERN}


def _event_in() -> Schema:
    detection = obj({
        "object_type": text(ev.MAX_OBJECT_TYPE, blank=False),
        "confidence": nullable({"type": "number", "minimum": 0, "maximum": 1}),
        "zone_ids": nullable(array(text(ev.MAX_ZONE_ID, blank=False),
                                   max_items=ev.MAX_ZONE_IDS)),
        "bbox": nullable({"type": "array", "items": NUMBER, "minItems": 4, "maxItems": 4}),
        "track_id": {"anyOf": [nullable(text(ev.MAX_TRACK_ID)), INT]},
    }, ("object_type",))
    return obj({
        "camera_id": text(ev.MAX_CAMERA_ID, blank=False),
        "started_at": nullable(datetime_in()),
        "ended_at": nullable(datetime_in()),
        "risk_score": nullable(integer(0, 100)),
        "risk_level": nullable({"enum": list(RISK_LEVELS)}),
        "summary": nullable(text(ev.MAX_SUMMARY)),
        "labels": nullable(array(text(ev.MAX_LABEL, blank=False), max_items=ev.MAX_LABELS)),
        "detections": nullable(array(detection, max_items=ev.MAX_DETECTIONS)),
        "source": nullable(text(ev.MAX_SOURCE)),
        "external_id": nullable(text(ev.MAX_EXTERNAL_ID)),
        "scene_index_id": nullable(text(ev.MAX_SCENE_INDEX_ID)),
        "attributes": nullable(json_object("Free-form; at most 16 KB as JSON")),
    }, ("camera_id",), description="ended_at must not be before started_at (default: now)")


def _settings_in() -> Schema:
    optional_url = {"anyOf": [_http_url(), {"const": ""}, {"type": "null"}]}
    optional_email = {"anyOf": [_email(), {"const": ""}, {"type": "null"}]}
    return obj({
        "notification_enabled": BOOL,
        "smtp_host": nullable(text(255)),
        "smtp_port": nullable(integer(1, 65535)),
        "smtp_username": nullable(text(255)),
        "smtp_password": nullable({"type": "string", "maxLength": 512,
                                   "pattern": TEXT_PATTERN, "writeOnly": True}),
        "smtp_from_address": optional_email,
        "smtp_use_tls": BOOL,
        "smtp_use_ssl": BOOL,
        "default_email_recipients": nullable(array(_email(),
                                                   max_items=rs.MAX_EMAIL_RECIPIENTS)),
        "default_webhook_url": optional_url,
        "webhook_timeout_seconds": integer(1, 120),
        "push_urls": nullable({**array(_push_url(), max_items=rs.MAX_PUSH_URLS),
                               "writeOnly": True}),
    }, description="A partial update; smtp_use_tls and smtp_use_ssl are not both true. "
                   "default_webhook_url must resolve to a public address.")





def _param(name: str, where: str, schema: Schema, description: str = "",
           required: bool = False) -> Schema:
    param: Schema = {"name": name, "in": where, "schema": schema,
                     "required": required or where == "path"}
    if where == "query":
        param["style"], param["explode"] = "form", False  # one key=value per parameter
    if description:
        param["description"] = description
    return param


def blank_or(schema: Schema) -> Schema:
    """A query value; a blank one means the parameter is absent."""
    return {"anyOf": [schema, {"type": "string", "pattern": r"^\s*$"}]}





def components() -> dict[str, Schema]:
    """The request bodies' component schemas, by name."""
    return {
        "EventIn": _event_in(),
        "EventBatch": obj({"events": array(ref("EventIn"), min_items=1,
                                           max_items=ev.MAX_BATCH)}, ("events",),
                          description="Each event is stored or refused on its own"),
        "NotificationSettingsUpdate": _settings_in(),
        "NotificationTestRequest": obj({
            "channel": {"enum": list(CHANNELS)},
            "email_recipients": nullable(array(_email(), max_items=rs.MAX_EMAIL_RECIPIENTS)),
            "webhook_url": {"anyOf": [_http_url(), {"const": ""}, {"type": "null"}]},
            "push_urls": nullable(array(_push_url(), max_items=rs.MAX_PUSH_URLS)),
        }, ("channel",)),
        "StreamCreate": obj({
            "collection_id": nullable(text(vs.MAX_ID)),
            "url": text(vs.MAX_URL, blank=False),
            "name": text(vs.MAX_NAME, blank=False),
            "media_types": nullable(array({"enum": list(vs.MEDIA_TYPES)}, min_items=1,
                                          max_items=8)),
            "sample_rate": nullable(integer(1, vs.MAX_SAMPLE_RATE)),
            "store": nullable(BOOL),
            "enable_transcript": nullable(BOOL),
        }, ("url", "name"), closed=False),
        "StartStop": obj({"action": {"enum": ["start", "stop"]}}, ("action",), closed=False),
        "SceneIndexCreate": obj({
            "extraction_type": nullable(text(50)),
            "extraction_config": nullable(json_object("At most 16 KB as JSON", nul=True)),
            "prompt": nullable(text(vs.MAX_PROMPT)),
            "model_name": nullable(text(vs.MAX_NAME)),
            "model_config": nullable(json_object("At most 16 KB as JSON", nul=True)),
            "name": nullable(text(vs.MAX_NAME)),
        }, closed=False),
        "VideoDBEventCreate": obj({
            "event_prompt": text(vs.MAX_EVENT_PROMPT, blank=False),
            "label": text(vs.MAX_LABEL, blank=False),
        }, ("event_prompt", "label"), closed=False),
        "VideoDBAlertCreate": {
            **obj({"event_id": text(vs.MAX_ID, blank=False),
                   "callback_url": {"anyOf": [_http_url(), {"const": ""}, {"type": "null"}]},
                   "ws_connection_id": nullable(text(vs.MAX_ID))},
                  ("event_id",), closed=False),
            "anyOf": [{"properties": {"callback_url": _http_url()},
                       "required": ["callback_url"]},
                      {"properties": {"ws_connection_id": text(vs.MAX_ID, blank=False)},
                       "required": ["ws_connection_id"]}],
            "description": "A callback_url, a ws_connection_id, or both",
        },
        "VideoDBAlertStatus": {
            "type": "object",
            "description": 'The SDK\'s {"action": "enable"|"disable"} or '
                           '{"status": "enabled"|"disabled"}; both must agree',
            "anyOf": [
                {"properties": {"action": {"enum": ["enable", "disable"]}},
                 "required": ["action"], "not": {"required": ["status"]}},
                {"properties": {"status": {"enum": ["enabled", "disabled"]}},
                 "required": ["status"], "not": {"required": ["action"]}},
                {"properties": {"action": {"const": "enable"}, "status": {"const": "enabled"}},
                 "required": ["action", "status"]},
                {"properties": {"action": {"const": "disable"},
                                "status": {"const": "disabled"}},
                 "required": ["action", "status"]},
            ],
        },
    }


def queries() -> dict[str, list[Schema]]:
    """The query strings' parameters, by name."""
    epoch = {"type": "number", "minimum": 0, "exclusiveMaximum": 253402300800}
    return {
        "StreamQuery": [
            _param("limit", "query", {**integer(1, vs.MAX_PAGE_SIZE), "default": 1000}),
            _param("offset", "query", {**integer(0, vs.MAX_OFFSET), "default": 0}),
            _param("ordering", "query", blank_or({"enum": list(vs.STREAM_ORDERINGS)})),
            _param("status", "query", text(20)),
            _param("name", "query", text(vs.MAX_NAME), "A part of the name, any case"),
        ],
        "SceneQuery": [
            _param("page", "query", {**integer(1, 10**9), "default": 1}),
            _param("page_size", "query", {**integer(1, vs.MAX_PAGE_SIZE), "default": 100}),
            _param("start", "query", epoch, "Unix seconds"),
            _param("end", "query", epoch, "Unix seconds, not before start"),
        ],
    }
