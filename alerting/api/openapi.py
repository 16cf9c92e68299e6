"""GET /api/openapi.json (the OpenAPI 3.1 document of every JSON route) and GET /api/docs.

The document is built once per process from the same constants the validators use
(engine/rule_schema, event_schema, settings_schema, list_queries, videodb/schema), so its
request schemas say what the API accepts: types, ranges, enums, required fields, and
`additionalProperties: false` where unknown fields are refused. tests/test_openapi.py checks
it covers exactly the routes of the app, and runs schemathesis against it.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from flask import jsonify, render_template

from ..auth import public
from ..engine import event_schema as ev
from ..engine import rule_schema as rs
from ..engine.list_queries import ALERT_STATUSES, DELIVERY_STATUSES
from ..engine.vocabulary import (
    CHANNELS,
    CONDITION_FIELDS,
    DAY_NAMES,
    DAYS,
    DEDUP_VARIABLES,
    MATCH_CONDITIONS,
    RISK_LEVELS,
    SEVERITIES,
)
from ..services.keys import SCOPES
from ..videodb import schema as vs
from . import bp

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
_DEDUP_VARS = "|".join(DEDUP_VARIABLES)
DEDUP_PATTERN = r"^([^{}\x00]|\{\{|\}\}|\{(" + _DEDUP_VARS + r")\})*$"
HHMM_PATTERN = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"
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


DATETIME_OUT: Schema = {"type": "string", "format": "date-time"}
STRING: Schema = {"type": "string"}
BOOL: Schema = {"type": "boolean"}
INT: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}


def _timezones() -> list[str]:
    names = []
    for name in sorted(rs._timezone_names().values()):
        try:
            if rs.check_timezone(name, "timezone") == name:
                names.append(name)
        except Exception:  # noqa: BLE001 - a zone this system lists but cannot load
            continue
    return names


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


def _condition_schemas() -> list[Schema]:
    kinds: dict[str, list[str]] = {}
    for field, kind in CONDITION_FIELDS.items():
        kinds.setdefault(kind, []).append(field)
    number = {"type": "number", "minimum": -rs.MAX_CONDITION_NUMBER,
              "maximum": rs.MAX_CONDITION_NUMBER}
    word = text(rs.MAX_CONDITION_TEXT)
    regex = {"type": "string", "format": "regex", "minLength": 1,
             "maxLength": rs.MAX_CONDITION_TEXT,
             "description": "A regular expression in RE2 syntax (no backreferences or "
                            "lookaround), case-insensitive, found anywhere in the text"}
    cases: list[tuple[list[str], tuple[str, ...], Schema]] = [
        (kinds["number"], ("eq", "ne", "gt", "gte", "lt", "lte"), number),
        (kinds["number"], ("in", "not_in"),
         array(number, min_items=1, max_items=rs.MAX_CONDITION_ITEMS)),
        (kinds["text"] + kinds["list"], ("eq", "ne", "contains"), word),
        (kinds["text"] + kinds["list"], ("matches",), regex),
        (kinds["text"] + kinds["list"], ("in", "not_in"),
         array(word, min_items=1, max_items=rs.MAX_CONDITION_ITEMS)),
    ]
    return [obj({"field": {"enum": fields}, "op": {"enum": list(ops)}, "value": value},
                ("field", "op", "value"))
            for fields, ops, value in cases]


def _id_list() -> Schema:
    return nullable(array(text(rs.MAX_ID, blank=False), max_items=rs.MAX_ID_ITEMS))


def _rule_properties() -> dict[str, Schema]:
    day = {"enum": list(DAYS) + list(DAY_NAMES)}
    schedule = obj({
        "days": nullable(array(day, min_items=1, max_items=28)),
        "start_time": nullable({"type": "string", "pattern": HHMM_PATTERN}),
        "end_time": nullable({"type": "string", "pattern": HHMM_PATTERN}),
        "timezone": nullable({"enum": _timezones()}),
    }, description="When the rule is active; end before start spans midnight")
    return {
        "name": text(rs.MAX_NAME, blank=False),
        "description": nullable(text(rs.MAX_DESCRIPTION)),
        "enabled": BOOL,
        "severity": {"enum": list(SEVERITIES)},
        "risk_threshold": nullable(integer(0, 100)),
        "object_types": _id_list(),
        "camera_ids": _id_list(),
        "zone_ids": _id_list(),
        "min_confidence": nullable({"type": "number", "minimum": 0, "maximum": 1}),
        "schedule": nullable(schedule),
        "conditions": nullable(array({"anyOf": _condition_schemas()},
                                     max_items=rs.MAX_CONDITIONS)),
        "dedup_key_template": nullable({"type": "string", "maxLength": rs.MAX_DEDUP_TEMPLATE,
                                        "pattern": DEDUP_PATTERN}),
        "cooldown_seconds": integer(0, rs.MAX_COOLDOWN_SECONDS),
        "channels": array({"enum": list(CHANNELS)}, max_items=len(CHANNELS) * 4),
        "targets": nullable(ref("RuleTargets")),
    }


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


def _config_out(extra: dict[str, Schema] | None = None) -> Schema:
    props: dict[str, Schema] = {
        "notification_enabled": BOOL,
        "email_configured": BOOL,
        "webhook_configured": BOOL,
        "push_configured": BOOL,
        "available_channels": array({"enum": list(CHANNELS)}),
        "smtp_host": nullable(STRING),
        "smtp_port": nullable(INT),
        "smtp_from_address": nullable(STRING),
        "smtp_use_tls": BOOL,
        "default_webhook_url": nullable(STRING),
        "webhook_timeout_seconds": INT,
        "default_email_recipients": array(STRING),
        **(extra or {}),
    }
    return obj(props, list(props))


def _out(props: dict[str, Schema], optional: tuple[str, ...] = ()) -> Schema:
    """A response object: every property present (except `optional`), no others."""
    return obj(props, [k for k in props if k not in optional])


def _listing(key: str, item: str) -> Schema:
    return _out({key: array(ref(item)), "count": INT, "limit": INT, "offset": INT})


def _components() -> dict[str, Schema]:
    rule_props = _rule_properties()
    event_out = _out({
        "id": INT, "camera_id": STRING, "started_at": DATETIME_OUT,
        "ended_at": nullable(DATETIME_OUT), "risk_score": nullable(INT),
        "risk_level": nullable({"enum": list(RISK_LEVELS)}), "summary": nullable(STRING),
        "labels": array(STRING), "object_types": array(STRING),
        "detections": array(ref("Detection")), "source": nullable(STRING),
        "external_id": nullable(STRING), "scene_index_id": nullable(STRING),
        "attributes": nullable({"type": "object"}), "received_at": DATETIME_OUT,
        "processed_at": nullable(DATETIME_OUT),
    })
    alert_props: dict[str, Schema] = {
        "id": INT, "rule_id": nullable(STRING), "rule_name": STRING, "event_id": INT,
        "camera_id": STRING, "severity": {"enum": list(SEVERITIES)},
        "status": {"enum": list(ALERT_STATUSES)}, "dedup_key": nullable(STRING),
        "matched_conditions": array(STRING), "object_type": nullable(STRING),
        "zone_id": nullable(STRING), "event_time": nullable(DATETIME_OUT),
        "created_at": nullable(DATETIME_OUT), "updated_at": nullable(DATETIME_OUT),
        "acknowledged_at": nullable(DATETIME_OUT), "acknowledged_by": nullable(STRING),
        "dismissed_at": nullable(DATETIME_OUT), "dismissed_by": nullable(STRING),
    }
    delivery_props: dict[str, Schema] = {
        "id": INT, "alert_id": INT, "channel": {"enum": list(CHANNELS)}, "target": STRING,
        "status": {"enum": list(DELIVERY_STATUSES)}, "attempts": INT,
        "next_attempt_at": nullable(DATETIME_OUT), "last_error": nullable(STRING),
        "last_status_code": nullable(INT), "delivered_at": nullable(DATETIME_OUT),
        "created_at": nullable(DATETIME_OUT),
    }
    attempt = _out({"started_at": nullable(DATETIME_OUT), "duration_ms": NUMBER, "ok": BOOL,
                    "status_code": nullable(INT), "error": nullable(STRING)})
    key_props: dict[str, Schema] = {
        "id": INT, "name": STRING, "scope": {"enum": list(SCOPES)}, "prefix": STRING,
        "created_at": DATETIME_OUT, "last_used_at": nullable(DATETIME_OUT),
        "revoked_at": nullable(DATETIME_OUT),
    }
    verdict = _out({
        "event_id": INT, "camera_id": STRING, "risk_score": nullable(INT),
        "object_types": array(STRING), "matches": BOOL,
        "matched_conditions": array({"enum": list(MATCH_CONDITIONS)}),
        "failed_conditions": array({"enum": list(MATCH_CONDITIONS)}),
        "suppressed_by_cooldown": BOOL, "dedup_key": nullable(STRING),
        "started_at": DATETIME_OUT,
    })
    batch_item = {"oneOf": [
        _out({"index": INT, "status": {"enum": [200, 201]}, "id": INT, "duplicate": BOOL}),
        _out({"index": INT, "status": {"const": 422}, "error": {"const": "validation_error"},
              "message": STRING, "fields": {"type": "object",
                                            "additionalProperties": STRING}}),
    ]}
    stream_props: dict[str, Schema] = {
        "id": STRING, "name": STRING, "collection_id": STRING, "created_at": DATETIME_OUT,
        "sample_rate": nullable(INT), "status": STRING, "stream_url": {"type": "null"},
        "player_url": {"type": "null"}, "url": STRING, "media_types": array(STRING),
        "store": BOOL, "enable_transcript": BOOL,
    }
    scene_index_props: dict[str, Schema] = {
        "rtstream_index_id": STRING, "rtstream_id": STRING, "extraction_type": STRING,
        "extraction_config": nullable({"type": "object"}), "prompt": nullable(STRING),
        "model_name": nullable(STRING), "model_config": nullable({"type": "object"}),
        "name": nullable(STRING), "status": STRING, "created_at": DATETIME_OUT,
    }
    return {
        "Error": obj({"error": STRING, "message": STRING,
                      "fields": {"type": "object", "additionalProperties": STRING,
                                 "description": "Bad field (dotted path) -> message"}},
                     ("error", "message"), closed=False),
        "RuleCreate": obj(rule_props, rs.REQUIRED_RULE_FIELDS),
        "RuleUpdate": obj(rule_props, description="A partial update: only the fields sent "
                                                  "change"),
        "RuleTargets": obj({
            "email_recipients": nullable(array(_email(), max_items=rs.MAX_EMAIL_RECIPIENTS)),
            "webhook_url": nullable(_http_url()),
            "push_urls": nullable(array(_push_url(), max_items=rs.MAX_PUSH_URLS)),
        }),
        "Rule": _out({
            "id": {"type": "string", "format": "uuid"}, "name": STRING,
            "description": nullable(STRING), "enabled": BOOL,
            "severity": {"enum": list(SEVERITIES)}, "risk_threshold": nullable(INT),
            "object_types": nullable(array(STRING)), "camera_ids": nullable(array(STRING)),
            "zone_ids": nullable(array(STRING)), "min_confidence": nullable(NUMBER),
            "schedule": nullable(_out({"days": array({"enum": list(DAYS)}),
                                       "start_time": STRING, "end_time": STRING,
                                       "timezone": nullable(STRING)})),
            "conditions": nullable(array(_out({"field": STRING, "op": STRING,
                                               "value": {}}))),
            "dedup_key_template": nullable(STRING), "cooldown_seconds": INT,
            "channels": array({"enum": list(CHANNELS)}), "created_at": DATETIME_OUT,
            "updated_at": DATETIME_OUT,
            "targets": nullable(_out({"email_recipients": nullable(array(STRING)),
                                      "webhook_url": nullable(STRING),
                                      "push_urls": nullable(array(STRING))})),
        }),
        "RuleList": _listing("rules", "Rule"),
        "RuleTestRequest": obj({
            "event_ids": nullable(array(integer(1, rs.MAX_DB_INT),
                                        max_items=rs.MAX_TEST_EVENT_IDS)),
            "test_time": nullable(datetime_in()),
            "limit": nullable(integer(1, 1000)),
        }),
        "RuleTestResult": _out({
            "rule_id": STRING, "rule_name": STRING, "events_tested": INT,
            "events_matched": INT, "match_rate": NUMBER, "alerts_that_would_fire": INT,
            "test_time": nullable(DATETIME_OUT), "results": array(verdict),
            "missing_event_ids": array(INT),
        }, optional=("missing_event_ids",)),
        "EventIn": _event_in(),
        "EventBatch": obj({"events": array(ref("EventIn"), min_items=1,
                                           max_items=ev.MAX_BATCH)}, ("events",),
                          description="Each event is stored or refused on its own"),
        "Detection": _out({"object_type": STRING, "confidence": nullable(NUMBER),
                           "zone_ids": array(STRING), "bbox": nullable(array(NUMBER)),
                           "track_id": nullable(STRING)}),
        "Event": event_out,
        "EventDetail": _out({**event_out["properties"], "alerts": array(ref("Alert"))}),
        "EventList": _listing("events", "Event"),
        "BatchResult": _out({"results": array(batch_item), "created": INT,
                             "duplicates": INT, "failed": INT}),
        "BatchRefused": _out({"results": array(batch_item), "created": INT,
                              "duplicates": INT, "failed": INT,
                              "error": {"const": "validation_error"}, "message": STRING}),
        "Alert": _out(alert_props),
        "AlertDetail": _out({**alert_props, "event": ref("Event"),
                             "deliveries": array(ref("DeliveryWithAttempts"))}),
        "AlertList": _listing("alerts", "Alert"),
        "Delivery": _out(delivery_props),
        "DeliveryWithAttempts": _out({**delivery_props, "attempt_log": array(attempt)}),
        "DeliveryList": _listing("deliveries", "Delivery"),
        "NotificationConfig": _config_out(),
        "NotificationSettings": _config_out({
            "smtp_username": nullable(STRING), "smtp_use_ssl": BOOL,
            "smtp_password_set": BOOL, "push_urls_count": INT, "webhook_secret_set": BOOL,
            "webhook_secret_revealed": BOOL, "updated_at": nullable(DATETIME_OUT),
        }),
        "NotificationSettingsUpdate": _settings_in(),
        "NotificationTestRequest": obj({
            "channel": {"enum": list(CHANNELS)},
            "email_recipients": nullable(array(_email(), max_items=rs.MAX_EMAIL_RECIPIENTS)),
            "webhook_url": {"anyOf": [_http_url(), {"const": ""}, {"type": "null"}]},
            "push_urls": nullable(array(_push_url(), max_items=rs.MAX_PUSH_URLS)),
        }, ("channel",)),
        "NotificationTestResult": _out({
            "channel": {"enum": list(CHANNELS)}, "success": BOOL, "error": nullable(STRING),
            "message": STRING, "status_code": INT,
        }, optional=("status_code",)),
        "WebhookSecret": _out({"webhook_secret": STRING}),
        "Health": obj({
            "status": {"enum": ["ok", "degraded", "unavailable"]},
            "database": {"enum": ["ok", "unreachable"]},
            "workers": {"type": "object", "additionalProperties": _out(
                {"alive": BOOL, "expected": BOOL,
                 "state": {"enum": ["running", "failing", "stopped"]},
                 "failing_since": DATETIME_OUT, "failures": INT, "last_error": STRING},
                optional=("failing_since", "failures", "last_error"))},
            "backlog": _out({"events_unprocessed": INT, "deliveries_pending": INT}),
            "secrets": {"enum": ["ok", "unreadable"]},
            "unreadable_secrets": array({"enum": ["smtp_password", "webhook_secret",
                                                  "push_urls", "default_webhook_url"]}),
            "connections": _out({
                "websockets": _out({name: INT for name in (
                    "open", "max", "max_per_principal", "opened_total", "refused_total",
                    "dropped_total")}),
                "slow_requests_closed": INT}),
            "error": STRING,
        }, ("status", "database")),
        "ApiKey": _out(key_props),
        "ApiKeyCreated": _out({**key_props, "key": {
            "type": "string", "description": "The key itself, shown this once"}}),
        "ApiKeyList": _out({"keys": array(ref("ApiKey"))}),
        "ApiKeyCreate": obj({
            "name": {"type": "string", "description": "1 to 100 characters, stripped",
                     "pattern": r"^\s*[^\s\x00]([^\x00]{0,98}[^\s\x00])?\s*$"},
            "scope": {"enum": list(SCOPES)},
        }, ("name",)),
        # --- VideoDB-compatible ---
        "VideoDBError": obj({"success": {"const": False}, "message": STRING},
                            ("success", "message")),
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
        "Collection": _out({"id": STRING, "name": STRING, "description": STRING,
                            "is_public": BOOL}),
        "RTStream": _out(stream_props),
        "SceneIndex": _out(scene_index_props),
        "SceneRecord": _out({"id": INT, "start": NUMBER, "end": NUMBER,
                             "description": nullable(STRING), "labels": array(STRING),
                             "metadata": nullable({"type": "object"})}),
        "VideoDBEvent": _out({"event_id": STRING, "event_prompt": STRING, "label": STRING,
                              "created_at": DATETIME_OUT}),
        "VideoDBAlert": _out({
            "alert_id": STRING, "event_id": STRING, "label": STRING, "prompt": STRING,
            "callback_url": STRING, "ws_connection_id": nullable(STRING),
            "status": {"enum": ["enabled", "disabled"]}, "rtstream_id": STRING,
            "rtstream_index_id": STRING, "rule_id": STRING, "created_at": DATETIME_OUT,
        }),
    }


# --- operations ------------------------------------------------------------------------------

SECURED = [{"apiKey": []}, {"bearer": []}]
ERROR_STATUSES = {
    401: "No valid API key", 403: "The key's scope does not allow this",
    404: "Not found", 409: "Conflict with the resource's state",
    413: "Body too large", 422: "Validation failed (`fields` names each bad field)",
    429: "Rate limited",
}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(name: str, where: str, schema: Schema, description: str = "",
           required: bool = False) -> Schema:
    param: Schema = {"name": name, "in": where, "schema": schema,
                     "required": required or where == "path"}
    if where == "query":
        param["style"], param["explode"] = "form", False  # one key=value per parameter
    if description:
        param["description"] = description
    return param


def _path_int(name: str) -> Schema:
    return _param(name, "path", integer(0, rs.MAX_DB_INT))


def _path_str(name: str) -> Schema:
    return _param(name, "path", {"type": "string", "pattern": "^[^/]+$"})


def blank_or(schema: Schema) -> Schema:
    """A query value; a blank one means the parameter is absent."""
    return {"anyOf": [schema, {"type": "string", "pattern": r"^\s*$"}]}


def _pagination(default: int = 50, high: int = 1000) -> list[Schema]:
    return [_param("limit", "query", {**integer(1, high), "default": default}),
            _param("offset", "query", {**integer(0, rs.MAX_OFFSET), "default": 0})]


def _op(summary: str, responses: dict[int, tuple[Schema, str]], *, tag: str,
        errors: tuple[int, ...] = (), params: list[Schema] | None = None,
        body: Schema | None = None, body_required: bool = True, secured: bool = True,
        error_schema: str = "Error", scope: str | None = None) -> Schema:
    operation: Schema = {"summary": summary, "tags": [tag], "responses": {}}
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = {"required": body_required,
                                    "content": {"application/json": {"schema": body}}}
    for status, (schema, description) in responses.items():
        operation["responses"][str(status)] = _json(schema, description)
    statuses = set(errors)
    if secured:
        operation["security"] = SECURED
        statuses |= {401, 403}
    else:
        operation["security"] = []
    if body is not None:
        statuses |= {413, 422}
    for status in sorted(statuses):
        operation["responses"][str(status)] = _json(ref(error_schema), ERROR_STATUSES[status])
    if scope:
        operation["x-required-scope"] = scope
    return operation


def _api_paths() -> dict[str, Schema]:
    rule_id = _path_str("rule_id")
    event_query = [
        _param("camera_id", "query", text(255)),
        _param("object_type", "query", text(100)),
        _param("since", "query", blank_or(DATETIME_OUT)),
        _param("until", "query", blank_or(DATETIME_OUT)),
        _param("risk_level", "query", blank_or({"enum": list(RISK_LEVELS)})),
        *_pagination(),
    ]
    alert_query = [
        _param("status", "query", blank_or({"enum": list(ALERT_STATUSES)})),
        _param("severity", "query", blank_or({"enum": list(SEVERITIES)})),
        _param("rule_id", "query", text(36)),
        _param("camera_id", "query", text(255)),
        _param("since", "query", blank_or(DATETIME_OUT)),
        *_pagination(),
    ]
    delivery_query = [
        _param("status", "query", blank_or({"enum": list(DELIVERY_STATUSES)}),
               "`dead` lists the dead letters"),
        _param("channel", "query", blank_or({"enum": list(CHANNELS)})),
        _param("alert_id", "query", integer(0, rs.MAX_DB_INT)),
        *_pagination(),
    ]
    rule_query = [
        _param("enabled", "query", BOOL),
        _param("severity", "query", blank_or({"enum": list(SEVERITIES)})),
        _param("q", "query", text(rs.MAX_QUERY_TEXT), "In the name or description"),
        *_pagination(),
    ]
    return {
        "/api/health": {"get": _op(
            "Database, workers and backlog (no key needed)",
            {200: (ref("Health"), "Healthy or degraded"),
             503: (ref("Health"), "The database is unreachable")},
            tag="health", secured=False)},
        "/api/openapi.json": {"get": _op(
            "This document", {200: ({"type": "object"}, "OpenAPI 3.1")},
            tag="meta", secured=False)},
        "/api/alerts/rules": {
            "get": _op("List rules", {200: (ref("RuleList"), "A page of rules")},
                       tag="rules", params=rule_query, errors=(422,)),
            "post": _op("Create a rule", {201: (ref("Rule"), "Created")}, tag="rules",
                        body=ref("RuleCreate")),
        },
        "/api/alerts/rules/{rule_id}": {
            "get": _op("One rule", {200: (ref("Rule"), "The rule")}, tag="rules",
                       params=[rule_id], errors=(404,)),
            "put": _op("Partial update of a rule", {200: (ref("Rule"), "Updated")},
                       tag="rules", params=[rule_id], body=ref("RuleUpdate"), errors=(404,)),
            "delete": {**_op("Delete a rule", {}, tag="rules", params=[rule_id],
                             errors=(404,)),
                       },
        },
        "/api/alerts/rules/{rule_id}/test": {"post": _op(
            "How the rule judges past events (writes nothing)",
            {200: (ref("RuleTestResult"), "Verdicts")}, tag="rules", params=[rule_id],
            body=ref("RuleTestRequest"), body_required=False, errors=(404,))},
        "/api/events": {
            "post": _op(
                "Ingest one event or a batch",
                {200: (ref("Event"), "A repeat (same source + external_id): the stored one"),
                 201: ({"anyOf": [ref("Event"), ref("BatchResult")]},
                       "Stored (one event, or every item of a batch)"),
                 207: (ref("BatchResult"), "A batch with some items refused")},
                tag="events", body={"anyOf": [ref("EventIn"), ref("EventBatch")]},
                errors=(429,), scope="ingest"),
            "get": _op("List events", {200: (ref("EventList"), "A page of events")},
                       tag="events", params=event_query, errors=(422,)),
        },
        "/api/events/{event_id}": {"get": _op(
            "One event with its detections and alerts",
            {200: (ref("EventDetail"), "The event")}, tag="events",
            params=[_path_int("event_id")], errors=(404,))},
        "/api/alerts": {"get": _op(
            "List alerts (most severe first, then newest)",
            {200: (ref("AlertList"), "A page of alerts")}, tag="alerts",
            params=alert_query, errors=(422,))},
        "/api/alerts/{alert_id}": {"get": _op(
            "One alert with its event and deliveries",
            {200: (ref("AlertDetail"), "The alert")}, tag="alerts",
            params=[_path_int("alert_id")], errors=(404,))},
        "/api/alerts/{alert_id}/acknowledge": {"post": _op(
            "Acknowledge an alert", {200: (ref("Alert"), "Acknowledged")}, tag="alerts",
            params=[_path_int("alert_id")], errors=(404, 409))},
        "/api/alerts/{alert_id}/dismiss": {"post": _op(
            "Dismiss an alert", {200: (ref("Alert"), "Dismissed")}, tag="alerts",
            params=[_path_int("alert_id")], errors=(404, 409))},
        "/api/deliveries": {"get": _op(
            "List deliveries (newest first)", {200: (ref("DeliveryList"), "A page")},
            tag="deliveries", params=delivery_query, errors=(422,))},
        "/api/deliveries/{delivery_id}/retry": {"post": _op(
            "Queue a dead delivery again", {200: (ref("Delivery"), "Queued")},
            tag="deliveries", params=[_path_int("delivery_id")], errors=(404, 409))},
        "/api/notification/config": {
            "get": _op("Notification configuration status (no secrets)",
                       {200: (ref("NotificationConfig"), "Status")}, tag="notification"),
            "put": _op("Partial update of the notification settings",
                       {200: (ref("NotificationSettings"), "Updated")}, tag="notification",
                       body=ref("NotificationSettingsUpdate")),
        },
        "/api/notification/settings": {"get": _op(
            "The editable settings (which secrets are set, never them)",
            {200: (ref("NotificationSettings"), "Settings")}, tag="notification")},
        "/api/notification/test": {"post": _op(
            "Send a test notification now", {200: (ref("NotificationTestResult"), "Result")},
            tag="notification", body=ref("NotificationTestRequest"))},
        "/api/notification/webhook-secret/reveal": {"post": _op(
            "The webhook signing secret, shown once", {200: (ref("WebhookSecret"), "Secret")},
            tag="notification", errors=(409,))},
        "/api/notification/webhook-secret/rotate": {"post": _op(
            "A new webhook signing secret", {200: (ref("WebhookSecret"), "Secret")},
            tag="notification")},
        "/api/keys": {
            "get": _op("List API keys", {200: (ref("ApiKeyList"), "Keys")}, tag="keys",
                       scope="admin"),
            "post": _op("Create an API key (shown once)",
                        {201: (ref("ApiKeyCreated"), "Created")}, tag="keys",
                        body=ref("ApiKeyCreate"), scope="admin"),
        },
        "/api/keys/{key_id}": {"delete": _op(
            "Revoke an API key", {200: (ref("ApiKey"), "Revoked")}, tag="keys",
            params=[_path_int("key_id")], errors=(404,), scope="admin")},
    }


def _ok(name: str) -> Schema:
    return obj({"success": {"const": True}, "data": ref(name)}, ("success", "data"))


def _ok_inline(props: dict[str, Schema]) -> Schema:
    return obj({"success": {"const": True}, "data": _out(props)}, ("success", "data"))


def _videodb_paths() -> dict[str, Schema]:
    sid, iid, aid = _path_str("stream_id"), _path_str("index_id"), _path_str("alert_id")

    def op(summary: str, data: Schema, *, errors: tuple[int, ...] = (),
           params: list[Schema] | None = None, body: Schema | None = None) -> Schema:
        return _op(summary, {200: (data, "Success")}, tag="videodb", errors=errors,
                   params=params, body=body, error_schema="VideoDBError")

    stream_query = [
        _param("limit", "query", {**integer(1, vs.MAX_PAGE_SIZE), "default": 1000}),
        _param("offset", "query", {**integer(0, vs.MAX_OFFSET), "default": 0}),
        _param("ordering", "query", blank_or({"enum": list(vs.STREAM_ORDERINGS)})),
        _param("status", "query", text(20)),
        _param("name", "query", text(vs.MAX_NAME), "A part of the name, any case"),
    ]
    epoch = {"type": "number", "minimum": 0, "exclusiveMaximum": 253402300800}
    scene_query = [
        _param("page", "query", {**integer(1, 10**9), "default": 1}),
        _param("page_size", "query", {**integer(1, vs.MAX_PAGE_SIZE), "default": 100}),
        _param("start", "query", epoch, "Unix seconds"),
        _param("end", "query", epoch, "Unix seconds, not before start"),
    ]
    return {
        "/collection/{collection_id}": {"get": op(
            "The collection", _ok("Collection"), params=[_path_str("collection_id")],
            errors=(404,))},
        "/collection/{collection_id}/websocket": {"get": op(
            "A WebSocket URL (with a short-lived token) for alert frames",
            _ok_inline({"websocket_url": STRING}), params=[_path_str("collection_id")],
            errors=(404,))},
        "/rtstream": {
            "post": op("Connect a stream", _ok("RTStream"), body=ref("StreamCreate"),
                       errors=(404,)),
            "get": op("List streams", _ok_inline({"results": array(ref("RTStream")),
                                                  "count": INT}),
                      params=stream_query, errors=(422,)),
        },
        "/rtstream/{stream_id}": {"get": op(
            "One stream", _ok("RTStream"), params=[sid], errors=(404,))},
        "/rtstream/{stream_id}/status": {"patch": op(
            "Start or stop a stream", _ok("RTStream"), params=[sid], body=ref("StartStop"),
            errors=(404, 409))},
        "/rtstream/event": {
            "post": op("Create an event (a detection definition)", _ok("VideoDBEvent"),
                       body=ref("VideoDBEventCreate")),
            "get": op("List events", _ok_inline({"events": array(ref("VideoDBEvent"))})),
        },
        "/rtstream/{stream_id}/index/scene": {
            "post": op("Create a scene index", _ok("SceneIndex"), params=[sid],
                       body=ref("SceneIndexCreate"), errors=(404,)),
            "get": op("List scene indexes",
                      _ok_inline({"scene_indexes": array(ref("SceneIndex"))}),
                      params=[sid], errors=(404,)),
        },
        "/rtstream/{stream_id}/index/{index_id}": {"get": op(
            "One scene index", _ok("SceneIndex"), params=[sid, iid], errors=(404,))},
        "/rtstream/{stream_id}/index/scene/{index_id}": {"get": op(
            "Scene records (events posted with this stream and index)",
            _ok_inline({"scene_index_records": array(ref("SceneRecord")),
                        "next_page": BOOL}),
            params=[sid, iid, *scene_query], errors=(404, 422))},
        "/rtstream/{stream_id}/index/scene/{index_id}/status": {"patch": op(
            "Start or stop a scene index", _ok("SceneIndex"), params=[sid, iid],
            body=ref("StartStop"), errors=(404, 409))},
        "/rtstream/{stream_id}/index/{index_id}/alert": {
            "post": op("Create an alert (a rule firing on the event's label)",
                       _ok_inline({"alert_id": STRING}), params=[sid, iid],
                       body=ref("VideoDBAlertCreate"), errors=(404,)),
            "get": op("List alerts", _ok_inline({"alerts": array(ref("VideoDBAlert"))}),
                      params=[sid, iid], errors=(404,)),
        },
        "/rtstream/{stream_id}/index/{index_id}/alert/{alert_id}/status": {"patch": op(
            "Enable or disable an alert",
            _ok_inline({"alert_id": STRING, "status": {"enum": ["enabled", "disabled"]}}),
            params=[sid, iid, aid], body=ref("VideoDBAlertStatus"), errors=(404,))},
    }


@lru_cache(maxsize=1)
def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document, built once per process."""
    paths = _api_paths()
    paths["/api/alerts/rules/{rule_id}"]["delete"]["responses"] = {
        "204": {"description": "Deleted"},
        **paths["/api/alerts/rules/{rule_id}"]["delete"]["responses"],
    }
    paths.update(_videodb_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "alerting",
            "version": "0.1.0",
            "description": "Self-hosted alert engine for camera detection events. Every "
                           "operation needs an API key (x-access-token or Authorization: "
                           "Bearer) unless its security is empty. Reads need scope `read`, "
                           "changes `admin`, POST /api/events `ingest` (`admin` may do all).",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": name} for name in (
            "rules", "events", "alerts", "deliveries", "notification", "keys", "health",
            "videodb", "meta")],
        "paths": paths,
        "components": {
            "schemas": _components(),
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-access-token"},
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "The same API key as a bearer token"},
            },
        },
    }


@bp.get("/openapi.json")
@public
def openapi_document():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(build_document())


@bp.get("/docs")
@public
def docs():
    """A page that renders the document (static/js/api_docs.js)."""
    return render_template("api_docs.html")
