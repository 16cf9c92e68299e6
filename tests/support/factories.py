"""Plain factory functions for API-level tests."""

from __future__ import annotations

from typing import Any

# The POST /api/alerts/rules example of the spec, as written.
SPEC_RULE = {
    "name": "Critical Person Detection",
    "description": "Alert for any person detection at night",
    "enabled": True,
    "severity": "critical",
    "risk_threshold": 85,
    "object_types": ["person"],
    "camera_ids": ["camera-1", "camera-2"],
    "zone_ids": None,
    "min_confidence": 0.9,
    "schedule": {
        "days": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        "start_time": "00:00",
        "end_time": "06:00",
    },
    "conditions": None,
    "dedup_key_template": "{camera_id}:{object_type}:{hour}",
    "cooldown_seconds": 600,
    "channels": ["email", "webhook"],
}



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


def listed(client, headers, what: str = "alerts") -> list[dict[str, Any]]:
    """GET /api/<what> (alerts or events): the first 200."""
    return client.get(f"/api/{what}?limit=200", headers=headers).json[what]


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


def break_matching_for(monkeypatch, camera_id: str = "poison") -> None:
    """Make matching raise (a bug the engine has not met) for events from `camera_id`."""
    from alerting.services import alert_pipeline

    real = alert_pipeline.event_from_record

    def fragile(record):
        if record["camera_id"] == camera_id:
            raise RuntimeError("a bug the engine has not met before")
        return real(record)

    monkeypatch.setattr(alert_pipeline, "event_from_record", fragile)


# Every place a person acknowledges an alert from: the API (one, or all open), the pages (the
# row's button, the live page's "Acknowledge all shown"), a notification's action link.
ACKNOWLEDGE_FROM = ("api", "api_all", "page", "page_all", "action_link")


def acknowledge_from(app, headers, where: str, alert_id: int) -> None:
    """Acknowledge alert `alert_id` (the only open one, for the "all" places) from `where`
    (one of ACKNOWLEDGE_FROM), through the app's own routes; it must be acknowledged."""
    from alerting.extensions import db
    from alerting.models import Alert
    from alerting.services import action_links
    from tests.support.web import csrf_token, login

    client = app.test_client()
    if where.endswith("_group"):  # the alert's notification group, as a whole
        with app.app_context():
            group_id = db.session.get(Alert, alert_id).group_id
    if where == "api":
        response = client.post(f"/api/alerts/{alert_id}/acknowledge", headers=headers)
    elif where == "api_group":
        response = client.post(f"/api/alert-groups/{group_id}/acknowledge", headers=headers)
    elif where == "page_group":
        login(client)
        token = csrf_token(client.get("/keys").data)
        response = client.post(f"/alerts/groups/{group_id}/acknowledge",
                               data={"csrf_token": token})
    elif where == "api_all":
        response = client.post("/api/alerts/acknowledge", json={}, headers=headers)
    elif where == "action_link":
        with app.app_context():
            token = action_links.issue(action_links.ACKNOWLEDGE, alert_id)
        response = client.post(f"/actions/{token}")
    else:
        login(client)
        token = csrf_token(client.get("/keys").data)
        path = f"/alerts/{alert_id}/acknowledge" if where == "page" else "/live/acknowledge"
        response = client.post(path, data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert response.status_code < 400, (where, response.status_code, response.text)
    with app.app_context():
        assert db.session.get(Alert, alert_id).status == "acknowledged", where
