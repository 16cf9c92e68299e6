"""Every mutating route of the API (POST, PUT, PATCH, DELETE in app.url_map) writes an audit
entry, with before -> after where something changed; or it is listed below as not a change a
person makes, with the reason. A new route in neither list fails the test."""

from __future__ import annotations

import pytest
from sqlalchemy import func

from alerting.extensions import db
from alerting.models import AuditLog
from alerting.schemas.queries import AUDIT_TARGET_TYPES
from tests.support.app import make_key
from tests.support.audit import (
    SILENCE,
    TIMING,
    changed_config,
    dead_delivery,
    new_alert,
    new_group,
    new_mute_timing,
    new_silence,
)
from tests.support.factories import create_rule
from tests.support.videodb import JSON, event, ok, scene_index, stream
from tests.support.webpush import PUSH_SUBSCRIPTION

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}

# Not a change to the configuration a person makes: nothing audited.
NOT_AUDITED = {
    "api.ingest": "detector data (events), counted by the metrics, not a person's change",
    "api.test_rule": "read-only: runs a rule over stored events",
    "api.backtest_rule": "read-only: replays stored events",
    "api.backtest_draft": "read-only: replays stored events",
    "api.preview_silence": "read-only: which alerts a draft silence covers",
    "api.preview_templates": "read-only: renders draft templates, sends and stores nothing",
}
# Audited, but nothing stored changes (so no before -> after).
NO_CHANGES = {"notification_test", "webhook_secret_reveal", "integrations_test"}


def _video(client, headers) -> tuple[str, str, str]:
    sid = stream(client, headers)["id"]
    return sid, scene_index(client, headers, sid)["rtstream_index_id"], event(client, headers)


def _video_alert(client, headers) -> str:
    sid, iid, eid = _video(client, headers)
    aid = ok(client.post(f"/rtstream/{sid}/index/{iid}/alert", headers=headers,
                         json={"event_id": eid, "callback_url": "https://93.184.215.14/a"}))
    return f"/rtstream/{sid}/index/{iid}/alert/{aid['alert_id']}/status"


# endpoint -> (the action it audits, a function (app, client, headers) -> (method, url, json))
def dismissed_alert(app, client, headers) -> int:
    alert_id = new_alert(app, client, headers)
    client.post(f"/api/alerts/{alert_id}/dismiss", headers=headers)
    return alert_id


