"""Notification setup: SMTP, recipients, webhook (URL and signing secret), push URLs, a Test
button per channel, and the dead letters with retry. All through services.notification_settings
and services.deliveries, the same code as the API."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from htmx_flask import request

from ..auth import current_actor, login_required
from ..engine.errors import ValidationError
from ..engine.vocabulary import CHANNELS
from ..errors import ApiError
from ..extensions import db
from ..models import Delivery
from ..services import deliveries, digests
from ..services import notification_settings as settings
from ..services.notification_targets import fixed_allow_cidrs
from . import bp
from .forms import (
    AllowListForm,
    DigestForm,
    NotificationForm,
    number_or_text,
    place_errors,
    render,
    simple_locator,
    split_list,
    template_field,
    templates_data,
    templates_payload,
    wants_fragment,
)

DEAD_LETTERS_SHOWN = 50


@bp.app_context_processor
def _dead_letters() -> dict[str, Any]:
    """`dead_letters()` for the navigation's badge: counted only when a page shows it."""
    return {"dead_letters": deliveries.dead_count}


def form_data(view: dict[str, Any]) -> dict[str, Any]:
    """The stored settings as the form's data (secrets stay out)."""
    return {
        "notification_enabled": view["notification_enabled"],
        "smtp_host": view["smtp_host"] or "",
        "smtp_port": "" if view["smtp_port"] is None else str(view["smtp_port"]),
        "smtp_username": view["smtp_username"] or "",
        "smtp_from_address": view["smtp_from_address"] or "",
        "smtp_use_tls": view["smtp_use_tls"],
        "smtp_use_ssl": view["smtp_use_ssl"],
        "default_email_recipients": ", ".join(view["default_email_recipients"]),
        "default_webhook_url": view["default_webhook_url"] or "",
        "webhook_timeout_seconds": str(view["webhook_timeout_seconds"] or ""),
        **templates_data(view["templates"]),
    }


def settings_payload(form: NotificationForm) -> dict[str, Any]:
    """The API's PUT /api/notification/config body the form describes. A blank password or
    push URL box keeps what is stored; the "remove" boxes clear it."""
    payload: dict[str, Any] = {
        "notification_enabled": bool(form.notification_enabled.data),
        "smtp_host": (form.smtp_host.data or "").strip() or None,
        "smtp_port": number_or_text(form.smtp_port.data),
        "smtp_username": (form.smtp_username.data or "").strip() or None,
        "smtp_from_address": (form.smtp_from_address.data or "").strip() or None,
        "smtp_use_tls": bool(form.smtp_use_tls.data),
        "smtp_use_ssl": bool(form.smtp_use_ssl.data),
        "default_email_recipients": split_list(form.default_email_recipients.data),
        "default_webhook_url": (form.default_webhook_url.data or "").strip() or None,
        "templates": templates_payload(form),
    }
    timeout = number_or_text(form.webhook_timeout_seconds.data)
    if timeout is not None:
        payload["webhook_timeout_seconds"] = timeout
    if form.smtp_password_clear.data:
        payload["smtp_password"] = None
    elif form.smtp_password.data:
        payload["smtp_password"] = form.smtp_password.data
    if form.push_urls_clear.data:
        payload["push_urls"] = []
    elif split_list(form.push_urls.data):
        payload["push_urls"] = split_list(form.push_urls.data)
    return payload


def _context(form: NotificationForm, **extra: Any) -> dict[str, Any]:
    dead, dead_total = deliveries.list_deliveries(status="dead", limit=DEAD_LETTERS_SHOWN)
    return {"form": form, "view": settings.settings_json(), "general": [], "focus": None,
            "dead": dead, "dead_total": dead_total, "test_result": None, "secret": None,
            "secret_error": None, "saved": False, "digest_form": DigestForm(formdata=None),
            "digests": digests.digests_json()["digests"], "digest_errors": [],
            "fixed_cidrs": fixed_allow_cidrs(), "allow_form": _allow_form(),
            "allow_errors": [], **extra}


