"""The live page as a triage list (server side): pinning, filters kept in the URL,
acknowledge all, dismiss with undo, "No channels", the last event after a reload, the
first-run checklist; and the account page's timezone."""

from __future__ import annotations

import re

import pytest

from alerting.extensions import db
from alerting.models import Alert, AuditLog
from tests.support.factories import create_rule, post_event, run_matcher
from tests.support.web import csrf_token, login

HX = {"HX-Request": "true"}


def _alerts(app, client, headers, *specs) -> dict[str, int]:
    """One alert per (severity, camera): a rule for each, an event for each camera."""
    for severity, camera in specs:
        create_rule(client, headers, name=f"{severity} {camera}", severity=severity,
                    camera_ids=[camera])
    for camera in sorted({c for _s, c in specs}):
        post_event(client, headers, camera_id=camera)
    run_matcher(app)
    with app.app_context():
        return {f"{a.severity}:{a.camera_id}": a.id for a in db.session.query(Alert)}


def _row(page: str, alert_id: int) -> str:
    return re.search(rf'<article id="alert-{alert_id}" class="([^"]*)"', page).group(1)


@pytest.fixture
def page_client(client):
    login(client)
    return client


def test_open_critical_and_high_are_pinned(app, page_client, admin_headers):
    create_rule(page_client, admin_headers, name="Door", severity="critical")
    create_rule(page_client, admin_headers, name="Cats", severity="low")
    post_event(page_client, admin_headers)
    run_matcher(app)
    with app.app_context():
        ids = {a.severity: a.id for a in db.session.query(Alert)}
    page = page_client.get("/live").text
    assert "is-pinned" in _row(page, ids["critical"])
    assert "is-pinned" not in _row(page, ids["low"])
    token = csrf_token(page_client.get("/keys").data)
    page_client.post(f"/alerts/{ids['critical']}/acknowledge", data={"csrf_token": token},
                     headers=HX)
    assert "is-pinned" not in _row(page_client.get("/live").text, ids["critical"])


def test_filters_in_the_url(app, page_client, admin_headers):
    ids = _alerts(app, page_client, admin_headers, ("low", "yard"), ("high", "yard"),
                  ("high", "door"))
    page = page_client.get("/live?severity=high").text
    assert f'id="alert-{ids["high:yard"]}"' in page and f'id="alert-{ids["high:door"]}"' in page
    assert f'id="alert-{ids["low:yard"]}"' not in page
    # Each chip keeps the other filters; the page tells its script the filter for pushed rows.
    assert 'href="/live?severity=high&amp;camera_id=door"' in page
    assert 'data-severity="high" data-camera=""' in page and 'data-hide-low=""' in page
    page = page_client.get("/live?camera_id=yard&hide_low=1").text
    assert f'id="alert-{ids["high:yard"]}"' in page
    assert f'id="alert-{ids["low:yard"]}"' not in page
    assert f'id="alert-{ids["high:door"]}"' not in page
    page = page_client.get("/live?severity=urgent").text
    assert "severity: must be one of" in page and f'id="alert-{ids["low:yard"]}"' in page


def test_the_filter_s_camera_has_its_chip_though_it_has_no_alert_yet(app, page_client,
                                                                      admin_headers):
    """A bookmarked /live?camera_id=gate before gate's first alert: its chip is there and
    current (not "all", which would say no camera filter is in force)."""
    _alerts(app, page_client, admin_headers, ("high", "yard"))
    page = page_client.get("/live?camera_id=gate").text
    cameras = page.split('<span class="hint">Camera</span>', 1)[1].split("<form", 1)[0]
    assert re.findall(r'<a class="chip[^"]*" href="([^"]*)"( aria-current="true")?>([^<]+)</a>',
                      cameras) == [("/live", "", "all"),
                                   ("/live?camera_id=gate", ' aria-current="true"', "gate"),
                                   ("/live?camera_id=yard", "", "yard")]