CALLS = {
    "api.acknowledge": ("alert_acknowledge", lambda a, c, h: (
        "post", f"/api/alerts/{new_alert(a, c, h)}/acknowledge", None)),
    "api.dismiss": ("alert_dismiss", lambda a, c, h: (
        "post", f"/api/alerts/{new_alert(a, c, h)}/dismiss", None)),
    "api.acknowledge_all": ("alert_acknowledge_all", lambda a, c, h: (
        "post", "/api/alerts/acknowledge", (new_alert(a, c, h), {})[1])),
    "api.acknowledge_alert_group": ("alert_acknowledge", lambda a, c, h: (
        "post", f"/api/alert-groups/{new_group(a, c, h)}/acknowledge", None)),
    "api.restore": ("alert_restore", lambda a, c, h: (
        "post", f"/api/alerts/{dismissed_alert(a, c, h)}/restore", None)),
    "api.create_rule": ("rule_create", lambda a, c, h: (
        "post", "/api/alerts/rules", {"name": "r", "severity": "low", "camera_ids": ["x"]})),
    "api.update_rule": ("rule_update", lambda a, c, h: (
        "put", f"/api/alerts/rules/{create_rule(c, h)['id']}", {"severity": "low"})),
    "api.duplicate_rule": ("rule_create", lambda a, c, h: (
        "post", f"/api/alerts/rules/{create_rule(c, h)['id']}/duplicate", None)),
    "api.delete_rule": ("rule_delete", lambda a, c, h: (
        "delete", f"/api/alerts/rules/{create_rule(c, h)['id']}", None)),
    "api.heartbeat": ("camera_rename", lambda a, c, h: (
        "post", "/api/cameras/porch/heartbeat", {"name": "The porch"})),
    "api.apply_config": ("config_apply", lambda a, c, h: (
        "post", "/api/config/apply", changed_config(c, h))),
    "api.retry": ("delivery_retry", lambda a, c, h: (
        "post", f"/api/deliveries/{dead_delivery(a, c, h)}/retry", None)),
    "api.create_key": ("api_key_create", lambda a, c, h: (
        "post", "/api/keys", {"name": "camera", "scope": "ingest"})),
    "api.revoke_key": ("api_key_revoke", lambda a, c, h: (
        "delete", f"/api/keys/{c.post('/api/keys', json={'name': 'old'}, headers=h).json['id']}",
        None)),
    "api.set_current": ("mode_set", lambda a, c, h: ("put", "/api/mode", {"mode": "away"})),
    "api.update_modes": ("modes_update", lambda a, c, h: (
        "put", "/api/modes", {"modes": ["home", "away", "night", "vacation", "disarmed",
                                        "party"]})),
    "api.update_schedule": ("mode_schedule_update", lambda a, c, h: (
        "put", "/api/mode/schedule", {"timezone": "UTC", "windows": [
            {"mode": "night", "start_time": "23:00", "end_time": "06:30"}]})),
    "api.create_mute_timing": ("mute_timing_create", lambda a, c, h: (
        "post", "/api/mute-timings", TIMING)),
    "api.update_mute_timing": ("mute_timing_update", lambda a, c, h: (
        "put", f"/api/mute-timings/{new_mute_timing(c, h)}", {"timezone": "Europe/Berlin"})),
    "api.delete_mute_timing": ("mute_timing_delete", lambda a, c, h: (
        "delete", f"/api/mute-timings/{new_mute_timing(c, h)}", None)),
    "api.update_integrations": ("integrations_update", lambda a, c, h: (
        "put", "/api/integrations", {"frigate": [
            {"prefix": "frigate", "base_url": "http://127.0.0.1:5000"}]})),
    "api.test_integration": ("integrations_test", lambda a, c, h: (
        "post", "/api/integrations/test", {"kind": "mqtt", "seconds": 1})),
    "api.update_config": ("notification_config_update", lambda a, c, h: (
        "put", "/api/notification/config", {"smtp_host": "smtp.example.com"})),
    "api.put_digests": ("digests_update", lambda a, c, h: (
        "put", "/api/notification/digests", {"digests": [{
            "name": "hourly", "channel": "email", "target": "me@example.com",
            "schedule": {"every_seconds": 3600}}]})),
    "api.test_notification": ("notification_test", lambda a, c, h: (
        "post", "/api/notification/test", {"channel": "email"})),
    "api.reveal_webhook_secret": ("webhook_secret_reveal", lambda a, c, h: (
        "post", "/api/notification/webhook-secret/reveal", None)),
    "api.rotate_webhook_secret": ("webhook_secret_rotate", lambda a, c, h: (
        "post", "/api/notification/webhook-secret/rotate", None)),
    "api.create_silence": ("silence_create", lambda a, c, h: ("post", "/api/silences", SILENCE)),
    "api.update_silence": ("silence_update", lambda a, c, h: (
        "put", f"/api/silences/{new_silence(c, h)}", {"comment": "gardener"})),
    "api.delete_silence": ("silence_delete", lambda a, c, h: (
        "delete", f"/api/silences/{new_silence(c, h)}", None)),
    "api.expire_silence": ("silence_expire", lambda a, c, h: (
        "post", f"/api/silences/{new_silence(c, h)}/expire", None)),
    "api.extend_silence": ("silence_extend", lambda a, c, h: (
        "post", f"/api/silences/{new_silence(c, h)}/extend", {"duration": 600})),
    "api.recreate_silence": ("silence_recreate", lambda a, c, h: (
        "post", f"/api/silences/{new_silence(c, h, expired=True)}/recreate", {})),
    "api.create_subscription": ("web_push_subscription_create", lambda a, c, h: (
        "post", "/api/push/subscriptions", PUSH_SUBSCRIPTION)),
    "api.delete_subscription": ("web_push_subscription_delete", lambda a, c, h: (
        "delete", "/api/push/subscriptions/{}".format(c.post(
            "/api/push/subscriptions", json=PUSH_SUBSCRIPTION, headers=h).json["id"]), None)),
    "videodb.connect_rtstream": ("videodb_stream_create", lambda a, c, h: (
        "post", "/rtstream", {"collection_id": "default", "url": "rtsp://cam.local/1",
                              "name": "Yard", "media_types": ["video"]})),
    "videodb.set_rtstream_status": ("videodb_stream_stop", lambda a, c, h: (
        "patch", f"/rtstream/{stream(c, h)['id']}/status", {"action": "stop"})),
    "videodb.create_scene_index": ("videodb_index_create", lambda a, c, h: (
        "post", f"/rtstream/{stream(c, h)['id']}/index/scene",
        {"extraction_type": "time", "extraction_config": {"time": 2, "frame_count": 5},
         "prompt": "Describe the scene", "name": "visuals"})),
    "videodb.set_scene_index_status": ("videodb_index_stop", lambda a, c, h: (
        "patch", "/rtstream/{}/index/scene/{}/status".format(*_video(c, h)),
        {"action": "stop"})),
    "videodb.create_event": ("videodb_event_create", lambda a, c, h: (
        "post", "/rtstream/event", {"event_prompt": "A fox", "label": "fox"})),
    "videodb.create_alert": ("videodb_alert_create", lambda a, c, h: (
        "post", "/rtstream/{}/index/{}/alert".format(*_video(c, h)),
        {"event_id": event(c, h, label="deer"), "callback_url": "https://93.184.215.14/b"})),
    "videodb.set_alert_status": ("rule_update", lambda a, c, h: (
        "patch", _video_alert(c, h), {"action": "disable"})),
}


