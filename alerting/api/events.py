"""Detection events in (`ingest` scope) and out."""

from flask import jsonify, request

from ..auth import presented_key, scope
from ..extensions import limiter
from ..schemas import responses as R
from ..schemas.events import Event as EventIn
from ..schemas.events import EventBatch
from ..schemas.openapi import operation as op
from ..schemas.queries import EventQuery, parse_event_query
from ..schemas.serialize import listing
from ..services import events
from ..services import ingest as ingest_service
from ..services.alerts import alert_json
from ..services.keys import hash_key
from . import bp
from .util import json_body


def _ingest_limit_key() -> str:
    # Per API key, known before authentication runs: a digest of the presented key.
    raw = presented_key()
    return "key:" + hash_key(raw)[:24] if raw else "addr:" + (request.remote_addr or "")


@bp.post("/events")
@op("events", {
    200: (R.Event, "A repeat (same source + external_id): the stored one; with changed "
               "fields a revision, queued for matching again"),
    201: (R.Event | R.BatchResult, "Stored (one event, or every item of a batch)"),
    207: (R.BatchResult, "A batch with some items refused"),
}, body=EventIn | EventBatch, errors=(429,))
@limiter.limit("RATE_LIMIT_INGEST", key_func=_ingest_limit_key)
@scope("ingest")
def ingest():
    """One event, or {"events": [...]} with up to 1,000. 201, 200 for a repeat or a
    revision (same source + external_id, changed fields), 207 mixed."""
    status, body = ingest_service.ingest(json_body())
    return jsonify(body), status


@bp.get("/events")
@op("events", ok=R.EventList, query=EventQuery, errors=(422,))
def list_events():
    """Recent events, newest first, with filters."""
    query = parse_event_query(request.args)
    rows, total = events.list_events(**query)
    return jsonify(listing("events", rows, events.event_json, total, query))


@bp.get("/events/<id:event_id>")
@op("events", ok=R.EventDetail, errors=(404,))
def get_event(event_id: int):
    """One event with its detections and the alerts it produced."""
    body = events.event_json(events.get_event(event_id))
    body["alerts"] = [alert_json(a) for a in events.alerts_for_event(event_id)]
    return jsonify(body)
