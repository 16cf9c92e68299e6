"""Alerts: history, detail, acknowledge, dismiss."""

from flask import jsonify, request

from ..auth import current_actor
from ..schemas import alerts as A
from ..schemas import responses as R
from ..schemas.openapi import operation as op
from ..schemas.queries import AlertQuery, parse_alert_query
from ..schemas.serialize import listing
from ..services import alerts
from . import bp
from .util import json_body


@bp.get("/alerts")
@op("alerts", ok=R.AlertList, query=AlertQuery, errors=(422,))
def list_alerts():
    """Alerts, most severe first then newest, with filters."""
    query = parse_alert_query(request.args)
    rows, total = alerts.list_alerts(**query)
    return jsonify(listing("alerts", rows, alerts.alert_json, total, query))


@bp.post("/alerts/acknowledge")
@op("alerts", ok=A.AcknowledgedAll, body=A.AcknowledgeAll, body_required=False, errors=(422,))
def acknowledge_all():
    """Acknowledge every open alert of a filter (severity, camera_id, hide_low) at once."""
    body = json_body(optional=True)  # no body: every open alert; false or [] is a 422
    ids = alerts.acknowledge_all({} if body is None else body, current_actor())
    return jsonify({"acknowledged": len(ids), "alert_ids": ids})


@bp.post("/alerts/<id:alert_id>/restore")
@op("alerts", ok=R.Alert, errors=(404, 409))
def restore(alert_id: int):
    """Undo a dismissal: the alert goes back to the status it had; 409 unless dismissed."""
    return jsonify(alerts.alert_json(alerts.transition(alert_id, "restore", current_actor())))


@bp.get("/alerts/<id:alert_id>")
@op("alerts", ok=R.AlertDetail, errors=(404,))
def get_alert(alert_id: int):
    """One alert with its matched conditions, event and deliveries."""
    return jsonify(alerts.alert_detail(alert_id))


@bp.post("/alerts/<id:alert_id>/acknowledge")
@op("alerts", ok=R.Alert, errors=(404, 409))
def acknowledge(alert_id: int):
    """Acknowledge: 409 when already acknowledged or dismissed."""
    return jsonify(alerts.alert_json(alerts.transition(alert_id, "acknowledge", current_actor())))


@bp.post("/alerts/<id:alert_id>/dismiss")
@op("alerts", ok=R.Alert, errors=(404, 409))
def dismiss(alert_id: int):
    """Dismiss: 409 when already dismissed."""
    return jsonify(alerts.alert_json(alerts.transition(alert_id, "dismiss", current_actor())))
