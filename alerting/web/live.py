"""The live page (a triage list), and the acknowledge / dismiss / undo buttons every open page
sees at once."""

from urllib.parse import urlencode, urlsplit

from flask import flash, make_response, redirect, render_template, url_for
from htmx_flask import request
from sqlalchemy import exists, select

from ..auth import current_actor, login_required
from ..errors import ApiError
from ..extensions import db
from ..live import latest_alert_id, load_alerts, recent_alerts, unacknowledged_count
from ..models import Alert, AlertRule, ApiKey, Event, NotificationSettings
from ..schemas.queries import parse_triage_filter
from ..services import alerts, webpush
from ..services.notification_settings import ROW_ID, email_configured
from . import bp
from .events import parse_filters

PAGE_ROWS = 100
SEVERITY_CHIPS = ("critical", "high", "medium", "low")
CAMERA_CHIPS = 30


def _filter_args(triage: dict) -> dict[str, str]:
    """The filter as the page's query string (only what is set)."""
    args = {}
    if triage["severity"]:
        args["severity"] = triage["severity"]
    if triage["camera_id"]:
        args["camera_id"] = triage["camera_id"]
    if triage["hide_low"]:
        args["hide_low"] = "1"
    return args


def chip_url(triage: dict, **change) -> str:
    """The live page's URL with one filter changed (None: removed)."""
    args = _filter_args(triage)
    for name, value in change.items():
        if value in (None, False, ""):
            args.pop(name, None)
        else:
            args[name] = "1" if value is True else value
    return url_for("web.live") + (f"?{urlencode(args)}" if args else "")


def first_run() -> dict[str, bool]:
    """The empty page's checklist: whether each step is done."""
    settings = db.session.get(NotificationSettings, ROW_ID)
    rule_channels = db.session.scalars(select(AlertRule.channels))
    channel = (settings is not None and (email_configured(settings)
                                         or bool(settings.default_webhook_url)
                                         or bool(settings.push_urls_encrypted))) \
        or any(channels for channels in rule_channels)
    return {
        "key": bool(db.session.scalar(select(exists().where(
            ApiKey.revoked_at.is_(None), ApiKey.scope.in_(("ingest", "admin")))))),
        "rule": bool(db.session.scalar(select(exists().where(AlertRule.id.isnot(None))))),
        "channel": bool(channel),
        "events": bool(db.session.scalar(select(exists().where(Event.id.isnot(None))))),
    }


@bp.get("/live")
@login_required
def live():
    """Alerts as they happen: open critical and high ones pinned on top, then newest first,
    filtered by the chips in the URL."""
    triage, errors = parse_filters(parse_triage_filter, request.args)
    recent = recent_alerts(PAGE_ROWS, alerts.triage_query(**triage))
    last_id = latest_alert_id()
    last_event = db.session.scalar(select(Event).order_by(Event.id.desc()).limit(1))
    cameras = list(db.session.scalars(
        select(Alert.camera_id).distinct().order_by(Alert.camera_id).limit(CAMERA_CHIPS)))
    if triage["camera_id"] and triage["camera_id"] not in cameras:
        # The filter's camera has a chip (marked current) though it has no alert yet or is
        # past the first CAMERA_CHIPS: a filter in force is always shown.
        cameras = sorted([*cameras, triage["camera_id"]])
    # url_for makes WebSocket routes absolute (ws://host/...); the page's own scheme and host
    # are the right ones, and the ws extension adds them to a path.
    stream = urlsplit(url_for("live.events", format="html", last_id=last_id))
    return render_template(
        "live.html", alerts=recent, last_id=last_id, stream_url=f"{stream.path}?{stream.query}",
        unacknowledged=unacknowledged_count(), last_event=last_event, triage=triage,
        errors=errors, cameras=cameras, severities=SEVERITY_CHIPS, chip_url=chip_url,
        no_channels=alerts.without_deliveries(recent),
        checklist=first_run() if not last_id else None, vapid_public_key=webpush.public_key())


@bp.post("/live/acknowledge")
@login_required
def acknowledge_all():
    """Acknowledge every open alert of the page's filter (the "Acknowledge all" button)."""
    triage, _errors = parse_filters(parse_triage_filter, request.form)
    ids = alerts.acknowledge_all(triage, current_actor())
    flash(f"Acknowledged {len(ids)} alert{'' if len(ids) == 1 else 's'}.")
    target = chip_url(triage)
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@bp.post("/alerts/<id:alert_id>/acknowledge")
@login_required
def acknowledge(alert_id: int):
    """Acknowledge an alert; every live page shows it through alert_updated."""
    return _transition(alert_id, "acknowledge")


@bp.post("/alerts/<id:alert_id>/dismiss")
@login_required
def dismiss(alert_id: int):
    """Dismiss an alert (hidden from the live page, with an Undo for a few seconds)."""
    return _transition(alert_id, "dismiss")


@bp.post("/alerts/<id:alert_id>/restore")
@login_required
def restore(alert_id: int):
    """Undo a dismissal: the alert is back as it was."""
    return _transition(alert_id, "restore")


def _transition(alert_id: int, action: str):
    try:
        alerts.transition(alert_id, action, current_actor())
    except ApiError as exc:
        if exc.status != 409:
            raise
        # Someone else acted first (or the button was stale): show the alert as it is now.
    if request.htmx:
        [alert] = load_alerts([alert_id])
        html = render_template("_alert_row.html", alert=alert,
                               no_channels=alerts.without_deliveries([alert]))
        from_live = urlsplit(request.headers.get("HX-Current-URL", "")).path == url_for("web.live")
        if action == "dismiss" and alert.status == "dismissed" and from_live:
            # The live page hides the row: it offers the undo (other pages keep the row).
            html += render_template("_undo_toast.html", alert=alert)
        response = make_response(html)
    else:
        response = redirect(url_for("web.live"))
    response.headers["Vary"] = "HX-Request"
    return response
