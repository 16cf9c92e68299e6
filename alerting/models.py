"""The database: SQLAlchemy 2.0 typed models. Every change here comes with a migration."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    insert,
    update,
)
from sqlalchemy.orm import Mapped, Session, WriteOnlyMapped, mapped_column, relationship

from .engine.event_record import identity_of
from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (naive storage) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        # SQLite keeps no offset: store naive UTC so string comparison orders correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def render_migration_item(type_: str, obj, autogen_context):
    """Alembic autogenerate: write UTCDateTime as the plain type it stores, so migrations
    do not import the app."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def new_uuid() -> str:
    return str(uuid.uuid4())


class User(db.Model):
    """A person who logs in to the pages."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # IANA name the pages show times in; None: the browser's own (detected by static/js/time.js).
    timezone: Mapped[str | None] = mapped_column(String(64))


class UserSession(db.Model):
    """A login: the cookie carries the token whose hash is here, so the server can end it
    (logout, a password change, an admin) before the cookie itself expires."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiKey(db.Model):
    """A hashed API key with a scope: admin, ingest (post events only) or read."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(120))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertRule(db.Model):
    """A user's rule: which events become alerts, how loud, and where they go."""

    __tablename__ = "alert_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    severity: Mapped[str] = mapped_column(String(10), index=True)
    risk_threshold: Mapped[int | None] = mapped_column(Integer)
    object_types: Mapped[list[str] | None] = mapped_column(JSON)
    camera_ids: Mapped[list[str] | None] = mapped_column(JSON)
    zone_ids: Mapped[list[str] | None] = mapped_column(JSON)
    min_confidence: Mapped[float | None] = mapped_column(Float)
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    conditions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    dedup_key_template: Mapped[str | None] = mapped_column(String(255))
    cooldown_seconds: Mapped[int] = mapped_column(Integer, default=300)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    # `targets` as shown (URLs redacted); the URLs that hide a secret, encrypted, in
    # `targets_sealed` ({"webhook_url": token | None, "push_urls": [token | None, ...]}).
    targets: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    targets_sealed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Who made it: None for a rule of this API, "videodb" for a VideoDB RTStream alert.
    origin: Mapped[str | None] = mapped_column(String(20))
    mute_timings: Mapped[list[str] | None] = mapped_column(JSON)  # names of MuteTiming rows
    modes: Mapped[list[str] | None] = mapped_column(JSON)  # arming modes; None: any
    # "detection" (matched against events) or "camera_offline" (a camera silent for
    # offline_after_seconds: services/cameras.py, never matched against events).
    kind: Mapped[str] = mapped_column(String(20), default="detection",
                                      server_default="detection")
    offline_after_seconds: Mapped[int | None] = mapped_column(Integer)
    # Track criteria (engine/tracks.py); null: not checked.
    min_dwell_seconds: Mapped[int | None] = mapped_column(Integer)
    dwell_zone_ids: Mapped[list[str] | None] = mapped_column(JSON)
    zone_sequence: Mapped[list[str] | None] = mapped_column(JSON)
    sequence_within_seconds: Mapped[int | None] = mapped_column(Integer)
    stationary_seconds: Mapped[int | None] = mapped_column(Integer)
    identities: Mapped[list[str] | None] = mapped_column(JSON)
    exclude_identities: Mapped[list[str] | None] = mapped_column(JSON)
    min_count: Mapped[int | None] = mapped_column(Integer)
    # Grouping (engine/grouping.py); each None takes the site-wide default (the notification
    # settings' `grouping`). repeat_interval 0: no repeats.
    group_by: Mapped[list[str] | None] = mapped_column(JSON)
    group_wait: Mapped[int | None] = mapped_column(Integer)
    group_interval: Mapped[int | None] = mapped_column(Integer)
    repeat_interval: Mapped[int | None] = mapped_column(Integer)
    group_max_alerts: Mapped[int | None] = mapped_column(Integer)
    # How its notifications look and sound: push priority (engine.vocabulary.PRIORITIES),
    # the live page's sound (SOUNDS), and Jinja templates per channel
    # ({"email": {"subject", "body"}, "push": {"title", "body"}}, notify/templates.py).
    priority: Mapped[str] = mapped_column(String(10), default="normal", server_default="normal")
    sound: Mapped[str] = mapped_column(String(20), default="default", server_default="default")
    templates: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Escalation (engine/escalation.py): an alert still unacknowledged `escalate_after`
    # seconds after it was created goes to `escalation_targets` (shown and sealed as
    # `targets`); only alerts of `escalate_min_severity` or worse, when set.
    escalate_after: Mapped[int | None] = mapped_column(Integer)
    escalation_targets: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    escalation_targets_sealed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    escalate_min_severity: Mapped[str | None] = mapped_column(String(10))

    alerts: WriteOnlyMapped[Alert] = relationship(back_populates="rule", passive_deletes=True)


