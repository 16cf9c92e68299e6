"""Helpers of the page tests (tests/web): logging a test client in, filled-in forms, where an
error is shown."""

from __future__ import annotations

import re

from alerting.engine.vocabulary import DAYS
from alerting.services import rules as rule_service
from tests.support.app import ADMIN_PASSWORD

HX = {"HX-Request": "true"}


def csrf_token(page: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()


def log_in(client) -> str:
    """Log the client in; the CSRF token of its session."""
    page = client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                           "csrf_token": csrf_token(page.data)})
    assert response.status_code == 302
    return csrf_token(client.get("/keys").data)


def rule_form(token: str, **fields) -> dict:
    """A filled-in rule form, as a browser would post it."""
    data = {"csrf_token": token, "name": "Person at the back door", "severity": "high",
            "enabled": "y", "object_types": ["person"], "camera_ids": ["back-door"],
            "cooldown_seconds": "0", "schedule_days": list(DAYS), "schedule_start": "00:00",
            "schedule_end": "00:00",
            "conditions-0-field": "", "conditions-0-op": "eq", "conditions-0-value": "",
            "action": "save"}
    data.update(fields)
    return data


def error_beside(html: str, field_id: str) -> str:
    """The error text shown beside the input with this id (and the input points at it)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    assert match, f"no error beside {field_id}"
    assert re.search(rf'aria-describedby="[^"]*\b{re.escape(field_id)}-error"', html)
    return match.group(1)


def only_rule(app) -> dict:
    """The one rule there is, as the API shows it."""
    with app.app_context():
        rows, total = rule_service.list_rules()
        assert total == 1
        return rule_service.rule_json(rows[0])


def rule_count(app) -> int:
    with app.app_context():
        return rule_service.list_rules()[1]


def settings_form(token: str, **fields) -> dict:
    data = {"csrf_token": token, "notification_enabled": "y", "smtp_host": "", "smtp_port": "587",
            "smtp_username": "", "smtp_password": "", "smtp_from_address": "",
            "smtp_use_tls": "y", "default_email_recipients": "", "default_webhook_url": "",
            "webhook_timeout_seconds": "30", "push_urls": ""}
    data.update(fields)
    return data
