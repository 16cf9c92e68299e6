"""The frame of every page: the account link, the theme toggle's script, the dead-letter badge
in the navigation, and a first password change that cannot be skipped."""

from __future__ import annotations

import re

import pytest

from alerting.extensions import db
from alerting.models import Delivery, User
from alerting.services import deliveries
from tests.support.app import ADMIN_PASSWORD
from tests.support.audit import dead_delivery
from tests.support.pages import csrf_token, log_in
from tests.support.web import PAGES


def test_the_username_links_to_the_account_page(client, token):
    html = client.get("/rules").get_data(as_text=True)
    assert '<a class="who" href="/account/password" title="Your account">admin</a>' in html


@pytest.mark.parametrize("path", ["/login", "/rules"])
def test_the_theme_is_set_before_the_first_paint(client, path):
    if path != "/login":
        log_in(client)
    html = client.get(path).get_data(as_text=True)
    head = html[:html.index("</head>")]
    # A blocking script (no defer/async) in <head>: the stored theme applies before paint.
    assert re.search(r'<script src="/static/js/chrome\.js"></script>', head)
    assert '<meta name="color-scheme" content="light dark">' in head
    assert 'id="theme-toggle"' in html
    with client.get("/static/js/chrome.js") as script:
        assert script.status_code == 200 and b"localStorage" in script.data


def test_the_dead_letter_badge_counts_cheaply_and_links_to_them(app, client, token, headers):
    assert "failed deliver" not in client.get("/rules").get_data(as_text=True)
    dead_delivery(app, client, headers)
    with app.app_context():
        deliveries.forget_dead_count()
    html = client.get("/rules").get_data(as_text=True)
    assert re.search(r'<a class="dead-badge" href="/notifications#dead-letters"[^>]*>'
                     r"1 failed delivery</a>", html)
    second = dead_delivery(app, client, headers)
    # Counted once per DEAD_COUNT_TTL: the second dead letter shows a little later...
    assert "1 failed delivery" in client.get("/rules").get_data(as_text=True)
    with app.app_context():
        deliveries.forget_dead_count()
    assert "2 failed deliveries" in client.get("/rules").get_data(as_text=True)
    # ...but a retry from the page counts again at once.
    client.post(f"/deliveries/{second}/retry", data={"csrf_token": token})
    assert "1 failed delivery" in client.get("/rules").get_data(as_text=True)
    with app.app_context():
        db.session.query(Delivery).update({"status": "delivered"})
        db.session.commit()
        deliveries.forget_dead_count()
    assert "failed deliver" not in client.get("/rules").get_data(as_text=True)


def test_the_first_password_change_cannot_be_skipped(app, client):
    with app.app_context():
        db.session.query(User).update({"must_change_password": True})
        db.session.commit()
    page = client.get("/login")
    client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                "csrf_token": csrf_token(page.data)})
    for path in ["/", *[p for p in PAGES if p not in ("/login", "/account/password")],
                 "/rules/new?preset=animals", "/events/1"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/account/password"), path
    html = client.get("/account/password").get_data(as_text=True)
    assert "every page brings you back here" in html
    # The rules show before any attempt fails them, tied to the input.
    assert re.search(r'<input[^>]*aria-describedby="new-hint"[^>]*name="new"', html) or \
        re.search(r'<input[^>]*name="new"[^>]*aria-describedby="new-hint"', html)
    assert '<p class="hint" id="new-hint">At least 10 characters' in html
