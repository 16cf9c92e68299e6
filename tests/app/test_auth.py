import pytest

from alerting.extensions import db
from alerting.models import ApiKey, AuditLog
from tests.support.app import ADMIN_PASSWORD, make_app, make_key
from tests.support.web import csrf_token


def test_missing_key_is_401_json(client):
    response = client.get("/api/keys")
    assert response.status_code == 401
    assert response.is_json and response.json["error"] == "unauthorized"


def test_wrong_key_is_401(client):
    assert client.get("/api/keys", headers={"x-access-token": "ak_nope"}).status_code == 401


@pytest.mark.parametrize("header", ["x-access-token", "Authorization"])
def test_key_in_either_header(app, client, header):
    raw = make_key(app, "admin")
    value = raw if header == "x-access-token" else f"Bearer {raw}"
    assert client.get("/api/keys", headers={header: value}).status_code == 200


@pytest.mark.parametrize("key_scope", ["read", "ingest"])
def test_wrong_scope_is_403(app, client, key_scope):
    raw = make_key(app, key_scope)
    response = client.post("/api/keys", json={"name": "x"}, headers={"x-access-token": raw})
    assert response.status_code == 403
    assert response.json["error"] == "forbidden"


def test_revoked_key_stops_working_at_once(app, client, admin_headers):
    raw = make_key(app, "read", name="to-revoke")
    assert client.get("/api/health", headers={"x-access-token": raw}).status_code == 200
    assert client.get("/api/keys", headers={"x-access-token": raw}).status_code == 403
    with app.app_context():
        key_id = db.session.query(ApiKey).filter_by(name="to-revoke").one().id
    assert client.delete(f"/api/keys/{key_id}", headers=admin_headers).status_code == 200
    response = client.post("/api/keys", json={"name": "x"}, headers={"x-access-token": raw})
    assert response.status_code == 401


def test_keys_are_stored_hashed_and_shown_once(app, client, admin_headers):
    response = client.post("/api/keys", json={"name": "frigate", "scope": "ingest"},
                           headers=admin_headers)
    assert response.status_code == 201
    raw = response.json["key"]
    assert raw.startswith("ak_") and len(raw) > 40
    listed = client.get("/api/keys", headers=admin_headers).json["keys"]
    assert all("key" not in k for k in listed)
    with app.app_context():
        stored = db.session.query(ApiKey).filter_by(name="frigate").one()
        assert raw not in stored.key_hash and stored.scope == "ingest"
        assert db.session.query(AuditLog).filter_by(action="api_key_create").count() >= 1


def test_last_used_at_is_recorded(app, client):
    raw = make_key(app, "read", name="used")
    client.get("/api/keys", headers={"x-access-token": raw})
    with app.app_context():
        assert db.session.query(ApiKey).filter_by(name="used").one().last_used_at is not None


def test_bad_key_create_is_422_naming_field(client, admin_headers):
    response = client.post("/api/keys", json={"name": "x", "scope": "root"}, headers=admin_headers)
    assert response.status_code == 422
    assert "scope" in response.json["fields"]


def test_bootstrap_key_is_an_admin_key(tmp_path):
    app = make_app(tmp_path, BOOTSTRAP_API_KEY="automation-key-123")
    client = app.test_client()
    response = client.get("/api/keys", headers={"x-access-token": "automation-key-123"})
    assert response.status_code == 200
    from alerting import bootstrap
    bootstrap(app)  # idempotent on the next start
    with app.app_context():
        assert db.session.query(ApiKey).filter_by(name="bootstrap").count() == 1


def test_auth_off_needs_no_key(tmp_path):
    app = make_app(tmp_path, AUTH=False)
    assert app.test_client().get("/api/keys").status_code == 200


def test_pages_need_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_and_logout(client):
    page = client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                           "csrf_token": csrf_token(page.data)})
    assert response.status_code == 302
    assert client.get("/account/password").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account/password").data)})
    assert client.get("/account/password").status_code == 302


def test_wrong_password(client):
    page = client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": "wrong",
                                           "csrf_token": csrf_token(page.data)})
    assert response.status_code == 401 and b"Wrong username or password" in response.data


def test_form_post_without_csrf_token_is_400(client):
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 400


def test_login_never_redirects_off_site(client):
    page = client.get("/login")
    response = client.post("/login?next=//evil.example/x",
                           data={"username": "admin", "password": ADMIN_PASSWORD,
                                 "csrf_token": csrf_token(page.data)})
    assert response.headers["Location"] == "/"
