"""An action link from a notification, opened in the browser with no session: the page asks,
and the button acknowledges the alert."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.support.browser import shot
from tests.support.server import wait_for

expect = pytest.importorskip("playwright.sync_api").expect


def test_confirm_button_acknowledges_the_alert(context, server, api, httpserver):
    httpserver.expect_request("/actions-hook", method="POST").respond_with_data("ok")
    camera = f"porch-{uuid.uuid4().hex[:8]}"  # its own camera: the server is shared
    api("POST", "/api/alerts/rules", json={
        "name": f"Person on {camera}", "severity": "high", "camera_ids": [camera],
        "object_types": ["person"], "cooldown_seconds": 0, "channels": ["webhook"],
        "targets": {"webhook_url": httpserver.url_for("/actions-hook")}})
    api("POST", "/api/events", json={
        "camera_id": camera, "started_at": datetime.now(UTC).isoformat(), "risk_score": 70,
        "detections": [{"object_type": "person", "confidence": 0.9, "zone_ids": ["steps"]}]})
    [(request, _)] = wait_for(lambda: [e for e in httpserver.log
                                       if e[0].path == "/actions-hook"], timeout=30)
    body = request.get_json()["data"]
    alert_id, link = body["alert"]["id"], body["actions"]["acknowledge"]

    page = context.new_page()  # not logged in: a phone opening the mail
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Acknowledge?")
    expect(page.get_by_role("navigation")).to_have_count(0)  # not logged in
    assert api("GET", f"/api/alerts/{alert_id}")["status"] != "acknowledged"
    shot(page, "action-link-confirm", full_page=False)
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_have_text(f"Alert #{alert_id} acknowledged.")
    alert = api("GET", f"/api/alerts/{alert_id}")
    assert (alert["status"], alert["acknowledged_by"]) == ("acknowledged", "action link")
    page.goto(link)  # used: it says so, with no button
    expect(page.get_by_role("main")).to_contain_text("already been used")
    # In the page's main: the header has the theme toggle.
    expect(page.get_by_role("main").get_by_role("button")).to_have_count(0)
