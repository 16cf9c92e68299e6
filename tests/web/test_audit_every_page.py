"""Every form a page posts to (each POST route of the pages in app.url_map) writes an audit
entry, with before -> after where something changed; or it is listed below with the reason it
does not. A new page route in neither list fails the test (the API's twin:
tests/api/test_audit_every_route.py)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func

from alerting.extensions import db
from alerting.models import AuditLog
from tests.support.app import ADMIN_PASSWORD, make_key
from tests.support.audit import (
    changed_config,
    dead_delivery,
    new_alert,
    new_group,
    new_mute_timing,
    new_silence,
)
from tests.support.factories import create_rule
from tests.support.web import csrf_token, login
from tests.support.webpush import PUSH_SUBSCRIPTION


class JSON_BODY:  # noqa: N801 - reads as a marker in CALLS
    """A page route's body sent as JSON rather than as a form."""

    def __init__(self, body: dict) -> None:
        self.body = body

NOT_AUDITED = {
    "web.rules_test": "read-only: runs a rule over stored events",
    "web.config_preview": "read-only: shows what a file would change",
    "web.rules_summary": "read-only: the rule being typed in plain words",
}
# Routes that act without a login: who the audit log names instead of the user.
ACTORS = {"web.action_do": "action link"}
NO_CHANGES = {"notification_test", "webhook_secret_reveal", "session_start", "session_end",
              "integrations_test"}

RULE_FORM = {"name": "Porch", "severity": "low", "camera_ids_other": "porch",
             "cooldown_seconds": "60", "conditions-0-field": "", "conditions-0-op": "",
             "conditions-0-value": "", "enabled": "y"}

def _dismissed(app, client, headers) -> int:
    alert_id = new_alert(app, client, headers)
    client.post(f"/api/alerts/{alert_id}/dismiss", headers=headers)
    return alert_id


# endpoint -> (the action it audits, a function (app, client, headers) -> (url, form))
CALLS = {
    "web.login": ("session_start", lambda a, c, h: (
        "/login", {"username": "admin", "password": ADMIN_PASSWORD})),
    "web.logout": ("session_end", lambda a, c, h: ("/logout", {})),
    "web.end_sessions": ("sessions_end", lambda a, c, h: (
        "/account/users/1/sessions/end", {})),
    "web.password": ("password_change", lambda a, c, h: ("/account/password", {
        "current": ADMIN_PASSWORD,
        "new": "another-long-password-9", "confirm": "another-long-password-9"})),
    "web.keys_index": ("api_key_create", lambda a, c, h: (
        "/keys", {"name": "camera", "scope": "ingest"})),
    "web.keys_revoke": ("api_key_revoke", lambda a, c, h: (
        f"/keys/{c.post('/api/keys', json={'name': 'old'}, headers=h).json['id']}/revoke", {})),
    "web.acknowledge": ("alert_acknowledge", lambda a, c, h: (
        f"/alerts/{new_alert(a, c, h)}/acknowledge", {})),
    "web.dismiss": ("alert_dismiss", lambda a, c, h: (
        f"/alerts/{new_alert(a, c, h)}/dismiss", {})),
    "web.acknowledge_all": ("alert_acknowledge_all", lambda a, c, h: (
        "/live/acknowledge", (new_alert(a, c, h), {})[1])),
    "web.acknowledge_group": ("alert_acknowledge", lambda a, c, h: (
        f"/alerts/groups/{new_group(a, c, h)}/acknowledge", {})),
    "web.restore": ("alert_restore", lambda a, c, h: (
        f"/alerts/{_dismissed(a, c, h)}/restore", {})),
    "web.timezone": ("user_timezone", lambda a, c, h: (
        "/account/timezone", {"timezone": "Europe/Paris"})),
    "web.snooze": ("silence_create", lambda a, c, h: (
        f"/alerts/{new_alert(a, c, h)}/snooze", {"scope": "camera", "minutes": "15"})),
    "web.modes_current": ("mode_set", lambda a, c, h: ("/modes/current", {"mode": "away"})),
    "web.modes_list": ("modes_update", lambda a, c, h: (
        "/modes/list", {"modes": "home, away, night, vacation, disarmed, party"})),
    "web.modes_schedule": ("mode_schedule_update", lambda a, c, h: ("/modes/schedule", {
        "timezone": "UTC", "rows": "1", "w0-mode": "night", "w0-days": ["mon"], "w0-start": "23:00",
        "w0-end": "06:30"})),
    "web.mute_timings_create": ("mute_timing_create", lambda a, c, h: (
        "/mute-timings", {"name": "lunch", "days": ["mon"], "start_time": "12:00",
                          "end_time": "13:00"})),
    "web.mute_timings_channels": ("notification_config_update", lambda a, c, h: (
        "/mute-timings/channels", {"channel-email": new_mute_timing(c, h)})),
    "web.mute_timings_delete": ("mute_timing_delete", lambda a, c, h: (
        f"/mute-timings/{new_mute_timing(c, h)}/delete", {})),
    "web.integrations_index": ("integrations_update", lambda a, c, h: (
        "/integrations", {"mqtt_client_id": "alerting-2", "frigate-0-topic_prefix": "frigate",
                          "frigate-0-base_url": "http://127.0.0.1:5000"})),
    "web.integrations_test": ("integrations_test", lambda a, c, h: (
        "/integrations/test/mqtt/0", {"frigate-0-topic_prefix": "frigate"})),
    "web.notifications_index": ("notification_config_update", lambda a, c, h: (
        "/notifications", {"smtp_host": "smtp.example.com", "smtp_port": "25"})),
    "web.notifications_allow_list": ("notification_config_update", lambda a, c, h: (
        "/notifications/allow-list", {"webhook_allow_cidrs": "192.168.1.10/32"})),
    "web.notifications_digest": ("digests_update", lambda a, c, h: (
        "/notifications/digests", {"name": "hourly", "channel": "email",
                                   "target": "me@example.com", "every_seconds": "3600"})),
    "web.notifications_digest_delete": ("digests_update", lambda a, c, h: (
        "/notifications/digests/hourly/delete", {}) if c.put(
            "/api/notification/digests", headers=h, json={"digests": [{
                "name": "hourly", "channel": "email", "target": "me@example.com",
                "schedule": {"every_seconds": 3600}}]}).status_code == 200 else None),
    "web.notifications_test": ("notification_test", lambda a, c, h: (
        "/notifications/test/email", {})),
    "web.notifications_secret": ("webhook_secret_rotate", lambda a, c, h: (
        "/notifications/webhook-secret/rotate", {})),
    "web.deliveries_retry": ("delivery_retry", lambda a, c, h: (
        f"/deliveries/{dead_delivery(a, c, h)}/retry", {})),
    "web.rules_create": ("rule_create", lambda a, c, h: ("/rules/new", RULE_FORM)),
    "web.rules_edit": ("rule_update", lambda a, c, h: (
        f"/rules/{create_rule(c, h)['id']}/edit", RULE_FORM)),
    "web.rules_toggle": ("rule_update", lambda a, c, h: (
        f"/rules/{create_rule(c, h)['id']}/enabled", {"enabled": "false"})),
    "web.rules_duplicate": ("rule_create", lambda a, c, h: (
        f"/rules/{create_rule(c, h)['id']}/duplicate", {})),
    "web.rules_delete": ("rule_delete", lambda a, c, h: (
        f"/rules/{create_rule(c, h)['id']}/delete", {})),
    "web.silences_index": ("silence_create", lambda a, c, h: ("/silences", {
        "matcher-0-field": "camera_id", "matcher-0-op": "=", "matcher-0-value": "porch",
        "minutes": "30", "comment": "gardener"})),
    "web.silences_action": ("silence_recreate", lambda a, c, h: (
        f"/silences/{new_silence(c, h, expired=True)}/recreate", {})),
    "web.action_do": ("alert_acknowledge", lambda a, c, h: (
        f"/actions/{action_link(a, new_alert(a, c, h))}", {})),
    "web.config_apply": ("config_apply", lambda a, c, h: (
        "/config/apply", {"document": json.dumps(changed_config(c, h)), "source": "site.json"})),
    # The live page's script posts JSON (X-CSRFToken header), not a form.
    "web.push_subscribe": ("web_push_subscription_create", lambda a, c, h: (
        "/account/push-subscriptions", JSON_BODY(PUSH_SUBSCRIPTION))),
    "web.push_revoke": ("web_push_subscription_delete", lambda a, c, h: (
        "/account/push-subscriptions/{}/delete".format(c.post(
            "/api/push/subscriptions", json=PUSH_SUBSCRIPTION, headers=h).json["id"]), {})),
}


