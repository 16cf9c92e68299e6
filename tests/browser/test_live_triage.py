"""The live page as a triage list, the event page's "Why no alert?" and the one time display,
in Debian's Chromium at 1280 px and at 390 px, light and dark (axe-core checking each state:
the list folded and unfolded, the undo toast, "Why no alert?", the checklist): pinning,
filters in the URL that survive a reload (and hold for pushed rows), acknowledge all, dismiss
with undo, repeats and notification groups folded, click-through, the first-run checklist,
and times in the person's timezone."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.browser import ADMIN_PASSWORD, AXE, log_in, serious_violations, shot
from tests.support.server import running_server

expect = pytest.importorskip("playwright.sync_api").expect

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")


@pytest.fixture(params=[(size, scheme) for size in sorted(SIZES) for scheme in SCHEMES],
                ids=lambda param: "-".join(param))
def sized(request, page):
    """The logged-in page at 1280x800 or 390x844, in the light or dark scheme, and the size's
    name (with "-dark" for the dark scheme: the screenshots' names)."""
    size, scheme = request.param
    page.set_viewport_size(SIZES[size])
    page.emulate_media(color_scheme=scheme)
    return page, size if scheme == "light" else f"{size}-dark"


def no_serious_violation(page) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    if AXE.exists():  # node_modules/axe-core: `npm ci` (the a11y module says it is missing)
        assert serious_violations(page) == []


def _rule(api, camera: str, severity: str, **extra) -> dict:
    return api("POST", "/api/alerts/rules", json={
        "name": f"{severity.capitalize()} on {camera}", "severity": severity,
        "camera_ids": [camera], "cooldown_seconds": 0, "channels": [], **extra})


def _event(api, camera: str, obj: str = "person", when: datetime | None = None,
           **extra) -> dict:
    return api("POST", "/api/events", json={
        "camera_id": camera, "started_at": (when or datetime.now(UTC)).isoformat(),
        "risk_score": 70, "detections": [{"object_type": obj, "confidence": 0.87,
                                          "zone_ids": ["porch"]}], **extra})


def _wait_for_alert(api, camera: str) -> dict:
    """The camera's one alert, once the server's matcher has made it (and matched the rest)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = api("GET", f"/api/alerts?camera_id={camera}")["alerts"]
        pending = api("GET", f"/api/events?camera_id={camera}")["events"]
        if found and all(e.get("processed_at") for e in pending):
            [alert] = found
            return alert
        time.sleep(0.1)
    raise AssertionError(f"no alert for {camera}")


def _rows(page, camera: str):
    return page.locator("#alert-list .alert").filter(has_text=camera)


def test_triage_list(sized, server, api):
    page, size = sized
    camera = f"door-{uuid.uuid4().hex[:6]}"
    _rule(api, camera, "critical", object_types=["person"])
    _rule(api, camera, "low", object_types=["cat"])
    page.goto(f"{server}/live?camera_id={camera}")
    expect(page.locator("#live-status")).to_have_class(re.compile("is-live"))
    person = _event(api, camera, "person", summary="A person at the front door")
    for _ in range(4):
        _event(api, camera, "cat")
    expect(_rows(page, camera)).to_have_count(5)

    # Pinned: the open critical alert is on top, though four cats came after it.
    critical = page.locator("#alert-list .alert.sev-critical").filter(has_text=camera)
    expect(critical).to_have_class(re.compile("is-pinned"))
    low = page.locator("#alert-list .alert.sev-low").filter(has_text=camera)
    assert critical.bounding_box()["y"] < low.first.bounding_box()["y"]
    # Repeats folded: one cat row with "x4" that unfolds.
    visible_cats = page.locator("#alert-list .alert.sev-low:visible").filter(has_text=camera)
    expect(visible_cats).to_have_count(1)
    toggle = visible_cats.get_by_role("button", name=re.compile("4 alerts like this"))
    expect(toggle).to_have_text("×4")
    row_height = critical.bounding_box()["height"]
    assert row_height <= (48 if size == "desktop" else 56), row_height
    shot(page, f"live-triage-{size}", full_page=False)
    no_serious_violation(page)
    toggle.click()
    expect(visible_cats).to_have_count(4)
    no_serious_violation(page)
    visible_cats.first.get_by_role("button", name=re.compile("hide the repeats")).click()
    expect(visible_cats).to_have_count(1)

    # Filters live in the URL: a chip, then a reload, keep them; pushed rows obey them.
    page.get_by_role("link", name="hide low").click()
    page.wait_for_url(re.compile(r"hide_low=1"))
    assert f"camera_id={camera}" in page.url
    page.reload()
    expect(page.locator("#live-status")).to_have_class(re.compile("is-live"))
    shown = page.locator("#alert-list .alert:visible").filter(has_text=camera)
    expect(shown).to_have_count(1)
    _event(api, camera, "cat")  # pushed live, but low: hidden by the filter
    _event(api, camera, "person")
    expect(critical).to_have_count(2)
    expect(low).to_have_count(1)  # only the pushed cat: the reload left out the low ones
    expect(low).to_be_hidden()
    # The two people fold into one row; no cat is shown.
    expect(shown).to_have_count(1)
    expect(shown.get_by_role("button", name=re.compile("2 alerts like this"))).to_have_text("×2")
    expect(page.locator(".triage-filters .chip-hide-low")).to_have_attribute("aria-current",
                                                                             "true")

    # Click-through: the rule to the alert page, the thumbnail to the event page.
    head = shown.first
    head_id = head.get_attribute("data-alert-id")
    head.locator(".alert-rule").click()
    page.wait_for_url(re.compile(rf"/alerts/{head_id}$"))
    page.go_back()
    shown.get_by_role("button", name=re.compile("2 alerts like this")).click()
    page.locator(f"#alert-list .alert.sev-critical[data-camera='{camera}'] .thumb").last.click()
    page.wait_for_url(re.compile(rf"/events/{person['id']}$"))
    expect(page.get_by_role("heading", name=f"Event #{person['id']}")).to_be_visible()
    page.go_back()

    # Acknowledge all of this filter (confirmed): the critical ones, not the hidden cats.
    page.get_by_role("button", name="Acknowledge all shown").click()
    expect(page.get_by_text("Acknowledged 2 alerts.")).to_be_visible()
    expect(critical.first).not_to_have_class(re.compile("is-pinned"))
    statuses = {a["severity"]: a["status"] for a in
                api("GET", f"/api/alerts?camera_id={camera}&limit=100")["alerts"]}
    assert statuses == {"critical": "acknowledged", "low": "delivered"}

    # Dismiss hides the row, with an Undo that brings it back as it was.
    row = critical.first
    alert_id = row.get_attribute("data-alert-id")
    row.get_by_role("button", name=f"Dismiss alert #{alert_id}").click()
    expect(page.locator(f"#alert-{alert_id}")).to_be_hidden()
    toast = page.locator("#toast")
    expect(toast).to_contain_text(f"Alert #{alert_id} dismissed.")
    shot(page, f"live-undo-{size}", full_page=False)
    no_serious_violation(page)
    toast.get_by_role("button", name="Undo").click()
    expect(page.locator(f"#alert-{alert_id}")).to_be_visible()
    expect(toast).to_be_empty()
    assert api("GET", f"/api/alerts/{alert_id}")["status"] == "acknowledged"
    # Left alone, the toast goes by itself after a few seconds.
    page.locator(f"#alert-{alert_id}").get_by_role(
        "button", name=f"Dismiss alert #{alert_id}").click()
    expect(toast).to_contain_text("dismissed")
    expect(toast).to_be_empty(timeout=10_000)
    assert api("GET", f"/api/alerts/{alert_id}")["status"] == "dismissed"


def test_no_channels_and_the_last_event_after_a_reload(page, server, api):
    camera = f"shed-{uuid.uuid4().hex[:6]}"
    _rule(api, camera, "high")
    event = _event(api, camera)
    page.goto(f"{server}/live?camera_id={camera}")
    expect(_rows(page, camera).locator(".status-word")).to_have_text("no channels")
    _event(api, f"{camera}-other")  # matches nothing, but is the last event
    page.reload()
    expect(page.locator("#last-event")).to_contain_text(f"{camera}-other")
    expect(page.locator("#last-event")).not_to_contain_text("Waiting")
    assert event["id"]


def test_a_notification_group_is_one_row_that_expands(page, server, api, httpserver):
    """The alerts of one notification group fold as one row however far apart in time and
    whatever their cameras (repeats of a rule fold only per camera, close in time); an alert
    of the group pushed live joins the row."""
    yard, gate = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("yard", "gate"))
    name = f"Grouped {yard}"
    api("POST", "/api/alerts/rules", json={
        "name": name, "severity": "medium", "camera_ids": [yard, gate], "cooldown_seconds": 0,
        "channels": ["webhook"], "targets": {"webhook_url": httpserver.url_for("/group")},
        "group_by": ["rule_id"], "group_wait": 600})  # (notified as a group, not in the test)
    now = datetime.now(UTC)
    for camera, minutes in ((yard, 30), (gate, 15), (yard, 0)):
        _event(api, camera, when=now - timedelta(minutes=minutes))
    deadline = time.monotonic() + 15
    while len(api("GET", f"/api/alerts?camera_id={yard}")["alerts"]) < 2 \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    page.goto(f"{server}/live")
    expect(page.locator("#live-status")).to_have_class(re.compile("is-live"))
    rows = page.locator("#alert-list .alert").filter(has_text=name)
    shown = page.locator("#alert-list .alert:visible").filter(has_text=name)
    expect(rows).to_have_count(3)
    groups = {row.get_attribute("data-group") for row in rows.all()}
    assert len(groups) == 1 and groups.pop().startswith("group:")
    expect(shown).to_have_count(1)
    toggle = shown.get_by_role("button", name=re.compile("3 alerts like this"))
    expect(toggle).to_have_text("×3")
    toggle.click()
    expect(shown).to_have_count(3)
    shown.first.get_by_role("button", name=re.compile("hide the repeats")).click()
    expect(shown).to_have_count(1)
    _event(api, gate)  # pushed live: it joins the group's row
    expect(rows).to_have_count(4)
    expect(shown).to_have_count(1)
    expect(shown.get_by_role("button", name=re.compile("4 alerts like this"))).to_have_text("×4")


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    """A server of its own, with no key, rule, channel or event yet."""
    with running_server(tmp_path_factory.mktemp("fresh"), ALERTING_ADMIN_PASSWORD=ADMIN_PASSWORD,
                        ALERTING_RETRY_SCHEDULE="1") as (url, _proc, _log):
        yield url


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", sorted(SIZES))
def test_first_run_checklist(browser, fresh_server, size, scheme):
    context = browser.new_context(viewport=SIZES[size], color_scheme=scheme)
    page = context.new_page()
    try:
        log_in(page, fresh_server)
        page.goto(fresh_server + "/live")
        checklist = page.locator("#first-run")
        expect(checklist).to_be_visible()
        expect(checklist.locator("li")).to_have_count(4)
        for step in ("rule", "channel", "events"):  # (the key: made by another run)
            expect(checklist.locator(f"#step-{step}")).not_to_have_class(re.compile("is-done"))
        expect(checklist.get_by_role("link", name="a person at night")).to_have_attribute(
            "href", "/rules/new?preset=person-at-night")
        expect(checklist.locator("#step-key pre")).to_contain_text(
            f"curl -X POST {fresh_server}/api/events")
        shot(page, f"live-first-run-{size}{'' if scheme == 'light' else '-dark'}",
             full_page=False)
        no_serious_violation(page)
        # Making a key ticks its step.
        page.goto(fresh_server + "/keys")
        page.get_by_label("Name").fill(f"nvr-{size}-{scheme}")
        page.get_by_label("Scope").select_option("ingest")
        page.get_by_role("button", name=re.compile("Create")).click()
        expect(page.locator("#new-key-value")).to_be_visible()  # made (the form is htmx)
        page.goto(fresh_server + "/live")
        expect(page.locator("#step-key")).to_have_class(re.compile("is-done"))
        expect(page.locator("#step-rule")).not_to_have_class(re.compile("is-done"))
    finally:
        context.close()


def test_why_no_alert_cooldown_and_schedule(sized, server, api):
    page, size = sized
    camera = f"gate-{uuid.uuid4().hex[:6]}"
    rule = _rule(api, camera, "high", cooldown_seconds=3600)
    night = _rule(api, camera, "medium", name=f"Night on {camera}", schedule={
        "days": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"], "start_time": "22:00",
        "end_time": "06:00", "timezone": "UTC"})
    start = datetime(2026, 1, 15, 12, 0, tzinfo=UTC) + timedelta(minutes=uuid.uuid4().int % 500)
    _event(api, camera, when=start)
    later = _event(api, camera, when=start + timedelta(minutes=5))
    first_alert = _wait_for_alert(api, camera)
    assert first_alert["rule_id"] == rule["id"]
    page.goto(f"{server}/events/{later['id']}")
    why = page.locator("#why")
    expect(why.get_by_role("heading", name="Why no alert?")).to_be_visible()
    cooled = why.locator(f"#why-{rule['id']}")
    expect(cooled).to_contain_text("suppressed until")
    expect(cooled.get_by_role("link", name=f"alert #{first_alert['id']}")).to_be_visible()
    until = cooled.locator("time")
    expect(until).to_have_attribute("title", re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"))
    outside = why.locator(f"#why-{night['id']}")
    expect(outside).to_contain_text("no match: schedule")
    expect(outside.locator("[data-criterion=schedule]")).to_contain_text(
        "every day 22:00-06:00 UTC")
    shot(page, f"event-why-no-alert-{size}")
    no_serious_violation(page)
    cooled.get_by_role("link", name="Test the rule on this event").click()
    page.wait_for_url(re.compile(rf"/rules/{rule['id']}/test\?event_ids={later['id']}"))
    expect(page.locator("#test-results")).to_contain_text(f"alert #{first_alert['id']}")
    expect(page.locator(".would-fire")).to_have_text("0")


def test_times_in_the_persons_timezone(sized, server, api):
    page, size = sized
    camera = f"yard-{uuid.uuid4().hex[:6]}"
    event = _event(api, camera, when=datetime(2026, 1, 15, 2, 0, tzinfo=UTC))
    page.goto(server + "/account/password")
    detected = page.locator("#timezone-detected")
    expect(detected).to_be_visible()  # the browser's zone offered
    page.get_by_label("Show times in").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_text("Times are now shown in Asia/Tokyo.")).to_be_visible()
    try:
        page.goto(f"{server}/events/{event['id']}")
        started = page.locator(".facts time").first
        expect(started).to_have_attribute("title", "2026-01-15 11:00:00 GMT+9")
        expect(started).to_have_text(re.compile(r"^\d+ d ago$"))
        # The events list shows confidence as a percentage too.
        page.goto(f"{server}/events?camera_id={camera}")
        expect(page.locator("main")).to_contain_text("person 87%")
        # A row pushed to the live page is formatted the same way.
        _rule(api, camera, "high")
        page.goto(f"{server}/live?camera_id={camera}")
        expect(page.locator("#live-status")).to_have_class(re.compile("is-live"))
        _event(api, camera, when=datetime.now(UTC))
        pushed = _rows(page, camera).locator(".alert-time time")
        expect(pushed).to_have_text("just now")
        expect(pushed).to_have_attribute("title", re.compile(r"GMT\+9$"))
        shot(page, f"time-display-{size}", full_page=False)
        no_serious_violation(page)
    finally:
        page.goto(server + "/account/password")
        page.get_by_label("Show times in").select_option("")
        page.get_by_role("button", name="Save time zone").click()


def test_a_notification_group_is_one_expandable_row(page, server, api):
    """Alerts of one notification group (a rule's group_by) fold into one row, though their
    objects differ and they are farther apart than repeats fold (repeats: same rule, camera
    and object, within 10 minutes)."""
    camera = f"lane-{uuid.uuid4().hex[:6]}"
    # The group notifies an hour after its first alert: no delivery is tried in this test.
    api("POST", "/api/alerts/rules", json={
        "name": f"Grouped on {camera}", "severity": "medium", "camera_ids": [camera],
        "cooldown_seconds": 0, "channels": ["webhook"], "group_by": ["rule_id"],
        "group_wait": 3600, "targets": {"webhook_url": "http://127.0.0.1:9/never"}})
    page.goto(f"{server}/live?camera_id={camera}")
    expect(page.locator("#live-status")).to_have_class(re.compile("is-live"))
    # 20 minutes apart: farther than repeats fold, but one group.
    now = datetime.now(UTC)
    for minutes, obj in ((40, "person"), (20, "car"), (0, "dog")):
        _event(api, camera, obj, when=now - timedelta(minutes=minutes))
    expect(_rows(page, camera)).to_have_count(3)
    alerts = api("GET", f"/api/alerts?camera_id={camera}")["alerts"]
    assert len({a["group_id"] for a in alerts}) == 1 and alerts[0]["group_id"] is not None
    shown = page.locator("#alert-list .alert:visible").filter(has_text=camera)
    expect(shown).to_have_count(1)
    toggle = shown.get_by_role("button", name=re.compile("3 alerts like this"))
    expect(toggle).to_have_text("×3")
    toggle.click()
    expect(shown).to_have_count(3)
    # A reload renders the same rows from the database: still one group.
    page.reload()
    expect(page.locator("#alert-list .alert:visible").filter(has_text=camera)).to_have_count(1)


@pytest.mark.parametrize("size", sorted(SIZES))
def test_times_default_to_the_browsers_timezone(browser, server, api, size):
    """No timezone chosen on the account page: the browser's (here New York's) is used, in
    the same format as a chosen one."""
    event = _event(api, f"porch-{uuid.uuid4().hex[:6]}",
                   when=datetime(2026, 1, 15, 2, 0, tzinfo=UTC))
    context = browser.new_context(viewport=SIZES[size], timezone_id="America/New_York")
    try:
        page = context.new_page()
        log_in(page, server)
        page.goto(f"{server}/events/{event['id']}")
        started = page.locator(".facts time").first
        expect(started).to_have_attribute("title", "2026-01-14 21:00:00 GMT-5")
        expect(started).to_have_text(re.compile(r"^\d+ d ago$"))
    finally:
        context.close()
