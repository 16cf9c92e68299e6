"""Query strings of the listings (rules, events, alerts, deliveries), for the API and pages.

Unknown arguments are ignored (browsers and proxies add their own) and a blank value means
the argument is absent (schemas.common.Query).
"""

from __future__ import annotations

from ..engine.vocabulary import DELIVERY_CHANNELS, RISK_LEVELS, SEVERITIES
from .common import (
    MAX_DB_INT,
    MAX_OFFSET,
    DateTime,
    Query,
    QueryFlag,
    choice,
    optional_text,
    parser,
    query_integer,
)
from .grouping import GROUP_STATUSES

ALERT_STATUSES = ("pending", "delivered", "failed", "acknowledged", "dismissed", "silenced")
DELIVERY_STATUSES = ("pending", "sending", "delivered", "dead")
# The kinds of object an audit entry names (its target_type); services/audit.py writes them
# and tests/api/test_audit_every_route.py checks that every entry's type is in the list.
AUDIT_TARGET_TYPES = ("alert", "alert_rule", "api_key", "camera", "delivery",
                      "integration_settings", "mode", "mode_schedule", "mute_timing",
                      "notification_settings", "silence",
                      "site_config", "user", "videodb_alert", "videodb_event",
                      "videodb_scene_index", "videodb_stream", "web_push_subscription")
MAX_QUERY_TEXT = 255
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

PositiveId = query_integer(1, MAX_DB_INT, message="must be a positive integer")
"""A row id: ASCII digits, 1 up to the largest INTEGER."""


class Page(Query):
    """limit 1..1000 (default 50) and offset from 0."""

    limit: query_integer(1, MAX_LIMIT) = DEFAULT_LIMIT
    offset: query_integer(0, MAX_OFFSET) = 0


class RuleQuery(Page):
    """GET /api/alerts/rules: enabled, severity, q (in name or description)."""

    enabled: QueryFlag | None = None
    severity: choice(SEVERITIES) | None = None
    q: optional_text(MAX_QUERY_TEXT) = None


class EventQuery(Page):
    """GET /api/events: camera_id, object_type, since, until, risk_level."""

    camera_id: optional_text(MAX_QUERY_TEXT) = None
    object_type: optional_text(100) = None
    since: DateTime | None = None
    until: DateTime | None = None
    risk_level: choice(RISK_LEVELS) | None = None


class AlertQuery(Page):
    """GET /api/alerts: status, severity, rule_id, camera_id, since."""

    status: choice(ALERT_STATUSES) | None = None
    severity: choice(SEVERITIES) | None = None
    rule_id: optional_text(36) = None
    camera_id: optional_text(MAX_QUERY_TEXT) = None
    since: DateTime | None = None


class AlertGroupQuery(Page):
    """GET /api/alert-groups: status (firing, resolved), rule_id."""

    status: choice(GROUP_STATUSES) | None = None
    rule_id: optional_text(36) = None


class DeliveryQuery(Page):
    """GET /api/deliveries: status, channel, alert_id."""

    status: choice(DELIVERY_STATUSES) | None = None
    channel: choice(DELIVERY_CHANNELS) | None = None
    alert_id: PositiveId | None = None


class AuditQuery(Page):
    """GET /api/audit: actor (a label such as key:frigate, or the name alone), action,
    target_type (one of AUDIT_TARGET_TYPES) and target_id (the object changed), since
    (inclusive), until (exclusive)."""

    actor: optional_text(120) = None
    action: optional_text(50) = None
    target_type: choice(AUDIT_TARGET_TYPES) | None = None
    target_id: optional_text(255) = None
    since: DateTime | None = None
    until: DateTime | None = None


parse_rule_query = parser(RuleQuery)
parse_event_query = parser(EventQuery)
parse_alert_query = parser(AlertQuery)
parse_delivery_query = parser(DeliveryQuery)
parse_alert_group_query = parser(AlertGroupQuery)
parse_audit_query = parser(AuditQuery)


class TriageFilter(Query):
    """The live page's filter chips (kept in its URL): one severity, one camera, hide low."""

    severity: choice(SEVERITIES) | None = None
    camera_id: optional_text(MAX_QUERY_TEXT) = None
    hide_low: QueryFlag = False


parse_triage_filter = parser(TriageFilter)
