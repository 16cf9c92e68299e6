"""Every page in a real Chromium at 1280 px and 390 px, light and dark: axe-core finds no
serious or critical violation, the console shows no Content-Security-Policy error (a form
swapped in with its errors included); the grouped navigation and its phone menu; the theme
toggle; the rule form's live summary, presets and sections.

axe-core comes from npm (package.json devDependencies, `npm ci`) and is injected by the test
from node_modules (evaluated over the DevTools protocol, so the page CSP stays on): the app
never serves it.
"""

from __future__ import annotations

import re

import pytest

from tests.support.browser import AXE, PHONE, log_in, nav_link, serious_violations, shot
from tests.support.web import PAGES

expect = pytest.importorskip("playwright.sync_api").expect

DESKTOP = {"width": 1280, "height": 900}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
FORM_HEIGHT_BEFORE = 3072  # px at 1280, at ae7a4de (BENCHMARKS.md, "Rule form length")
SCHEMES = ("light", "dark")
PUBLIC_PREFIX = re.compile(r"^https?://[^/]+")


@pytest.fixture(scope="module")
def seeded(api):
    """Something on every page: events with zones on two cameras, a rule and its alert."""
    for camera, zone, kind in (("back-door", "porch", "person"), ("garage", "drive", "car")):
        api("POST", "/api/events", json={
            "camera_id": camera, "risk_score": 70, "summary": f"A {kind} by the {zone}",
            "detections": [{"object_type": kind, "confidence": 0.9, "zone_ids": [zone]}]})
    found = api("GET", "/api/alerts/rules", params={"q": "A11y"})["rules"]
    if not found:
        # On its own camera: the other modules' events (on this session's one server) must
        # not raise alerts of this rule.
        found = [api("POST", "/api/alerts/rules", json={
            "name": "A11y person", "severity": "critical", "object_types": ["person"],
            "camera_ids": ["a11y-cam"], "cooldown_seconds": 0})]
        # An alert, so that the alert rows (and their buttons) are on the pages checked.
        api("POST", "/api/events", json={
            "camera_id": "a11y-cam", "risk_score": 70, "summary": "A person on the a11y camera",
            "detections": [{"object_type": "person", "confidence": 0.9}]})
    return found[0]["id"]


@pytest.fixture(scope="module")
def seeded_more(api, seeded, make_httpserver):
    """The pages of one item the first seed has none of: a notification group and its
    action link (the group's webhook, to a loopback receiver), a silence and a mute timing
    (their tables), and the event and alert pages' paths."""
    from tests.support.server import wait_for

    make_httpserver.expect_request("/a11y-hook", method="POST").respond_with_data("ok")
    camera = "a11y-group-cam"  # its own camera, matched by nothing else
    api("POST", "/api/alerts/rules", json={
        "name": "A11y grouped", "severity": "low", "camera_ids": [camera],
        "cooldown_seconds": 0, "channels": ["webhook"], "group_by": ["rule_id"],
        "group_wait": 0, "targets": {"webhook_url": make_httpserver.url_for("/a11y-hook")}})
    api("POST", "/api/events", json={
        "camera_id": camera, "risk_score": 70, "summary": "A person in the a11y group",
        "detections": [{"object_type": "person", "confidence": 0.9}]})
    [(request, _)] = wait_for(lambda: [e for e in make_httpserver.log
                                       if e[0].path == "/a11y-hook"][:1], timeout=30)
    data = request.get_json()["data"]
    api("POST", "/api/silences", json={
        "matchers": [{"field": "camera_id", "op": "=", "value": "a11y-silenced-cam"}],
        "duration": 3600, "comment": "a11y: a row in the silences table"})
    if not api("GET", "/api/mute-timings")["mute_timings"]:
        api("POST", "/api/mute-timings", json={"name": "a11y-nights", "intervals": [
            {"days": ["sat"], "start_time": "22:00", "end_time": "06:00"}]})
    event = api("GET", "/api/events", params={"limit": 1})["events"][0]["id"]
    alert = api("GET", "/api/alerts", params={"limit": 1})["alerts"][0]["id"]
    return [f"/events/{event}", f"/alerts/{alert}", f"/alerts/groups/{data['group_id']}",
            PUBLIC_PREFIX.sub("", data["actions"]["acknowledge_group"]),
            f"/rules/{seeded}/test?event_ids={event}", f"/rules/{seeded}/delete",
            "/events/999999999"]


