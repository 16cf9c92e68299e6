"""The media route: an event's snapshot, thumbnail and clip fetched from a real local HTTP
server playing the detector, under the outgoing policy, a size cap, a deadline and a cache."""

from __future__ import annotations

import time

import pytest
from werkzeug import Response

from tests.support.app import make_app, make_key
from tests.support.detector import (
    CLIP,
    SNAPSHOT,
    THUMBNAIL,
    base_url,
    detector_server,
    requests_to,
    serve_frigate_media,
)
from tests.support.factories import post_event
from tests.support.web import login

OBJECT = "1718987129.308396-fqk5ka"


@pytest.fixture
def frigate():
    with detector_server() as server:
        yield server


def _app(tmp_path, frigate, **overrides):
    settings = {"FRIGATE_URL": base_url(frigate) + "/", "MEDIA_TIMEOUT_SECONDS": 1}
    return make_app(tmp_path, **{**settings, **overrides})


def _event_with(app, media) -> tuple[object, int]:
    """A logged-in client, and an event posted with `media`."""
    client = app.test_client()
    event = post_event(client, {"x-access-token": make_key(app)}, media=media)
    login(client)
    return client, event["id"]


def test_serves_the_detectors_bytes_with_the_right_types(tmp_path, frigate):
    app = _app(tmp_path, frigate)
    client, event_id = _event_with(app, serve_frigate_media(frigate, OBJECT))
    for name, body, content_type in (("snapshot.jpg", SNAPSHOT, "image/jpeg"),
                                     ("thumbnail.jpg", THUMBNAIL, "image/jpeg"),
                                     ("clip.mp4", CLIP, "video/mp4")):
        response = client.get(f"/media/events/{event_id}/{name}")
        assert response.status_code == 200, response.data
        assert response.data == body and response.mimetype == content_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"].startswith("private")
    assert SNAPSHOT.startswith(b"\xff\xd8\xff")  # real JPEG bytes


def test_a_short_cache_spares_the_detector(tmp_path, frigate):
    app = _app(tmp_path, frigate, MEDIA_CACHE_SECONDS=1)
    client, event_id = _event_with(app, serve_frigate_media(frigate, OBJECT))
    path = f"/api/events/{OBJECT}/thumbnail.jpg"
    for _ in range(3):
        assert client.get(f"/media/events/{event_id}/thumbnail.jpg").data == THUMBNAIL
    assert requests_to(frigate, path) == 1
    time.sleep(1.1)
    assert client.get(f"/media/events/{event_id}/thumbnail.jpg").data == THUMBNAIL
    assert requests_to(frigate, path) == 2


def test_no_cache_when_its_seconds_are_zero(tmp_path, frigate):
    app = _app(tmp_path, frigate, MEDIA_CACHE_SECONDS=0)
    client, event_id = _event_with(app, serve_frigate_media(frigate, OBJECT))
    for _ in range(2):
        client.get(f"/media/events/{event_id}/snapshot.jpg")
    assert requests_to(frigate, f"/api/events/{OBJECT}/snapshot.jpg") == 2


def test_only_logged_in_users(tmp_path, frigate):
    app = _app(tmp_path, frigate)
    client, event_id = _event_with(app, serve_frigate_media(frigate, OBJECT))
    anonymous = app.test_client()
    response = anonymous.get(f"/media/events/{event_id}/snapshot.jpg")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    api_key = {"x-access-token": make_key(app, "read")}
    assert anonymous.get(f"/media/events/{event_id}/snapshot.jpg",
                         headers=api_key).status_code == 302
    assert requests_to(frigate, f"/api/events/{OBJECT}/snapshot.jpg") == 0


def test_404_when_the_event_has_no_such_media(tmp_path, frigate):
    app = _app(tmp_path, frigate)
    media = {"thumbnail_url": base_url(frigate) + f"/api/events/{OBJECT}/thumbnail.jpg"}
    client, event_id = _event_with(app, media)
    for path in (f"/media/events/{event_id}/snapshot.jpg", f"/media/events/{event_id}/clip.mp4",
                 f"/media/events/{event_id + 1}/thumbnail.jpg",
                 f"/media/events/{event_id}/preview.gif"):
        response = client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 404, path
        assert response.json["error"] == "not_found"
    assert not frigate.log


