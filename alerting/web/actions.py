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
        alert = alerts.get_alert(link.alert_id)
        moot = _nothing_to_acknowledge(link, alert)
        response = render_template("actions/confirm.html", link=link, token=token,
                                   alert=alert, moot=moot)
        if moot:  # what the button would answer, said before it is pressed
            return response, 409, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    return response, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _nothing_to_acknowledge(link: action_links.ActionLink, alert) -> str | None:
    """Why an acknowledge link's button could only fail (the alert was acknowledged from
    another notification, or dismissed, meanwhile), else None."""
    if link.action != action_links.ACKNOWLEDGE or \
            alert.status in alerts.TRANSITIONS["acknowledge"]:
        return None
    already = "already " if alert.status == "acknowledged" else ""
    return f"Alert #{alert.id} is {already}{alert.status}: there is nothing to acknowledge."


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
