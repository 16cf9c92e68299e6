"""Thumbnails, snapshots and clip links on the pages and in the live page's messages, all
through our media route (never the detector's own URL)."""

from __future__ import annotations

import pytest

from alerting.live import hub
from tests.support.factories import create_rule, post_event, run_matcher
from tests.support.web import login

DETECTOR = "http://nvr.example:5000/api/events/1.5-ab"
MEDIA = {"snapshot_url": f"{DETECTOR}/snapshot.jpg", "thumbnail_url": f"{DETECTOR}/thumbnail.jpg",
         "clip_url": f"{DETECTOR}/clip.mp4"}


@pytest.fixture
def matched(app, client, admin_headers):
    """An event with media and one without, both matched by a rule; the client logged in."""
    create_rule(client, admin_headers)
    with_media = post_event(client, admin_headers, media=MEDIA)["id"]
    without = post_event(client, admin_headers)["id"]
    run_matcher(app)
    login(client)
    return with_media, without


def _route(event_id: int, name: str) -> str:
    return f"/media/events/{event_id}/{name}"


def test_events_list_shows_thumbnails(client, matched):
    with_media, without = matched
    page = client.get("/events").text
    assert f'src="{_route(with_media, "thumbnail.jpg")}"' in page
    assert _route(without, "thumbnail.jpg") not in page
    assert "nvr.example" not in page  # the browser never gets the detector's URL


def test_event_page_shows_the_snapshot_and_links_the_clip(client, matched):
    with_media, without = matched
    page = client.get(f"/events/{with_media}").text
    assert f'<img class="snapshot" src="{_route(with_media, "snapshot.jpg")}"' in page
    assert f'href="{_route(with_media, "clip.mp4")}"' in page and "nvr.example" not in page
    assert 'class="snapshot"' not in client.get(f"/events/{without}").text


def test_event_page_falls_back_to_the_thumbnail(client, admin_headers):
    event_id = post_event(client, admin_headers,
                          media={"thumbnail_url": f"{DETECTOR}/thumbnail.jpg"})["id"]
    login(client)
    page = client.get(f"/events/{event_id}").text
    assert f'<img class="snapshot" src="{_route(event_id, "thumbnail.jpg")}"' in page
    assert "clip.mp4" not in page


def test_alert_pages_show_thumbnail_and_snapshot(client, admin_headers, matched):
    with_media, without = matched
    listing = client.get("/alerts").text
    assert f'src="{_route(with_media, "thumbnail.jpg")}"' in listing
    assert _route(without, "thumbnail.jpg") not in listing
    [alert] = client.get(f"/api/events/{with_media}", headers=admin_headers).json["alerts"]
    alert_id = alert["id"]
    detail = client.get(f"/alerts/{alert_id}").text
    assert _route(with_media, "snapshot.jpg") in detail and _route(with_media, "clip.mp4") in detail


def test_live_messages_carry_our_thumbnail_url(app, client, admin_headers):
    create_rule(client, admin_headers)
    subscription = hub(app).subscribe(fmt="html")
    try:
        event_id = post_event(client, admin_headers, media=MEDIA)["id"]
        run_matcher(app)  # rendered in the matcher's thread: no request to build URLs from
        messages = []
        while (message := subscription.get(timeout=0)) is not None:
            messages.append(message)
    finally:
        hub(app).unsubscribe(subscription)
    [event_created, alert_created] = messages
    assert f'src="{_route(event_id, "thumbnail.jpg")}"' in event_created.html
    assert f'src="{_route(event_id, "thumbnail.jpg")}"' in alert_created.html
    # The thumbnail clicks through to the event page (its snapshot and clip are there).
    assert f'class="thumb" href="/events/{event_id}"' in alert_created.html
    assert "nvr.example" not in alert_created.html
    assert event_created.data["media"] == MEDIA  # the JSON form: the API's event object
