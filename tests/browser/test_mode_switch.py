"""The arming mode switch in the header, in a real browser: switching it on one page changes
the mode (htmx, with the CSRF header), the next page shows it, and the Modes page lists the
change with who made it."""

from __future__ import annotations

import pytest

from tests.support.browser import console_errors, nav_link, shot

expect = pytest.importorskip("playwright.sync_api").expect


def test_the_header_switch_changes_the_mode_everywhere(page, server, api):
    api("PUT", "/api/mode", json={"mode": "home"})
    errors = console_errors(page)
    page.goto(server + "/rules")
    select = page.locator("#mode-switch")
    expect(select).to_have_value("home")
    with page.expect_response(lambda r: r.url.endswith("/modes/current")) as answer:
        select.select_option("away")
    assert answer.value.status == 200
    # The switch is swapped for the one the server answered with: away is selected there.
    expect(page.locator("#mode-switch")).to_have_attribute("data-current", "away")
    current = api("GET", "/api/mode")
    assert (current["mode"], current["source"], current["changed_by"]) == \
        ("away", "user", "user:admin")
    shot(page, "mode-switch", full_page=False)

    api("PUT", "/api/mode/schedule", json={"timezone": "Europe/Berlin", "windows": [
        {"mode": "night", "start_time": "23:00", "end_time": "06:30"},
        {"mode": "away", "days": ["mon", "tue", "wed", "thu", "fri"], "start_time": "08:00",
         "end_time": "17:00"}]})
    page.goto(server + "/events")
    expect(page.locator("#mode-switch")).to_have_value("away")
    nav_link(page, "Modes").click()
    expect(page.locator(".current-mode")).to_have_text("away")
    expect(page.locator(".mode-history tbody tr").first).to_contain_text("user:admin")
    expect(page.locator("#w1-mode")).to_have_value("away")
    # Switched here, the page's own current mode and history follow.
    page.locator("#mode-switch").select_option("vacation")
    expect(page.locator(".current-mode")).to_have_text("vacation")
    expect(page.locator(".mode-history tbody tr").first).to_contain_text("vacation")
    shot(page, "modes")

    # Without waiting for htmx: the Set button posts the form as a plain browser would.
    page.locator("#mode-switch").evaluate("s => s.value = 'night'")
    with page.expect_navigation():
        page.locator("form.mode-switch").evaluate("f => f.submit()")
    expect(page.locator("#mode-switch")).to_have_value("night")
    assert api("GET", "/api/mode")["mode"] == "night"
    assert errors == []
    api("PUT", "/api/mode/schedule", json={"windows": []})
    api("PUT", "/api/mode", json={"mode": "home"})


def test_the_switch_fits_a_phone(browser, server, api):
    from tests.support.browser import PHONE, log_in

    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        log_in(page, server)
        page.goto(server + "/alerts")
        select = page.locator("#mode-switch")
        expect(select).to_be_visible()
        box = select.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]
        with page.expect_response(lambda r: r.url.endswith("/modes/current")):
            select.select_option("vacation")
        expect(page.locator("#mode-switch")).to_have_attribute("data-current", "vacation")
        shot(page, "phone-mode-switch", full_page=False)
    finally:
        context.close()
        api("PUT", "/api/mode", json={"mode": "home"})
