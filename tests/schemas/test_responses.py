"""schemas/responses.py: the generated serializers give the objects the API gave before (same
keys, same values), what they give validates against their own models, and the listing
envelope is one helper."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerting.models import Alert, Delivery, DeliveryAttempt, Detection, Event
from alerting.schemas import responses
from alerting.schemas.serialize import listing, serializer
from alerting.services.alerts import alert_json, delivery_json
from alerting.services.events import event_json

AT = datetime(2026, 12, 6, 4, 0, 0, 250000, tzinfo=UTC)


def _event() -> Event:
    event = Event(id=3, camera_id="cam-1", started_at=AT, ended_at=None, risk_score=70,
                  risk_level="high", summary="someone", labels=None, source="",
                  external_id="x-1", scene_index_id=None, attributes={"a": [1]},
                  received_at=AT, processed_at=None, revision=0)
    event.detections = [
        Detection(object_type="person", confidence=0.9, zone_ids=None, bbox=[1, 2, 3, 4],
                  track_id="7", identity="alice", identity_score=0.8),
        Detection(object_type="car", confidence=None, zone_ids=["drive"], bbox=None,
                  track_id=None),
    ]
    return event


def test_event_json_is_the_api_event():
    body = event_json(_event())
    assert body == {
        "id": 3, "camera_id": "cam-1", "started_at": "2026-12-06T04:00:00.250000Z",
        "ended_at": None, "risk_score": 70, "risk_level": "high", "summary": "someone",
        "labels": [], "object_types": ["car", "person"],
        "detections": [
            {"object_type": "person", "confidence": 0.9, "zone_ids": [], "bbox": [1, 2, 3, 4],
             "track_id": "7", "identity": "alice", "identity_score": 0.8},
            {"object_type": "car", "confidence": None, "zone_ids": ["drive"], "bbox": None,
             "track_id": None, "identity": None, "identity_score": None}],
        "source": None, "external_id": "x-1", "scene_index_id": None, "attributes": {"a": [1]},
        "media": None, "received_at": "2026-12-06T04:00:00.250000Z", "processed_at": None,
        "revision": 0, "review": None,
    }
    assert list(body) == list(responses.Event.model_fields)
    responses.Event.model_validate(body)


def test_alert_and_delivery_json():
    alert = Alert(id=9, rule_id=None, rule_name="Person", event_id=3, camera_id="cam-1",
                  severity="high", status="pending", dedup_key=None, matched_conditions=None,
                  object_type="person", zone_id=None, event_time=AT, created_at=AT,
                  updated_at=None, acknowledged_at=None, acknowledged_by=None,
                  dismissed_at=None, dismissed_by=None)
    body = alert_json(alert)
    assert body["matched_conditions"] == [] and body["updated_at"] is None
    assert body["event_time"] == "2026-12-06T04:00:00.250000Z"
    responses.Alert.model_validate(body)
    delivery = Delivery(id=1, alert_id=9, kind="alert", channel="webhook", target="https://x.test/h",
                        status="dead", attempts=2, next_attempt_at=AT, last_error="timeout",
                        last_status_code=None, delivered_at=None, created_at=AT)
    delivery.attempt_log = [DeliveryAttempt(started_at=AT, duration_ms=12.3456, ok=False,
                                            status_code=None, error="timeout")]
    plain = delivery_json(delivery)
    assert plain["next_attempt_at"] is None  # only a pending delivery has a next attempt
    assert "attempt_log" not in plain
    responses.Delivery.model_validate(plain)
    full = delivery_json(delivery, attempts=True)
    assert full["attempt_log"] == [{"started_at": "2026-12-06T04:00:00.250000Z",
                                    "duration_ms": 12.35, "ok": False, "status_code": None,
                                    "error": "timeout"}]
    responses.DeliveryWithAttempts.model_validate(full)


def test_listing_envelope():
    body = listing("events", [_event()], event_json, 41, {"limit": 1, "offset": 40})
    assert set(body) == {"events", "count", "limit", "offset"}
    assert (body["count"], body["limit"], body["offset"]) == (41, 1, 40)
    responses.EventList.model_validate(body)


def test_serializer_refuses_a_field_it_cannot_name():
    from pydantic import Field, create_model

    class Odd(responses.Out):
        ok: int = Field(alias="not an identifier")

    assert serializer(Odd)(type("Row", (), {"ok": 1})()) == {"not an identifier": 1}
    with pytest.raises(ValueError):
        serializer(create_model("Bad", **{"a-b": (int, ...)}))
