"""Event pages: recent detection events with filters, and one event with the alerts it raised."""

from __future__ import annotations

from htmx_flask import request
from sqlalchemy import func, select

from ..auth import login_required
from ..engine.errors import ValidationError
from ..engine.vocabulary import RISK_LEVELS
from ..extensions import db
from ..models import Alert, Event
from ..schemas.queries import parse_event_query
from ..services import events, rule_test, tracks
from . import bp
from .forms import render

EVENTS_PER_PAGE = 50


def parse_filters(parse, args) -> tuple[dict, dict[str, str]]:
    """The API's query parser over the page's filters; a bad filter is reported and dropped."""
    try:
        return parse(args), {}
    except ValidationError as exc:
        return parse({k: v for k, v in args.items() if k not in exc.fields}), exc.fields


@bp.get("/events")
@login_required
def events_index():
    """Recent detection events, newest first, with filters; each links to its alerts."""
    query, errors = parse_filters(parse_event_query, request.args)
    query["limit"] = min(query["limit"], EVENTS_PER_PAGE)
    rows, total = events.list_events(**query)
    cameras = db.session.scalars(
        select(Event.camera_id).distinct().order_by(Event.camera_id).limit(200))
    return render("events/index.html", "events/_list.html", events=rows, total=total,
                  query=query, errors=errors, alert_counts=alert_counts([e.id for e in rows]),
                  cameras=list(cameras), risk_levels=RISK_LEVELS)


def alert_counts(event_ids: list[int]) -> dict[int, int]:
    """How many alerts each event raised."""
    if not event_ids:
        return {}
    found = db.session.execute(
        select(Alert.event_id, func.count()).where(Alert.event_id.in_(event_ids))
        .group_by(Alert.event_id))
    return {event_id: count for event_id, count in found}


@bp.get("/events/<id:event_id>")
@login_required
def events_show(event_id: int):
    """One event: its detections and the alerts it raised."""
    event = events.get_event(event_id)  # a 404 page when there is none
    # The rules of other cameras are folded under their own heading: "no match: camera" for
    # each of them would bury the verdicts of this camera's rules.
    here: list[dict] = []
    elsewhere: list[dict] = []
    for verdict in rule_test.why_no_alert(event) if event.processed_at else []:
        other = not verdict["alert"] and "camera" in verdict["failed_conditions"]
        (elsewhere if other else here).append(verdict)
    return render("events/show.html", "events/show.html", event=event,
                  alerts=events.alerts_for_event(event_id),
                  tracks=tracks.event_tracks(events.engine_event(event)),
                  verdicts=here, elsewhere=elsewhere)
