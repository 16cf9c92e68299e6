"""The Integrations page: the MQTT connection and the Frigate instances, each with a Test
button showing what the connection saw. Through services.integrations, the same code as the
API (/api/integrations)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, url_for
from flask_wtf import FlaskForm
from htmx_flask import request
from wtforms import BooleanField, FieldList, Form, FormField, PasswordField, StringField

from .. import workers
from ..auth import current_actor, login_required
from ..engine.errors import ValidationError
from ..errors import ApiError
from ..extensions import db
from ..services import integration_tests, integrations
from . import bp
from .forms import place_errors, render, split_list, wants_fragment


class FrigateRow(Form):
    """One Frigate instance; a row with a blank prefix (or Remove ticked) is left out."""

    topic_prefix = StringField("Topic prefix")  # (`prefix` is a Form keyword)
    base_url = StringField("Base URL", render_kw={"placeholder": "http://frigate.lan:5000"})
    username = StringField("Username", render_kw={"autocomplete": "off"})
    password = PasswordField("Password", render_kw={"autocomplete": "new-password"})
    remove = BooleanField("Remove")


class IntegrationsForm(FlaskForm):
    """The MQTT connection and the Frigate instances; secrets are write-only."""

    mqtt_url = StringField("Broker URL", render_kw={"autocomplete": "off",
                                                    "placeholder": "mqtt://user:pass@host:1883"})
    mqtt_url_clear = BooleanField("Use the environment's (ALERTING_MQTT_URL)")
    mqtt_client_id = StringField("Client id")
    mqtt_topics = StringField("Generic JSON topics (comma-separated)")
    frigate = FieldList(FormField(FrigateRow), min_entries=1)


def _form(view: dict[str, Any] | None = None) -> IntegrationsForm:
    if view is None:
        return IntegrationsForm()
    rows = [{"topic_prefix": i["prefix"], "base_url": i["base_url"] or "",
             "username": i["username"] or ""} for i in view["frigate"]]
    return IntegrationsForm(formdata=None, data={
        "mqtt_url": "", "mqtt_client_id": view["mqtt"]["client_id"],
        "mqtt_topics": ", ".join(view["mqtt"]["topics"]), "frigate": [*rows, {}]})


def _rows(form: IntegrationsForm) -> list[tuple[int, dict[str, Any]]]:
    """(form row index, the API's instance) for each row kept."""
    kept = []
    for index, entry in enumerate(form.frigate.entries):
        row = entry.form
        if row.remove.data or not (row.topic_prefix.data or "").strip():
            continue
        instance: dict[str, Any] = {"prefix": row.topic_prefix.data.strip(),
                                    "base_url": (row.base_url.data or "").strip() or None,
                                    "username": (row.username.data or "").strip() or None}
        if row.password.data:
            instance["password"] = row.password.data
        kept.append((index, instance))
    return kept


def payload_of(form: IntegrationsForm) -> dict[str, Any]:
    """The PUT /api/integrations body the form describes: a blank broker URL keeps the
    stored one, a blank password keeps the instance's."""
    mqtt: dict[str, Any] = {"client_id": (form.mqtt_client_id.data or "").strip() or None,
                            "topics": split_list(form.mqtt_topics.data) or None}
    if form.mqtt_url_clear.data:
        mqtt["url"] = None
    elif (form.mqtt_url.data or "").strip():
        mqtt["url"] = form.mqtt_url.data.strip()
    return {"mqtt": mqtt, "frigate": [instance for _, instance in _rows(form)]}


def _locator(form: IntegrationsForm):
    rows = [index for index, _ in _rows(form)]

    def locate(parts: list[str]):
        if parts[0] == "mqtt" and len(parts) > 1:
            return form._fields.get(f"mqtt_{parts[1]}")
        if parts[0] == "frigate" and len(parts) > 2 and parts[1].isdigit() \
                and int(parts[1]) < len(rows):
            name = "topic_prefix" if parts[2] == "prefix" else parts[2]
            return form.frigate.entries[rows[int(parts[1])]].form._fields.get(name)
        return None

    return locate


def _page(form: IntegrationsForm, status: int = 200, **extra: Any):
    context = {"form": form, "view": integrations.settings_json(), "general": [],
               "saved": False, "test_result": None, "test_target": None, **extra}
    return render("integrations/index.html", "integrations/_form.html", status, **context)


@bp.route("/integrations", methods=["GET", "POST"])
@login_required
def integrations_index():
    """The integration settings: show them, or save them."""
    if request.method == "GET":
        return _page(_form(integrations.settings_json()))
    form = _form()
    payload = payload_of(form)
    try:
        integrations.update(payload, current_actor())
    except ValidationError as exc:
        db.session.rollback()
        general = place_errors(form, exc.fields, payload, _locator(form))
        return _page(form, 422, general=general, error_count=len(exc.fields) - len(general))
    workers.mqtt_settings_saved(current_app._get_current_object())
    if not wants_fragment():
        flash("Integration settings saved.")
        response = redirect(url_for("web.integrations_index"), 303)
        response.vary.add("HX-Request")
        return response
    return _page(_form(integrations.settings_json()), saved=True)


@bp.post("/integrations/test/<kind>/<int:row>")
@login_required
def integrations_test(kind: str, row: int):
    """Test the broker, or the Frigate instance of one row, with what is typed in the form
    (blank fields: what is stored)."""
    form = _form()
    if kind not in ("mqtt", "frigate") or row >= len(form.frigate.entries):
        raise ApiError(404, "not_found", "No such connection to test")
    entry = form.frigate.entries[row].form
    body: dict[str, Any] = {"kind": kind,
                            "prefix": (entry.topic_prefix.data or "").strip() or "frigate"}
    if kind == "mqtt" and (form.mqtt_url.data or "").strip():
        body["url"] = form.mqtt_url.data.strip()
    if kind == "frigate":
        for name in ("base_url", "username", "password"):
            value = (getattr(entry, name).data or "").strip()
            if value:
                body[name] = value
    try:
        result = integration_tests.run_test(body, current_actor())
    except ValidationError as exc:
        db.session.rollback()
        result = {"kind": kind, "ok": False, "message": "; ".join(
            f"{path}: {message}" for path, message in exc.fields.items())}
    target = f"test-{kind}" if kind == "mqtt" else f"test-frigate-{row}"
    return render("integrations/index.html", "integrations/_test_result.html",
                  **{"form": form, "view": integrations.settings_json(), "general": [],
                     "saved": False, "test_result": result, "test_target": target})
