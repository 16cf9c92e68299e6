"""Thumbnails on the live page, in a real browser: an event whose media sits on a local HTTP
server playing Frigate arrives live, and its alert row shows the thumbnail, loaded through
the app's media route (the page never names the detector)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.support.browser import shot
from tests.support.detector import detector_server, serve_frigate_media

expect = pytest.importorskip("playwright.sync_api").expect

CAMERA = "porch-thumbnails"


def test_live_page_shows_the_thumbnail(page, server, api):
    api("POST", "/api/alerts/rules", json={
        "name": "Person on the porch", "severity": "critical", "object_types": ["person"],
        "camera_ids": [CAMERA], "cooldown_seconds": 0, "channels": []})
    with detector_server() as frigate:
        media = serve_frigate_media(frigate, "1718987129.308396-fqk5ka")
        page.goto(server + "/live")
        expect(page.locator("#live-status")).to_have_class(re.compile("is-live"))
        event = api("POST", "/api/events", json={
            "camera_id": CAMERA, "started_at": datetime.now(UTC).isoformat(),
            "risk_score": 90, "summary": "A person on the porch", "media": media,
            "detections": [{"object_type": "person", "confidence": 0.95}]})
        row = page.locator("#alert-list [data-alert-id]").filter(has_text="Person on the porch")
        expect(row).to_have_count(1)
        thumb = row.locator(".thumb img")
        expect(thumb).to_have_attribute("src", f"/media/events/{event['id']}/thumbnail.jpg")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=thumb.element_handle())
        assert thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [160, 90]
        expect(page.locator("#last-event img")).to_have_attribute(
            "src", f"/media/events/{event['id']}/thumbnail.jpg")
        assert "127.0.0.1:" + str(frigate.port) not in page.content()
        shot(page, "live-thumbnails", full_page=False)
        requested = {request.path for request, _ in frigate.log}
        assert "/api/events/1718987129.308396-fqk5ka/thumbnail.jpg" in requested


def test_cameras_page_and_the_event_snapshot(page, server, api):
    with detector_server() as frigate:
        media = serve_frigate_media(frigate, "1718987200.1-snap")
        event = api("POST", "/api/events", json={
            "camera_id": CAMERA, "started_at": datetime.now(UTC).isoformat(),
            "risk_score": 30, "media": media,
            "detections": [{"object_type": "person", "confidence": 0.9}]})
        page.goto(server + f"/events/{event['id']}")
        snapshot = page.locator("img.snapshot")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=snapshot.element_handle())
        expect(page.get_by_role("link", name="Play the clip")).to_have_attribute(
            "href", f"/media/events/{event['id']}/clip.mp4")
        shot(page, "event-snapshot", full_page=False)
    api("POST", "/api/cameras/garage/heartbeat", json={"name": "Garage"})
    page.goto(server + "/cameras")
    row = page.locator("#camera-list tr").filter(has_text="Garage")
    expect(row).to_contain_text("online")
    expect(page.locator("#camera-list")).to_contain_text(CAMERA)
    shot(page, "cameras")
