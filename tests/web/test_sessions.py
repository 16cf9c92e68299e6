"""Login sessions live on the server: logout, a password change and an admin end them, and a
copy of the cookie is worth nothing afterwards. The printed first-start password must be
changed before anything else."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from alerting.extensions import db
from alerting.models import ApiKey, User, UserSession, utcnow
from alerting.services import users
from tests.support.app import ADMIN_PASSWORD, make_app
from tests.support.web import csrf_token

PROTECTED = "/account/password"


def login(client, username="admin", password=ADMIN_PASSWORD):
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(page.data)})
    assert response.status_code == 302, response.data[:300]
    return response


def logged_in(client) -> bool:
    response = client.get(PROTECTED)
    assert response.status_code in (200, 302)
    return response.status_code == 200


def copy_of(app, client):
    """A second client holding a byte-for-byte copy of the first one's session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def post_form(client, url, data=None, page=PROTECTED):
    token = csrf_token(client.get(page).data)
    return client.post(url, data={**(data or {}), "csrf_token": token})


def change_password(client, current=ADMIN_PASSWORD, new="a-brand-new-password"):
    return post_form(client, PROTECTED, {"current": current, "new": new, "confirm": new})


def add_user(app, username, password, **kw):
    with app.app_context():
        return users.create_user(username, password, **kw).id


def test_cookie_copied_before_logout_is_refused_after(app, client):
    login(client)
    stolen = copy_of(app, client)
    assert logged_in(stolen)
    post_form(client, "/logout")
    assert not logged_in(client)
    assert not logged_in(stolen)
    response = stolen.get("/keys")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_password_change_ends_every_other_session(app, client):
    login(client)
    elsewhere = app.test_client()
    login(elsewhere)
    stolen = copy_of(app, elsewhere)
    response = change_password(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert logged_in(client)  # the session that changed it stays
    assert not logged_in(elsewhere) and not logged_in(stolen)
    with app.app_context():
        open_rows = db.session.scalars(select(UserSession).where(
            UserSession.revoked_at.is_(None))).all()
        assert len(open_rows) == 1


def test_a_password_change_that_cannot_end_the_sessions_changes_nothing(app, monkeypatch):
    from alerting.services import audit

    user_id = add_user(app, "bob", "the-old-password")

    def fails(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit, "record", fails)
    with app.app_context():
        with pytest.raises(RuntimeError):
            users.set_password(db.session.get(User, user_id), "a-new-password",
                               actor="test")
        db.session.rollback()
        assert users.check_login("bob", "the-old-password") is not None
        assert users.check_login("bob", "a-new-password") is None


def test_admin_ends_a_users_sessions_from_the_account_page(app, client):
    bob_id = add_user(app, "bob", "bobs-password-123")
    bob = app.test_client()
    login(bob, "bob", "bobs-password-123")
    login(client)
    page = client.get(PROTECTED).get_data(as_text=True)
    assert f"/account/users/{bob_id}/sessions/end" in page
    response = post_form(client, f"/account/users/{bob_id}/sessions/end")
    assert response.status_code == 302
    assert "Logged out 1 session(s) of bob" in client.get(PROTECTED).get_data(as_text=True)
    assert not logged_in(bob)
    assert logged_in(client)


def test_cli_ends_a_users_sessions_and_set_password_does_too(app, client):
    runner = app.test_cli_runner()
    login(client)
    result = runner.invoke(args=["users", "end-sessions", "admin"])
    assert result.exit_code == 0 and "Ended 1 session(s)" in result.output
    assert not logged_in(client)
    login(client)
    result = runner.invoke(args=["users", "set-password", "admin"],
                           input="another-password-1\nanother-password-1\n")
    assert result.exit_code == 0, result.output
    assert not logged_in(client)
    assert runner.invoke(args=["users", "end-sessions", "nobody"]).exit_code != 0


def age_sessions(app, **values):
    """Move every session's timestamps back in time."""
    with app.app_context():
        db.session.execute(update(UserSession).values(**values))
        db.session.commit()


def test_session_older_than_its_lifetime_is_refused(app, client):
    login(client)
    age_sessions(app, created_at=utcnow() - app.permanent_session_lifetime - timedelta(minutes=1))
    assert not logged_in(client)


def test_old_style_cookie_without_a_session_token_is_refused(app, client):
    with client.session_transaction() as cookie:
        cookie["user_id"] = 1
        cookie["username"] = "admin"
    assert not logged_in(client)


# --- the printed first-start password ---------------------------------------------------------


@pytest.fixture
def must_change(app, client):
    """Logged in as a user still on the password printed at first start."""
    add_user(app, "first", "printed-password", must_change_password=True)
    response = login(client, "first", "printed-password")
    assert response.headers["Location"] == PROTECTED
    return client


@pytest.mark.parametrize("path", ["/", "/keys", "/notifications", "/rules/new", "/rules",
                                  "/live", "/alerts", "/events"])
def test_every_page_sends_to_the_password_change_first(must_change, path):
    response = must_change.get(path)
    assert response.status_code == 302 and response.headers["Location"] == PROTECTED


def test_no_key_can_be_created_before_the_password_change(app, must_change):
    response = post_form(must_change, "/keys", {"name": "sneaky", "scope": "admin"})
    assert response.status_code == 302 and response.headers["Location"] == PROTECTED
    with app.app_context():
        assert db.session.scalar(select(ApiKey).where(ApiKey.name == "sneaky")) is None


def test_after_the_change_the_pages_open(app, must_change):
    assert must_change.get(PROTECTED).status_code == 200
    with must_change.get("/static/css/app.css") as static:  # never redirected
        assert static.status_code == 200
    response = change_password(must_change, current="printed-password")
    assert response.status_code == 302
    for path in ("/keys", "/notifications", "/rules/new"):
        assert must_change.get(path).status_code == 200, path
    response = post_form(must_change, "/keys", {"name": "now-fine", "scope": "admin"},
                         page="/keys")
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(ApiKey).where(ApiKey.name == "now-fine")) is not None


def test_logout_works_before_the_change(must_change):
    response = post_form(must_change, "/logout")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not logged_in(must_change)


def test_expired_sessions_are_deleted_at_the_next_login(app, client):
    login(client)
    age_sessions(app, created_at=utcnow() - app.permanent_session_lifetime - timedelta(days=1))
    login(app.test_client())
    with app.app_context():
        assert db.session.query(UserSession).count() == 1


def test_last_seen_is_recorded(app, client):
    login(client)
    long_ago = utcnow() - timedelta(hours=1)
    age_sessions(app, last_seen_at=long_ago)
    assert logged_in(client)
    with app.app_context():
        assert db.session.scalar(select(UserSession.last_seen_at)) > long_ago


def test_the_printed_password_itself_opens_only_the_password_page(tmp_path, capsys):
    app = make_app(tmp_path, ADMIN_PASSWORD=None)
    printed = re.search(r"with password: (\S+)", capsys.readouterr().err).group(1)
    client = app.test_client()
    assert login(client, "admin", printed).headers["Location"] == PROTECTED
    for path in ("/keys", "/notifications", "/rules/new"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == PROTECTED