def _allow_form() -> AllowListForm:
    stored = settings.get_row().webhook_allow_cidrs or []
    return AllowListForm(formdata=None, data={"webhook_allow_cidrs": "\n".join(stored)})


def _page(form: NotificationForm, status: int = 200, **extra: Any):
    return render("notifications/index.html", "notifications/_settings.html", status,
                  **_context(form, **extra))


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications_index():
    """The notification settings: show them, or save them."""
    if request.method == "GET":
        return _page(NotificationForm(data=form_data(settings.settings_json())))
    form = NotificationForm()
    payload = settings_payload(form)
    try:
        settings.update(payload, current_actor())
    except ValidationError as exc:
        db.session.rollback()
        general = place_errors(form, exc.fields, payload, _locator(form))
        return _page(form, 422, general=general, focus=_first_invalid(form),
                     error_count=len(exc.fields) - len(general))
    if not wants_fragment():
        flash("Notification settings saved.")
        response = redirect(url_for("web.notifications_index"), 303)
        response.vary.add("HX-Request")
        return response
    fresh = NotificationForm(formdata=None, data=form_data(settings.settings_json()))
    return _page(fresh, saved=True)


def _locator(form: NotificationForm):
    flat = simple_locator(form)
    return lambda parts: template_field(form, parts) if parts[0] == "templates" else flat(parts)


def _first_invalid(form: NotificationForm) -> str | None:
    return next((field.name for field in form if field.errors), None)


@bp.post("/notifications/test/<channel>")
@login_required
def notifications_test(channel: str):
    """Send a test on one channel now, to the targets typed in the form (or the saved ones)."""
    if channel not in CHANNELS:
        raise ApiError(404, "not_found", f"No channel {channel!r}")
    form = NotificationForm()
    payload: dict[str, Any] = {"channel": channel}
    if channel == "email" and split_list(form.default_email_recipients.data):
        payload["email_recipients"] = split_list(form.default_email_recipients.data)
    if channel == "webhook" and (form.default_webhook_url.data or "").strip():
        payload["webhook_url"] = form.default_webhook_url.data.strip()
    if channel == "push" and split_list(form.push_urls.data):
        payload["push_urls"] = split_list(form.push_urls.data)
    try:
        result = settings.send_test(payload, current_actor())
    except ValidationError as exc:
        result = {"channel": channel, "success": False, "error": exc.message,
                  "message": f"Test {channel} notification not sent"}
    return render("notifications/index.html", "notifications/_test_result.html",
                  **_context(form, test_result=result))


@bp.post("/notifications/webhook-secret/<action>")
@login_required
def notifications_secret(action: str):
    """Reveal the webhook signing secret (once), or rotate it (the new one is shown once)."""
    secret, error = None, None
    try:
        if action == "reveal":
            secret = settings.reveal_webhook_secret(current_actor())
        elif action == "rotate":
            secret = settings.rotate_webhook_secret(current_actor())
        else:
            raise ApiError(404, "not_found", f"No action {action!r}")
    except ApiError as exc:
        if exc.status != 409:
            raise
        error = exc.message
    form = NotificationForm(formdata=None, data=form_data(settings.settings_json()))
    response = render("notifications/index.html", "notifications/_secret.html",
                      **_context(form, secret=secret, secret_error=error))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/deliveries/<id:delivery_id>/retry")
@login_required
def deliveries_retry(delivery_id: int):
    """Queue a dead delivery again."""
    error = None
    try:
        delivery = deliveries.retry(delivery_id, current_actor())
    except ApiError as exc:
        if exc.status != 409:
            raise
        error = exc.message
        delivery = db.session.get(Delivery, delivery_id)
    if wants_fragment():
        return render("notifications/_dead_row.html", "notifications/_dead_row.html",
                      delivery=delivery, error=error, retried=error is None)
    flash(error or f"Delivery {delivery_id} is queued again.")
    response = redirect(url_for("web.notifications_index") + "#dead-letters", 303)
    response.vary.add("HX-Request")
    return response


