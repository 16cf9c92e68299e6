"""Arming modes: the switch in the header of every page, and the Modes page (the list of
modes, the weekly mode schedule, the history of changes)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, session, url_for
from htmx_flask import request

from ..auth import current_actor, login_required
from ..engine.errors import ValidationError
from ..engine.vocabulary import DAYS
from ..extensions import db
from ..schemas.modes import parse_history_page
from ..services import modes
from . import bp
from .forms import DAY_LABELS, render, split_list, wants_fragment

EMPTY_WINDOW = {"mode": "", "days": list(DAYS), "start_time": "", "end_time": ""}


@bp.app_context_processor
def _arming() -> dict[str, Any]:
    """`arming_mode()` for the header's switch: read only when a page asks for it."""

    def arming_mode() -> dict[str, Any] | None:
        if not session.get("username"):
            return None
        return modes.current()

    return {"arming_mode": arming_mode}


def _local(next_url: str | None) -> str:
    """Where to go back to after a switch without htmx: a path on this site only."""
    if next_url and next_url.startswith("/") and not next_url.startswith(("//", "/\\")):
        return next_url
    return url_for("web.modes_index")


@bp.post("/modes/current")
@login_required
def modes_current():
    """Switch the current mode (the header's switch); the switch is answered again."""
    try:
        modes.set_current(request.form.get("mode", ""), current_actor(), "user")
    except ValidationError as exc:
        db.session.rollback()
        if wants_fragment():
            return render("_mode_switch.html", "_mode_switch.html", 422,
                          switch_error=next(iter(exc.fields.values())))
        flash(f"Mode not changed: {next(iter(exc.fields.values()))}")
        return redirect(_local(request.form.get("next")), 303)
    if wants_fragment():
        response = render("_mode_switch.html", "_mode_switch.html")
        response.headers["HX-Trigger"] = "mode-changed"
        return response
    flash(f"Mode: {modes.current_mode()}.")
    response = redirect(_local(request.form.get("next")), 303)
    response.vary.add("HX-Request")
    return response


def _state() -> dict[str, Any]:
    """The current mode and a page of the history."""
    limit, offset = parse_history_page(request.args)
    changes, total = modes.history(limit, offset)
    return {"current": modes.current(), "changes": changes, "total": total, "limit": limit,
            "offset": offset}


def _page(status: int = 200, **extra: Any):
    schedule = modes.schedule_json()
    context = {
        **_state(), "names": modes.mode_names(), "schedule": schedule,
        "windows": [*schedule["windows"], EMPTY_WINDOW], "days": DAYS, "day_labels": DAY_LABELS,
        "list_errors": {}, "schedule_errors": {}, "list_text": None, **extra,
    }
    return render("modes/index.html", "modes/_body.html", status, **context)


@bp.get("/modes")
@login_required
def modes_index():
    """The Modes page."""
    return _page()


@bp.get("/modes/state")
@login_required
def modes_state():
    """The current mode and the history, for the Modes page after a switch (htmx)."""
    return render("modes/_state.html", "modes/_state.html", **_state())


@bp.post("/modes/list")
@login_required
def modes_list():
    """Replace the list of modes (one per line or comma-separated, in order)."""
    text = request.form.get("modes", "")
    try:
        modes.set_modes({"modes": split_list(text)}, current_actor())
    except ValidationError as exc:
        db.session.rollback()
        return _page(422, list_errors=exc.fields, list_text=text)
    flash("Modes saved.")
    return _done()


@bp.post("/modes/schedule")
@login_required
def modes_schedule():
    """Replace the weekly mode schedule: one row a window; a row without a mode is dropped."""
    windows, rows = [], []
    rows_sent = request.form.get("rows", "")
    count = int(rows_sent) if rows_sent.isdigit() else 0
    for i in range(min(count, 100)):
        mode = request.form.get(f"w{i}-mode", "").strip()
        if not mode:
            continue
        rows.append(i)
        windows.append({"mode": mode, "days": request.form.getlist(f"w{i}-days"),
                        "start_time": request.form.get(f"w{i}-start", ""),
                        "end_time": request.form.get(f"w{i}-end", "")})
    payload = {"timezone": request.form.get("timezone", "").strip() or None, "windows": windows}
    try:
        modes.set_schedule(payload, current_actor())
    except ValidationError as exc:
        db.session.rollback()
        # Paths name the payload's windows; the page shows them against its own rows.
        errors = {}
        for path, message in exc.fields.items():
            parts = path.split(".")
            if parts[0] == "windows" and len(parts) > 1 and parts[1].isdigit() \
                    and int(parts[1]) < len(rows):
                parts[1] = str(rows[int(parts[1])])
            errors[".".join(parts)] = message
        shown = {**modes.schedule_json(), "timezone": payload["timezone"] or ""}
        return _page(422, schedule_errors=errors, schedule=shown,
                     windows=_rows_as_sent(count) or [EMPTY_WINDOW])
    flash("Mode schedule saved.")
    return _done()


def _rows_as_sent(count: int) -> list[dict[str, Any]]:
    return [{"mode": request.form.get(f"w{i}-mode", ""),
             "days": request.form.getlist(f"w{i}-days"),
             "start_time": request.form.get(f"w{i}-start", ""),
             "end_time": request.form.get(f"w{i}-end", "")} for i in range(min(count, 100))]


def _done():
    if wants_fragment():
        return _page()
    response = redirect(url_for("web.modes_index"), 303)
    response.vary.add("HX-Request")
    return response
