"""Query strings of the listings (rules, events, alerts, deliveries), for the API and pages.

Unknown arguments are ignored (browsers and proxies add their own) and a blank value means
the argument is absent (schemas.common.Query).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BeforeValidator, create_model

from ..engine.vocabulary import CHANNELS, RISK_LEVELS, SEVERITIES
from .common import (
    MAX_DB_INT,
    MAX_OFFSET,
    DateTime,
    Query,
    QueryFlag,
    choice,
    optional_text,
    query_integer,
    refuse,
    storable,
    validate,
)

ALERT_STATUSES = ("pending", "delivered", "failed", "acknowledged", "dismissed")
DELIVERY_STATUSES = ("pending", "sending", "delivered", "dead")
MAX_QUERY_TEXT = 255
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


def _argument(max_length: int = MAX_QUERY_TEXT) -> Any:
    """A text argument, stripped, at most max_length characters, no NUL."""

    def check(value: Any) -> str:
        value = str(value).strip()
        if len(value) > max_length:
            raise refuse(f"must be at most {max_length} characters")
        return storable(value)

    return Annotated[str, BeforeValidator(check)]


def _positive_id(value: Any) -> int:
    # ASCII digits only (isdigit() also takes "²", which int() refuses), within INTEGER.
    text = str(value).strip()
    if len(text) <= 19 and text.isascii() and text.isdigit() and int(text) <= MAX_DB_INT:
        return int(text)
    raise refuse("must be a positive integer")


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

    camera_id: _argument() | None = None
    object_type: _argument(100) | None = None
    since: DateTime | None = None
    until: DateTime | None = None
    risk_level: choice(RISK_LEVELS) | None = None


class AlertQuery(Page):
    """GET /api/alerts: status, severity, rule_id, camera_id, since."""

    status: choice(ALERT_STATUSES) | None = None
    severity: choice(SEVERITIES) | None = None
    rule_id: _argument(36) | None = None
    camera_id: _argument() | None = None
    since: DateTime | None = None


class DeliveryQuery(Page):
    """GET /api/deliveries: status, channel, alert_id."""

    status: choice(DELIVERY_STATUSES) | None = None
    channel: choice(CHANNELS) | None = None
    alert_id: Annotated[int, BeforeValidator(_positive_id)] | None = None


class AuditQuery(Page):
    """GET /api/audit: actor (a label such as key:frigate, or the name alone), action,
    target_type and target_id (the object changed), since (inclusive), until (exclusive)."""

    actor: _argument(120) | None = None
    action: _argument(50) | None = None
    target_type: _argument(50) | None = None
    target_id: _argument(64) | None = None
    since: DateTime | None = None
    until: DateTime | None = None


def _parse(model: type[Page], args: Mapping[str, Any]) -> dict[str, Any]:
    return validate(model, args).model_dump()


def parse_rule_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """Filters for the rule listing: enabled, severity, q, limit, offset."""
    return _parse(RuleQuery, args)


def parse_event_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """camera_id, object_type, since, until, risk_level, limit, offset."""
    return _parse(EventQuery, args)


def parse_alert_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """status, severity, rule_id, camera_id, since, limit, offset."""
    return _parse(AlertQuery, args)


def parse_delivery_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """status, channel, alert_id, limit, offset."""
    return _parse(DeliveryQuery, args)


def parse_audit_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """actor, action, target_type, target_id, since, until, limit, offset."""
    return _parse(AuditQuery, args)


@lru_cache(maxsize=16)
def _page_model(default_limit: int, max_limit: int) -> type[Query]:
    return create_model(
        f"Page{default_limit}_{max_limit}", __base__=Query,
        limit=(query_integer(1, max_limit), default_limit),
        offset=(query_integer(0, MAX_OFFSET), 0),
    )


def parse_pagination(args: Mapping[str, Any], *, default_limit: int = DEFAULT_LIMIT,
                     max_limit: int = MAX_LIMIT) -> tuple[int, int]:
    """(limit, offset) from query arguments: limit 1..max_limit, offset >= 0."""
    page = validate(_page_model(default_limit, max_limit), args)
    return page.limit, page.offset