@bp.post("/notifications/allow-list")
@login_required
def notifications_allow_list():
    """Save the networks webhooks, push and SMTP may reach (webhook_allow_cidrs), as
    PUT /api/notification/config does; audited there."""
    form = AllowListForm()
    payload = {"webhook_allow_cidrs": split_list(form.webhook_allow_cidrs.data)}
    try:
        settings.update(payload, current_actor())
    except ValidationError as exc:
        db.session.rollback()
        general = place_errors(form, exc.fields, payload, simple_locator(form))
        return _page(NotificationForm(formdata=None, data=form_data(settings.settings_json())),
                     422, allow_form=form, allow_errors=general)
    flash("Allowed networks saved.")
    return redirect(url_for("web.notifications_index", _anchor="allow-list"), 303)


# --- digests ------------------------------------------------------------------------------------

DIGEST_SCHEDULE = ("at", "days", "timezone", "every_seconds")
DIGEST_FILTER = ("min_severity", "max_severity", "modes", "cameras", "rules")


def digest_payload(form: DigestForm) -> dict[str, Any]:
    """The digest the form describes, as PUT /api/notification/digests takes it."""
    every = number_or_text(form.every_seconds.data)
    schedule = {"every_seconds": every} if every is not None else {
        "at": (form.at.data or "").strip() or None, "days": list(form.days.data or []),
        "timezone": (form.timezone.data or "").strip() or None}
    digest_filter = {"min_severity": form.min_severity.data or None,
                     "max_severity": form.max_severity.data or None,
                     "modes": split_list(form.modes.data) or None,
                     "cameras": split_list(form.cameras.data) or None,
                     "rules": split_list(form.rules.data) or None}
    return {"name": (form.name.data or "").strip(), "channel": form.channel.data,
            "target": (form.target.data or "").strip(), "schedule": schedule,
            "filter": digest_filter if any(digest_filter.values()) else None,
            "send_empty": bool(form.send_empty.data)}


def _kept() -> list[dict[str, Any]]:
    """The stored digests as the API takes them back (targets as shown keep their secret)."""
    return [{key: entry[key] for key in ("name", "channel", "target", "schedule", "filter",
                                         "send_empty")} for entry in digests.configured()]


@bp.post("/notifications/digests")
@login_required
def notifications_digest():
    """Add a digest, or replace the one of the same name."""
    form = DigestForm()
    new = digest_payload(form)
    others = [d for d in _kept() if d["name"].casefold() != new["name"].casefold()]
    payload = {"digests": [*others, new]}
    try:
        digests.replace_all(payload, current_actor())
    except ValidationError as exc:
        db.session.rollback()
        general = place_errors(form, exc.fields, payload, _digest_locator(form, len(others)))
        return _page(NotificationForm(formdata=None, data=form_data(settings.settings_json())),
                     422, digest_form=form, digest_errors=general)
    flash(f"Digest {new['name']} saved.")
    return redirect(url_for("web.notifications_index", _anchor="digests"), 303)


@bp.post("/notifications/digests/<name>/delete")
@login_required
def notifications_digest_delete(name: str):
    """Delete a digest."""
    kept = _kept()
    left = [d for d in kept if d["name"] != name]
    if len(left) == len(kept):
        raise ApiError(404, "not_found", f"Digest {name!r} not found")
    digests.replace_all({"digests": left}, current_actor())
    flash(f"Digest {name} deleted.")
    return redirect(url_for("web.notifications_index", _anchor="digests"), 303)


def _digest_locator(form: DigestForm, index: int):
    """Errors of the new digest (digests.<index>.*) go beside its inputs."""

    def locate(parts: list[str]):
        if parts[:2] != ["digests", str(index)] or len(parts) < 3:
            return None
        head, rest = parts[2], parts[3:]
        if head in ("schedule", "filter") and rest and rest[0] in (*DIGEST_SCHEDULE,
                                                                   *DIGEST_FILTER):
            return form[rest[0]]
        return form._fields.get(head) if head in ("name", "channel", "target") else None

    return locate
