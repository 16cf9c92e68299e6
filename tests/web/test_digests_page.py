"""The digests on the Notifications page: add one, see it listed with its state, replace and
delete it; a bad value is shown beside its input. The same service as the API."""

from __future__ import annotations

import re

from alerting.extensions import db
from alerting.models import AuditLog
from alerting.services import digests
from tests.support.app import make_key
from tests.support.web import csrf_token, login


def digest_form(token: str, **fields) -> dict:
    data = {"csrf_token": token, "name": "Morning", "channel": "email",
            "target": "me@example.com", "at": "08:00", "days": ["mon", "fri"],
            "timezone": "Europe/Paris", "every_seconds": "", "min_severity": "",
            "max_severity": "low", "modes": "", "cameras": "", "rules": ""}
    data.update(fields)
    return data


def test_add_list_replace_and_delete(app, client):
    login(client)
    token = csrf_token(client.get("/notifications").data)
    response = client.post("/notifications/digests", data=digest_form(token))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    html = client.get("/notifications").get_data(as_text=True)
    assert "Digest Morning saved." in html
    assert "email → me@example.com" in html and "08:00 mon, fri (Europe/Paris)" in html
    assert "severity ≤ low" in html
    client.post("/notifications/digests", data=digest_form(
        token, every_seconds="3600", at="", days=[], timezone="", max_severity="",
        modes="away", channel="webhook", target="https://u:pa55@93.184.215.14/d"))
    with app.app_context():
        [entry] = digests.configured()  # replaced: the same name
        assert entry["schedule"]["every_seconds"] == 3600
        assert entry["filter"]["modes"] == ["away"]
        assert entry["target"] == "https://u:***@93.184.215.14/d"
    html = client.get("/notifications").get_data(as_text=True)
    assert "every 3600 s" in html and "mode away" in html and "pa55" not in html
    response = client.post("/notifications/digests/Morning/delete", data={"csrf_token": token})
    assert response.status_code == 303
    with app.app_context():
        assert digests.configured() == []
        actions = [a.action for a in db.session.query(AuditLog).order_by(AuditLog.id)]
        assert actions.count("digests_update") == 3


def test_bad_values_beside_their_inputs(app, client):
    login(client)
    token = csrf_token(client.get("/notifications").data)
    for fields, field_id, message in [
            ({"target": "not-an-address"}, "target", "must be an email address"),
            ({"at": "25:00"}, "at", "must be a time HH:MM"),
            ({"modes": "moon"}, "modes", "moon")]:
        response = client.post("/notifications/digests", data=digest_form(token, **fields))
        assert response.status_code == 422
        assert re.search(rf'id="{field_id}-error">[^<]*{message}',
                         response.get_data(as_text=True)), fields
    with app.app_context():
        assert digests.configured() == []


def test_the_api_sees_what_the_page_saved(app, client):
    login(client)
    token = csrf_token(client.get("/notifications").data)
    client.post("/notifications/digests", data=digest_form(token))
    listed = client.get("/api/notification/digests",
                        headers={"x-access-token": make_key(app)}).json
    assert listed["count"] == 1 and listed["digests"][0]["schedule"]["at"] == "08:00"
