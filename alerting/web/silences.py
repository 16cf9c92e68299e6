"""Silences and mute timings pages, and one-click snooze from an alert."""

from __future__ import annotations

from typing import Any

from flask import (
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from htmx_flask import request

from ..auth import current_actor, login_required
from ..engine.errors import ValidationError
from ..engine.silences import MATCHER_FIELDS, MATCHER_OPS, SILENCE_STATES
from ..engine.vocabulary import DAYS, DELIVERY_CHANNELS
from ..errors import ApiError
from ..live import load_alerts, page_url
from ..services import alerts, mute_timings, notification_settings, silences
from . import bp
from .forms import number_or_text, render

MATCHER_ROWS = 3
DURATIONS = ((15, "15 min"), (60, "1 h"), (120, "2 h"), (480, "8 h"), (1440, "1 day"),
             (10080, "1 week"))


def _page(status: int = 200, *, silence_errors: list[str] | None = None,
          timing_errors: list[str] | None = None, draft: dict[str, Any] | None = None,
          timing_draft: dict[str, Any] | None = None):
    state = request.args.get("state", "active")
    state = state if state in SILENCE_STATES else "active"
    rows, total = silences.list_silences(state=state, limit=200)
    return render(
        "silences/index.html", "silences/_silences.html", status, state=state,
        states=SILENCE_STATES, total=total,
        silences=[silences.silence_dict(r) for r in rows], fields=MATCHER_FIELDS,
        ops=MATCHER_OPS, rows=MATCHER_ROWS, durations=DURATIONS, days=DAYS,
        timings=mute_timings.list_mute_timings(), channels=DELIVERY_CHANNELS,
        channel_mutes=notification_settings.get_row().channel_mute_timings or {},
        silence_errors=silence_errors or [],
        timing_errors=timing_errors or [], draft=draft or {}, timing_draft=timing_draft or {})


def _errors(exc: ValidationError) -> list[str]:
    return [f"{path}: {message}" for path, message in exc.fields.items()]


def _back(anchor: str = ""):
    return redirect(url_for("web.silences_index", state=request.args.get("state")) + anchor, 303)


@bp.route("/silences", methods=["GET", "POST"])
@login_required
def silences_index():
    """Silences by state, a form to create one, and the mute timings."""
    if request.method == "GET":
        return _page()
    form = request.form
    matchers = []
    for i in range(MATCHER_ROWS):
        value = form.get(f"matcher-{i}-value", "")
        if form.get(f"matcher-{i}-field") and value.strip():
            matchers.append({"field": form.get(f"matcher-{i}-field"),
                             "op": form.get(f"matcher-{i}-op", "="), "value": value.strip()})
    minutes = number_or_text(form.get("minutes"))
    payload = {"matchers": matchers, "comment": form.get("comment", ""),
               "duration": minutes * 60 if isinstance(minutes, int) else minutes,
               "confirm_all": form.get("confirm_all") == "on"}
    try:
        row = silences.create_silence(payload, current_actor())
    except ValidationError as exc:
        return _page(422, silence_errors=_errors(exc), draft={**form})
    flash(f"Silence created until {silences.silence_dict(row)['ends_at'][:16].replace('T', ' ')}"
          " UTC.")
    return _back()


@bp.post("/silences/<silence_id>/<any(expire, extend, recreate, delete):action>")
@login_required
def silences_action(silence_id: str, action: str):
    """Expire, extend by an hour, recreate (an expired one) or delete a silence."""
    actor = current_actor()
    try:
        if action == "expire":
            silences.expire_silence(silence_id, actor)
            flash("Silence expired.")
        elif action == "extend":
            silences.extend_silence(silence_id, {"duration": 3600}, actor)
            flash("Silence extended by an hour.")
        elif action == "recreate":
            silences.recreate_silence(silence_id, None, actor)
            flash("Silence recreated from now.")
        else:
            silences.delete_silence(silence_id, actor)
            flash("Silence deleted.")
    except ApiError as exc:
        if exc.status != 409:
            raise
        flash(exc.message)
    return _back()


@bp.post("/mute-timings")
@login_required
def mute_timings_create():
    """Create a mute timing from the form (one weekly interval, one optional date range)."""
    form = request.form
    payload: dict[str, Any] = {
        "name": form.get("name", ""),
        "intervals": [{"days": form.getlist("days") or list(DAYS),
                       "start_time": form.get("start_time") or "00:00",
                       "end_time": form.get("end_time") or "00:00"}],
        "timezone": form.get("timezone", "").strip() or None,
    }
    if form.get("date_start") or form.get("date_end"):
        payload["date_ranges"] = [{"start": form.get("date_start", ""),
                                   "end": form.get("date_end") or form.get("date_start", "")}]
    try:
        mute_timings.create_mute_timing(payload, current_actor())
    except ValidationError as exc:
        return _page(422, timing_errors=_errors(exc), timing_draft={**form})
    except ApiError as exc:
        if exc.status != 409:
            raise
        return _page(409, timing_errors=[exc.message], timing_draft={**form})
    flash(f"Mute timing “{payload['name'].strip()}” created. Name it on a rule or a channel.")
    return _back("#mute-timings")


@bp.post("/mute-timings/channels")
@login_required
def mute_timings_channels():
    """Which mute timings each channel keeps (the notification settings' channel_mute_timings)."""
    payload = {"channel_mute_timings": {c: request.form.getlist(f"channel-{c}") or None
                                        for c in DELIVERY_CHANNELS}}
    try:
        notification_settings.update(payload, current_actor())
    except ValidationError as exc:
        return _page(422, timing_errors=_errors(exc))
    flash("Channel mute timings saved.")
    return _back("#mute-timings")


@bp.post("/mute-timings/<name>/delete")
@login_required
def mute_timings_delete(name: str):
    """Delete a mute timing that nothing names."""
    try:
        mute_timings.delete_mute_timing(name, current_actor())
        flash(f"Mute timing “{name}” deleted.")
    except ApiError as exc:
        if exc.status != 409:
            raise
        flash(f"{exc.message}: remove it from the rules and channels naming it first.")
    return _back("#mute-timings")


@bp.post("/alerts/<id:alert_id>/snooze")
@login_required
def snooze(alert_id: int):
    """One-click snooze: a silence from now, pre-filled from the alert (its camera, its rule,
    or its camera and object), for 15 min, 1 h or 8 h."""
    alert = alerts.get_alert(alert_id)
    minutes = number_or_text(request.form.get("minutes"))
    scope = request.form.get("scope", "")
    row = silences.snooze(alert, scope, minutes, current_actor())
    until = silences.silence_dict(row)["ends_at"]
    note = f"Snoozed {silences.SNOOZE_LABELS[scope]} until {until[11:16]} UTC"
    if request.htmx:
        [shown] = load_alerts([alert_id])
        response = make_response(render_template(
            "_alert_row.html", alert=shown, snoozed=note,
            no_channels=alerts.without_deliveries([shown])))
    else:
        flash(note + ".")
        response = redirect(url_for("web.silences_index"), 303)
    response.vary.add("HX-Request")
    return response


def matcher_text(matchers: list[dict[str, Any]]) -> str:
    """Matchers as one line: camera_id="x", object_type=~"p.*"."""
    return ", ".join(f'{m["field"]}{m["op"]}"{m["value"]}"' for m in matchers) or "everything"


bp.add_app_template_filter(matcher_text, "matchers")


def silences_url() -> str:
    """Template global: the Silences page, also from rows rendered in the matcher thread
    (no request there; the live hub's bound URL map builds it, as for alert_action_url)."""
    return page_url("web.silences_index")


bp.add_app_template_global(silences_url)
