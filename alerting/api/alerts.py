"""Alerts: history, detail, acknowledge, dismiss."""

from flask import jsonify, request

from ..auth import current_actor
from ..schemas.queries import parse_alert_query
from ..services import alerts
from . import bp


@bp.get("/alerts")
def list_alerts():
    """Alerts, most severe first then newest, with filters."""
    query = parse_alert_query(request.args)
    rows, total = alerts.list_alerts(**query)
    return jsonify({"alerts": [alerts.alert_json(a) for a in rows], "count": total,
                    "limit": query["limit"], "offset": query["offset"]})


@bp.get("/alerts/<id:alert_id>")
def get_alert(alert_id: int):
    """One alert with its matched conditions, event and deliveries."""
    return jsonify(alerts.alert_detail(alert_id))


@bp.post("/alerts/<id:alert_id>/acknowledge")
def acknowledge(alert_id: int):
    """Acknowledge: 409 when already acknowledged or dismissed."""
    return jsonify(alerts.alert_json(alerts.transition(alert_id, "acknowledge", current_actor())))


@bp.post("/alerts/<id:alert_id>/dismiss")
def dismiss(alert_id: int):
    """Dismiss: 409 when already dismissed."""
    return jsonify(alerts.alert_json(alerts.transition(alert_id, "dismiss", current_actor())))