class Camera(db.Model):
    """A camera (or detector) and its health: when it was last heard of, and whether it is
    online. Kept by services/cameras.py from events, heartbeats and Frigate's status topics."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # the events' camera_id
    name: Mapped[str | None] = mapped_column(String(255))
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="online")  # online | offline
    source: Mapped[str | None] = mapped_column(String(120))  # what reported it last
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # status since


class CameraOutage(db.Model):
    """One camera_offline rule's view of one outage of a camera: its offline alert and, when
    the camera returns, its camera_online one. The unique key is what keeps several workers
    from raising the same outage twice; `resolved_at` is set once, by whoever wins."""

    __tablename__ = "camera_outages"
    __table_args__ = (
        UniqueConstraint("rule_id", "camera_id", "started_at", name="uq_camera_outages_once"),
        Index("ix_camera_outages_open", "resolved_at", "rule_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    camera_id: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # silent since
    offline_alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"))  # None: a cooldown suppressed it
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    online_alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"))


class Counter(db.Model):
    """A named counter the database keeps: `rules` is the rules' version, bumped in every
    transaction that changes a rule (the matchers' caches compare it, never a clock)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


RULES_COUNTER = "rules"
_BUMP_RULES = (update(Counter.__table__).where(Counter.__table__.c.name == RULES_COUNTER)
               .values(value=Counter.__table__.c.value + 1))


@event.listens_for(Session, "before_flush")
def _bump_rules_version(session: Session, _context: Any, _instances: Any) -> None:
    """Any rule added, changed or deleted: the rules' version moves, in the same
    transaction (on PostgreSQL its row lock also orders concurrent rule edits)."""
    if not any(isinstance(obj, AlertRule) for obj in (*session.new, *session.deleted)) \
            and not any(isinstance(obj, AlertRule) and session.is_modified(obj)
                        for obj in session.dirty):
        return
    connection = session.connection()
    if connection.execute(_BUMP_RULES).rowcount == 0:  # a database made without migrations
        connection.execute(insert(Counter.__table__).values(name=RULES_COUNTER, value=1))


SILENCES_COUNTER = "silences"
_BUMP_SILENCES = (update(Counter.__table__).where(Counter.__table__.c.name == SILENCES_COUNTER)
                  .values(value=Counter.__table__.c.value + 1))


@event.listens_for(Session, "before_flush")
def _bump_silences_version(session: Session, _context: Any, _instances: Any) -> None:
    """A silence or mute timing added, changed or deleted: the matchers' silence caches
    reload, as they do for rules (the same counter mechanism, its own name)."""
    kinds = (Silence, MuteTiming)
    if not any(isinstance(obj, kinds) for obj in (*session.new, *session.deleted)) \
            and not any(isinstance(obj, kinds) and session.is_modified(obj)
                        for obj in session.dirty):
        return
    connection = session.connection()
    if connection.execute(_BUMP_SILENCES).rowcount == 0:
        connection.execute(insert(Counter.__table__).values(name=SILENCES_COUNTER, value=1))


WEB_PUSH_COUNTER = "web_push"
_BUMP_WEB_PUSH = (update(Counter.__table__).where(Counter.__table__.c.name == WEB_PUSH_COUNTER)
                  .values(value=Counter.__table__.c.value + 1))


def bump_web_push_version(connection: Any) -> None:
    """The web push subscriptions changed: the matchers reload them (services/webpush.py)."""
    if connection.execute(_BUMP_WEB_PUSH).rowcount == 0:
        connection.execute(insert(Counter.__table__).values(name=WEB_PUSH_COUNTER, value=1))


@event.listens_for(Session, "before_flush")
def _bump_web_push_version(session: Session, _context: Any, _instances: Any) -> None:
    """A web push subscription added, changed or deleted (the rules' mechanism)."""
    if any(isinstance(obj, WebPushSubscription)
           for obj in (*session.new, *session.deleted, *session.dirty)):
        bump_web_push_version(session.connection())


class Silence(db.Model):
    """A silence: matches its matchers cover between starts_at and ends_at are kept as
    `silenced` alerts, not delivered. The state (pending, active, expired) is from the time."""

    __tablename__ = "silences"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MuteTiming(db.Model):
    """A named recurring quiet time (weekly intervals, optional date ranges, a timezone),
    named by rules' `mute_timings` and by channels in the notification settings."""

    __tablename__ = "mute_timings"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    intervals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    timezone: Mapped[str | None] = mapped_column(String(64))
    date_ranges: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Event(db.Model):
    """A detection event posted by a detector. processed_at is set when the matcher is done."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_events_source_external_id"),
        Index("ix_events_unprocessed", "processed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(255), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    risk_score: Mapped[int | None] = mapped_column(Integer)
    risk_level: Mapped[str | None] = mapped_column(String(10))
    summary: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(255))
    scene_index_id: Mapped[str | None] = mapped_column(String(255))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # {snapshot_url, thumbnail_url, clip_url} at the detector, or None (schemas.events.Media).
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Indexed: the history's retention counts from it (services/retention.py).
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Event revisions: bumped each time the same source + external_id is stored with changed
    # fields (the matcher marks an event processed only at the revision it matched).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The review item bundling it (Frigate `reviews`): id, severity, GenAI title, summary,
    # threat level. Kept apart from the detector's fields, which a revision replaces.
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    detections: Mapped[list[Detection]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Detection.id"
    )

    @property
    def identity(self) -> str | None:
        """Who or what was recognised: a detection's identity (the best-scored), else the
        one `attributes` names (engine.event_record.identity_of)."""
        return identity_of(self.attributes, self.detections)


class Detection(db.Model):
    """One object seen in an event."""

    __tablename__ = "detections"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    object_type: Mapped[str] = mapped_column(String(100), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    zone_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    bbox: Mapped[list[float] | None] = mapped_column(JSON)
    track_id: Mapped[str | None] = mapped_column(String(255))
    # Who or what the detector recognised (a face's or a plate's name) and how sure.
    identity: Mapped[str | None] = mapped_column(String(100))
    identity_score: Mapped[float | None] = mapped_column(Float)

    event: Mapped[Event] = relationship(back_populates="detections")


class Track(db.Model):
    """One object on one camera over time (engine/tracks.py): its state as JSON, and when a
    time-based rule criterion can first hold for it (`due_at`, read by workers/track_timer)."""

    __tablename__ = "tracks"
    __table_args__ = (
        UniqueConstraint("camera_id", "track_id", name="uq_tracks_camera_track"),
        Index("ix_tracks_open", "camera_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(255))
    track_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The latest event of the track: the one matched again when a timer is due.
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), index=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    # Indexed: tracks ended longer ago than the retention are pruned by it
    # (services/tracks.prune_ended).
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Alert(db.Model):
    """An event that matched a rule. Rule fields are copied so history survives rule edits."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_cooldown", "rule_id", "dedup_key", "event_time"),
        Index("ix_alerts_listing", "severity_priority", "created_at"),
        # A rule fires at most once per event, whatever its revisions (DESIGN.md).
        Index("uq_alerts_event_rule", "event_id", "rule_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), index=True
    )
    rule_name: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(String(255), index=True)
    severity: Mapped[str] = mapped_column(String(10), index=True)
    severity_priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    dedup_key: Mapped[str] = mapped_column(String(512))
    matched_conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    object_type: Mapped[str | None] = mapped_column(String(100))
    zone_id: Mapped[str | None] = mapped_column(String(255))
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_by: Mapped[str | None] = mapped_column(String(120))
    # The status a dismissal replaced: what an undo restores.
    dismissed_from: Mapped[str | None] = mapped_column(String(20))
    # Why a `silenced` alert was not delivered: the silence's id or the mute timing's name.
    silence_id: Mapped[str | None] = mapped_column(String(36))
    mute_timing: Mapped[str | None] = mapped_column(String(100))
    # The digest that took this alert's immediate send to its target (services/digests.py).
    digest: Mapped[str | None] = mapped_column(String(100))
    # The notification group it belongs to (a grouped rule's alerts only), and the number of
    # the group's notification that first listed it (None: not notified yet).
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_groups.id", ondelete="SET NULL"), index=True)
    group_flush: Mapped[int | None] = mapped_column(Integer)
    # When it escalates unless acknowledged first (workers/escalation_loop.py); cleared by
    # an acknowledge or dismiss, and by the escalation itself, so it escalates at most once.
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    rule: Mapped[AlertRule | None] = relationship(back_populates="alerts")
    event: Mapped[Event] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="Delivery.id"
    )


