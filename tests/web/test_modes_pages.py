"""The arming mode pages: the switch in the header of every page, the Modes page (list,
schedule, history) and the rule form's modes checkboxes."""

from __future__ import annotations

import re

import pytest

from alerting.engine.modes import DEFAULT_MODES
from alerting.services import modes
from tests.support.app import ADMIN_PASSWORD, make_key
from tests.support.factories import create_rule, post_event
from tests.support.web import PAGES

HX = {"HX-Request": "true"}


def csrf_token(page: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()


@pytest.fixture
def token(client):
    page = client.get("/login")
    client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                "csrf_token": csrf_token(page.data)})
    return csrf_token(client.get("/modes").data)


def switch(html: str) -> str:
    match = re.search(r'<form class="mode-switch".*?</form>', html, re.S)
    assert match, "no mode switch"
    return match.group(0)


@pytest.mark.parametrize("path", [p for p in PAGES if p != "/login"])
def test_every_page_has_the_mode_switch_with_the_current_mode(client, token, path):
    html = client.get(path).get_data(as_text=True)
    form = switch(html)
    assert 'hx-post="/modes/current"' in form and 'name="csrf_token"' in form
    assert re.findall(r'<option value="(\w+)"', form) == list(DEFAULT_MODES)
    assert '<option value="home" selected>' in form


def test_no_switch_before_login(client):
    assert 'class="mode-switch"' not in client.get("/login").get_data(as_text=True)


def test_the_switch_sets_the_mode_and_answers_itself(app, client, token):
    response = client.post("/modes/current", data={"mode": "away", "csrf_token": token},
                           headers=HX)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "mode-changed"
    html = response.get_data(as_text=True)
    assert "<html" not in html and '<option value="away" selected>' in switch(html)
    with app.app_context():
        current = modes.current()
    assert (current["mode"], current["source"], current["changed_by"]) == \
        ("away", "user", "user:admin")


def test_without_htmx_the_switch_goes_back_to_the_page(client, token):
    response = client.post("/modes/current", data={"mode": "night", "csrf_token": token,
                                                    "next": "/rules?q=x"})
    assert response.status_code == 303 and response.headers["Location"] == "/rules?q=x"
    response = client.post("/modes/current", data={"mode": "away", "csrf_token": token,
                                                    "next": "//evil.example/"})
    assert response.headers["Location"] == "/modes"
    assert '<option value="away" selected>' in switch(client.get("/rules").get_data(as_text=True))


def test_an_unknown_mode_is_shown_beside_the_switch(client, token):
    response = client.post("/modes/current", data={"mode": "party", "csrf_token": token},
                           headers=HX)
    assert response.status_code == 422
    assert re.search(r'id="mode-switch-error"[^>]*>unknown mode', response.get_data(as_text=True))


def test_the_switch_needs_the_csrf_token(client, token):
    assert client.post("/modes/current", data={"mode": "away"}).status_code == 400


def test_the_modes_page_edits_the_list_and_the_schedule_and_shows_the_history(app, client, token):
    response = client.post("/modes/list", data={"csrf_token": token,
                                                "modes": "home\naway\nnight\nguests"})
    assert response.status_code == 303
    response = client.post("/modes/schedule", data={
        "csrf_token": token, "rows": "2", "timezone": "Europe/Berlin",
        "w0-mode": "night", "w0-days": ["mon", "tue"], "w0-start": "23:00", "w0-end": "06:30",
        "w1-mode": ""})
    assert response.status_code == 303
    with app.app_context():
        stored = modes.schedule_json()
    assert stored["timezone"] == "Europe/Berlin"
    assert stored["windows"] == [{"mode": "night", "days": ["mon", "tue"],
                                  "start_time": "23:00", "end_time": "06:30"}]
    client.post("/modes/current", data={"mode": "guests", "csrf_token": token}, headers=HX)
    html = client.get("/modes").get_data(as_text=True)
    assert "home\naway\nnight\nguests</textarea>" in html
    assert 'class="current-mode">guests<' in html
    history = re.search(r'<table class="table stack mode-history">.*?</table>', html, re.S).group(0)
    assert ">guests</td>" in history and ">user:admin</td>" in history
    assert '<option value="night" selected>night</option>' in html  # the schedule's row


