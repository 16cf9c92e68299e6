"""The event, alert and delivery list queries (the rule query is in test_rules.py)."""

from datetime import UTC, datetime

import pytest

from alerting.schemas.common import ValidationError
from alerting.schemas.queries import (
    parse_alert_query,
    parse_delivery_query,
    parse_event_query,
)


def test_event_query():
    assert parse_event_query({"camera_id": " cam-1 ", "since": "2025-12-23T10:00:00Z",
                              "risk_level": "HIGH", "until": "", "limit": "5"}) == {
        "camera_id": "cam-1", "object_type": None,
        "since": datetime(2025, 12, 23, 10, tzinfo=UTC), "until": None,
        "risk_level": "high", "limit": 5, "offset": 0,
    }


def test_alert_and_delivery_queries():
    assert parse_alert_query({"status": "Pending", "severity": "low"})["status"] == "pending"
    assert parse_delivery_query({"alert_id": "12", "channel": "EMAIL"}) == {
        "status": None, "channel": "email", "alert_id": 12, "limit": 50, "offset": 0}


@pytest.mark.parametrize(("parse", "args", "fields"), [
    (parse_event_query, {"since": "soon"},
     {"since": "must be an ISO 8601 datetime or epoch seconds"}),
    (parse_event_query, {"object_type": "o" * 101},
     {"object_type": "must be at most 100 characters"}),
    (parse_event_query, {"camera_id": "a\x00"}, {"camera_id": "must not contain NUL characters"}),
    (parse_event_query, {"risk_level": "extreme"},
     {"risk_level": "must be one of low, medium, high, critical"}),
    (parse_alert_query, {"rule_id": "r" * 37, "status": "x"},
     {"rule_id": "must be at most 36 characters",
      "status": "must be one of pending, delivered, failed, acknowledged, dismissed, silenced"}),
    (parse_delivery_query, {"alert_id": "²"}, {"alert_id": "must be a positive integer"}),
    (parse_delivery_query, {"alert_id": str(2**31)}, {"alert_id": "must be a positive integer"}),
    (parse_delivery_query, {"limit": "0", "offset": "-1"},
     {"limit": "must be an integer from 1 to 1000",
      "offset": "must be an integer from 0 to 9223372036854775807"}),
])
def test_refusals(parse, args, fields):
    with pytest.raises(ValidationError) as exc:
        parse(args)
    assert exc.value.fields == fields
