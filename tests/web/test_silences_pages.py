"""The Silences page, mute timings on it, and one-click snooze from an alert row."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from alerting.extensions import db
from alerting.models import AuditLog, Silence
from tests.support.app import ADMIN_PASSWORD, make_key
from tests.support.factories import create_rule, post_event, run_matcher

HX = {"HX-Request": "true"}


def csrf_token(page: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()


@pytest.fixture
def token(client):
    page = client.get("/login")
    client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                "csrf_token": csrf_token(page.data)})
    return csrf_token(client.get("/silences").data)


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


def test_create_list_expire_recreate(app, client, token):
    page = client.get("/silences").get_data(as_text=True)
    assert 'href="/silences" aria-current="page"' in page and "No active silences." in page
    response = client.post("/silences", data={
        "csrf_token": token, "matcher-0-field": "camera_id", "matcher-0-op": "=",
        "matcher-0-value": "driveway", "matcher-1-field": "object_type", "matcher-1-op": "=~",
        "matcher-1-value": "person|car", "minutes": "60", "comment": "gardener"})
    assert response.status_code == 303
    page = client.get("/silences").get_data(as_text=True)
    assert 'camera_id=&#34;driveway&#34;, object_type=~&#34;person|car&#34;' in page
    assert "Silence created until" in page and "gardener" in page
    with app.app_context():
        silence_id = db.session.query(Silence).one().id
    assert client.post(f"/silences/{silence_id}/expire",
                       data={"csrf_token": token}).status_code == 303
    assert "No active silences." in client.get("/silences").get_data(as_text=True)
    expired = client.get("/silences?state=expired").get_data(as_text=True)
    assert f"/silences/{silence_id}/recreate" in expired
    client.post(f"/silences/{silence_id}/recreate", data={"csrf_token": token})
    with app.app_context():
        assert db.session.query(Silence).count() == 2
        assert [a.actor for a in db.session.query(AuditLog).filter(
            AuditLog.action.like("silence_%"))] == ["user:admin"] * 3


def test_errors_are_shown_and_the_draft_kept(client, token):
    response = client.post("/silences", data={
        "csrf_token": token, "matcher-0-field": "camera_id", "matcher-0-op": "=~",
        "matcher-0-value": "(unclosed", "minutes": "60"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "matchers.0.value: must be a regular expression" in page
    assert 'value="(unclosed"' in page
    empty = client.post("/silences", data={"csrf_token": token, "minutes": "60"})
    assert empty.status_code == 422 and "confirm_all" in empty.get_data(as_text=True)


def test_mute_timings_section(client, token):
    response = client.post("/mute-timings", data={
        "csrf_token": token, "name": "weekday mornings", "days": ["mon", "tue"],
        "start_time": "07:00", "end_time": "09:00", "timezone": "Europe/Berlin"})
    assert response.status_code == 303
    page = client.get("/silences").get_data(as_text=True)
    assert "weekday mornings" in page and "mon, tue 07:00–09:00" in page
    bad = client.post("/mute-timings", data={"csrf_token": token, "name": "x",
                                             "timezone": "Nowhere/Land"})
    assert bad.status_code == 422 and "timezone: unknown timezone" in bad.get_data(as_text=True)
    client.post("/mute-timings/weekday mornings/delete", data={"csrf_token": token})
    assert "No mute timings yet." in client.get("/silences").get_data(as_text=True)


def test_snooze_from_an_alert_row_and_the_silenced_row(app, client, token, headers):
    create_rule(client, headers, channels=[])
    now = datetime.now(UTC).isoformat()
    post_event(client, headers, started_at=now)
    run_matcher(app)
    [alert] = client.get("/api/alerts", headers=headers).json["alerts"]
    live = client.get("/live").get_data(as_text=True)
    assert f'hx-post="/alerts/{alert["id"]}/snooze"' in live
    response = client.post(f"/alerts/{alert['id']}/snooze", headers={**HX, "X-CSRFToken": token},
                           data={"scope": "camera_object", "minutes": "15"})
    assert response.status_code == 200
    assert "Snoozed this camera + object until" in response.get_data(as_text=True)
    with app.app_context():
        silence = db.session.query(Silence).one()
        assert silence.matchers == [{"field": "camera_id", "op": "=", "value": "back-door"},
                                    {"field": "object_type", "op": "=", "value": "person"}]
        assert (silence.ends_at - silence.starts_at).total_seconds() == 900
    post_event(client, headers, started_at=datetime.now(UTC).isoformat())
    run_matcher(app)
    live = client.get("/live").get_data(as_text=True)
    assert "status-silenced" in live and "Silenced by" in live
    assert client.post(f"/alerts/{alert['id']}/snooze", headers={**HX, "X-CSRFToken": token},
                       data={"scope": "everything", "minutes": "15"}).status_code == 422
    assert client.post(f"/alerts/{alert['id']}/snooze", headers={**HX, "X-CSRFToken": token},
                       data={"scope": "rule", "minutes": "7"}).status_code == 422
    shown = client.get(f"/alerts/{alert['id']}").get_data(as_text=True)
    assert f'hx-post="/alerts/{alert["id"]}/snooze"' in shown


def test_rule_form_names_mute_timings(app, client, token, headers):
    client.post("/mute-timings", data={"csrf_token": token, "name": "nights",
                                       "start_time": "22:00", "end_time": "06:00"})
    form = client.get("/rules/new").get_data(as_text=True)
    assert 'name="mute_timings" value="nights"' in form
    response = client.post("/rules/new", data={
        "csrf_token": token, "name": "Quiet at night", "severity": "low", "enabled": "y",
        "cooldown_seconds": "0", "conditions-0-field": "", "conditions-0-op": "eq",
        "conditions-0-value": "", "mute_timings": ["nights"], "action": "save"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    [rule] = client.get("/api/alerts/rules", headers=headers).json["rules"]
    assert rule["mute_timings"] == ["nights"]
    edit = client.get(f"/rules/{rule['id']}/edit").get_data(as_text=True)
    assert re.search(r'name="mute_timings" value="nights"[^>]*checked', edit)


def test_channel_mute_timings_from_the_page(app, client, token, headers):
    client.post("/mute-timings", data={"csrf_token": token, "name": "nights",
                                       "start_time": "22:00", "end_time": "06:00"})
    response = client.post("/mute-timings/channels", data={"csrf_token": token,
                                                            "channel-email": ["nights"]})
    assert response.status_code == 303
    settings = client.get("/api/notification/settings", headers=headers).json
    assert settings["channel_mute_timings"] == {"email": ["nights"]}
    page = client.get("/silences").get_data(as_text=True)
    assert re.search(r'name="channel-email" value="nights"\s*checked', page)
    assert "1 rule" not in page and "0 rules, email" in page
