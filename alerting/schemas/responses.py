"""What the API answers: one model per response object, in the order of its fields.

Each model is the declaration of its object for the OpenAPI document and the plan of its
serializer (`serialize.serializer`); a field is named once. Nullable fields are `X | None`
and always present; keys that may be absent are `NotRequired` in a TypedDict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, create_model
from typing_extensions import TypedDict

from ..engine.vocabulary import (
    CHANNELS,
    DAYS,
    DELIVERY_CHANNELS,
    MATCH_CONDITIONS,
    RISK_LEVELS,
    SEVERITIES,
)
from .queries import ALERT_STATUSES, DELIVERY_STATUSES

Severity = Literal[SEVERITIES]  # type: ignore[valid-type]
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
DeliveryChannel = Literal[DELIVERY_CHANNELS]  # type: ignore[valid-type]
RiskLevel = Literal[RISK_LEVELS]  # type: ignore[valid-type]
MatchCondition = Literal[MATCH_CONDITIONS]  # type: ignore[valid-type]
CLOSED = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response object: every field present, no other."""

    model_config = CLOSED


def listing_model(name: str, key: str, item: type[BaseModel]) -> type[BaseModel]:
    """The listing envelope's model: {key: [item], count, limit, offset}."""
    return create_model(name, __base__=Out, **{key: (list[item], ...), "count": (int, ...),
                                               "limit": (int, ...), "offset": (int, ...)})


