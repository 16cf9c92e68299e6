"""Alerts: history, detail, acknowledge, dismiss."""

from flask import jsonify, request

from ..auth import current_actor
from ..schemas import responses as R
from ..schemas.openapi import operation as op
from ..schemas.queries import AlertQuery, parse_alert_query
from ..schemas.serialize import listing
from ..services import alerts
from . import bp


@bp.get("/alerts")
@op("alerts", ok=R.AlertList, query=AlertQuery, errors=(422,))
def list_alerts():
    """Alerts, most severe first then newest, with filters."""
    query = parse_alert_query(request.args)
    rows, total = alerts.list_alerts(**query)
    return jsonify(listing("alerts", rows, alerts.alert_json, total, query))


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