def test_404_when_the_detector_says_it_has_none(tmp_path, frigate):
    app = _app(tmp_path, frigate)
    client, event_id = _event_with(app, {"snapshot_url": base_url(frigate) + "/gone.jpg"})
    frigate.expect_request("/gone.jpg").respond_with_data("no", status=404)
    assert client.get(f"/media/events/{event_id}/snapshot.jpg").status_code == 404


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_502_with_a_message_when_the_detector_fails(tmp_path, frigate, accept):
    app = _app(tmp_path, frigate)
    client, event_id = _event_with(app, {"snapshot_url": base_url(frigate) + "/broken.jpg"})
    frigate.expect_request("/broken.jpg").respond_with_data("boom", status=500)
    response = client.get(f"/media/events/{event_id}/snapshot.jpg", headers={"Accept": accept})
    assert response.status_code == 502
    if accept == "application/json":
        assert response.json["error"] == "detector_unavailable"
        assert "HTTP 500" in response.json["message"]
    else:
        assert response.mimetype == "text/html" and b"HTTP 500" in response.data


def test_502_when_nothing_listens(tmp_path, frigate):
    app = _app(tmp_path, frigate)
    with detector_server() as gone:
        url = base_url(gone) + "/snap.jpg"
    app.config["FRIGATE_URL"] = url.rsplit("/", 1)[0]  # its host is allowed, but it is down
    client, event_id = _event_with(app, {"snapshot_url": url})
    response = client.get(f"/media/events/{event_id}/snapshot.jpg",
                          headers={"Accept": "application/json"})
    assert response.status_code == 502 and "cannot reach" in response.json["message"]


def test_a_slow_detector_is_given_up_on_at_the_deadline(tmp_path, frigate):
    app = _app(tmp_path, frigate, MEDIA_TIMEOUT_SECONDS=1)
    client, event_id = _event_with(app, {"snapshot_url": base_url(frigate) + "/slow.jpg"})

    def slow(_request):
        time.sleep(2.5)
        return Response(SNAPSHOT, mimetype="image/jpeg")

    frigate.expect_request("/slow.jpg").respond_with_handler(slow)
    started = time.monotonic()
    response = client.get(f"/media/events/{event_id}/snapshot.jpg",
                          headers={"Accept": "application/json"})
    assert response.status_code == 502 and "within 1s" in response.json["message"]
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("chunked", [False, True])
def test_media_over_the_size_cap_is_refused(tmp_path, frigate, chunked):
    app = _app(tmp_path, frigate, MEDIA_MAX_BYTES=1000)
    client, event_id = _event_with(app, {"snapshot_url": base_url(frigate) + "/big.jpg"})
    big = SNAPSHOT * 4
    if chunked:  # no Content-Length: the cap is found while reading
        frigate.expect_request("/big.jpg").respond_with_handler(
            lambda _r: Response(iter([big[:700], big[700:]]), mimetype="image/jpeg"))
    else:
        frigate.expect_request("/big.jpg").respond_with_data(big, content_type="image/jpeg")
    response = client.get(f"/media/events/{event_id}/snapshot.jpg",
                          headers={"Accept": "application/json"})
    assert response.status_code == 502 and "larger than 1000 bytes" in response.json["message"]


def test_under_the_cap_is_served(tmp_path, frigate):
    app = _app(tmp_path, frigate, MEDIA_MAX_BYTES=len(SNAPSHOT))
    client, event_id = _event_with(app, serve_frigate_media(frigate, OBJECT))
    assert client.get(f"/media/events/{event_id}/snapshot.jpg").data == SNAPSHOT


