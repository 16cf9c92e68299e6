"""Frigate end to end, in a real browser: a real server with ALERTING_MQTT_URL pointing at the
machine's Mosquitto; the Frigate instance's base URL (a local HTTP server playing Frigate's
API with real JPEGs) saved on the Integrations page, whose Test button shows what Frigate
answered; then a tracked object's lifecycle published exactly as Frigate does becomes an alert
on the live page, with its thumbnail served through the app. Screenshots:
docs/screenshots/integrations.png and docs/screenshots/frigate-live.png."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.support.browser import ADMIN_PASSWORD, shot
from tests.support.mqtt import FakeFrigate, Publisher, lifecycle, unique_prefix
from tests.support.server import running_server, wait_for

expect = pytest.importorskip("playwright.sync_api").expect

API_KEY = "browser-frigate-key-0123456789"
PREFIX = unique_prefix()


@pytest.fixture(scope="module")
def frigate():
    fake = FakeFrigate(cameras=("front_door", "driveway"))
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """This module's own server: MQTT configured, one Frigate prefix, no base URL yet."""
    tmp = tmp_path_factory.mktemp("frigate-live")
    with running_server(tmp, ALERTING_ADMIN_PASSWORD=ADMIN_PASSWORD,
                        ALERTING_BOOTSTRAP_API_KEY=API_KEY,
                        ALERTING_MQTT_URL="mqtt://127.0.0.1:1883",
                        ALERTING_MQTT_CLIENT_ID=unique_prefix("browser"),
                        ALERTING_FRIGATE_PREFIXES=PREFIX) as (url, _proc, _log):
        yield url


def _call(server, method, path, **kwargs):
    response = requests.request(method, server + path, timeout=10,
                                headers={"x-access-token": API_KEY}, **kwargs)
    response.raise_for_status()
    return response.json()


def _mqtt(server):
    return requests.get(server + "/api/health", timeout=5).json().get("mqtt") or {}


def test_frigate_messages_become_alerts_with_thumbnails(page, server, frigate):
    wait_for(lambda: _mqtt(server).get("connected"), timeout=30)
    connects = _mqtt(server)["connects"]

    page.goto(server + "/integrations")
    row = page.locator(".frigate-instance").first
    expect(row.get_by_label("Topic prefix")).to_have_value(PREFIX)
    row.get_by_label("Base URL").fill(frigate.url)
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#integrations-form .flash")).to_contain_text("saved")
    page.locator(".frigate-instance").first.get_by_role("button", name="Test Frigate").click()
    result = page.locator("#test-frigate-0")
    expect(result).to_contain_text(FakeFrigate.VERSION)
    expect(result).to_contain_text("cameras: driveway, front_door")
    shot(page, "integrations")

    # The subscriber noticed the change and reconnected with the instance's base URL.
    wait_for(lambda: (m := _mqtt(server)).get("connected") and m["connects"] > connects,
             timeout=30)
    _call(server, "POST", "/api/alerts/rules", json={
        "name": "Person on the front porch", "severity": "critical",
        "object_types": ["person"], "camera_ids": ["front_door"], "zone_ids": ["porch"],
        "cooldown_seconds": 0, "channels": []})
    page.goto(server + "/live")
    expect(page.locator("#live-status")).to_have_class(re.compile("is-live"))

    object_id = f"{time.time():.6f}-{PREFIX[-6:]}"
    publisher = Publisher()
    try:
        for message in lifecycle(object_id, "front_door", time.time() - 3)[:2]:
            frigate.objects[object_id] = message["after"]
            publisher.publish(f"{PREFIX}/events", message)
    finally:
        publisher.close()

    alert_row = page.locator("#alert-list [data-alert-id]").filter(
        has_text="Person on the front porch")
    expect(alert_row).to_have_count(1, timeout=20_000)
    thumb = alert_row.locator(".thumb img")
    expect(thumb).to_have_attribute("src", re.compile(r"^/media/events/\d+/thumbnail\.jpg$"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=thumb.element_handle())
    assert frigate.url not in page.content()  # the browser never talks to Frigate
    assert f"/api/events/{object_id}/thumbnail.jpg" in frigate.requests
    shot(page, "frigate-live", full_page=False)
