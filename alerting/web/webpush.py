"""Web push from the pages: the live page's "Notify me on this device" posts the browser's
subscription here (the logged-in user's), and the account page lists them, each with its
owner, and revokes them (every page user is an admin, as for the sessions listed there)."""

from flask import flash, jsonify, redirect, url_for

from ..api.util import json_body
from ..auth import current_actor, login_required, session_user
from ..services import webpush
from . import bp


def _user_id() -> int | None:
    user = session_user()
    return user.user_id if user else None


@bp.post("/account/push-subscriptions")
@login_required
def push_subscribe():
    """Store this browser's push subscription for the logged-in user: 201 with it."""
    row = webpush.create_subscription(json_body(), user_id=_user_id(), actor=current_actor())
    return jsonify(webpush.subscription_dict(row)), 201


@bp.post("/account/push-subscriptions/<id:subscription_id>/delete")
@login_required
def push_revoke(subscription_id: int):
    """Revoke a push subscription: that device gets no more alerts."""
    label = webpush.get_subscription(subscription_id).label
    webpush.delete_subscription(subscription_id, current_actor())
    flash(f"Web push to {label} revoked: that device gets no more alerts.")
    return redirect(url_for("web.password"))
