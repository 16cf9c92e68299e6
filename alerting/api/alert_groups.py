"""Notification groups: list them, read one with its alerts and notifications, acknowledge
one (every open alert of it)."""

from flask import jsonify, request

from ..auth import current_actor
from ..schemas import responses as R
from ..schemas.openapi import operation as op
from ..schemas.queries import AlertGroupQuery, parse_alert_group_query
from ..schemas.serialize import listing
from ..services import alerts, groups
from . import bp


@bp.get("/alert-groups")
@op("alert-groups", ok=R.AlertGroupList, query=AlertGroupQuery, errors=(422,))
def list_alert_groups():
    """Notification groups, newest first, optionally of one status or rule."""
    query = parse_alert_group_query(request.args)
    rows, total = groups.list_groups(status=query["status"], rule_id=query["rule_id"],
                                     limit=query["limit"], offset=query["offset"])
    return jsonify(listing("alert_groups", rows, groups.group_json, total, query))


@bp.get("/alert-groups/<id:group_id>")
@op("alert-groups", ok=R.AlertGroupDetail, errors=(404,))
def get_alert_group(group_id: int):
    """One group with its alerts (worst severity first) and its notifications."""
    return jsonify(_detail(group_id))


@bp.post("/alert-groups/<id:group_id>/acknowledge")
@op("alert-groups", ok=R.AlertGroupDetail, errors=(404, 409))
def acknowledge_alert_group(group_id: int):
    """Acknowledge every open alert of the group at once (the incident, as its notification
    told it): its repeats and escalations stop. 409 when none is open."""
    alerts.acknowledge_group(group_id, current_actor())
    return jsonify(_detail(group_id))


def _detail(group_id: int) -> dict:
    group = groups.get_group(group_id)
    return {**groups.group_json(group),
            "alerts": [alerts.alert_json(a) for a in groups.group_alerts(group_id)],
            "flushes": [groups.flush_json(f) for f in groups.group_flushes(group_id)]}
