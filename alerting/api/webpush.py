"""Web push: the VAPID public key browsers subscribe with, and the subscriptions."""

from flask import jsonify, request

from ..auth import current_actor
from ..schemas import webpush as S
from ..schemas.openapi import operation as op
from ..schemas.queries import Page
from ..schemas.serialize import listing
from ..services import webpush
from . import bp
from .util import json_body


@bp.get("/push/vapid-public-key")
@op("webpush", ok=S.VapidPublicKey)
def vapid_public_key():
    """The applicationServerKey for pushManager.subscribe (base64url)."""
    return jsonify({"public_key": webpush.public_key()})


@bp.get("/push/subscriptions")
@op("webpush", ok=S.SubscriptionList, query=Page, errors=(422,))
def list_subscriptions():
    """Every browser subscribed to web push (the endpoint's origin only, never its keys)."""
    query = S.parse_page(request.args)
    rows, total = webpush.list_subscriptions(limit=query["limit"], offset=query["offset"])
    return jsonify(listing("subscriptions", rows, webpush.subscription_dict, total, query))


@bp.post("/push/subscriptions")
@op("webpush", {201: (S.Subscription, "Created")}, body=S.SubscriptionCreate)
def create_subscription():
    """Subscribe a browser (PushSubscription.toJSON() plus a filter): 201; the same endpoint
    again replaces it."""
    row = webpush.create_subscription(json_body(), user_id=None, actor=current_actor())
    return jsonify(webpush.subscription_dict(row)), 201


@bp.delete("/push/subscriptions/<id:subscription_id>")
@op("webpush", {204: (None, "Deleted")}, errors=(404,))
def delete_subscription(subscription_id: int):
    """Revoke a subscription: 204."""
    webpush.delete_subscription(subscription_id, current_actor())
    return "", 204
