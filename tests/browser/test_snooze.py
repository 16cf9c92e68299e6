"""One-click snooze from the live page: the silence it makes greys the next alert live."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from tests.support.browser import shot

expect = pytest.importorskip("playwright.sync_api").expect


def post_event(api, camera: str) -> None:
    api("POST", "/api/events", json={
        "camera_id": camera, "started_at": datetime.now(UTC).isoformat(), "risk_score": 70,
        "summary": "Gardener by the hedge",
        "detections": [{"object_type": "person", "confidence": 0.93, "zone_ids": ["hedge"]}]})


def test_snooze_this_camera_from_the_live_page(page, server, api):
    camera = f"garden-{uuid.uuid4().hex[:8]}"  # its own camera: the server is shared
    api("POST", "/api/alerts/rules", json={
        "name": f"Person in {camera}", "severity": "high", "camera_ids": [camera],
        "object_types": ["person"], "cooldown_seconds": 0, "channels": []})
    page.goto(server + "/live")
    expect(page.locator("#live-status")).to_have_class(re.compile("is-live"))
    post_event(api, camera)
    row = page.locator("#alert-list [data-alert-id]").filter(has_text=camera).first
    expect(row).to_be_visible()
    row.locator("summary", has_text="Snooze").click()
    row.get_by_role("button", name="1 h").first.click()  # "This camera" comes first
    row = page.locator("#alert-list [data-alert-id]").filter(has_text=camera).first
    expect(row.get_by_role("status")).to_contain_text("Snoozed this camera until")
    [silence] = [s for s in api("GET", "/api/silences?state=active")["silences"]
                 if s["matchers"] == [{"field": "camera_id", "op": "=", "value": camera}]]
    assert silence["created_by"] == "user:admin"

    post_event(api, camera)  # covered: it arrives greyed, with its reason
    silenced = page.locator("#alert-list .alert.status-silenced").filter(has_text=camera)
    expect(silenced).to_have_count(1)
    expect(silenced).to_contain_text("Silenced by")
    # Greyed by colour and a dashed border (not opacity, which fails the contrast check).
    assert silenced.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"
    shot(page, "live-snooze", full_page=False)

    page.goto(server + "/silences")
    listed = page.get_by_role("row").filter(has_text=camera)
    expect(listed).to_contain_text("Snoozed from alert")
    shot(page, "silences")
    listed.get_by_role("button", name="Expire now").click()
    expect(page.get_by_text("Silence expired.")).to_be_visible()
    assert api("GET", f"/api/silences/{silence['id']}")["state"] == "expired"
