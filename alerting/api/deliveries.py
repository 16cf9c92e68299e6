"""Deliveries: the outbox and its dead letters, with manual retry."""

from flask import jsonify, request

from ..auth import current_actor
from ..schemas.queries import parse_delivery_query
from ..services import deliveries
from ..services.alerts import delivery_json
from . import bp


@bp.get("/deliveries")
def list_deliveries():
    """Deliveries, newest first; ?status=dead lists the dead letters."""
    query = parse_delivery_query(request.args)
    rows, total = deliveries.list_deliveries(**query)
    return jsonify({"deliveries": [delivery_json(d) for d in rows], "count": total,
                    "limit": query["limit"], "offset": query["offset"]})


@bp.post("/deliveries/<id:delivery_id>/retry")
def retry(delivery_id: int):
    """Queue a dead delivery again (409 unless it is dead)."""
    return jsonify(delivery_json(deliveries.retry(delivery_id, current_actor())))
