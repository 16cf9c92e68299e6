"""Action links from notifications (services/action_links.py): GET shows a one-button page
and never acts; POST acts, once. No login: the signed token is the credential, and it is
why the POST is exempt from CSRF (nothing in a cross-site request can forge one)."""

from __future__ import annotations

from flask import jsonify, render_template

from ..errors import wants_json
from ..extensions import csrf
from ..services import action_links, alerts
from . import bp


@bp.get("/actions/<token>")
def action_confirm(token: str):
    """The confirmation page of an action link: what it will do, and one button."""
    link = action_links.check(token)  # 400, 409, 410: an error page, nothing done
    alert = alerts.get_alert(link.alert_id)
    response = render_template("actions/confirm.html", link=link, alert=alert, token=token)
    return response, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


@bp.post("/actions/<token>")
@csrf.exempt
def action_do(token: str):
    """Act on an action link (the page's button, or a push service posting directly)."""
    link, done = action_links.act(token)
    if wants_json():
        return jsonify({"ok": True, "action": link.action, "alert_id": link.alert_id,
                        "message": done})
    return render_template("actions/done.html", link=link, message=done), 200, {
        "Cache-Control": "no-store"}
