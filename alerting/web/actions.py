"""Action links from notifications (services/action_links.py): GET shows a one-button page
and never acts; POST acts, once. No login: the signed token is the credential, and it is
why the POST is exempt from CSRF (nothing in a cross-site request can forge one)."""

from __future__ import annotations

from flask import jsonify, render_template

from ..errors import wants_json
from ..extensions import csrf
from ..services import action_links, alerts, groups
from . import bp


@bp.get("/actions/<token>")
def action_confirm(token: str):
    """The confirmation page of an action link: what it will do, and one button."""
    link = action_links.check(token)  # 400, 409, 410: an error page, nothing done
    if link.group_id is not None:  # a group's link: the group and its alerts
        group = groups.get_group(link.group_id)
        response = render_template("actions/confirm.html", link=link, group=group,
                                   alerts=groups.group_alerts(group.id), token=token)
    else:
        response = render_template("actions/confirm.html", link=link, token=token,
                                   alert=alerts.get_alert(link.alert_id))
    return response, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


@bp.post("/actions/<token>")
@csrf.exempt
def action_do(token: str):
    """Act on an action link (the page's button, or a push service posting directly)."""
    link, done = action_links.act(token)
    if wants_json():
        target = {"group_id": link.group_id} if link.group_id is not None else {
            "alert_id": link.alert_id}
        return jsonify({"ok": True, "action": link.action, **target, "message": done})
    return render_template("actions/done.html", link=link, message=done), 200, {
        "Cache-Control": "no-store"}
