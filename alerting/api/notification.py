"""Notification configuration (spec), its settings (secrets write-only), and test sends."""

from flask import jsonify

from ..auth import current_actor
from ..schemas import responses as R
from ..schemas.digests import DigestList
from ..schemas.notification_settings import NotificationSettingsUpdate, NotificationTest
from ..schemas.openapi import operation as op
from ..services import digests
from ..services import notification_settings as settings
from . import bp
from .util import json_body


@bp.get("/notification/config")
@op("notification", ok=R.NotificationConfig)
def get_config():
    """The configuration status: no secret is ever returned."""
    return jsonify(settings.config_json())


@bp.get("/notification/settings")
@op("notification", ok=R.NotificationSettings)
def get_settings():
    """The editable settings, with which secrets are set (never the secrets)."""
    return jsonify(settings.settings_json())


@bp.put("/notification/config")
@op("notification", ok=R.NotificationSettings, body=NotificationSettingsUpdate)
def update_config():
    """Partial update of the settings; smtp_password and push_urls are write-only."""
    row = settings.update(json_body(), current_actor())
    return jsonify(settings.settings_json(row))


@bp.post("/notification/test")
@op("notification", ok=R.NotificationTestResult, body=NotificationTest)
def test_notification():
    """Send a test notification now on one channel; the result says whether it arrived."""
    return jsonify(settings.send_test(json_body(), current_actor()))


@bp.post("/notification/webhook-secret/reveal")
@op("notification", ok=R.WebhookSecret, errors=(409,))
def reveal_webhook_secret():
    """The webhook signing secret, shown once (409 afterwards: rotate for a new one)."""
    return jsonify({"webhook_secret": settings.reveal_webhook_secret(current_actor())})


@bp.post("/notification/webhook-secret/rotate")
@op("notification", ok=R.WebhookSecret)
def rotate_webhook_secret():
    """A new webhook signing secret, shown this once."""
    return jsonify({"webhook_secret": settings.rotate_webhook_secret(current_actor())})


@bp.get("/notification/digests")
@op("notification", ok=R.DigestList)
def get_digests():
    """The digests: each channel target's summary schedule and filter, with its state."""
    return jsonify(digests.digests_json())


@bp.put("/notification/digests")
@op("notification", ok=R.DigestList, body=DigestList)
def put_digests():
    """Replace the digests (those left out are deleted); audited."""
    return jsonify(digests.replace_all(json_body(), current_actor()))
