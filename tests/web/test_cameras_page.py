"""The Cameras page, and camera_offline rules through the rule form."""

from __future__ import annotations

import re

from alerting.models import utcnow
from alerting.services import cameras
from alerting.services import rules as rule_service
from tests.support.web import csrf_token, login


def _token(client) -> str:
    login(client)
    return csrf_token(client.get("/rules/new").data)


def test_cameras_page_lists_status_and_last_seen(app, client, admin_headers):
    client.post("/api/cameras/porch/heartbeat", json={"name": "Porch"}, headers=admin_headers)
    with app.app_context():
        cameras.report(["garage"], "offline", utcnow(), "frigate:frigate")
    login(client)
    page = client.get("/cameras").text
    assert "1 offline" in page
    assert page.index("garage") < page.index("Porch")  # offline ones first
    assert re.search(r'camera-status status-offline">offline', page)
    assert re.search(r'camera-status status-online">online', page)
    assert 'aria-current="page">Cameras' in page
    fragment = client.get("/cameras", headers={"HX-Request": "true"}).text
    assert 'id="camera-list"' in fragment and "<!doctype" not in fragment


def _form(token: str, **fields) -> dict:
    return {"csrf_token": token, "name": "Camera unplugged", "severity": "critical",
            "enabled": "y", "camera_ids_other": "porch", "cooldown_seconds": "0",
            "schedule_days": ["mon"], "schedule_start": "00:00", "schedule_end": "00:00",
            "conditions-0-field": "", "conditions-0-op": "eq", "conditions-0-value": "",
            "action": "save", "kind": "camera_offline", **fields}


def test_rule_form_creates_a_camera_offline_rule(app, client):
    token = _token(client)
    response = client.post("/rules/new", data=_form(token, offline_after_seconds="120"))
    assert response.status_code == 303
    with app.app_context():
        [rule], _ = rule_service.list_rules()
        assert (rule.kind, rule.offline_after_seconds, rule.camera_ids) == \
            ("camera_offline", 120, ["porch"])
        page = client.get(f"/rules/{rule.id}/edit").text
    assert re.search(r'<option selected value="camera_offline">|'
                     r'<option value="camera_offline" selected>', page)
    assert 'value="120"' in page
    assert "camera silent ≥ 120 s" in client.get("/rules").text


def test_rule_form_places_the_offline_error_beside_its_input(client):
    token = _token(client)
    response = client.post("/rules/new", data=_form(token, offline_after_seconds="5"))
    assert response.status_code == 422
    assert 'id="offline_after_seconds-error"' in response.text
