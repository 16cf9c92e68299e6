"""In a real browser: the rule form's "How noisy would this be?" draws its charts (uPlot,
from this server, under the app's Content-Security-Policy) without saving the rule; the
configuration page shows an uploaded file's diff and applies it on confirmation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.browser import shot

expect = pytest.importorskip("playwright.sync_api").expect


def _iso(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")


def _csp_violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text)
            if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    return found


def test_how_noisy_draws_the_backtest_before_saving(page, server, api):
    camera = f"noisy-{uuid.uuid4().hex[:6]}"
    for hours in (1, 2, 26, 27, 28, 60):
        api("POST", "/api/events", json={
            "camera_id": camera, "started_at": _iso(hours), "risk_score": 70,
            "detections": [{"object_type": "person", "confidence": 0.9}]})
    violations = _csp_violations(page)
    page.goto(server + "/rules/new")
    page.get_by_label("Name").fill("Noisy camera")
    page.locator("#camera_ids_other").fill(camera)
    page.get_by_role("button", name="How noisy would this be?").click()
    noise = page.locator("#noise")
    expect(noise).to_contain_text("6 alerts over the last 7 days")
    expect(noise.locator(".noise-chart canvas")).to_have_count(2)  # drawn by uPlot
    expect(noise.locator(".noise-chart .u-title")).to_have_text(
        ["Alerts per day", "Alerts per hour of the week"])
    cells = noise.locator("table.noise-days tbody td").all_inner_texts()
    assert sum(int(c) for c in cells) == 6
    expect(page.get_by_label("Name")).to_have_value("Noisy camera")  # still the form
    shot(page, "rule-noise")
    assert api("GET", "/api/alerts/rules", params={"q": "Noisy camera"})["count"] == 0
    assert violations == []


def test_configuration_page_previews_then_applies(page, server, api):
    name = f"From a file {uuid.uuid4().hex[:6]}"
    violations = _csp_violations(page)
    page.goto(server + "/config")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download site.yaml").click()
    assert download.value.suggested_filename == "site.yaml"
    page.get_by_label("or paste it").fill(
        f"rules:\n  - name: {name}\n    severity: low\n    object_types: [car]\n")
    page.get_by_role("button", name="Show the changes").click()
    preview = page.locator("#config-diff")
    expect(preview).to_contain_text(f'+ create "{name}"')
    expect(preview).to_contain_text(f'replay "{name}" over the last 7 days')
    shot(page, "config-preview")
    assert api("GET", "/api/alerts/rules", params={"q": name})["count"] == 0
    page.get_by_role("button", name="Apply 1 change(s)").click()
    expect(page.locator(".flash")).to_contain_text("Applied 1 change(s) from pasted text.")
    assert api("GET", "/api/alerts/rules", params={"q": name})["count"] == 1
    assert violations == []
