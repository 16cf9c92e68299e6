"""Track rules over the machine's real Mosquitto (a unique topic prefix per test): a Frigate
object standing in a zone fires a dwell rule with no further message, within a second of the
threshold, once; so does a package left still (stationary); Frigate's `end` before the dwell
ends the track with the face its `sub_label` named and fires nothing; a car leaving (not
entering) the driveway does not fire an entering rule."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from sqlalchemy import select

from alerting import workers
from alerting.extensions import db
from alerting.models import Track
from tests.support.factories import create_rule, listed
from tests.support.mqtt import (
    event_message,
    run_subscriber,
    settle,
    tracked,
)
from tests.support.server import wait_for

DWELL = 2


@pytest.fixture
def app(mqtt_app):
    return mqtt_app()


def _track(app, track_id):
    with app.app_context():
        row = db.session.scalar(select(Track).where(Track.track_id == track_id))
        db.session.remove()
        return row


def _alert_time(alert):
    return datetime.fromisoformat(alert["created_at"].replace("Z", "+00:00")).timestamp()


def _with_timer(app, headers, **rule):
    """A rule on camera `front`, with the matcher, the subscriber and the track timer running:
    (test client, the rule, the time they started)."""
    client = app.test_client()
    made = create_rule(client, headers, camera_ids=["front"], **rule)
    run_subscriber(app)
    workers.launch(app, ["tracks"])
    return client, made, time.time()


def _fires_once_on_time(client, headers, rule, due):
    """Nothing before `due` (only the time is missing), then the rule's alert within a second
    of it, and only that one whatever the timer does next."""
    assert listed(client, headers) == []
    [alert] = wait_for(lambda: listed(client, headers), timeout=DWELL + 5)
    assert alert["rule_id"] == rule["id"]
    late = _alert_time(alert) - due
    assert 0 <= late < 1.0, late
    settle(1.0)
    assert len(listed(client, headers)) == 1
    return alert


def test_standing_in_the_zone_fires_the_dwell_rule_without_another_message(
        app, headers, prefix, publisher):
    client, loiter, start = _with_timer(app, headers, name="loitering", object_types=["person"],
                                        zone_ids=["gate"], min_dwell_seconds=DWELL)
    new = tracked("obj-1", "front", start)
    at_gate = tracked("obj-1", "front", start, frame_time=start + 1, current_zones=["gate"],
                      entered_zones=["gate"], stationary=True)
    publisher.publish(f"{prefix}/events", event_message("new", new, new))
    publisher.publish(f"{prefix}/events", event_message("update", new, at_gate))
    entered = wait_for(lambda: (t := _track(app, "obj-1")) and t.state["visits"] and
                       t.state["visits"][0][1])
    alert = _fires_once_on_time(client, headers, loiter, entered + DWELL)
    assert _track(app, "obj-1").due_at is None

    # The rule test explains it for the event.
    event_id = alert["event_id"]
    body = client.post(f"/api/alerts/rules/{loiter['id']}/test", json={"event_ids": [event_id]},
                       headers=headers).json
    [result] = body["results"]
    assert result["matches"] and result["explanations"]["dwell"].startswith("in `gate` for ")


def test_leaving_the_driveway_is_the_wrong_direction(app, headers, prefix, publisher):
    client = app.test_client()
    entering = create_rule(client, headers, name="car enters", camera_ids=["drive"],
                           object_types=["car"], zone_sequence=["street", "driveway"])
    run_subscriber(app)
    start = time.time()
    car = {"label": "car"}
    states = [tracked("car-1", "drive", start, **car),
              tracked("car-1", "drive", start, current_zones=["driveway"],
                      entered_zones=["driveway"], **car),
              tracked("car-1", "drive", start, current_zones=["street"],
                      entered_zones=["driveway", "street"], **car)]
    for before, after in zip([states[0], *states], states, strict=False):
        publisher.publish(f"{prefix}/events", event_message("update", before, after))
        # One message at a time: each is its own observation.
        wait_for(lambda a=after: (t := _track(app, "car-1")) and
                 [v[0] for v in t.state["visits"] if v[2] is None] == a["current_zones"])
    events = listed(client, headers, "events")
    wait_for(lambda: all(e["processed_at"] for e in listed(client, headers, "events")))
    assert listed(client, headers) == []
    body = client.post(f"/api/alerts/rules/{entering['id']}/test",
                       json={"event_ids": [events[0]["id"]]}, headers=headers).json
    assert body["results"][0]["explanations"] == {
        "zone_sequence": "entered driveway then street: wrong direction"}


def test_a_package_left_still_fires_the_stationary_rule_without_another_message(
        app, headers, prefix, publisher):
    client, left, start = _with_timer(app, headers, name="left behind",
                                      object_types=["package"], zone_ids=["porch"],
                                      stationary_seconds=DWELL)
    box = tracked("pkg-1", "front", start, label="package", current_zones=["porch"],
                  entered_zones=["porch"], stationary=True)
    publisher.publish(f"{prefix}/events", event_message("new", box, box))
    still = wait_for(lambda: (t := _track(app, "pkg-1")) and t.state["stationary_since"])
    _fires_once_on_time(client, headers, left, still + DWELL)


def test_frigates_end_before_the_dwell_ends_the_track_and_fires_nothing(
        app, headers, prefix, publisher):
    dwell = DWELL + 2
    client, _rule, start = _with_timer(app, headers, name="loitering",
                                       object_types=["person"], zone_ids=["gate"],
                                       min_dwell_seconds=dwell)
    new = tracked("obj-2", "front", start)
    gate = tracked("obj-2", "front", start, frame_time=start + 1, current_zones=["gate"],
                   entered_zones=["gate"], sub_label=["Bob", 0.93])
    end = {**gate, "frame_time": start + 2, "end_time": start + 2, "active": False}
    publisher.publish(f"{prefix}/events", event_message("new", new, new))
    publisher.publish(f"{prefix}/events", event_message("update", new, gate))
    wait_for(lambda: (t := _track(app, "obj-2")) and t.due_at is not None)  # pending
    publisher.publish(f"{prefix}/events", event_message("end", gate, end))
    track = wait_for(lambda: (t := _track(app, "obj-2")) and t.ended_at is not None and t)
    assert (track.state["identity"], track.state["identity_score"]) == ("Bob", 0.93)
    assert [v[0] for v in track.state["visits"]] == ["gate"]
    wait_for(lambda: _track(app, "obj-2").due_at is None)  # the pending dwell is dropped
    settle(dwell + 1.0)  # past the time it would have fired
    assert listed(client, headers) == []