class AlertGroup(db.Model):
    """A notification group (engine/grouping.py): one rule's alerts sharing the values of its
    group_by labels, notified together. `open_key` (rule id and key) is set while the group
    is firing and cleared when it resolves: the next alert of that key opens a new group.
    `next_flush_at` is when the groups worker looks at it next (None: when an alert comes
    or is acknowledged); `timing` is the rule's grouping settings when the group opened."""

    __tablename__ = "alert_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), index=True)
    rule_name: Mapped[str] = mapped_column(String(255))
    group_key: Mapped[str] = mapped_column(String(512))
    open_key: Mapped[str | None] = mapped_column(String(600), unique=True)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timing: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where its notifications go: [channel, target as shown, sealed target], the union of
    # its alerts' targets when they joined.
    targets: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default="firing", index=True)
    first_alert_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_alert_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # (retention)
    next_flush_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_flushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    flush_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertGroupFlush(db.Model):
    """One notification of a group: what its delivery rows send (the same on every retry).
    kind: "flush" (new alerts), "repeat" (the firing ones again) or "resolved"."""

    __tablename__ = "alert_group_flushes"
    __table_args__ = (UniqueConstraint("group_id", "number", name="uq_alert_group_flushes_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    alert_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # listed, worst first
    count: Mapped[int] = mapped_column(Integer)  # alerts it covers (more when truncated)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(db.Model):
    """One alert to one channel and target: the outbox row the dispatcher drains."""

    __tablename__ = "deliveries"
    # ix_deliveries_due: the earliest due row overall and expired leases; the target index:
    # one target's due rows, so a claim never reads a saturated receiver's backlog.
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_due_target", "status", "target", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a digest's delivery, which is about many alerts.
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    # "alert" (the alert as it was created), "escalation" (it was not acknowledged in time)
    # or "digest" (a summary of many alerts, its message in `payload`).
    kind: Mapped[str] = mapped_column(String(20), default="alert", server_default="alert")
    # What the kind needs to render: {"after_seconds"} for an escalation, the rendered
    # message for a digest.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(20))
    # The target as shown (a URL's secrets redacted), also the outbox's per-target key; the
    # clear target encrypted in `target_sealed` when `target` hides a secret.
    target: Mapped[str] = mapped_column(String(2048))
    target_sealed: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(64), unique=True, default=new_uuid)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who holds the lease: a dispatcher records an outcome only while its token is current,
    # so a delivery whose lease expired and was claimed again is never recorded twice.
    claim_token: Mapped[str | None] = mapped_column(String(36))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow,
                                                 index=True)  # (a digest's retention)
    # A group's notification (alert_group_flushes (group_id, number)) rather than one
    # alert's; `alert_id` is then the worst of the alerts it lists.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_groups.id", ondelete="CASCADE"), index=True)
    group_flush: Mapped[int | None] = mapped_column(Integer)

    alert: Mapped[Alert | None] = relationship(back_populates="deliveries")
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan", order_by="DeliveryAttempt.id"
    )


