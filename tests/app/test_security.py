"""Security headers on every response; the session cookie's flags."""

import pytest

from tests.support.app import make_app
from tests.support.web import PAGES, login


@pytest.mark.parametrize("path", PAGES)
def test_headers_on_every_page(client, path):
    login(client)
    response = client.get(path)
    assert response.status_code == 200, path
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_no_inline_script_in_pages(client):
    login(client)
    for path in PAGES:
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " onclick=" not in html, path
        for tag in html.split("<script")[1:]:
            assert "src=" in tag.split(">")[0], f"inline script on {path}"


def test_headers_on_api_and_errors(client, admin_headers):
    for response in (client.get("/api/health"), client.get("/api/nothing", headers=admin_headers)):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" in response.headers


def test_session_cookie_flags(client):
    login(client)
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure


def test_session_cookie_secure_over_https(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    client.get("/login", base_url="https://alerts.example.com")
    cookie = client.get_cookie("session", domain="alerts.example.com")
    assert cookie is not None and cookie.secure
    response = client.get("/login", base_url="https://alerts.example.com")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_secure_behind_a_trusted_proxy(tmp_path):
    app = make_app(tmp_path, TRUST_PROXY=True)
    client = app.test_client()
    client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert client.get_cookie("session").secure


def test_a_views_own_header_stands_and_none_is_doubled(tmp_path):
    app = make_app(tmp_path)

    @app.get("/own-headers")
    def own_headers():
        return "", 204, {"x-frame-options": "SAMEORIGIN"}

    response = app.test_client().get("/own-headers", base_url="https://alerts.example.com")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    for name in ("X-Content-Type-Options", "Content-Security-Policy",
                 "Strict-Transport-Security", "Permissions-Policy"):
        assert len(response.headers.getlist(name)) == 1, name
