"""API keys: create one with a scope (the key is shown once), list, revoke."""

from __future__ import annotations

from flask import current_app, flash, redirect, url_for
from htmx_flask import request

from ..auth import current_actor, login_required
from ..config import public_url
from ..engine.errors import ValidationError
from ..errors import ApiError
from ..services import keys
from . import bp
from .forms import KeyForm, place_errors, render, simple_locator, wants_fragment


def _page(form: KeyForm, status: int = 200, **extra):
    context = {"form": form, "keys": keys.list_keys(), "created": None, "raw": None,
               "general": [], "focus": None, "base_url": _base_url(), **extra}
    return render("keys/index.html", "keys/_keys.html", status, **context)


def _base_url() -> str:
    """The address for the example request: ALERTING_PUBLIC_URL, else this request's host."""
    if current_app.config.get("PUBLIC_URL"):
        return public_url(current_app.config)
    return request.host_url.rstrip("/") + request.script_root


@bp.route("/keys", methods=["GET", "POST"])
@login_required
def keys_index():
    """The API keys; posting the form creates one and shows it this once."""
    form = KeyForm()
    if request.method == "GET":
        return _page(form)
    payload = {"name": form.name.data or "", "scope": form.scope.data or ""}
    try:
        key, raw = keys.create_key(payload["name"], payload["scope"], current_actor())
    except ValidationError as exc:
        general = place_errors(form, exc.fields, payload, simple_locator(form))
        return _page(form, 422, general=general, focus="name" if form.name.errors else "scope")
    # Rendered, not redirected: the raw key exists only in this response.
    response = _page(KeyForm(formdata=None), created=key, raw=raw)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/keys/<id:key_id>/revoke")
@login_required
def keys_revoke(key_id: int):
    """Revoke a key: it stops working at once."""
    key = keys.revoke_key(key_id, current_actor())
    if key is None:
        raise ApiError(404, "not_found", f"No API key {key_id}")
    if wants_fragment():
        return render("keys/_key_row.html", "keys/_key_row.html", key=key)
    flash(f"Key “{key.name}” revoked.")
    response = redirect(url_for("web.keys_index"), 303)
    response.vary.add("HX-Request")
    return response
