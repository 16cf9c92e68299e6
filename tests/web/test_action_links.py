"""The action link pages (web/actions.py): no login; GET shows one button and never acts,
however often it is fetched; POST acts once (a page, or JSON for a push service); bad links
show an error page and do nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from alerting.extensions import db
from alerting.models import Alert, AuditLog, Silence
from alerting.services import action_links
from tests.support.app import make_app, make_key
from tests.support.audit import new_alert
from tests.support.web import csrf_token, login


@pytest.fixture
def app(tmp_path):
    # CSRF on, as in production: the POST must work without a form token.
    return make_app(tmp_path, WTF_CSRF_ENABLED=True)


@pytest.fixture
def alert_id(app):
    return new_alert(app, app.test_client(), {"x-access-token": make_key(app, "admin")})


def link(app, action, alert_id):
    with app.app_context():
        return f"/actions/{action_links.issue(action, alert_id)}"


def status_of(app, alert_id):
    with app.app_context():
        return db.session.get(Alert, alert_id).status


def test_get_shows_one_button_and_never_acts(app, client, alert_id):
    url = link(app, "acknowledge", alert_id)
    before = status_of(app, alert_id)
    for _ in range(3):  # a mail scanner, a chat preview, the person
        page = client.get(url)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        main = html.split("<main", 1)[1]  # the page itself, not the header's theme toggle
        assert main.count("<button") == 1 and "Acknowledge?" in main
        assert f'action="{url}"' in html and "Person at the back door" in html
        assert page.headers["Cache-Control"] == "no-store"
    assert status_of(app, alert_id) == before != "acknowledged"
    client.head(url)
    assert status_of(app, alert_id) == before


def test_post_acts_once_without_login_or_csrf_token(app, client, alert_id):
    url = link(app, "acknowledge", alert_id)
    done = client.post(url)
    assert done.status_code == 200
    assert f"Alert #{alert_id} acknowledged." in done.get_data(as_text=True)
    assert status_of(app, alert_id) == "acknowledged"
    again = client.post(url)
    assert again.status_code == 409 and "already been used" in again.get_data(as_text=True)
    shown = client.get(url)  # the page now says so, with no button
    main = shown.get_data(as_text=True).split("<main", 1)[1]
    assert shown.status_code == 409 and "<button" not in main
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(
            AuditLog.action == "action_link_use")) == 1


def test_an_alert_already_acknowledged_is_said_on_the_page_with_no_button(app, client,
                                                                            alert_id):
    """The escalation's email, or a second recipient's, carries its own acknowledge link:
    once the alert is acknowledged, that link's page says so rather than offer a button
    whose press can only fail. The link stays unused (a snooze link still works)."""
    client.post(link(app, "acknowledge", alert_id))
    url = link(app, "acknowledge", alert_id)
    shown = client.get(url)
    main = shown.get_data(as_text=True).split("<main", 1)[1]
    assert shown.status_code == 409 and "<button" not in main
    assert f"Alert #{alert_id} is already acknowledged" in main
    assert f'href="/alerts/{alert_id}"' in main
    snooze = client.get(link(app, "snooze_camera", alert_id))
    assert snooze.status_code == 200 and "<button" in snooze.get_data(as_text=True).split(
        "<main", 1)[1]


def test_post_with_accept_json_answers_json(app, client, alert_id):
    url = link(app, "snooze_camera", alert_id)
    answer = client.post(url, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert answer.json == {"ok": True, "action": "snooze_camera", "alert_id": alert_id,
                           "message": f"Camera back-door snoozed for 30 minutes (alert "
                                      f"#{alert_id})."}
    again = client.post(url, headers={"Accept": "application/json"})
    assert again.status_code == 409 and again.json["error"] == "link_used"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Silence)) == 1


def test_bad_links_show_an_error_page_and_do_nothing(app, client, alert_id, monkeypatch):
    import itsdangerous.timed

    good = link(app, "acknowledge", alert_id)
    now = itsdangerous.timed.time.time()
    monkeypatch.setattr(itsdangerous.timed.time, "time",
                        lambda: now - app.config["ACTION_LINK_SECONDS"] - 60)
    expired = link(app, "acknowledge", alert_id)
    monkeypatch.undo()
    before = status_of(app, alert_id)
    for url, status, says in ((good[:-3] + "xyz", 400, "not valid"),
                              ("/actions/garbage", 400, "not valid"),
                              (expired, 410, "expired")):
        for method in (client.get, client.post):
            page = method(url)
            assert page.status_code == status, (url, method)
            assert says in page.get_data(as_text=True)
            assert "<button" not in page.get_data(as_text=True).split("<main", 1)[1]
        answer = client.post(url, headers={"Accept": "application/json"})
        assert answer.status_code == status and answer.json["error"] in (
            "invalid_link", "link_expired")
    assert status_of(app, alert_id) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Silence)) == 0


def test_a_gone_alert_is_a_404(app, client, alert_id):
    url = link(app, "acknowledge", alert_id)
    with app.app_context():
        db.session.delete(db.session.get(Alert, alert_id))
        db.session.commit()
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404


def test_other_pages_still_need_the_csrf_token(app, client, alert_id):
    """The exemption is this route's alone: the page's own acknowledge still checks."""
    login(client)
    assert client.post(f"/alerts/{alert_id}/acknowledge").status_code == 400
    assert status_of(app, alert_id) != "acknowledged"
    token = csrf_token(client.get("/keys").data)
    assert client.post(f"/alerts/{alert_id}/acknowledge",
                       data={"csrf_token": token}).status_code < 400
    assert status_of(app, alert_id) == "acknowledged"
