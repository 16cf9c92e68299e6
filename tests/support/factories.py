"""Plain factory functions for API-level tests."""

from __future__ import annotations

from typing import Any


def rule_body(**overrides: Any) -> dict[str, Any]:
    body = {"name": "Person at the back door", "severity": "high", "object_types": ["person"],
            "camera_ids": ["back-door"], "cooldown_seconds": 0, "channels": []}
    body.update(overrides)
    return body


def event_body(**overrides: Any) -> dict[str, Any]:
    body = {"camera_id": "back-door", "started_at": "2026-01-15T02:00:00Z", "risk_score": 80,
            "detections": [{"object_type": "person", "confidence": 0.91, "zone_ids": ["porch"]}]}
    body.update(overrides)
    return body


def create_rule(client, headers, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/alerts/rules", json=rule_body(**overrides), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def post_event(client, headers, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/events", json=event_body(**overrides), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def configure(app, headers, **settings) -> None:
    """PUT the notification settings; they must be accepted."""
    response = app.test_client().put("/api/notification/config", json=settings, headers=headers)
    assert response.status_code == 200, response.json


def run_matcher(app) -> int:
    from alerting.workers.matcher_loop import Matcher

    return Matcher(app).run_once()


def run_dispatcher(app, timeout: float = 30.0) -> None:
    """Send every due delivery and record the outcomes (retries due later are left)."""
    from alerting.notify.dispatcher import Dispatcher

    dispatcher = Dispatcher(app)
    try:
        dispatcher.drain(timeout)
    finally:
        dispatcher.stop()