class Error(BaseModel):
    """Every API error: a code, a sentence, and for a 422 each bad field by dotted path."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str
    fields: dict[str, str] = Field(default=None, description="Bad field (dotted path) -> message",  # type: ignore[assignment]
                                   json_schema_extra=lambda s: s.pop("default", None))


# --- rules ------------------------------------------------------------------------------------

class Schedule(Out):
    days: list[Literal[DAYS]]  # type: ignore[valid-type]
    start_time: str
    end_time: str
    timezone: str | None


class Condition(Out):
    field: str
    op: str
    value: Any


class Targets(Out):
    email_recipients: list[str] | None
    webhook_url: str | None
    push_urls: list[str] | None


class Rule(Out):
    id: str = Field(json_schema_extra={"format": "uuid"})
    name: str
    description: str | None
    enabled: bool
    severity: Severity
    risk_threshold: int | None
    object_types: list[str] | None
    camera_ids: list[str] | None
    zone_ids: list[str] | None
    min_confidence: float | None
    schedule: Schedule | None
    conditions: list[Condition] | None
    dedup_key_template: str | None
    cooldown_seconds: int
    channels: list[Channel]
    created_at: datetime
    updated_at: datetime
    targets: Targets | None
    mute_timings: list[str] | None
    modes: list[str] | None
    kind: Literal["detection", "camera_offline"]
    offline_after_seconds: int | None
    min_dwell_seconds: int | None
    dwell_zone_ids: list[str] | None
    zone_sequence: list[str] | None
    sequence_within_seconds: int | None
    stationary_seconds: int | None
    identities: list[str] | None
    exclude_identities: list[str] | None
    min_count: int | None
    group_by: list[str] | None
    group_wait: int | None
    group_interval: int | None
    repeat_interval: int | None
    group_max_alerts: int | None
    priority: Literal["low", "normal", "high", "urgent"]
    sound: Literal["default", "chime", "alarm", "none"]
    templates: dict[str, dict[str, str]] | None
    escalate_after: int | None = None
    escalation_targets: Targets | None = None
    escalate_min_severity: Severity | None = None


RuleList = listing_model("RuleList", "rules", Rule)


class EmailPreview(Out):
    subject: str
    body: str


class PushPreview(Out):
    title: str
    body: str


class TemplatePreview(Out):
    """What the email and the push of an alert would say with the templates given; the
    `alert_id` is null for the latest event the rule matches but raised no alert for
    (`event_id` is that event's), both are null for the sample alert."""

    alert_id: int | None
    event_id: int | None
    email: EmailPreview
    push: PushPreview
    notes: list[str]


class SilencedBy(Out):
    """Why a match would be kept as a `silenced` alert: a silence or a mute timing."""

    silence_id: str | None
    mute_timing: str | None


class CooldownBy(Out):
    """What keeps a match within its rule's cooldown: an alert already stored (`alert_id`),
    or an earlier event of the same test that would alert (`event_id`); and until when."""

    alert_id: int | None
    event_id: int | None
    until: datetime


class Verdict(Out):
    event_id: int
    camera_id: str
    risk_score: int | None
    object_types: list[str]
    matches: bool
    matched_conditions: list[MatchCondition]
    failed_conditions: list[MatchCondition]
    suppressed_by_cooldown: bool
    cooldown: CooldownBy | None = Field(
        description="Why suppressed_by_cooldown: the stored alert or tested event, and until")
    silenced_by: SilencedBy | None
    dedup_key: str | None
    started_at: datetime
    mode: str = Field(description="The arming mode at the time the rule was tested at")
    explanations: dict[str, str] | None = Field(
        description="A sentence per track criterion (dwell, zone_sequence, stationary, "
        "identity, min_count): \"in `gate` for 12 s of the 30 s required\"; only for a rule "
        "that has them")


class RuleTestResult(TypedDict):
    __pydantic_config__ = CLOSED  # type: ignore[misc]
    rule_id: str
    rule_name: str
    events_tested: int
    events_matched: int
    match_rate: float
    alerts_that_would_fire: int
    test_time: datetime | None
    results: list[Verdict]
    missing_event_ids: NotRequired[list[int]]


# --- events -----------------------------------------------------------------------------------

class Detection(Out):
    object_type: str
    confidence: float | None
    zone_ids: list[str]
    bbox: list[float] | None
    track_id: str | None
    identity: str | None
    identity_score: float | None


class EventMedia(Out):
    snapshot_url: str | None
    thumbnail_url: str | None
    clip_url: str | None


class Event(Out):
    id: int
    camera_id: str
    started_at: datetime
    ended_at: datetime | None
    risk_score: int | None
    risk_level: RiskLevel | None
    summary: str | None
    labels: list[str]
    object_types: list[str]
    detections: list[Detection]
    source: str | None
    external_id: str | None
    scene_index_id: str | None
    attributes: dict[str, Any] | None
    media: EventMedia | None
    received_at: datetime
    processed_at: datetime | None
    revision: int = 0  # times the detector revised it (same source + external_id)
    review: dict[str, Any] | None = None  # the review item bundling it (Frigate reviews)


EventList = listing_model("EventList", "events", Event)


class Camera(Out):
    id: str
    name: str | None
    status: Literal["online", "offline", "disabled"]
    last_seen: datetime | None
    since: datetime
    source: str | None


CameraList = listing_model("CameraList", "cameras", Camera)


class BatchStored(Out):
    index: int
    status: Literal[200, 201]
    id: int
    duplicate: bool
    revised: bool  # the same source + external_id with changed fields: matched again


class BatchRefusedItem(Out):
    index: int
    status: Literal[422]
    error: Literal["validation_error"]
    message: str
    fields: dict[str, str]


class BatchResult(Out):
    results: list[BatchStored | BatchRefusedItem]
    created: int
    revised: int
    duplicates: int
    failed: int


# --- alerts and deliveries --------------------------------------------------------------------

class Alert(Out):
    id: int
    rule_id: str | None
    rule_name: str
    event_id: int
    camera_id: str
    severity: Severity
    status: Literal[ALERT_STATUSES]  # type: ignore[valid-type]
    dedup_key: str | None
    matched_conditions: list[str]
    object_type: str | None
    zone_id: str | None
    event_time: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    dismissed_at: datetime | None
    dismissed_by: str | None
    silence_id: str | None
    mute_timing: str | None
    # The digest that took its immediate send to that digest's target (sent in its summary).
    digest: str | None = None
    group_id: int | None  # its notification group (a grouped rule's alerts only)
    escalate_at: datetime | None = Field(None, description=(
        "When it escalates to its rule's escalation_targets unless acknowledged first"))


AlertList = listing_model("AlertList", "alerts", Alert)


class AlertGroup(Out):
    """A notification group (engine/grouping.py): one rule's alerts with the same values
    of its group_by labels, notified together."""

    id: int
    rule_id: str | None
    rule_name: str
    group_key: str
    labels: dict[str, str | None]
    status: Literal["firing", "resolved"]
    alert_count: int
    flush_count: int
    first_alert_at: datetime
    last_alert_at: datetime
    next_flush_at: datetime | None
    last_flushed_at: datetime | None
    resolved_at: datetime | None


AlertGroupList = listing_model("AlertGroupList", "alert_groups", AlertGroup)


class AlertGroupFlush(Out):
    """One notification of a group: "flush" (its new alerts), "repeat" or "resolved"."""

    number: int
    kind: Literal["flush", "repeat", "resolved"]
    status: Literal["firing", "resolved"]
    alert_ids: list[int]
    count: int
    truncated: bool
    at: datetime


class AlertGroupDetail(AlertGroup):
    alerts: list[Alert]
    flushes: list[AlertGroupFlush]


class EventDetail(Event):
    alerts: list[Alert]


class Delivery(Out):
    id: int
    alert_id: int | None = Field(description="None for a digest (about many alerts)")
    kind: Literal["alert", "escalation", "digest"] = "alert"
    channel: DeliveryChannel
    target: str
    status: Literal[DELIVERY_STATUSES]  # type: ignore[valid-type]
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status_code: int | None
    delivered_at: datetime | None
    created_at: datetime | None


DeliveryList = listing_model("DeliveryList", "deliveries", Delivery)


class Attempt(Out):
    started_at: datetime | None
    duration_ms: float
    ok: bool
    status_code: int | None
    error: str | None


class DeliveryWithAttempts(Delivery):
    attempt_log: list[Attempt]


class AlertDetail(Alert):
    event: Event
    deliveries: list[DeliveryWithAttempts]


# --- keys -------------------------------------------------------------------------------------

class ApiKey(Out):
    id: int
    name: str
    scope: Literal["admin", "ingest", "read", "metrics"]  # services.keys.SCOPES
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The key itself, shown this once")


class ApiKeyList(Out):
    keys: list[ApiKey]


# --- the audit log ----------------------------------------------------------------------------

class AuditEntry(Out):
    id: int
    at: datetime
    actor: str = Field(description="Who: key:<name>, user:<name>, cli or system")
    action: str
    target_type: str | None
    target_id: str | None
    client_address: str | None = Field(description="From where; null for the CLI and start-up")
    details: dict[str, Any] | None = Field(
        description='What changed: "changes" maps each field to {"before", "after"}; '
                    'secrets show as "***"')


AuditList = listing_model("AuditList", "entries", AuditEntry)


# --- notification settings --------------------------------------------------------------------

class NotificationConfig(Out):
    notification_enabled: bool
    email_configured: bool
    webhook_configured: bool
    push_configured: bool
    available_channels: list[Channel]
    smtp_host: str | None
    smtp_port: int | None
    smtp_from_address: str | None
    smtp_use_tls: bool
    default_webhook_url: str | None
    webhook_timeout_seconds: int
    default_email_recipients: list[str]
    webhook_allow_cidrs: list[str] = Field(
        description="Private networks the channels may reach, as stored (set here or on the "
                    "Notifications page)")
    webhook_allow_cidrs_fixed: list[str] = Field(
        description="Those from ALERTING_WEBHOOK_ALLOW_CIDRS, also allowed; changed only by "
                    "a restart")


class Grouping(Out):
    """The site-wide grouping defaults (schemas/grouping.py)."""

    group_by: list[str]
    group_wait: int
    group_interval: int
    repeat_interval: int
    group_max_alerts: int


class NotificationSettings(NotificationConfig):
    smtp_username: str | None
    smtp_use_ssl: bool
    smtp_password_set: bool
    push_urls_count: int
    webhook_secret_set: bool
    webhook_secret_revealed: bool
    channel_mute_timings: dict[DeliveryChannel, list[str]]
    grouping: Grouping
    templates: dict[str, dict[str, str]] | None
    updated_at: datetime | None


class NotificationTestResult(TypedDict):
    __pydantic_config__ = CLOSED  # type: ignore[misc]
    channel: Channel
    success: bool
    error: str | None
    message: str
    status_code: NotRequired[int]


class WebhookSecret(Out):
    webhook_secret: str


class DigestSchedule(Out):
    at: str | None
    days: list[Literal[DAYS]] | None  # type: ignore[valid-type]
    timezone: str | None
    every_seconds: int | None


class DigestFilter(Out):
    min_severity: Severity | None
    max_severity: Severity | None
    modes: list[str] | None
    cameras: list[str] | None
    rules: list[str] | None


class DigestState(Out):
    next_due_at: datetime
    covered_until: datetime = Field(description="Alerts created up to this time were covered")
    last_sent_at: datetime | None
    last_count: int


class Digest(Out):
    name: str
    channel: Channel
    target: str = Field(description="As shown: a URL's secrets redacted")
    schedule: DigestSchedule
    filter: DigestFilter | None
    send_empty: bool
    state: DigestState | None = Field(description="None until the digest worker has seen it")


class DigestList(Out):
    digests: list[Digest]
    count: int


# --- health -----------------------------------------------------------------------------------

class WorkerState(TypedDict):
    __pydantic_config__ = CLOSED  # type: ignore[misc]
    alive: bool
    expected: bool
    state: Literal["running", "failing", "stopped"]
    failing_since: NotRequired[datetime]
    failures: NotRequired[int]
    last_error: NotRequired[str]


class MqttState(TypedDict):
    """The MQTT subscriber of this process (ALERTING_MQTT_URL): connection, counts, and
    bad payloads by topic."""

    __pydantic_config__ = CLOSED  # type: ignore[misc]
    connected: bool
    connects: int
    messages: int
    bad_payloads: dict[str, int]
    bad_payloads_total: int
    last_message_at: datetime | None
    backfilled: int
    backfill_failures: int


class Backlog(Out):
    events_unprocessed: int
    deliveries_pending: int
    # How long the oldest new event has waited for matching, and the oldest due delivery
    # past its attempt time (None: none waiting).
    oldest_unprocessed_seconds: float | None
    oldest_overdue_delivery_seconds: float | None


class WebSocketCounts(Out):
    open: int
    max: int
    max_per_principal: int
    opened_total: int
    refused_total: int
    dropped_total: int


class Connections(Out):
    """This process's WebSockets and the slow clients it cut off."""

    websockets: WebSocketCounts
    slow_requests_closed: int


class Health(TypedDict):
    """Only status and database when the database is unreachable (with `error`)."""

    status: Literal["ok", "degraded", "unavailable"]
    database: Literal["ok", "unreachable"]
    workers: NotRequired[dict[str, WorkerState]]
    backlog: NotRequired[Backlog]
    connections: NotRequired[Connections]
    mqtt: NotRequired[MqttState]
    # What has waited over ALERTING_HEALTH_LAG_SECONDS: no process is matching or delivering.
    stalled: NotRequired[list[Literal["matching", "delivery"]]]
    secrets: NotRequired[Literal["ok", "unreadable"]]
    unreadable_secrets: NotRequired[list[Literal["smtp_password", "webhook_secret",
                                                 "push_urls", "default_webhook_url",
                                                 "vapid_private_key"]]]
    error: NotRequired[str]


# --- VideoDB-compatible -----------------------------------------------------------------------

class VideoDBError(BaseModel):
    success: Literal[False]
    message: str


class Collection(Out):
    id: str
    name: str
    description: str
    is_public: bool


class RTStream(Out):
    id: str
    name: str
    collection_id: str
    created_at: datetime
    sample_rate: int | None
    status: str
    stream_url: None
    player_url: None
    url: str
    media_types: list[str]
    store: bool
    enable_transcript: bool


class SceneIndex(Out):
    rtstream_index_id: str
    rtstream_id: str
    extraction_type: str
    extraction_config: dict[str, Any] | None
    prompt: str | None
    model_name: str | None
    model_config_: dict[str, Any] | None = Field(alias="model_config")
    name: str | None
    status: str
    created_at: datetime


class SceneRecord(Out):
    id: int
    start: float
    end: float
    description: str | None
    labels: list[str]
    metadata: dict[str, Any] | None


class VideoDBEvent(Out):
    event_id: str
    event_prompt: str
    label: str
    created_at: datetime


class VideoDBAlert(Out):
    alert_id: str
    event_id: str
    label: str
    prompt: str
    callback_url: str
    ws_connection_id: str | None
    status: Literal["enabled", "disabled"]
    rtstream_id: str
    rtstream_index_id: str
    rule_id: str
    created_at: datetime


class StreamList(Out):
    results: list[RTStream]
    count: int


class VideoDBEventList(Out):
    events: list[VideoDBEvent]


class SceneIndexList(Out):
    scene_indexes: list[SceneIndex]


class SceneRecordPage(Out):
    scene_index_records: list[SceneRecord]
    next_page: bool


class VideoDBAlertCreated(Out):
    alert_id: str


class VideoDBAlertList(Out):
    alerts: list[VideoDBAlert]


class VideoDBAlertState(Out):
    alert_id: str
    status: Literal["enabled", "disabled"]


class WebSocketUrl(Out):
    websocket_url: str


# --- arming modes -----------------------------------------------------------------------------

class CurrentMode(Out):
    mode: str
    since: datetime | None = Field(description="When it became current; null: never changed")
    source: str | None = Field(description="user, key, schedule or mqtt; null: the default")
    changed_by: str | None
    previous: str | None
    modes: list[str]


class ModeNames(Out):
    modes: list[str]


class ModeWindow(Out):
    mode: str
    days: list[Literal[DAYS]]  # type: ignore[valid-type]
    start_time: str
    end_time: str


class ModeSchedule(Out):
    timezone: str
    windows: list[ModeWindow]
    applied_through: datetime | None = Field(
        description="The schedule's changes are recorded up to this time")


class ModeChange(Out):
    id: int
    at: datetime
    mode: str
    previous: str | None
    source: str
    actor: str | None


ModeHistory = listing_model("ModeHistory", "changes", ModeChange)