def action_link(app, alert_id: int) -> str:
    """A notification's acknowledge link token (services/action_links.py)."""
    from alerting.services.action_links import issue

    with app.app_context():
        return issue("acknowledge", alert_id)


def mutating_page_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if "POST" in rule.methods and rule.endpoint.startswith("web.")}


def test_every_page_form_is_audited_or_says_why_not(app):
    listed = set(CALLS) | set(NOT_AUDITED)
    endpoints = mutating_page_endpoints(app)
    assert endpoints - listed == set(), "a page route that changes something, with no test"
    assert listed - endpoints == set(), "listed routes the app no longer has"


@pytest.mark.parametrize("endpoint", sorted(CALLS))
def test_a_page_form_writes_an_audit_entry_with_its_changes(app, client, endpoint):
    action, call = CALLS[endpoint]
    client.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    headers = {"x-access-token": make_key(app, "admin", name="setup")}
    url, form = call(app, client, headers)
    if endpoint != "web.login":
        login(client)
    token = csrf_token(client.get("/login" if endpoint == "web.login" else "/keys").data)
    with app.app_context():
        seen = db.session.query(func.max(AuditLog.id)).scalar() or 0
    if isinstance(form, JSON_BODY):
        response = client.post(url, json=form.body, headers={"X-CSRFToken": token})
    else:
        response = client.post(url, data={**form, "csrf_token": token})
    assert response.status_code < 400, response.get_data(as_text=True)[:2000]
    with app.app_context():
        rows = db.session.query(AuditLog).filter(AuditLog.id > seen,
                                                 AuditLog.action == action).all()
    assert rows, f"{endpoint} wrote no {action} entry"
    entry = rows[-1]
    assert entry.actor == ACTORS.get(endpoint, "user:admin")
    assert entry.client_address == "198.51.100.9"
    if action not in NO_CHANGES:
        assert (entry.details or {}).get("changes"), f"{action} has no before -> after"