def mutating_api_endpoints(app) -> set[str]:
    """The endpoints of the JSON APIs (ours and the VideoDB-compatible one) that change."""
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if rule.methods & MUTATING and rule.endpoint.startswith(("api.", "videodb."))}


def test_every_mutating_route_is_audited_or_says_why_not(app):
    listed = set(CALLS) | set(NOT_AUDITED)
    endpoints = mutating_api_endpoints(app)
    assert endpoints - listed == set(), "a mutating route with no audit test"
    assert listed - endpoints == set(), "listed routes the app no longer has"


@pytest.mark.parametrize("endpoint", sorted(CALLS))
def test_a_mutating_route_writes_an_audit_entry_with_its_changes(app, endpoint):
    action, call = CALLS[endpoint]
    app.config["WEBHOOK_ALLOW_CIDRS"] = ["93.184.215.0/24"]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    headers = {"x-access-token": make_key(app, "admin", name="walker"), **JSON}
    method, url, body = call(app, client, headers)
    with app.app_context():
        seen = db.session.query(func.max(AuditLog.id)).scalar() or 0
    response = getattr(client, method)(url, json=body, headers=headers)
    assert 200 <= response.status_code < 300, response.get_json()
    with app.app_context():
        written = db.session.query(AuditLog).filter(AuditLog.id > seen).all()
    rows = [row for row in written if row.action == action]
    assert rows, f"{endpoint} wrote no {action} entry"
    # Each object type can be filtered on (GET /api/audit, the Audit page).
    assert {row.target_type for row in written} <= set(AUDIT_TARGET_TYPES)
    [entry] = rows[-1:]
    assert entry.actor == "key:walker" and entry.client_address == "198.51.100.4"
    if action not in NO_CHANGES:
        assert (entry.details or {}).get("changes"), f"{action} has no before -> after"
