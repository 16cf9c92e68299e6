"""Events carry `media`: the detector's snapshot, thumbnail and clip URLs."""

import pytest

from tests.support.factories import event_body, post_event

MEDIA = {"snapshot_url": "http://nvr.example:5000/api/events/1.5-ab/snapshot.jpg",
         "thumbnail_url": "https://nvr.example/api/events/1.5-ab/thumbnail.jpg",
         "clip_url": None}


def test_media_is_stored_and_answered(client, admin_headers):
    event = post_event(client, admin_headers, media=MEDIA)
    assert event["media"] == MEDIA
    stored = client.get(f"/api/events/{event['id']}", headers=admin_headers).json
    assert stored["media"] == MEDIA
    listed = client.get("/api/events", headers=admin_headers).json["events"]
    assert listed[0]["media"] == MEDIA


def test_each_url_is_optional(client, admin_headers):
    event = post_event(client, admin_headers, media={"clip_url": "http://nvr/c.mp4"})
    assert event["media"] == {"snapshot_url": None, "thumbnail_url": None,
                              "clip_url": "http://nvr/c.mp4"}


@pytest.mark.parametrize("media", [None, {}, {"snapshot_url": None, "clip_url": " "}])
def test_no_url_is_no_media(client, admin_headers, media):
    body = event_body() if media is None else event_body(media=media)
    event = client.post("/api/events", json=body, headers=admin_headers).json
    assert event["media"] is None
    assert client.get(f"/api/events/{event['id']}", headers=admin_headers).json["media"] is None


@pytest.mark.parametrize(("media", "field"), [
    ({"snapshot_url": "file:///etc/passwd"}, "media.snapshot_url"),
    ({"thumbnail_url": "nvr/thumb.jpg"}, "media.thumbnail_url"),
    ({"clip_url": 12}, "media.clip_url"),
    ({"preview_url": "http://nvr/p.gif"}, "media.preview_url"),
    ("http://nvr/s.jpg", "media"),
])
def test_bad_media_is_422_naming_the_field(client, admin_headers, media, field):
    response = client.post("/api/events", json=event_body(media=media), headers=admin_headers)
    assert response.status_code == 422 and field in response.json["fields"]


def test_media_in_a_batch(client, admin_headers):
    batch = {"events": [event_body(media=MEDIA), event_body(media={"clip_url": "ftp://x"})]}
    response = client.post("/api/events", json=batch, headers=admin_headers)
    assert response.status_code == 207
    stored_id = response.json["results"][0]["id"]
    assert client.get(f"/api/events/{stored_id}", headers=admin_headers).json["media"] == MEDIA
    assert "media.clip_url" in response.json["results"][1]["fields"]
