"""Alert pages: the history with filters, and one alert with its delivery attempts.

Acknowledge and dismiss post to the live page's routes (web.acknowledge, web.dismiss), which
answer the alert's row: the same row, the same buttons, on both pages.
"""

from __future__ import annotations

from flask import flash, redirect, url_for
from htmx_flask import request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..auth import current_actor, login_required
from ..engine.vocabulary import SEVERITIES
from ..errors import ApiError
from ..extensions import db
from ..models import Alert, AlertGroup, AlertRule, Event
from ..schemas.queries import ALERT_STATUSES, parse_alert_query
from ..services import alerts, groups
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
    shown = with_event_and_deliveries([a.id for a in rows])
    return render("alerts/index.html", "alerts/_list.html",
                  alerts=shown, entries=group_rows(shown), total=total,
                  no_channels=alerts.without_deliveries(shown),
                  query=query, errors=errors, statuses=ALERT_STATUSES, severities=SEVERITIES,
                  rule_choices=rule_choices)


def group_rows(shown: list[Alert]) -> list[dict]:
    """The page's rows: an ungrouped alert alone; the alerts of one notification group as one
    row (its first alert on the page, the group's size, the rest loaded when it expands)."""
    ids = {a.group_id for a in shown if a.group_id is not None}
    found = {g.id: g for g in db.session.scalars(
        select(AlertGroup).where(AlertGroup.id.in_(ids)))} if ids else {}
    entries, seen = [], set()
    for alert in shown:
        group = found.get(alert.group_id)
        if group is None:
            entries.append({"alert": alert, "group": None})
        elif group.id not in seen:
            seen.add(group.id)
            entries.append({"alert": alert, "group": group})
    return entries


@bp.get("/alerts/groups/<id:group_id>")
@login_required
def alerts_group(group_id: int):
    """A notification group's alerts (worst first): what its row on the Alerts page expands
    to."""
    group = groups.get_group(group_id)  # a 404 page when there is none
    shown = with_event_and_deliveries([a.id for a in groups.group_alerts(group_id)])
    return render("alerts/group.html", "alerts/_group.html", group=group, alerts=shown,
                  no_channels=alerts.without_deliveries(shown))


@bp.post("/alerts/groups/<id:group_id>/acknowledge")
@login_required
def acknowledge_group(group_id: int):
    """The group page's "Acknowledge the group": every open alert of it."""
    try:
        done = alerts.acknowledge_group(group_id, current_actor())
        flash(f"Acknowledged {len(done)} alert{'' if len(done) == 1 else 's'} of group "
              f"#{group_id}.")
    except ApiError as exc:
        if exc.status != 409:
            raise
        flash(f"Group #{group_id} has no open alert left.")
    return redirect(url_for("web.alerts_group", group_id=group_id), 303)


@bp.get("/alerts/<id:alert_id>")
@login_required
def alerts_show(alert_id: int):
    """One alert: what matched, its event, and every delivery with each attempt."""
    detail = alerts.alert_detail(alert_id)  # a 404 page when there is none
    [alert] = with_event_and_deliveries([alert_id])
    return render("alerts/show.html", "alerts/show.html", alert=alert, detail=detail,
                  no_channels=alerts.without_deliveries([alert]))
