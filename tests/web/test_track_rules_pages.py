"""Track criteria through the rule form, and their explanations on the rule test page."""

from __future__ import annotations

import re
from datetime import timedelta

from alerting.extensions import db
from alerting.models import Track, utcnow
from alerting.services import rules as rule_service
from alerting.services import tracks
from tests.support.factories import post_event
from tests.support.web import csrf_token, login


def _token(client) -> str:
    login(client)
    return csrf_token(client.get("/rules/new").data)


def _form(token: str, **fields) -> dict:
    return {"csrf_token": token, "name": "Car enters", "severity": "high", "enabled": "y",
            "camera_ids_other": "drive", "cooldown_seconds": "0", "schedule_days": ["mon"],
            "schedule_start": "00:00", "schedule_end": "00:00", "conditions-0-field": "",
            "conditions-0-op": "eq", "conditions-0-value": "", "action": "save",
            "kind": "detection", **fields}


def test_the_rule_form_saves_track_criteria_and_shows_them_again(app, client):
    token = _token(client)
    response = client.post("/rules/new", data=_form(
        token, zone_sequence="street, driveway", sequence_within_seconds="20",
        min_dwell_seconds="30", dwell_zone_ids="gate", stationary_seconds="600",
        exclude_identities="*", min_count="3"))
    assert response.status_code == 303
    with app.app_context():
        [rule], _ = rule_service.list_rules()
        assert (rule.zone_sequence, rule.sequence_within_seconds, rule.min_dwell_seconds,
                rule.dwell_zone_ids, rule.stationary_seconds, rule.exclude_identities,
                rule.identities, rule.min_count) == (
            ["street", "driveway"], 20, 30, ["gate"], 600, ["*"], None, 3)
        page = client.get(f"/rules/{rule.id}/edit").text
    assert 'value="street, driveway"' in page and 'value="600"' in page
    client.post("/rules/new", data=_form(token, name="Family", identities="Alice, bob"))
    with app.app_context():
        family = next(r for r in rule_service.list_rules()[0] if r.name == "Family")
        assert (family.identities, family.exclude_identities) == (["Alice", "bob"], None)
        assert 'value="Alice, bob"' in client.get(f"/rules/{family.id}/edit").text


def test_a_bad_track_criterion_is_shown_beside_its_input(client):
    token = _token(client)
    response = client.post("/rules/new", data=_form(token, zone_sequence="street"))
    assert response.status_code == 422
    assert 'id="zone_sequence-error"' in response.text


def test_the_rule_test_page_explains_the_wrong_direction(app, client, admin_headers):
    token = _token(client)
    client.post("/rules/new", data=_form(token, zone_sequence="street, driveway"))
    for zone in ("driveway", "street"):
        post_event(client, admin_headers, camera_id="drive", detections=[
            {"object_type": "car", "zone_ids": [zone], "track_id": "car-7"}])
    with app.app_context():
        [rule], _ = rule_service.list_rules()
    page = client.post(f"/rules/{rule.id}/test", data={"csrf_token": token}).text
    assert "entered driveway then street: wrong direction" in page


def test_the_event_page_shows_the_track_and_what_each_track_rule_says(app, client,
                                                                      admin_headers):
    token = _token(client)
    client.post("/rules/new", data=_form(token, name="Loitering at the gate",
                                         camera_ids_other="drive", zone_ids_other="gate",
                                         min_dwell_seconds="30"))
    event = post_event(client, admin_headers, camera_id="drive", detections=[
        {"object_type": "person", "zone_ids": ["gate"], "track_id": "p-1"}])
    page = client.get(f"/events/{event['id']}").text
    assert 'id="tracks"' in page and "<code>p-1</code>" in page
    assert "Loitering at the gate" in page
    assert re.search(r"in `gate` for [0-9.]+ s of the 30 s required", page)
    assert "(still there)" in page


def test_each_track_lists_the_rules_about_its_objects_each_judged_on_that_track(
        app, client, admin_headers):
    token = _token(client)
    client.post("/rules/new", data=_form(token, name="Loitering at the gate",
                                         zone_ids_other="gate", object_types="person",
                                         min_dwell_seconds="30"))
    client.post("/rules/new", data=_form(token, name="Car enters", object_types="car",
                                         zone_sequence="street, driveway"))
    # One frame of a ByteTrack pipeline: a person in the gate, another on the lawn, a car.
    event = post_event(client, admin_headers, camera_id="drive", detections=[
        {"object_type": "person", "zone_ids": ["lawn"], "track_id": 1},
        {"object_type": "person", "zone_ids": ["gate"], "track_id": 2},
        {"object_type": "car", "zone_ids": ["street"], "track_id": 3}])
    page = client.get(f"/events/{event['id']}").text
    section = page[page.index('id="tracks"'):page.index('id="alerts"')]
    lawn, gate, car = re.split(r"<h3>", section)[1:]
    # The person on the lawn is judged as the one on the lawn, not as the first in the gate.
    assert "no detection meets the rule&#39;s zone" in lawn and "Car enters" not in lawn
    assert re.search(r"in `gate` for [0-9.]+ s of the 30 s required", gate)
    # The car's track says nothing of the loitering rule, and no "no track" under a track.
    assert "Loitering" not in car and "entered street; street then driveway required" in car
    assert "no track for this event" not in section


def test_an_ended_track_is_not_still_there_and_its_crowd_is_counted(app, client,
                                                                     admin_headers):
    token = _token(client)
    client.post("/rules/new", data=_form(token, name="Crowd", object_types="person",
                                         zone_ids_other="yard", min_count="3"))
    event = post_event(client, admin_headers, camera_id="drive", detections=[
        {"object_type": "person", "zone_ids": ["yard"], "track_id": n} for n in (1, 2, 3)])
    with app.app_context():
        assert tracks.end_silent(utcnow() + timedelta(hours=1)) == 3
    page = client.get(f"/events/{event['id']}").text
    section = page[page.index('id="tracks"'):page.index('id="alerts"')]
    assert "(still there)" not in section and section.count("until the track ended") == 3
    assert section.count("3 present in `yard` of the 3 required") == 3


def test_the_event_page_says_how_long_each_stay_in_a_zone_lasted(app, client, admin_headers):
    login(client)
    event = post_event(client, admin_headers, camera_id="drive", detections=[
        {"object_type": "person", "zone_ids": ["street"], "track_id": "p-1"}])
    now = utcnow().timestamp()
    with app.app_context():  # in the gate 100 s ago, in the street since 40 s ago
        row = db.session.query(Track).one()
        row.state = {**row.state, "first_seen": now - 100, "last_seen": now - 40,
                     "visits": [["gate", now - 100, now - 40], ["street", now - 40, None]]}
        db.session.commit()
    page = client.get(f"/events/{event['id']}").text
    section = page[page.index('id="tracks"'):page.index('id="alerts"')]
    gate, street = re.findall(r"<li><code>(?:gate|street)</code>.*?</li>", section)
    assert gate.endswith(": 60 s</li>")
    assert re.search(r"\(still there\): 4\d s</li>$", street)


def test_the_event_page_says_what_the_object_was_seen_with(app, client, admin_headers):
    login(client)
    event = post_event(client, admin_headers, camera_id="drive", detections=[
        {"object_type": "car", "track_id": "c-1"}])
    with app.app_context():
        row = db.session.query(Track).one()
        row.state = {**row.state, "attributes": {"license_plate": 0.87, "face": None}}
        db.session.commit()
    page = client.get(f"/events/{event['id']}").text
    assert "seen with license_plate 87%, face</p>" in page