def test_other_hosts_are_refused_by_the_outgoing_policy(tmp_path, frigate):
    with detector_server() as elsewhere:
        app = _app(tmp_path, frigate)
        media = serve_frigate_media(elsewhere, OBJECT)  # loopback, but not the Frigate base
        client, event_id = _event_with(app, media)
        response = client.get(f"/media/events/{event_id}/snapshot.jpg",
                              headers={"Accept": "application/json"})
        assert response.status_code == 502
        assert "refused by the outgoing policy: loopback address" in response.json["message"]
        assert not elsewhere.log


def test_without_a_frigate_url_loopback_is_refused(tmp_path, frigate):
    app = make_app(tmp_path)
    client, event_id = _event_with(app, serve_frigate_media(frigate, OBJECT))
    assert client.get(f"/media/events/{event_id}/thumbnail.jpg").status_code == 502
    assert not frigate.log


def test_the_allow_list_opens_a_range(tmp_path, frigate):
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"])
    client, event_id = _event_with(app, serve_frigate_media(frigate, OBJECT))
    assert client.get(f"/media/events/{event_id}/thumbnail.jpg").data == THUMBNAIL


def test_the_stored_allow_list_opens_a_range_too(tmp_path, frigate):
    # The one allow-list of every channel: the Notifications page's entries count, not only
    # ALERTING_WEBHOOK_ALLOW_CIDRS's.
    app = make_app(tmp_path)
    client, event_id = _event_with(app, serve_frigate_media(frigate, OBJECT))
    path = f"/media/events/{event_id}/thumbnail.jpg"
    assert client.get(path).status_code == 502 and not frigate.log
    stored = app.test_client().put("/api/notification/config",
                                   json={"webhook_allow_cidrs": ["127.0.0.1/32"]},
                                   headers={"x-access-token": make_key(app)})
    assert stored.status_code == 200, stored.json
    response = client.get(path)
    assert response.status_code == 200 and response.data == THUMBNAIL


def test_a_detector_cannot_make_us_serve_html(tmp_path, frigate):
    app = _app(tmp_path, frigate)
    client, event_id = _event_with(app, {"snapshot_url": base_url(frigate) + "/x.jpg"})
    frigate.expect_request("/x.jpg").respond_with_data("<script>alert(1)</script>",
                                                      content_type="text/html")
    response = client.get(f"/media/events/{event_id}/snapshot.jpg")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_redirect_is_followed(tmp_path, frigate):
    app = _app(tmp_path, frigate)
    client, event_id = _event_with(app, {"snapshot_url": base_url(frigate) + "/moved.jpg"})
    frigate.expect_request("/moved.jpg").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    response = client.get(f"/media/events/{event_id}/snapshot.jpg",
                          headers={"Accept": "application/json"})
    assert response.status_code == 502 and "HTTP 302" in response.json["message"]


def test_each_frigate_instance_of_the_prefixes_is_allowed_and_nothing_else(tmp_path, frigate):
    with detector_server() as garage, detector_server() as elsewhere:
        app = _app(tmp_path, frigate,
                   FRIGATE_PREFIXES=["frigate", f"garage={base_url(garage)}"])
        client, event_id = _event_with(app, serve_frigate_media(garage, OBJECT))
        response = client.get(f"/media/events/{event_id}/snapshot.jpg")
        assert response.status_code == 200 and response.data == SNAPSHOT
        _, other_id = _event_with(app, serve_frigate_media(elsewhere, OBJECT))
        refused = client.get(f"/media/events/{other_id}/snapshot.jpg",
                             headers={"Accept": "application/json"})
        assert refused.status_code == 502 and "outgoing policy" in refused.json["message"]
        assert not elsewhere.log


def test_a_url_http_client_cannot_send_is_a_502(tmp_path, frigate):
    app = _app(tmp_path, frigate)
    client, event_id = _event_with(app, {"snapshot_url": base_url(frigate) + "/caméra.jpg"})
    response = client.get(f"/media/events/{event_id}/snapshot.jpg",
                          headers={"Accept": "application/json"})
    assert response.status_code == 502 and "UnicodeEncodeError" in response.json["message"]