def test_the_modes_page_shows_errors_where_they_belong(client, token):
    response = client.post("/modes/list", data={"csrf_token": token, "modes": "away\nnight"},
                           headers=HX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="modes-list-error">modes: must keep the current mode', html)
    assert "away\nnight</textarea>" in html  # what was typed stays
    response = client.post("/modes/schedule", data={
        "csrf_token": token, "rows": "2", "timezone": "UTC", "w0-mode": "",
        "w1-mode": "night", "w1-days": ["mon"], "w1-start": "23:00", "w1-end": ""}, headers=HX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "windows.1.end_time: must be a time" in html  # the page's own row number


def test_the_rule_form_offers_the_modes_as_checkboxes(app, client, token):
    html = client.get("/rules/new").get_data(as_text=True)
    boxes = re.findall(r'<input type="checkbox" name="modes" value="(\w+)"', html)
    assert boxes == list(DEFAULT_MODES)
    data = {"csrf_token": token, "name": "Indoor while away", "severity": "high",
            "enabled": "y", "cooldown_seconds": "0", "schedule_days": ["mon"],
            "schedule_start": "00:00", "schedule_end": "00:00", "conditions-0-field": "",
            "conditions-0-op": "eq", "conditions-0-value": "", "modes": ["away", "vacation"],
            "action": "save"}
    assert client.post("/rules/new", data=data).status_code in (302, 303)
    with app.app_context():
        from alerting.services import rules

        [rule], _ = rules.list_rules()
        assert rule.modes == ["away", "vacation"]
        rule_id = rule.id
    edit = client.get(f"/rules/{rule_id}/edit").get_data(as_text=True)
    assert re.search(r'name="modes" value="away"\s+id="[^"]+"\s+checked', edit)
    assert not re.search(r'name="modes" value="home"\s+id="[^"]+"\s+checked', edit)


def test_the_rule_list_says_in_which_modes_a_rule_fires(client, token):
    headers = {"x-access-token": make_key(client.application)}
    create_rule(client, headers, modes=["away", "night"])
    html = client.get("/rules").get_data(as_text=True)
    assert '<span class="rule-modes">in away, night mode</span>' in html


def test_the_rule_test_page_shows_the_mode_of_each_event(app, client, token):
    headers = {"x-access-token": make_key(app)}
    rule = create_rule(client, headers, modes=["away"])
    event = post_event(client, headers)  # 2026-01-15: before any change, so home
    response = client.post(f"/rules/{rule['id']}/test", data={
        "csrf_token": token, "event_ids": [str(event["id"])]})
    html = response.get_data(as_text=True)
    assert '<td data-label="Mode" class="test-mode">home</td>' in html
    assert '<span class="cond bad">mode</span>' in html
    response = client.post(f"/rules/{rule['id']}/test", data={
        "csrf_token": token, "event_ids": [str(event["id"])], "test_time": "2099-01-01T00:00"})
    assert '<td data-label="Mode" class="test-mode">home</td>' in response.get_data(as_text=True)
    client.post("/modes/current", data={"mode": "away", "csrf_token": token})
    response = client.post(f"/rules/{rule['id']}/test", data={
        "csrf_token": token, "event_ids": [str(event["id"])], "test_time": "2099-01-01T00:00"})
    html = response.get_data(as_text=True)
    assert '<td data-label="Mode" class="test-mode">away</td>' in html  # the mode then
    assert "match: alert" in html


def test_the_modes_page_reads_the_mode_again_after_a_switch(client, token):
    html = client.get("/modes").get_data(as_text=True)
    assert 'hx-trigger="mode-changed from:body"' in html
    client.post("/modes/current", data={"mode": "night", "csrf_token": token}, headers=HX)
    state = client.get("/modes/state", headers=HX).get_data(as_text=True)
    assert 'id="mode-current"' in state and 'class="current-mode">night<' in state
    assert 'id="mode-history" class="card" hx-swap-oob="true"' in state
    assert ">night</td>" in state