def test_acknowledge_all_of_a_filter(app, page_client, admin_headers):
    ids = _alerts(app, page_client, admin_headers, ("low", "yard"), ("high", "yard"),
                  ("high", "door"))
    token = csrf_token(page_client.get("/keys").data)
    response = page_client.post("/live/acknowledge", data={
        "csrf_token": token, "severity": "high", "camera_id": "yard"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/live?severity=high&camera_id=yard"
    with app.app_context():
        statuses = {i: db.session.get(Alert, i).status for i in ids.values()}
        [entry] = db.session.query(AuditLog).filter_by(action="alert_acknowledge_all").all()
    assert statuses[ids["high:yard"]] == "acknowledged"
    assert statuses[ids["high:door"]] == statuses[ids["low:yard"]] == "delivered"
    assert entry.details["alert_ids"] == [ids["high:yard"]] and entry.actor == "user:admin"
    assert "Acknowledged 1 alert." in page_client.get(response.headers["Location"]).text
    # From htmx (the button, after its confirm): a redirect htmx follows.
    response = page_client.post("/live/acknowledge", data={"csrf_token": token, "hide_low": "1"},
                                headers=HX)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/live?hide_low=1"
    with app.app_context():
        assert db.session.get(Alert, ids["high:door"]).status == "acknowledged"
        assert db.session.get(Alert, ids["low:yard"]).status != "acknowledged"


def test_acknowledge_all_api(app, client, admin_headers):
    ids = _alerts(app, client, admin_headers, ("low", "yard"), ("critical", "yard"))
    response = client.post("/api/alerts/acknowledge", json={"severity": "urgent"},
                           headers=admin_headers)
    assert response.status_code == 422 and "severity" in response.json["fields"]
    response = client.post("/api/alerts/acknowledge", json={"hide_low": True},
                           headers=admin_headers)
    assert response.json == {"acknowledged": 1, "alert_ids": [ids["critical:yard"]]}
    # Nothing open left of that filter: nothing more to do. No body: every open alert.
    again = client.post("/api/alerts/acknowledge", json={"hide_low": True}, headers=admin_headers)
    assert again.json == {"acknowledged": 0, "alert_ids": []}
    assert client.post("/api/alerts/acknowledge", headers=admin_headers).json["alert_ids"] == \
        [ids["low:yard"]]


def test_dismiss_from_the_live_page_offers_undo(app, page_client, admin_headers):
    [alert_id] = _alerts(app, page_client, admin_headers, ("high", "yard")).values()
    token = {"csrf_token": csrf_token(page_client.get("/keys").data)}
    page_client.post(f"/alerts/{alert_id}/acknowledge", data=token, headers=HX)
    response = page_client.post(f"/alerts/{alert_id}/dismiss", data=token,
                                headers={**HX, "HX-Current-URL": "http://localhost/live?x=1"})
    html = response.text
    assert "status-dismissed" in _row(html, alert_id)
    assert 'id="toast"' in html and 'hx-swap-oob="true"' in html
    assert f'hx-post="/alerts/{alert_id}/restore"' in html
    # The live page leaves dismissed alerts out after a reload.
    assert f'id="alert-{alert_id}"' not in page_client.get("/live").text
    # Undo: back to the status it had.
    html = page_client.post(f"/alerts/{alert_id}/restore", data=token, headers=HX).text
    assert "status-acknowledged" in _row(html, alert_id) and 'id="toast"' not in html
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert (alert.status, alert.dismissed_at, alert.dismissed_from) == ("acknowledged", None,
                                                                            None)
        assert db.session.query(AuditLog).filter_by(action="alert_restore").count() == 1
    # Elsewhere (the alerts history) a dismissal keeps the row and offers no toast.
    html = page_client.post(f"/alerts/{alert_id}/dismiss", data=token,
                            headers={**HX, "HX-Current-URL": "http://localhost/alerts"}).text
    assert 'id="toast"' not in html


def test_restore_only_a_dismissed_alert(app, client, admin_headers):
    [alert_id] = _alerts(app, client, admin_headers, ("high", "yard")).values()
    assert client.post(f"/api/alerts/{alert_id}/restore", headers=admin_headers).status_code == 409
    client.post(f"/api/alerts/{alert_id}/dismiss", headers=admin_headers)
    response = client.post(f"/api/alerts/{alert_id}/restore", headers=admin_headers)
    assert response.status_code == 200 and response.json["status"] == "delivered"


def test_no_channels_is_not_delivered(app, page_client, admin_headers):
    create_rule(page_client, admin_headers, channels=[])
    post_event(page_client, admin_headers)
    run_matcher(app)
    page = page_client.get("/live").text
    assert '<span class="status-word">no channels</span>' in page
    assert '<span class="status-word">delivered</span>' not in page


def test_no_channels_on_the_alert_pages_too(app, page_client, admin_headers):
    """The alerts history and an alert's own page word the status as the live page does."""
    create_rule(page_client, admin_headers, channels=[])
    post_event(page_client, admin_headers)
    run_matcher(app)
    [alert] = page_client.get("/api/alerts", headers=admin_headers).json["alerts"]
    for path in ("/alerts", f"/alerts/{alert['id']}"):
        assert '<span class="status-word">no channels</span>' in page_client.get(path).text, path


def test_last_event_after_a_reload(app, page_client, admin_headers):
    page = page_client.get("/live").text
    assert "No event received yet." in page
    event = post_event(page_client, admin_headers, camera_id="garage")
    run_matcher(app)
    page = page_client.get("/live").text
    last = re.search(r'<p id="last-event" class="last-event">(.*?)</p>', page, re.S).group(1)
    assert f'href="/events/{event["id"]}"' in last and "garage" in last and "person 91%" in last
    assert '<time datetime="2026-01-15T02:00:00+00:00"' in last


def test_first_run_checklist(app, page_client):
    page = page_client.get("/live").text
    steps = dict(re.findall(r'<li id="step-(\w+)" class="([^"]*)"', page))
    assert steps == {"key": "", "rule": "", "channel": "", "events": ""}
    assert "/rules/new?preset=person-at-night" in page and "flask --app app simulate" in page
    assert 'curl -X POST http://localhost/api/events' in page
    token = csrf_token(page_client.get("/keys").data)
    page_client.post("/keys", data={"csrf_token": token, "name": "nvr", "scope": "ingest"})
    page = page_client.get("/live").text
    steps = dict(re.findall(r'<li id="step-(\w+)" class="([^"]*)"', page))
    assert steps["key"] == "is-done" and steps["rule"] == ""


def test_first_run_checklist_ticks_each_step(app, page_client, admin_headers):
    create_rule(page_client, admin_headers, channels=["webhook"])
    post_event(page_client, admin_headers, camera_id="nowhere")  # matches no rule
    run_matcher(app)
    page = page_client.get("/live").text
    steps = dict(re.findall(r'<li id="step-(\w+)" class="([^"]*)"', page))
    assert steps == {"key": "is-done", "rule": "is-done", "channel": "is-done",
                     "events": "is-done"}


def test_timezone_setting(app, page_client, admin_headers):
    event = post_event(page_client, admin_headers, started_at="2026-01-15T02:00:00Z")
    page = page_client.get("/account/password").text
    assert '<option value="" selected>My browser’s time zone</option>' in page
    assert 'data-timezone=""' in page
    token = csrf_token(page_client.get("/keys").data)
    response = page_client.post("/account/timezone", data={"csrf_token": token,
                                                           "timezone": "Mars/Olympus"})
    assert response.status_code == 422 and "Time zone unknown timezone." in response.text
    response = page_client.post("/account/timezone", data={"csrf_token": token,
                                                           "timezone": "europe/paris"})
    assert response.status_code == 302
    page = page_client.get(f"/events/{event['id']}").text
    assert 'data-timezone="Europe/Paris"' in page
    assert 'title="2026-01-15 03:00:00 GMT+1"' in page  # the exact time on hover, in Paris
    assert "<option selected>Europe/Paris</option>" in page_client.get("/account/password").text
    page_client.post("/account/timezone", data={"csrf_token": token, "timezone": ""})
    assert 'data-timezone=""' in page_client.get("/live").text


@pytest.mark.parametrize("body", ["false", "[]", '"all"', "0"])
def test_acknowledge_all_body_must_be_an_object(client, admin_headers, body):
    response = client.post("/api/alerts/acknowledge", data=body,
                           headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 422