class DeliveryAttempt(db.Model):
    """A record of one try at a delivery."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[float] = mapped_column(Float)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_log")


class NotificationSettings(db.Model):
    """The one row of notification settings. Secrets are stored encrypted, never in clear."""

    __tablename__ = "notification_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    smtp_host: Mapped[str | None] = mapped_column(String(255))
    smtp_port: Mapped[int | None] = mapped_column(Integer)
    smtp_username: Mapped[str | None] = mapped_column(String(255))
    smtp_password_encrypted: Mapped[str | None] = mapped_column(Text)
    smtp_from_address: Mapped[str | None] = mapped_column(String(255))
    smtp_use_tls: Mapped[bool] = mapped_column(Boolean, default=True)
    smtp_use_ssl: Mapped[bool] = mapped_column(Boolean, default=False)
    default_email_recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_webhook_url: Mapped[str | None] = mapped_column(String(2048))  # as shown
    default_webhook_url_encrypted: Mapped[str | None] = mapped_column(Text)  # when it hides one
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    webhook_secret_revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    webhook_timeout_seconds: Mapped[int] = mapped_column(Integer, default=30)
    push_urls_encrypted: Mapped[str | None] = mapped_column(Text)
    # {channel: [mute timing names]}: a channel is not sent to inside its mute timings.
    channel_mute_timings: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    # The site-wide grouping defaults for rules that set none ({group_by, group_wait,
    # group_interval, repeat_interval, group_max_alerts}; None: engine/grouping.py's).
    grouping: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The site's default templates, the same shape as a rule's `templates`.
    templates: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # [{name, channel, target, schedule, filter, send_empty}] (schemas/digests.py).
    digests: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Private networks the outgoing connections may reach, on top of ALERTING_WEBHOOK_ALLOW_CIDRS
    # (CIDRs as normalised by schemas/common.py's Cidr).
    webhook_allow_cidrs: Mapped[list[str] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebPushKeys(db.Model):
    """The one row of the app's own VAPID key pair (when ALERTING_VAPID_PRIVATE_KEY is not
    set): the private key encrypted (services/secrets_box.py), the public key as browsers
    take it (base64url of the uncompressed point)."""

    __tablename__ = "web_push_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebPushSubscription(db.Model):
    """A browser's push subscription (one device of one user): where the push service takes
    notifications for it, the keys its payloads are encrypted to, and which alerts it wants
    (`min_severity` and up; `camera_ids` null for every camera)."""

    __tablename__ = "web_push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(255))
    auth_encrypted: Mapped[str] = mapped_column(Text)  # the auth secret, encrypted
    label: Mapped[str] = mapped_column(String(200), default="")
    min_severity: Mapped[str] = mapped_column(String(20), default="low")
    camera_ids: Mapped[list[str] | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestState(db.Model):
    """Where a digest is (workers/digest_loop.py): the alerts up to `covered_until` were
    summarised, the next summary is due at `next_due_at`. Advanced in the transaction that
    writes the summary's delivery, so a restart neither skips nor repeats one."""

    __tablename__ = "digest_state"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    covered_until: Mapped[datetime] = mapped_column(UTCDateTime)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_count: Mapped[int] = mapped_column(Integer, default=0)


