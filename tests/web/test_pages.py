"""The pages through Flask's test client: every page renders, htmx gets fragments (Vary:
HX-Request), forms work as plain POSTs, errors sit beside their fields, CSRF is required."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from alerting.extensions import db
from alerting.models import Delivery, utcnow
from tests.support.app import make_app, make_key
from tests.support.factories import create_rule, post_event, run_matcher
from tests.support.pages import (  # noqa: F401 (used below)
    HX,
    csrf_token,
    error_beside,
    log_in,
    only_rule,
    rule_count,
    rule_form,
    settings_form,
)

# --- every page -------------------------------------------------------------------------------

PAGES = ["/rules", "/rules/new", "/events", "/cameras", "/alerts", "/notifications", "/keys",
         "/silences"]
FRAGMENT_IDS = {"/rules": 'id="rule-list"', "/rules/new": 'id="rule-form"',
                "/events": 'id="event-list"', "/cameras": 'id="camera-list"',
                "/alerts": 'id="alert-history"',
                "/notifications": 'id="settings-form"', "/keys": 'id="keys"',
                "/silences": 'id="silences"'}


@pytest.mark.parametrize("path", PAGES)
def test_page_needs_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", PAGES)
def test_page_full_and_fragment(client, token, path):
    full = client.get(path)
    assert full.status_code == 200
    assert "HX-Request" in full.headers["Vary"]
    html = full.get_data(as_text=True)
    assert html.startswith("<!doctype html>") and FRAGMENT_IDS[path] in html
    assert 'aria-current="page"' in html
    fragment = client.get(path, headers=HX)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    part = fragment.get_data(as_text=True)
    assert "<html" not in part and FRAGMENT_IDS[path] in part


def test_history_restore_gets_the_full_page(client, token):
    response = client.get("/rules", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in response.get_data(as_text=True)


def test_nav_links_every_page(client, token):
    html = client.get("/rules").get_data(as_text=True)
    nav = re.search(r'<nav id="main-nav" aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    menus = re.findall(r"<summary[^>]*>(\w+)</summary>(.*?)</details>", nav, re.S)
    assert [(name, re.findall(r">(\w+)</a>", links)) for name, links in menus] == [
        ("Alerts", ["Live", "Alerts", "Events", "Silences"]),
        ("Setup", ["Rules", "Cameras", "Notifications", "Integrations", "Modes", "Keys",
                   "Config"]),
        ("Admin", ["Audit", "API"])]
    assert 'href="/api/docs"' in nav
    # The menu holding the page shown is marked, and so is the page's link.
    assert '<summary class="has-current">Setup</summary>' in nav
    assert 'href="/rules" aria-current="page">Rules</a>' in nav


@pytest.mark.parametrize("path", ["/login", "/api/docs"])
def test_every_page_names_the_favicon_the_app_serves(client, path):
    html = client.get(path).get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html).group(1)
    with client.get(href) as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert icon.get_data(as_text=True).lstrip().startswith("<svg")


def test_no_inline_script_or_handlers(client, app, token, headers):
    rule = create_rule(client, headers)
    post_event(client, headers)
    run_matcher(app)
    for path in [*PAGES, f"/rules/{rule['id']}/edit", f"/rules/{rule['id']}/test",
                 "/events/1", "/alerts/1"]:
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert " style=" not in html, path


# --- rules: list, toggle, delete ----------------------------------------------------------------


def test_rule_list_says_confidence_as_a_percentage(client, token, headers):
    """As every page says a confidence (events, alerts, the rule's summary): 60%, not 0.6."""
    rule = create_rule(client, headers, min_confidence=0.6)
    html = client.get("/rules").get_data(as_text=True)
    row = re.search(rf'<tr id="rule-{rule["id"]}".*?</tr>', html, re.S).group(0)
    assert "<span>confidence ≥ 60%</span>" in row, row


def test_rule_list_says_all_day_for_a_schedule_that_starts_where_it_ends(client, token,
                                                                      headers):
    days = ["sat", "sun"]
    whole = create_rule(client, headers, name="Weekends", schedule={
        "days": days, "start_time": "00:00", "end_time": "00:00"})
    nights = create_rule(client, headers, name="Nights", schedule={
        "days": days, "start_time": "22:00", "end_time": "06:00"})
    html = client.get("/rules").get_data(as_text=True)
    rows = {r["id"]: re.search(rf'<tr id="rule-{r["id"]}".*?</tr>', html, re.S).group(0)
            for r in (whole, nights)}
    assert "<span>sun sat all day</span>" in rows[whole["id"]]  # (days in week order)
    assert "<span>sun sat 22:00–06:00</span>" in rows[nights["id"]]


def test_rule_list_filters_search_and_counts(app, client, token, headers):
    rule = create_rule(client, headers)
    create_rule(client, headers, name="Cars at night", severity="low", enabled=False)
    post_event(client, headers)
    run_matcher(app)
    html = client.get("/rules").get_data(as_text=True)
    assert "2 rules" in html
    row = re.search(rf'<tr id="rule-{rule["id"]}".*?</tr>', html, re.S).group(0)
    assert re.search(r">1</a>", row)  # one alert in the last 24 h
    assert "Cars at night" not in client.get("/rules?enabled=true").get_data(as_text=True)
    assert "Cars at night" in client.get("/rules?severity=low").get_data(as_text=True)
    found = client.get("/rules?q=NIGHT", headers=HX).get_data(as_text=True)
    assert "1 rule" in found and "Cars at night" in found


def test_rule_list_bad_filter_is_reported_not_fatal(client, token):
    response = client.get("/rules?severity=loud")
    assert response.status_code == 200
    assert "severity: must be one of critical, high, medium, low" in response.get_data(
        as_text=True)


def test_toggle_plain_post_and_htmx(app, client, token, headers):
    rule = create_rule(client, headers)
    response = client.post(f"/rules/{rule['id']}/enabled",
                           data={"csrf_token": token, "enabled": "false"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/rules")
    assert only_rule(app)["enabled"] is False
    response = client.post(f"/rules/{rule['id']}/enabled", data={"enabled": "true"},
                           headers={**HX, "X-CSRFToken": token})
    html = response.get_data(as_text=True)
    assert html.startswith(f'<tr id="rule-{rule["id"]}"') and 'aria-checked="true"' in html
    assert only_rule(app)["enabled"] is True


def test_delete_asks_first_then_deletes(app, client, token, headers):
    rule = create_rule(client, headers)
    page = client.get(f"/rules/{rule['id']}/delete").get_data(as_text=True)
    assert "Delete “Person at the back door”?" in page
    response = client.post(f"/rules/{rule['id']}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert rule_count(app) == 0


def test_delete_over_htmx_answers_a_row(client, token, headers):
    rule = create_rule(client, headers)
    response = client.post(f"/rules/{rule['id']}/delete", headers={**HX, "X-CSRFToken": token})
    assert response.get_data(as_text=True).startswith('<tr class="deleted">')


@pytest.mark.parametrize("path", ["/rules/new", "/keys", "/notifications"])
def test_posts_without_csrf_token_are_refused(client, token, path):
    assert client.post(path, data={"name": "x"}).status_code == 400


def test_toggle_without_csrf_token_is_refused(app, client, token, headers):
    rule = create_rule(client, headers)
    assert client.post(f"/rules/{rule['id']}/enabled", data={"enabled": "false"},
                       headers=HX).status_code == 400
    assert only_rule(app)["enabled"] is True


# --- the rule form ----------------------------------------------------------------------------


def test_create_rule_with_a_plain_post(app, client, token):
    data = rule_form(token, **{
        "description": "  Night watch ", "risk_threshold": "50", "min_confidence": "80",
        "object_types_other": "Dog, cat", "zone_ids_other": "porch",
        "schedule_on": "y", "schedule_days": ["mon", "sat"], "schedule_start": "22:00",
        "schedule_end": "06:00", "schedule_timezone": "europe/paris",
        "conditions-0-field": "", "conditions-0-op": "eq", "conditions-0-value": "",
        "conditions-1-field": "labels", "conditions-1-op": "in",
        "conditions-1-value": "delivery, intruder",
        "conditions-2-field": "duration_seconds", "conditions-2-op": "gt",
        "conditions-2-value": "2.5",
        "dedup_key_template": "{camera_id}:{hour}", "channels": ["webhook", "email"],
        "email_recipients": "a@example.com, b@example.com",
        "webhook_url": "https://93.184.215.14/x", "push_urls": "ntfy://a\nntfy://b"})
    response = client.post("/rules/new", data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith("/rules")
    rule = only_rule(app)
    assert rule["description"] == "Night watch" and rule["risk_threshold"] == 50
    assert rule["min_confidence"] == 0.8
    assert rule["object_types"] == ["person", "Dog", "cat"]
    assert rule["zone_ids"] == ["porch"]
    assert rule["schedule"] == {"days": ["mon", "sat"], "start_time": "22:00",
                                "end_time": "06:00", "timezone": "Europe/Paris"}
    assert rule["conditions"] == [
        {"field": "labels", "op": "in", "value": ["delivery", "intruder"]},
        {"field": "duration_seconds", "op": "gt", "value": 2.5}]
    assert rule["channels"] == ["webhook", "email"] and rule["cooldown_seconds"] == 0
    assert rule["targets"] == {"email_recipients": ["a@example.com", "b@example.com"],
                               "webhook_url": "https://93.184.215.14/x",
                               "push_urls": ["ntfy://***", "ntfy://***"]}  # topics are secret
    assert "saved" in client.get("/rules").get_data(as_text=True)


def test_rule_form_escalation_round_trip(app, client, token):
    data = rule_form(token, escalate_after="300", escalate_min_severity="high",
                     escalation_email_recipients="neighbour@example.com",
                     escalation_push_urls="ntfy://u:s3cret@93.184.215.14/t")
    response = client.post("/rules/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    rule = only_rule(app)
    assert rule["escalate_after"] == 300 and rule["escalate_min_severity"] == "high"
    assert rule["escalation_targets"] == {"email_recipients": ["neighbour@example.com"],
                                          "webhook_url": None,
                                          "push_urls": ["ntfy://u:***@93.184.215.14/***"]}
    html = client.get(f"/rules/{rule['id']}/edit").get_data(as_text=True)
    assert 'value="300"' in html and "ntfy://u:***@93.184.215.14/***" in html
    assert '<option selected value="high">' in html


@pytest.mark.parametrize(("fields", "field_id", "message"), [
    ({"name": "  "}, "name", "must not be empty"),
    ({"severity": "loud"}, "severity", "must be one of critical, high, medium, low"),
    ({"risk_threshold": "abc"}, "risk_threshold", "must be an integer from 0 to 100"),
    ({"min_confidence": "150"}, "min_confidence", "must be a percentage from 0 to 100"),
    ({"cooldown_seconds": "-1"}, "cooldown_seconds", "must be an integer"),
    ({"dedup_key_template": "{camera}"}, "dedup_key_template", "unknown variable {camera}"),
    ({"schedule_on": "y", "schedule_start": "25:00"}, "schedule_start",
     "must be a time HH:MM from 00:00 to 23:59"),
    ({"schedule_on": "y", "schedule_timezone": "Mars/Olympus"}, "schedule_timezone",
     "unknown timezone"),
    ({"schedule_on": "y", "schedule_days": []}, "schedule_days", "must list at least one day"),
    ({"email_recipients": "ok@example.com, bob@"}, "email_recipients",
     "“bob@” must be an email address"),
    ({"webhook_url": "ftp://x"}, "webhook_url", "must be an http or https URL"),
    ({"push_urls": "not a url"}, "push_urls", "must be a notification URL"),
    ({"channels": ["pager"]}, "channels", "must be one of email, webhook, push"),
    ({"escalate_after": "0"}, "escalate_after", "must be an integer from 1 to 604800"),
    ({"escalation_webhook_url": "ftp://x"}, "escalation_webhook_url",
     "must be an http or https URL"),
])
def test_validation_errors_beside_their_fields(app, client, token, fields, field_id, message):
    response = client.post("/rules/new", data=rule_form(token, **fields))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in error_beside(html, field_id)
    assert "1 field needs attention" in html
    assert re.search(rf'id="{field_id}(-0)?"[^>]*autofocus|autofocus[^>]*id="{field_id}', html) \
        or field_id in ("severity", "channels", "schedule_days")
    assert rule_count(app) == 0


def test_condition_errors_go_to_their_row(client, token):
    """Blank rows are skipped in the payload, so payload index 0 is form row 1 here."""
    data = rule_form(token, **{
        "conditions-0-field": "", "conditions-0-op": "eq", "conditions-0-value": "",
        "conditions-1-field": "risk_score", "conditions-1-op": "gt",
        "conditions-1-value": "lots",
        "conditions-2-field": "summary", "conditions-2-op": "gt", "conditions-2-value": "x"})
    html = client.post("/rules/new", data=data).get_data(as_text=True)
    assert "must be a number" in error_beside(html, "conditions-1-value")
    assert "gt needs a number field" in error_beside(html, "conditions-2-op")
    assert 'id="conditions-0-value-error"' not in html
    assert "2 fields need attention" in html


def test_form_keeps_what_was_typed_after_an_error(client, token):
    data = rule_form(token, dedup_key_template="{nope}", object_types_other="raccoon",
                     **{"conditions-0-field": "labels", "conditions-0-op": "contains",
                        "conditions-0-value": "fox"})
    html = client.post("/rules/new", data=data).get_data(as_text=True)
    assert 'value="Person at the back door"' in html and 'value="raccoon"' in html
    assert 'value="fox"' in html and re.search(r'<option selected value="labels">', html)
    assert re.search(r'value="person"\s+id="object_types-\d+" checked', html)


def test_htmx_post_with_errors_answers_the_form_fragment(client, token):
    response = client.post("/rules/new", data=rule_form(token, name=""), headers=HX)
    assert response.status_code == 422 and "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert "<html" not in html and '<form id="rule-form"' in html
    assert "must not be empty" in error_beside(html, "name")


def test_htmx_post_success_redirects_the_page(app, client, token):
    response = client.post("/rules/new", data=rule_form(token), headers=HX)
    assert response.headers["HX-Redirect"].endswith("/rules")
    assert only_rule(app)["name"] == "Person at the back door"


def test_add_and_remove_condition_rows_save_nothing(app, client, token):
    html = client.post("/rules/new", data=rule_form(token, action="add_condition")) \
        .get_data(as_text=True)
    assert 'name="conditions-1-field"' in html and 'name="conditions-2-field"' not in html
    data = rule_form(token, action="remove_condition:0", **{
        "conditions-1-field": "summary", "conditions-1-op": "contains",
        "conditions-1-value": "door"})
    html = client.post("/rules/new", data=data).get_data(as_text=True)
    assert 'name="conditions-1-field"' not in html and 'value="door"' in html
    assert rule_count(app) == 0


def test_form_offers_values_seen_in_events(client, token, headers):
    post_event(client, headers, camera_id="garage",
               detections=[{"object_type": "car", "zone_ids": ["drive"]}])
    html = client.get("/rules/new").get_data(as_text=True)
    for name, value in (("object_types", "car"), ("camera_ids", "garage"),
                        ("zone_ids", "drive")):
        assert re.search(rf'name="{name}" value="{value}"', html)
    assert '<datalist id="timezones">' in html and '<option value="Europe/Paris">' in html
    assert "{camera_id} {rule_id} {object_type}" in html  # the dedup variables


def test_edit_round_trips_every_field(app, client, token, headers):
    rule = create_rule(client, headers, description="d", risk_threshold=40, min_confidence=0.5,
                       zone_ids=["porch"],
                       schedule={"days": ["sun"], "start_time": "08:00", "end_time": "17:30",
                                 "timezone": "UTC"},
                       conditions=[{"field": "labels", "op": "not_in", "value": ["a", "b"]},
                                   {"field": "risk_score", "op": "in", "value": [1, 2.5]}],
                       dedup_key_template="{zone_id}", channels=["push"],
                       targets={"push_urls": ["ntfy://x"]})
    page = client.get(f"/rules/{rule['id']}/edit").get_data(as_text=True)
    before = only_rule(app)
    form = rule_form(token, description="d", risk_threshold="40", min_confidence="50",
                     object_types=["person"], camera_ids=["back-door"], zone_ids=["porch"],
                     schedule_on="y", schedule_days=["sun"], schedule_start="08:00",
                     schedule_end="17:30", schedule_timezone="UTC",
                     dedup_key_template="{zone_id}", channels=["push"], push_urls="ntfy://x",
                     **{"conditions-0-field": "labels", "conditions-0-op": "not_in",
                        "conditions-0-value": "a, b", "conditions-1-field": "risk_score",
                        "conditions-1-op": "in", "conditions-1-value": "1, 2.5"})
    # The page shows every stored value; posting them back changes nothing.
    for key in ("description", "risk_threshold", "min_confidence", "schedule_start",
                "schedule_end", "schedule_timezone", "dedup_key_template",
                "conditions-0-value", "conditions-1-value"):
        shown = re.escape(form[key])
        assert re.search(rf'value="{shown}"|>\s*{shown}</textarea>', page), key
    response = client.post(f"/rules/{rule['id']}/edit", data=form)
    assert response.status_code == 303
    after = only_rule(app)
    assert {k: v for k, v in after.items() if k != "updated_at"} == \
        {k: v for k, v in before.items() if k != "updated_at"}


def test_edit_changes_and_clears_fields(app, client, token, headers):
    rule = create_rule(client, headers, risk_threshold=40,
                       schedule={"days": ["sun"], "start_time": "08:00", "end_time": "17:30"})
    response = client.post(f"/rules/{rule['id']}/edit",
                           data=rule_form(token, name="Renamed", severity="critical"))
    assert response.status_code == 303
    saved = only_rule(app)
    assert (saved["name"], saved["severity"], saved["risk_threshold"], saved["schedule"]) == \
        ("Renamed", "critical", None, None)


def test_unknown_rule_pages_are_404(client, token):
    assert client.get("/rules/nope/edit").status_code == 404
    assert client.get("/rules/00000000-0000-0000-0000-000000000000/test").status_code == 404


# --- the rule test ----------------------------------------------------------------------------


def test_rule_test_page_shows_verdicts(app, client, token, headers):
    rule = create_rule(client, headers)
    hit = post_event(client, headers)
    miss = post_event(client, headers, camera_id="front-gate")
    page = client.get(f"/rules/{rule['id']}/test").get_data(as_text=True)
    assert f'value="{hit["id"]}"' in page and f'value="{miss["id"]}"' in page
    response = client.post(f"/rules/{rule['id']}/test", data={
        "csrf_token": token, "event_ids": [str(hit["id"])], "event_ids_other": str(miss["id"])})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<dt>Match rate</dt><dd>50 %</dd>" in html
    assert '<dd class="would-fire">1</dd>' in html
    assert "match: alert" in html and "no match" in html
    assert '<span class="cond bad">camera</span>' in html
    fragment = client.post(f"/rules/{rule['id']}/test", data={"csrf_token": token},
                           headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and '<section id="rule-test">' in fragment
    assert "Events tested</dt><dd>2</dd>" in fragment  # no pick: the latest events


def test_rule_test_page_reports_unknown_event_ids(client, token, headers):
    """An id typed that is no event is said, not silently left out, beside the ones tested."""
    rule = create_rule(client, headers)
    hit = post_event(client, headers)
    html = client.post(f"/rules/{rule['id']}/test", data={
        "csrf_token": token, "event_ids_other": f"{hit['id']}, 987654"}).get_data(as_text=True)
    assert "Events tested</dt><dd>1</dd>" in html
    assert '<p class="error">No such events: 987654</p>' in html
    # The event page's link (GET, event_ids in the query string) says it too.
    html = client.get(f"/rules/{rule['id']}/test?event_ids=987654").get_data(as_text=True)
    assert '<p class="error">No such events: 987654</p>' in html


def test_rule_test_counts_cooldown(client, token, headers):
    rule = create_rule(client, headers, cooldown_seconds=3600)
    post_event(client, headers, started_at="2026-01-15T02:00:00Z")
    post_event(client, headers, started_at="2026-01-15T02:05:00Z")
    html = client.post(f"/rules/{rule['id']}/test", data={"csrf_token": token}) \
        .get_data(as_text=True)
    assert "match, suppressed until" in html and '<dd class="would-fire">1</dd>' in html
    assert "(tested before it)" in html


def test_rule_test_time_and_errors(client, token, headers):
    rule = create_rule(client, headers, schedule={"days": ["mon"], "start_time": "09:00",
                                                  "end_time": "17:00", "timezone": "UTC"})
    post_event(client, headers)
    html = client.post(f"/rules/{rule['id']}/test", data={
        "csrf_token": token, "test_time": "2026-01-12T10:00"}).get_data(as_text=True)
    assert "Test time</dt><dd>2026-01-12T10:00:00Z" in html and "match: alert" in html
    response = client.post(f"/rules/{rule['id']}/test", data={
        "csrf_token": token, "test_time": "someday", "event_ids_other": "x"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "ISO 8601" in error_beside(html, "test_time")
    assert "“x” must be an integer" in error_beside(html, "event_ids_other")


# --- events and alerts --------------------------------------------------------------------------


def test_events_list_filters_and_links_to_alerts(app, client, token, headers):
    create_rule(client, headers)
    hit = post_event(client, headers, summary="Someone at the door")
    post_event(client, headers, camera_id="garage", detections=[{"object_type": "car"}])
    run_matcher(app)
    html = client.get("/events").get_data(as_text=True)
    assert "2 events" in html and "Someone at the door" in html
    assert f'href="/events/{hit["id"]}#alerts">1 alert</a>' in html
    assert "1 event" in client.get("/events?camera_id=garage", headers=HX).get_data(as_text=True)
    assert "1 event" in client.get("/events?object_type=CAR").get_data(as_text=True)
    bad = client.get("/events?since=yesterday").get_data(as_text=True)
    assert "since: must be an ISO 8601 datetime" in bad and "2 events" in bad
    detail = client.get(f"/events/{hit['id']}").get_data(as_text=True)
    assert "Person at the back door" in detail and 'href="/alerts/1"' in detail
    assert client.get("/events/999").status_code == 404


def test_alert_history_and_detail(app, client, token, headers):
    rule = create_rule(client, headers)
    create_rule(client, headers, name="Other", camera_ids=["garage"])
    post_event(client, headers)
    run_matcher(app)
    html = client.get(f"/alerts?rule_id={rule['id']}").get_data(as_text=True)
    assert "1 alert" in html and 'id="alert-1"' in html
    assert 'hx-post="/alerts/1/acknowledge"' in html and 'hx-post="/alerts/1/dismiss"' in html
    assert "0 alerts" in client.get("/alerts?status=dismissed", headers=HX).get_data(
        as_text=True)
    with app.app_context():
        db.session.add(Delivery(alert_id=1, channel="webhook", target="https://x.example/h",
                                status="dead", attempts=3, last_error="HTTP 500"))
        db.session.commit()
    detail = client.get("/alerts/1").get_data(as_text=True)
    assert "Webhook →" in detail and "https://x.example/h" in detail
    assert "Retry this delivery" in detail
    assert client.get("/alerts/99").status_code == 404


def test_acknowledge_from_history_uses_the_live_route(app, client, token, headers):
    create_rule(client, headers)
    post_event(client, headers)
    run_matcher(app)
    response = client.post("/alerts/1/acknowledge", headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 200 and 'id="alert-1"' in response.get_data(as_text=True)
    assert "acknowledged" in client.get("/alerts?status=acknowledged").get_data(as_text=True)


# --- notifications ------------------------------------------------------------------------------



def settings(client, headers) -> dict:
    return client.get("/api/notification/settings", headers=headers).json


def test_save_settings_plain_post(client, token, headers):
    response = client.post("/notifications", data=settings_form(
        token, smtp_host="smtp.example.com", smtp_password="hunter2",
        smtp_from_address="alerts@example.com", default_email_recipients="a@x.org, b@x.org",
        default_webhook_url="https://93.184.215.14/hook", push_urls="ntfy://secret-topic-123"))
    assert response.status_code == 303
    body = settings(client, headers)
    assert body["smtp_host"] == "smtp.example.com" and body["smtp_password_set"] is True
    assert body["default_email_recipients"] == ["a@x.org", "b@x.org"]
    assert body["push_urls_count"] == 1 and body["email_configured"] is True
    page = client.get("/notifications").get_data(as_text=True)
    assert "hunter2" not in page and "secret-topic-123" not in page  # secrets stay write-only
    assert "A password is stored" in page
    # Blank secrets keep what is stored; the boxes clear it.
    client.post("/notifications", data=settings_form(token, smtp_host="smtp.example.com"))
    assert settings(client, headers)["smtp_password_set"] is True
    client.post("/notifications", data=settings_form(token, smtp_password_clear="y",
                                                     push_urls_clear="y"))
    body = settings(client, headers)
    assert body["smtp_password_set"] is False and body["push_urls_count"] == 0


@pytest.mark.parametrize(("fields", "field_id", "message"), [
    ({"default_webhook_url": "http://127.0.0.1:9/x"}, "default_webhook_url", "refused"),
    ({"default_webhook_url": "nope"}, "default_webhook_url", "must be an http or https URL"),
    ({"smtp_port": "70000"}, "smtp_port", "must be an integer from 1 to 65535"),
    ({"smtp_use_ssl": "y"}, "smtp_use_ssl", "not both"),
    ({"default_email_recipients": "x@"}, "default_email_recipients", "“x@” must be an email"),
    ({"push_urls": "nope"}, "push_urls", "must be a notification URL"),
])
def test_settings_errors_beside_fields(client, token, fields, field_id, message):
    response = client.post("/notifications", data=settings_form(token, **fields), headers=HX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html and message in error_beside(html, field_id)


def test_test_button_against_a_loopback_webhook(tmp_path, httpserver):
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"])
    client = app.test_client()
    token = log_in(client)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    url = httpserver.url_for("/hook")
    response = client.post("/notifications/test/webhook",
                           data=settings_form(token, default_webhook_url=url), headers=HX)
    html = response.get_data(as_text=True)
    assert '<p class="test-outcome ok">' in html and "HTTP 200" in html and "<form" not in html
    assert len(httpserver.log) == 1
    # Without JavaScript: the whole page, the result beside the button, the form as typed.
    page = client.post("/notifications/test/webhook",
                       data=settings_form(token, default_webhook_url=url)).get_data(as_text=True)
    assert re.search(r'id="test-webhook"[^>]*>\s*<p class="test-outcome ok">', page)
    assert f'value="{url}"' in page


def test_test_button_reports_failures(client, token):
    html = client.post("/notifications/test/email", data=settings_form(token),
                       headers=HX).get_data(as_text=True)
    assert "test-outcome failed" in html and "Email is not configured" in html
    html = client.post("/notifications/test/webhook", data=settings_form(
        token, default_webhook_url="http://127.0.0.1:9/"), headers=HX).get_data(as_text=True)
    assert "test-outcome failed" in html
    assert client.post("/notifications/test/fax", data=settings_form(token)).status_code == 404


def test_signing_secret_shown_once_and_rotated(client, token):
    html = client.post("/notifications/webhook-secret/reveal", data={"csrf_token": token},
                       headers=HX).get_data(as_text=True)
    first = re.search(r'id="webhook-secret-value"[^>]*value="(whsec_[^"]+)"', html).group(1)
    again = client.post("/notifications/webhook-secret/reveal",
                        data={"csrf_token": token}).get_data(as_text=True)
    assert first not in again and "already shown" in again
    assert "Reveal secret" not in client.get("/notifications").get_data(as_text=True)
    response = client.post("/notifications/webhook-secret/rotate", data={"csrf_token": token})
    assert response.headers["Cache-Control"] == "no-store"
    second = re.search(r'value="(whsec_[^"]+)"', response.get_data(as_text=True)).group(1)
    assert second != first


def test_dead_letters_listed_and_retried(app, client, token, headers):
    create_rule(client, headers)
    post_event(client, headers)
    run_matcher(app)
    with app.app_context():
        delivery = Delivery(alert_id=1, channel="webhook", target="https://x.example/h",
                            status="dead", attempts=11, last_error="HTTP 500: boom",
                            next_attempt_at=utcnow() - timedelta(hours=1))
        db.session.add(delivery)
        db.session.commit()
        delivery_id = delivery.id
    page = client.get("/notifications").get_data(as_text=True)
    assert "HTTP 500: boom" in page and f"Retry delivery {delivery_id}" in page
    html = client.post(f"/deliveries/{delivery_id}/retry", headers={**HX, "X-CSRFToken": token}) \
        .get_data(as_text=True)
    assert html.startswith(f'<tr id="delivery-{delivery_id}">') and "Queued again" in html
    again = client.post(f"/deliveries/{delivery_id}/retry", data={"csrf_token": token})
    assert again.status_code == 303
    assert "is pending, not dead" in client.get("/notifications").get_data(as_text=True)


# --- keys ---------------------------------------------------------------------------------------


def test_create_key_shows_it_once(client, token):
    response = client.post("/keys", data={"csrf_token": token, "name": "detector",
                                          "scope": "ingest"})
    html = response.get_data(as_text=True)
    raw = re.search(r'id="new-key-value"[^>]*value="(ak_[^"]+)"', html).group(1)
    assert response.headers["Cache-Control"] == "no-store"
    event = {"camera_id": "c", "detections": [{"object_type": "person"}]}
    assert client.post("/api/events", json=event, headers={"x-access-token": raw}) \
        .status_code == 201
    assert raw not in client.get("/keys").get_data(as_text=True)


def test_key_errors_beside_fields(client, token):
    response = client.post("/keys", data={"csrf_token": token, "name": "", "scope": "root"},
                           headers=HX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "must be 1 to 100 characters" in error_beside(html, "name")
    assert "must be one of admin, ingest, read, metrics" in error_beside(html, "scope")


def test_revoke_key(client, token, app):
    raw = make_key(app, "read", "script")
    keys_page = client.get("/keys").get_data(as_text=True)
    key_id = re.search(r'<tr id="key-(\d+)"[^>]*>\s*<td data-label="Name">script', keys_page) \
        .group(1)
    html = client.post(f"/keys/{key_id}/revoke", headers={**HX, "X-CSRFToken": token}) \
        .get_data(as_text=True)
    assert "Revoked" in html and "<html" not in html
    assert client.get("/api/events", headers={"x-access-token": raw}).status_code == 401
    assert client.post("/keys/999/revoke", data={"csrf_token": token}).status_code == 404


def test_page_ids_beyond_bigint_are_404(app):
    from tests.support.web import login

    client = app.test_client()
    login(client)
    for path in ("/alerts/99999999999999999999", "/events/99999999999999999999"):
        assert client.get(path).status_code == 404
