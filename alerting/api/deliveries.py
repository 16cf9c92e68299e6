"""Deliveries: the outbox and its dead letters, with manual retry."""

from flask import jsonify, request

from ..auth import current_actor
from ..schemas import responses as R
from ..schemas.openapi import operation as op
from ..schemas.queries import DeliveryQuery, parse_delivery_query
from ..schemas.serialize import listing
from ..services import deliveries
from ..services.alerts import delivery_json
from . import bp


@bp.get("/deliveries")
@op("deliveries", ok=R.DeliveryList, query=DeliveryQuery, errors=(422,))
def list_deliveries():
    """Deliveries, newest first; ?status=dead lists the dead letters."""
    query = parse_delivery_query(request.args)
    rows, total = deliveries.list_deliveries(**query)
    return jsonify(listing("deliveries", rows, delivery_json, total, query))


@bp.post("/deliveries/<id:delivery_id>/retry")
@op("deliveries", ok=R.Delivery, errors=(404, 409))
def retry(delivery_id: int):
    """Queue a dead delivery again (409 unless it is dead)."""
    return jsonify(delivery_json(deliveries.retry(delivery_id, current_actor())))