class IntegrationSettings(db.Model):
    """The one row of integration settings (services/integrations.py): the MQTT connection
    and the Frigate instances. A null column means "the environment's value"
    (ALERTING_MQTT_URL ...). Credentials are stored encrypted, never in clear."""

    __tablename__ = "integration_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    mqtt_url_encrypted: Mapped[str | None] = mapped_column(Text)  # the whole URL
    mqtt_client_id: Mapped[str | None] = mapped_column(String(255))
    mqtt_topics: Mapped[list[str] | None] = mapped_column(JSON)
    # [{"prefix", "base_url", "username", "password_encrypted"}]
    frigate_instances: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Mode(db.Model):
    """An arming mode's name, in the order the pages list them (services/modes.py)."""

    __tablename__ = "modes"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ModeChange(db.Model):
    """One change of the arming mode: the current mode is the latest one's (by `at`, `id`).

    `scheduled_key` is set for the schedule's changes (their time), so that two workers
    catching up at once cannot record one twice."""

    __tablename__ = "mode_changes"
    __table_args__ = (Index("ix_mode_changes_at_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(40))
    previous: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scheduled_key: Mapped[str | None] = mapped_column(String(80), unique=True)


class ModeSettings(db.Model):
    """The one row of mode settings: the weekly mode schedule and the time the schedule
    worker has recorded its changes up to."""

    __tablename__ = "mode_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    applied_through: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class UsedActionToken(db.Model):
    """An action link that has acted (services/action_links.py), by its token id: the same
    link used again does nothing. No foreign key: the record outlives its alert."""

    __tablename__ = "used_action_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    alert_id: Mapped[int] = mapped_column(Integer)
    # Indexed: rows whose token has expired are pruned by it (action_links.prune_used).
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditLog(db.Model):
    """Who did what, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(50), index=True)
    target_type: Mapped[str | None] = mapped_column(String(50))
    target_id: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    client_address: Mapped[str | None] = mapped_column(String(45))  # None: CLI, system


# -- the VideoDB RTStream-compatible API (alerting/videodb) ------------------------------------


class VideodbStream(db.Model):
    """A VideoDB real-time stream: here, a camera. Its id is the events' camera_id."""

    __tablename__ = "videodb_streams"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(64), default="default")
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(2048))
    media_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    store: Mapped[bool] = mapped_column(Boolean, default=False)
    enable_transcript: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="connected")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class VideodbSceneIndex(db.Model):
    """A named feed of scene records for a stream (events with this scene_index_id)."""

    __tablename__ = "videodb_scene_indexes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    stream_id: Mapped[str] = mapped_column(
        ForeignKey("videodb_streams.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    extraction_type: Mapped[str | None] = mapped_column(String(50))
    extraction_config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prompt: Mapped[str | None] = mapped_column(Text)
    model_name: Mapped[str | None] = mapped_column(String(255))
    model_config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="connected")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VideodbEvent(db.Model):
    """A VideoDB event: a reusable detection definition, a label and the prompt behind it."""

    __tablename__ = "videodb_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_prompt: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class VideodbAlert(db.Model):
    """A VideoDB alert: an event bound to a scene index and a callback URL and/or a WebSocket
    connection. It is carried out by its alert rule, and goes when the rule is deleted."""

    __tablename__ = "videodb_alerts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    rule_id: Mapped[str] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), unique=True
    )
    stream_id: Mapped[str] = mapped_column(
        ForeignKey("videodb_streams.id", ondelete="CASCADE"), index=True
    )
    scene_index_id: Mapped[str] = mapped_column(
        ForeignKey("videodb_scene_indexes.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(ForeignKey("videodb_events.id"), index=True)
    callback_url: Mapped[str] = mapped_column(String(2048), default="")
    ws_connection_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rule: Mapped[AlertRule] = relationship()
    event: Mapped[VideodbEvent] = relationship()
