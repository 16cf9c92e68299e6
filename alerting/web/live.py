"""The live page, and the acknowledge / dismiss buttons every open page sees at once."""

from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, url_for
from htmx_flask import request

from ..auth import current_actor, login_required
from ..errors import ApiError
from ..live import load_alerts, recent_alerts, unacknowledged_count
from ..services import alerts, webpush
from . import bp

PAGE_ROWS = 100


@bp.get("/live")
@login_required
def live():
    """Alerts as they happen, newest first."""
    recent = recent_alerts(PAGE_ROWS)
    last_id = recent[0].id if recent else 0
    # url_for makes WebSocket routes absolute (ws://host/...); the page's own scheme and host
    # are the right ones, and the ws extension adds them to a path.
    stream = urlsplit(url_for("live.events", format="html", last_id=last_id))
    return render_template("live.html", alerts=recent, last_id=last_id,
                           stream_url=f"{stream.path}?{stream.query}",
                           unacknowledged=unacknowledged_count(),
                           vapid_public_key=webpush.public_key())


@bp.post("/alerts/<id:alert_id>/acknowledge")
@login_required
def acknowledge(alert_id: int):
    """Acknowledge an alert; every live page shows it through alert_updated."""
    return _transition(alert_id, "acknowledge")


@bp.post("/alerts/<id:alert_id>/dismiss")
@login_required
def dismiss(alert_id: int):
    """Dismiss an alert; every live page shows it through alert_updated."""
    return _transition(alert_id, "dismiss")


def _transition(alert_id: int, action: str):
    try:
        alerts.transition(alert_id, action, current_actor())
    except ApiError as exc:
        if exc.status != 409:
            raise
        # Someone else acted first (or the button was stale): show the alert as it is now.
    if request.htmx:
        [alert] = load_alerts([alert_id])
        response = make_response(render_template("_alert_row.html", alert=alert))
    else:
        response = redirect(url_for("web.live"))
    response.headers["Vary"] = "HX-Request"
    return response
