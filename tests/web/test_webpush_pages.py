"""Web push on the pages: the service worker, the manifest and its icons (public, served by
the app), the live page's subscribe button, the subscribe route and the account page's list
with revoke."""

import struct

import pytest

from alerting.extensions import db
from alerting.models import User, WebPushSubscription
from alerting.services import webpush
from alerting.web.pwa import BADGE_SIZE, ICON_SIZES
from tests.support.web import csrf_token, login
from tests.support.webpush import BrowserKeys


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_service_worker_is_served_from_the_root_for_scope_slash(client):
    response = client.get("/sw.js")  # no login: the browser fetches it on its own

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response.headers["Cache-Control"]
    script = response.get_data(as_text=True)
    for handler in ("'push'", "'notificationclick'", "showNotification"):
        assert handler in script


def test_the_manifest_names_the_app_and_its_icons(client):
    response = client.get("/manifest.webmanifest")

    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = response.json
    assert manifest["name"] == "alerting" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/live" and manifest["scope"] == "/"
    assert manifest["theme_color"].startswith("#") and manifest["background_color"]
    sizes = []
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == icon["type"] == "image/png"
        width, height = png_size(image.data)
        assert icon["sizes"] == f"{width}x{height}"
        sizes.append(width)
    assert sorted(sizes) == [192, 512]


@pytest.mark.parametrize("size", [*ICON_SIZES, BADGE_SIZE])
def test_icons_are_pngs_of_their_size(client, size):
    assert png_size(client.get(f"/icons/icon-{size}.png").data) == (size, size)


def test_other_icon_sizes_are_404(client):
    assert client.get("/icons/icon-100.png").status_code == 404


def test_every_page_links_the_manifest(client):
    login(client)
    page = client.get("/live").get_data(as_text=True)

    assert 'rel="manifest" href="/manifest.webmanifest"' in page
    assert 'rel="apple-touch-icon"' in page


def test_the_live_page_offers_to_notify_this_device_with_the_vapid_key(app, client):
    login(client)
    page = client.get("/live").get_data(as_text=True)

    with app.app_context():
        key = webpush.public_key()
    assert "Notify me on this device" in page
    assert f'data-vapid-key="{key}"' in page
    assert 'data-subscribe-url="/account/push-subscriptions"' in page
    assert "js/webpush.js" in page


def _subscribe(client, body, token):
    return client.post("/account/push-subscriptions", json=body,
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def test_subscribing_stores_it_for_the_logged_in_user(app, client):
    login(client)
    token = csrf_token(client.get("/keys").data)
    body = BrowserKeys().subscription("https://push.example.net/wpush/abc", label="Firefox")

    response = _subscribe(client, body, token)

    assert response.status_code == 201, response.json
    assert response.json["user"] == "admin" and response.json["label"] == "Firefox"
    assert response.json["endpoint_origin"] == "https://push.example.net"
    with app.app_context():
        [row] = db.session.query(WebPushSubscription).all()
        assert db.session.get(User, row.user_id).username == "admin"


def test_subscribing_needs_the_csrf_token_and_a_login(app, client):
    body = BrowserKeys().subscription("https://push.example.net/wpush/abc")
    assert _subscribe(client, body, "").status_code in (302, 400)
    login(client)
    assert _subscribe(client, body, "").status_code == 400
    with app.app_context():
        assert db.session.query(WebPushSubscription).count() == 0


def test_a_bad_subscription_is_a_422_naming_the_field(client):
    login(client)
    token = csrf_token(client.get("/keys").data)
    body = BrowserKeys().subscription("https://push.example.net/wpush/abc")
    body["keys"]["auth"] = "too-short"

    response = _subscribe(client, body, token)

    assert response.status_code == 422
    assert list(response.json["fields"]) == ["keys.auth"]


def test_the_account_page_lists_devices_with_their_owners_and_revokes_one(app, client):
    login(client)
    token = csrf_token(client.get("/keys").data)
    made = _subscribe(client, BrowserKeys().subscription(
        "https://push.example.net/wpush/abc", label="Pixel phone", min_severity="high"),
        token).json
    with app.app_context():
        other = User(username="bob", password_hash="x")
        db.session.add(other)
        db.session.flush()
        theirs = webpush.create_subscription(BrowserKeys().subscription(
            "https://push.example.net/wpush/bob", label="Tablet"),
            user_id=other.id, actor="test")
        theirs_id = theirs.id

    page = client.get("/account/password").get_data(as_text=True)
    assert "Pixel phone (admin)" in page and "high and up" in page
    assert "Tablet (bob)" in page and "https://push.example.net" in page
    assert "/wpush/abc" not in page  # the endpoint is a capability: only its origin shows

    token = csrf_token(client.get("/account/password").data)
    response = client.post(f"/account/push-subscriptions/{made['id']}/delete",
                           data={"csrf_token": token}, follow_redirects=True)
    assert "Web push to Pixel phone revoked" in response.get_data(as_text=True)
    with app.app_context():
        assert [s.id for s in db.session.query(WebPushSubscription)] == [theirs_id]
    assert client.post(f"/account/push-subscriptions/{made['id']}/delete",
                       data={"csrf_token": token}).status_code == 404
