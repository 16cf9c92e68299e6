"""The templates' preview: what an alert's email and push would say with draft templates,
for the rule form and POST /api/alerts/rules/templates/preview. Nothing is sent or stored."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..errors import ApiError
from ..extensions import db
from ..models import Alert, AlertRule, Detection, Event, utcnow
from ..notify import templates as notify_templates
from ..schemas.templates import parse_preview
from .deliveries import build_message
from .events import event_json
from .notification_content import content_settings


def _sample() -> tuple[Any, Any]:
    """An alert and its event, not stored: what the preview shows before any alert exists."""
    now = utcnow()
    event = Event(id=0, camera_id="front-door", started_at=now, ended_at=None, risk_score=80,
                  risk_level="high", summary="A person walks up to the front door.",
                  labels=["person"], source="sample", external_id=None, scene_index_id=None,
                  attributes=None, media=None, received_at=now,
                  processed_at=now, revision=0, review=None,
                  detections=[Detection(object_type="person", confidence=0.91,
                                        zone_ids=["porch"], bbox=None, track_id=None)])
    alert = Alert(id=0, rule_id=None, rule_name="Sample rule", event_id=0,
                  camera_id="front-door", severity="high", severity_priority=1,
                  status="pending", dedup_key="sample", matched_conditions=["object_type"],
                  object_type="person", zone_id="porch", event_time=now, created_at=now,
                  updated_at=now, acknowledged_at=None, acknowledged_by=None,
                  dismissed_at=None, dismissed_by=None, silence_id=None, mute_timing=None)
    return alert, event


def preview(payload: Any) -> dict[str, Any]:
    """POST /api/alerts/rules/templates/preview: the email and push an alert would have got
    with these templates (the site's defaults filling the parts left out). Against the given
    alert (404 when unknown), else the latest alert of `rule_id`, else the latest alert, else
    a sample one. Nothing is sent or stored."""
    request = parse_preview(payload)
    query = select(Alert).order_by(Alert.id.desc()).limit(1)
    if request["alert_id"] is not None:
        query = query.where(Alert.id == request["alert_id"])
    elif request["rule_id"] is not None:
        query = query.where(Alert.rule_id == request["rule_id"])
    alert = db.session.scalar(query)
    if alert is None and request["rule_id"] is not None and request["alert_id"] is None:
        alert = db.session.scalar(select(Alert).order_by(Alert.id.desc()).limit(1))
    if alert is None and request["alert_id"] is not None:
        raise ApiError(404, "not_found", f"Alert {request['alert_id']} not found")
    if alert is None:
        alert, event = _sample()
    else:
        event = db.session.get(Event, alert.event_id, options=[selectinload(Event.detections)])
    rule_id = request["rule_id"] or alert.rule_id
    row = db.session.get(AlertRule, rule_id) if rule_id else None
    rule = SimpleNamespace(id=rule_id, name=row.name if row else alert.rule_name,
                           severity=row.severity if row else alert.severity,
                           description=row.description if row else None,
                           priority=row.priority if row else "normal",
                           origin=None, templates=request["templates"])
    content = content_settings()
    body = event_json(event)
    out: dict[str, Any] = {"alert_id": alert.id or None, "event_id": alert.event_id or None,
                           "notes": []}
    for channel, (first, second) in notify_templates.PARTS.items():
        message = build_message(SimpleNamespace(message_id="preview", channel=channel), alert,
                                rule, body, content)
        out[channel] = {first: message.title, second: message.text}
        out["notes"] += list(message.notes)
    db.session.rollback()
    return out