def open_context(browser, size: str, scheme: str):
    context = browser.new_context(viewport=SIZES[size], color_scheme=scheme,
                                  is_mobile=size == "phone", has_touch=size == "phone")
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def logged_in(browser, server):
    """open(size, scheme, path) -> a logged-in page at path; its context closes after the test."""
    contexts = []

    def open_(size: str, scheme: str, path: str):
        context = open_context(browser, size, scheme)
        contexts.append(context)
        page = context.new_page()
        log_in(page, server)
        page.goto(server + path)
        return page

    yield open_
    for context in contexts:
        context.close()


def csp_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
            else None)
    return errors


@pytest.mark.skipif(not AXE.exists(), reason="node_modules/axe-core is missing: run `npm ci`")
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_passes_axe_with_no_csp_error(browser, server, seeded, seeded_more, size,
                                                 scheme):
    context = open_context(browser, size, scheme)
    page = context.new_page()
    errors = csp_errors(page)
    problems: dict[str, list[str]] = {}
    page.goto(server + "/login")
    problems["/login"] = serious_violations(page)
    log_in(page, server)
    # /api/docs (Swagger UI's own markup, not in PAGES) is left out. Pages of one item too:
    # a rule's form, its test run on an event, its delete confirmation, an event (with "why no
    # alert"), an alert, a notification group, a group's action link and the not-found page.
    for path in [p for p in PAGES if p != "/login"] + [f"/rules/{seeded}/edit"] + seeded_more:
        response = page.goto(server + path)
        assert response is not None and response.status == (
            404 if path == "/events/999999999" else 200), path
        page.wait_for_load_state("networkidle")
        found = serious_violations(page)
        if found:
            problems[path] = found
    # A form swapped in with its errors (htmx), and the live summary's swaps.
    page.goto(server + "/rules/new")
    page.get_by_label("Name", exact=True).fill("")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".error-summary")).to_be_visible()
    problems["/rules/new (with errors)"] = serious_violations(page)
    assert {path: found for path, found in problems.items() if found} == {}
    assert errors == []
    context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_theme_follows_the_system_and_the_toggle_sticks(browser, server, scheme):
    context = open_context(browser, "desktop", scheme)
    page = context.new_page()
    page.goto(server + "/login")
    background = "getComputedStyle(document.body).backgroundColor"
    dark_bg, light_bg = "rgb(17, 21, 27)", "rgb(245, 246, 248)"
    expect(page.locator("body")).to_have_css("background-color",
                                             dark_bg if scheme == "dark" else light_bg)
    toggle = page.locator("#theme-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "true" if scheme == "dark" else "false")
    toggle.click()
    flipped = light_bg if scheme == "dark" else dark_bg
    expect(page.locator("body")).to_have_css("background-color", flipped)
    # Stored: the next page starts in the chosen theme (set in <head>, before the body paints).
    page.goto(server + "/login")
    assert page.evaluate(background) == flipped
    assert page.evaluate("document.documentElement.dataset.theme") == \
        ("light" if scheme == "dark" else "dark")
    shot(page, f"login-{'light' if scheme == 'dark' else 'dark'}", full_page=False)
    context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_navigation_fits_and_opens_by_keyboard_at_1280(logged_in, scheme):
    page = logged_in("desktop", scheme, "/rules")
    nav = page.get_by_role("navigation", name="Main")
    box = nav.bounding_box()
    assert box is not None and box["height"] < 40, f"the navigation wraps ({box})"
    expect(page.locator("#nav-toggle")).to_be_hidden()
    summary = nav.locator("summary", has_text="Alerts")
    summary.focus()
    page.keyboard.press("Enter")
    expect(nav.get_by_role("link", name="Events", exact=True)).to_be_visible()
    shot(page, f"nav-{scheme}", full_page=False)
    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Events", exact=True)).to_be_hidden()
    expect(summary).to_be_focused()
    nav_link(page, "Keys").click()
    expect(page).to_have_url(re.compile(r"/keys$"))
    expect(nav.locator("summary.has-current")).to_have_text("Setup")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_phone_menu(logged_in, scheme):
    page = logged_in("phone", scheme, "/rules")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    header = page.locator("header.topbar").bounding_box()
    assert header is not None and header["height"] < 110, header
    toggle = page.get_by_role("button", name="Menu")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    nav.locator("summary", has_text="Alerts").click()
    shot(page, f"phone-menu-{scheme}", full_page=False)
    nav.get_by_role("link", name="Silences").click()
    expect(page).to_have_url(re.compile(r"/silences$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", list(SIZES))
def test_the_rule_form_summary_presets_and_sections(logged_in, seeded, size, scheme):
    page = logged_in(size, scheme, "/rules/new")
    page.get_by_role("link", name="Person at night").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Person at night")
    summary = page.locator("#rule-summary")
    expect(summary).to_contain_text("High: a person (at least 60% sure) on any camera at night")
    # Zones under their cameras.
    zones = page.get_by_role("group", name="Zones")
    expect(zones.get_by_role("group", name="back-door").get_by_label("porch")).to_be_visible()
    expect(zones.get_by_role("group", name="garage").get_by_label("drive")).to_be_visible()
    # Typing updates the summary (htmx), with the dedup key of a sample event.
    page.get_by_role("group", name="Cameras").get_by_label("back-door").check()
    zones.get_by_role("group", name="back-door").get_by_label("porch").check()
    page.get_by_label("Timezone").fill("Europe/London")
    page.get_by_label("Cooldown", exact=True).fill("10")
    expect(summary).to_contain_text(
        "High: a person (at least 60% sure) on back-door in porch at night (22:00-06:00 "
        "Europe/London), at most once every 10 min per camera and object")
    expect(summary.locator("code")).to_have_text("RULE:back-door:person")
    page.get_by_label("Per zone").check()
    expect(summary.locator("code")).to_have_text("RULE:back-door:porch")
    # The schedule's fields only while it is on.
    page.get_by_label("Only alert inside a schedule").uncheck()
    expect(page.get_by_label("Until")).to_be_hidden()
    expect(summary).to_contain_text("at any time")
    page.get_by_label("Only alert inside a schedule").check()
    expect(page.get_by_label("Until")).to_be_visible()
    # The save bar stays in view at the bottom of the screen while the form scrolls.
    save = page.get_by_role("button", name="Save rule")
    page.mouse.wheel(0, 300)
    box = save.bounding_box()
    viewport = SIZES[size]
    assert box is not None and box["y"] + box["height"] <= viewport["height"]
    shot(page, f"rule-form-{size}-{scheme}", full_page=False)
    # A name of its own: the session's rules are exported as code later, which needs unique names.
    page.get_by_label("Name", exact=True).fill(f"Person at night ({size}, {scheme})")
    save.click()
    expect(page).to_have_url(re.compile(r"/rules$"))


def test_the_rule_form_length_at_1280(browser, tmp_path, record_property):
    """The new-rule form's document height at 1280 px with two cameras' events seen, on a
    server of its own (the session's server holds every other module's cameras and zones),
    as bench/rule_form_length.py measured it before and after (BENCHMARKS.md)."""
    import requests

    from tests.support.browser import ADMIN_PASSWORD
    from tests.support.server import running_server

    key = "len-key-0123456789abcdef"
    with running_server(tmp_path, ALERTING_ADMIN_PASSWORD=ADMIN_PASSWORD,
                        ALERTING_BOOTSTRAP_API_KEY=key) as (url, _proc, _log):
        for camera, zone, kind in (("back-door", "porch", "person"), ("garage", "drive", "car")):
            requests.post(url + "/api/events", headers={"x-access-token": key}, timeout=10,
                          json={"camera_id": camera, "risk_score": 70, "detections": [
                              {"object_type": kind, "confidence": 0.9, "zone_ids": [zone]}]})
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            log_in(page, url)
            page.goto(url + "/rules/new")
            height = page.evaluate("document.documentElement.scrollHeight")
        finally:
            page.close()
    record_property("rule_form_height_px", height)
    print(f"rule form height at 1280 px: {height} px")
    assert height < FORM_HEIGHT_BEFORE


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", list(SIZES))
def test_duplicate_from_the_rule_page(logged_in, seeded, api, size, scheme):
    page = logged_in(size, scheme, f"/rules/{seeded}/edit")
    page.get_by_role("button", name="Duplicate rule").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value(re.compile(r"\(copy\)$"))
    expect(page.get_by_role("status").first).to_contain_text("created, disabled")
    copy_id = page.url.rstrip("/").split("/")[-2]
    assert api("GET", f"/api/alerts/rules/{copy_id}")["enabled"] is False
    api("DELETE", f"/api/alerts/rules/{copy_id}")


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", list(SIZES))
def test_a_new_key_is_copied_with_one_click(logged_in, size, scheme):
    page = logged_in(size, scheme, "/keys")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_label("Name").fill(f"camera-{size}-{scheme}")
    page.get_by_label("Scope").select_option("ingest")
    page.get_by_role("button", name="Create key").click()
    value = page.locator("#new-key-value")
    expect(value).to_have_css("font-family", re.compile("mono", re.I))
    page.locator("[data-copy-target=new-key-value]").click()
    expect(page.locator("[data-copy-target=new-key-value]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == value.input_value()
    page.locator("[data-copy-target=new-key-example]").click()
    assert page.evaluate("navigator.clipboard.readText()").startswith("curl -X POST ")
    shot(page, f"keys-new-{size}-{scheme}", full_page=False)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_filters_fold_on_a_phone_unless_one_is_active(logged_in, server, seeded, scheme):
    page = logged_in("phone", scheme, "/events")
    box = page.locator("details.filter-box")
    expect(box).not_to_have_attribute("open", "")
    expect(page.get_by_label("Object type")).to_be_hidden()
    # Folded, the list starts in the first screen.
    first = page.locator("#event-list tbody tr").first.bounding_box()
    assert first is not None and first["y"] < PHONE["height"] / 2, first
    shot(page, f"events-phone-{scheme}", full_page=False)
    box.locator("summary").click()
    expect(page.get_by_label("Object type")).to_be_visible()
    page.goto(server + "/events?object_type=person")
    expect(box).to_have_attribute("open", "")
    expect(box.locator("summary")).to_contain_text("1 active")
    for path in ("/alerts", "/audit", "/rules"):
        page.goto(server + path)
        expect(page.locator("details.filter-box")).not_to_have_attribute("open", "")


def test_filters_are_open_on_a_desktop(logged_in, seeded):
    page = logged_in("desktop", "light", "/events")
    expect(page.locator("details.filter-box")).to_have_attribute("open", "")
    expect(page.get_by_label("Object type")).to_be_visible()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_an_event_card_is_compact_on_a_phone(logged_in, seeded, scheme):
    page = logged_in("phone", scheme, "/events")
    rows = page.locator("#event-list tbody tr")
    expect(rows.first).to_be_visible()
    heights = [rows.nth(i).bounding_box()["height"] for i in range(min(rows.count(), 5))]
    assert heights and max(heights) < 200, heights
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", list(SIZES))
def test_the_allow_list_on_the_notifications_page(logged_in, api, size, scheme):
    page = logged_in(size, scheme, "/notifications#allow-list")
    section = page.locator("#allow-list")
    expect(section.locator(".fixed-cidrs")).to_contain_text("127.0.0.0/8")
    expect(section).to_contain_text("What this opens:")
    box = section.get_by_label("Networks (one per line, CIDR form)")
    box.fill("192.168.1.10\n10.1.2.300/24")
    section.get_by_role("button", name="Save allowed networks").click()
    expect(page.locator("#webhook_allow_cidrs-error")).to_contain_text("10.1.2.300/24")
    section = page.locator("#allow-list")
    section.get_by_label("Networks (one per line, CIDR form)").fill("192.168.1.10")
    section.get_by_role("button", name="Save allowed networks").click()
    expect(page.locator("#allow-list textarea")).to_have_value("192.168.1.10/32")
    assert api("GET", "/api/notification/config")["webhook_allow_cidrs"] == ["192.168.1.10/32"]
    page.locator("#allow-list").scroll_into_view_if_needed()
    shot(page, f"notifications-allow-list-{size}{'' if scheme == 'light' else '-dark'}",
         full_page=False)
    api("PUT", "/api/notification/config", json={"webhook_allow_cidrs": []})
