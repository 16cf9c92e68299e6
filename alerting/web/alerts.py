"""Alert pages: the history with filters, and one alert with its delivery attempts.

Acknowledge and dismiss post to the live page's routes (web.acknowledge, web.dismiss), which
answer the alert's row: the same row, the same buttons, on both pages.
"""

from __future__ import annotations

from htmx_flask import request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..auth import login_required
from ..engine.vocabulary import SEVERITIES
from ..extensions import db
from ..models import Alert, AlertRule, Event
from ..schemas.queries import ALERT_STATUSES, parse_alert_query
from ..services import alerts
from . import bp
from .events import parse_filters
from .forms import render

ALERTS_PER_PAGE = 50


def with_event_and_deliveries(ids: list[int]) -> list[Alert]:
    """The alerts, in the order given, with what their rows show loaded up front."""
    if not ids:
        return []
    found = {a.id: a for a in db.session.scalars(
        select(Alert).where(Alert.id.in_(ids)).options(
            selectinload(Alert.event).selectinload(Event.detections),
            selectinload(Alert.deliveries)))}
    return [found[i] for i in ids if i in found]


@bp.get("/alerts")
@login_required
def alerts_index():
    """Alert history, most severe first then newest, with filters."""
    query, errors = parse_filters(parse_alert_query, request.args)
    query["limit"] = min(query["limit"], ALERTS_PER_PAGE)
    rows, total = alerts.list_alerts(**query)
    rule_choices = db.session.execute(
        select(AlertRule.id, AlertRule.name).order_by(AlertRule.name).limit(500)).all()
    return render("alerts/index.html", "alerts/_list.html",
                  alerts=with_event_and_deliveries([a.id for a in rows]), total=total,
                  query=query, errors=errors, statuses=ALERT_STATUSES, severities=SEVERITIES,
                  rule_choices=rule_choices)


@bp.get("/alerts/<id:alert_id>")
@login_required
def alerts_show(alert_id: int):
    """One alert: what matched, its event, and every delivery with each attempt."""
    detail = alerts.alert_detail(alert_id)  # a 404 page when there is none
    [alert] = with_event_and_deliveries([alert_id])
    return render("alerts/show.html", "alerts/show.html", alert=alert, detail=detail)
