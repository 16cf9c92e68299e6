"""The templates' preview: what an alert's email and push would say with draft templates,
for the rule form and POST /api/alerts/rules/templates/preview. Nothing is sent or stored."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..engine.backtest import cannot_match
from ..engine.dedup import dedup_zone
from ..engine.errors import ValidationError
from ..engine.rule_eval import EventView, compile_rule, scan
from ..errors import ApiError
from ..extensions import db
from ..models import Alert, AlertRule, Detection, Event, utcnow
from ..notify import templates as notify_templates
from ..schemas.backtest import parse_backtest
from ..schemas.rules import parse_rule
from ..schemas.templates import parse_preview
from . import backtest
from .alert_pipeline import matched_alert
from .deliveries import build_message
from .events import event_json
from .notification_content import content_settings
from .rules import rule_record


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


def _latest_match(values: dict[str, Any], rule_id: str | None) -> tuple[Alert, Event] | None:
    """The alert the rule `values` (as saved, or as the form has them) would have raised for
    the latest event of the last 7 days it matches, not stored; None when it matches none."""
    rule = backtest.draft_rule(values, rule_id)
    since, until = parse_backtest(None).window(utcnow())
    compiled, zone = (compile_rule(rule),), current_app.config["TIMEZONE"]
    latest = None
    for seen in backtest.stored_events(since, until, rule.camera_ids, cannot_match(rule),
                                       backtest.needs_facts(rule)):
        if seen is not None and (latest is None or seen.started_at >= latest[0].started_at):
            verdicts = scan(compiled, EventView(seen), zone)
            if verdicts:
                latest = (seen, verdicts[0])
    if latest is None:
        return None
    seen, verdict = latest
    event = db.session.get(Event, seen.id, options=[selectinload(Event.detections)])
    now = utcnow()
    alert = Alert(id=0, status="pending", created_at=now, updated_at=now, **matched_alert(
        rule_id, values["name"], values["severity"], seen, verdict,
        dedup_zone(rule.zone_ids, verdict.detection) or None))
    return alert, event


def preview(payload: Any, draft: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST /api/alerts/rules/templates/preview: the email and push an alert would have got
    with these templates (the site's defaults filling the parts left out). Against the given
    alert (404 when unknown), else the latest alert of `rule_id`, else what the rule (the
    `draft` values the rule form has, else the saved `rule_id`) would raise for the latest
    event of the last 7 days it matches (`alert_id` null), else the latest alert, else a
    sample one. Nothing is sent or stored."""
    request = parse_preview(payload)
    query = select(Alert).order_by(Alert.id.desc()).limit(1)
    if request["alert_id"] is not None:
        query = query.where(Alert.id == request["alert_id"])
    elif request["rule_id"] is not None:
        query = query.where(Alert.rule_id == request["rule_id"])
    alert = db.session.scalar(query)
    row = db.session.get(AlertRule, request["rule_id"]) if request["rule_id"] else None
    event = None
    if alert is None and request["alert_id"] is None and (draft or row):
        found = _latest_match(draft or rule_record(row), request["rule_id"])
        if found is not None:
            alert, event = found
    if alert is None and request["rule_id"] is not None and request["alert_id"] is None:
        alert = db.session.scalar(select(Alert).order_by(Alert.id.desc()).limit(1))
    if alert is None and request["alert_id"] is not None:
        raise ApiError(404, "not_found", f"Alert {request['alert_id']} not found")
    if alert is None:
        alert, event = _sample()
    elif event is None:
        event = db.session.get(Event, alert.event_id, options=[selectinload(Event.detections)])
    rule_id = request["rule_id"] or alert.rule_id
    if row is None and rule_id:
        row = db.session.get(AlertRule, rule_id)
    said = draft or (rule_record(row) if row else {"name": alert.rule_name,
                                                     "severity": alert.severity})
    rule = SimpleNamespace(id=rule_id, name=said["name"], severity=said["severity"],
                           description=said.get("description"),
                           priority=said.get("priority") or "normal", origin=None,
                           templates=request["templates"])
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


def form_preview(payload: dict[str, Any], rule_id: str | None) -> dict[str, Any]:
    """The rule form's "Preview with a recent match": `preview` of the form's templates, with
    the form's rule as it stands (when it is a valid rule) finding the event it matches."""
    try:
        draft = parse_rule(payload)
    except ValidationError:  # an unfinished rule: its templates still preview
        draft = None
    return preview({"templates": payload.get("templates"), "rule_id": rule_id}, draft)
